"""Diagnosis rules and wording found on the fresh-dev corpus (branch icd-fresh). Each test
uses a note written for it (not a corpus note) and fails without the rule or vocabulary row
it names."""

from __future__ import annotations

from engine.dx_codes import choose_codes
from extractor.dx_terms import read_phrase
from notecoder.pipeline import code_note
from notecoder.schema import Setting


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


def icd(note: str, setting: Setting = Setting.PROFESSIONAL) -> list[str]:
    return [c.code for c in code_note(note, setting, "official").codes
            if c.system == "ICD-10-CM"]


def test_r_dx_05_hormonal_antineoplastic_is_not_a_chemotherapy_encounter():
    """ICD-TAB Z51.11 is an encounter for antineoplastic chemotherapy; a GnRH agonist
    injection (96402) is hormone therapy: the neoplasm is listed, no Z51.1-."""
    note = ("Urology clinic - hormone injection\n"
            "Assessment: Prostate cancer (C61), rising PSA previously, now on androgen "
            "deprivation.\n"
            "10:45 leuprolide acetate depot 7.5 mg IM R gluteus given by RN, no reaction.\n")
    got = icd(note)
    assert got[0] == "C61"
    assert not any(c.startswith("Z51.1") for c in got)


def test_drug_caused_condition_takes_the_due_to_medicaments_title():
    """Index: Hypothyroidism, due to, drugs/medicaments E03.2; ICD-G I.C.19.e.5.a: the
    nature of the adverse effect, then the T code of the drug."""
    assert codes("Hypothyroidism secondary to amiodarone") == ["E03.2", "T46.2X5A"]


def test_icd_g_iv_j_condition_not_addressed_at_this_visit_is_not_coded():
    """ICD-G IV.J: a coexisting condition is coded when it requires or affects care at the
    visit; one the provider says was not addressed is left off."""
    note = ("Office visit - infusion clinic\n"
            "Assessment:\n"
            "1. Iron deficiency anemia - IV iron today\n"
            "2. Hyperlipidemia: not addressed this visit, followed by PCP\n"
            "3. HTN - on lisinopril per PCP, not addressed today\n")
    assert icd(note) == ["D50.9"]
