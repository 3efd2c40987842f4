"""Fixed-column MAR exports that name drugs by pharmacy mnemonic and separate columns
with dot leaders (a Meditech style). Notes written for these tests."""

from __future__ import annotations

from extractor.quantities import find_amounts
from notecoder.pipeline import code_note
from notecoder.schema import Setting

NOTE = (
    "URGENT CARE - MED ADMIN REPORT  02/27/2026\n"
    "Pt 58 F  wt 71 kg   Dx: migraine without aura, intractable\n"
    "ITEM........AMT......RTE....TM......ACTION\n"
    "KETOR30.....30 MG....IM.....1115....DONE\n"
    "PROCHLOR10..10 MG....IM.....1118....DONE\n"
    "PRED20......20 MG....PO.....1120....DONE\n"
)


def lines(note: str) -> list[str]:
    result = code_note(note, Setting.PROFESSIONAL, "official")
    return sorted(f"{c.code}x{c.units}" for c in result.codes if c.system != "ICD-10-CM")


def test_a_value_after_dot_leaders_is_an_amount_not_a_decimal():
    got = [(a.value, a.unit) for a in find_amounts("ENOX100......92 MG....SC")]
    assert got == [(92.0, "mg")]
    # A decimal point is still a decimal point.
    assert [(a.value, a.unit) for a in find_amounts("give .5 mg")] == [(0.5, "mg")]


def test_a_mnemonic_with_one_generic_is_read_and_shown_as_a_spelling():
    result = code_note(NOTE, Setting.PROFESSIONAL, "official")
    drugs = sorted(a.generic for a in result.facts.administrations)
    assert "prochlorperazine" in drugs
    assert any("PROCHLOR10" in w and "spelling" in w for w in result.warnings)
    assert "J0780x1" in lines(NOTE)  # prochlorperazine up to 10 mg


def test_ambiguous_or_oral_mnemonics_bill_nothing():
    # "KETOR": ketorolac only; "PRED": prednisone or prednisolone (and PO): never billed.
    got = lines(NOTE)
    assert "J1885x2" in got  # ketorolac per 15 mg
    assert not any(code.startswith(("J2650", "J7510", "J7512")) for code in got)
