"""Drug lines (R-UNITS): one line per code and date from the summed dose, combined-unit
drugs, dose tiers, oral doses and lock flushes never billed, MUE plausibility (R-UNITS-05),
JW/JZ (R-UNITS-03)."""

from __future__ import annotations

import pytest

from engine import code_facts, load_profile
from engine.cdi_rules import NON_COMPLIANT_WORDS, OTHER, UNDETERMINED
from notecoder.schema import Method, Purpose, Quantity, Route, Setting
from tests.facts import admin, facts

OFFICIAL = load_profile("official")


def run(*admins):
    return code_facts(facts(*admins), Setting.FACILITY, OFFICIAL)


def hcpcs(out):
    return [(c.code, c.units, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"]


def push(fid, generic, time, dose, **fields):
    return admin(fid, generic, time, None, dose=dose, method=Method.PUSH, route=Route.IV,
                 **fields)


def test_r_units_01_up_to_code_bills_the_total_of_the_date():
    out = run(push("A1", "morphine", "10:00", (4, "mg")),
              push("A2", "morphine", "12:00", (4, "mg")))
    [line] = [c for c in out.codes if c.system == "HCPCS"]
    assert (line.code, line.units) == ("J2270", 1)
    assert len(line.evidence) >= 4  # drug and dose of both pushes


def test_r_units_01_summed_dose_above_the_up_to_amount():
    out = run(push("A1", "morphine", "10:00", (6, "mg")),
              push("A2", "morphine", "12:00", (6, "mg")))
    assert hcpcs(out) == [("J2270", 2, ())]


@pytest.mark.parametrize("grams, units", [(3.375, 3), (4.5, 4), (2.25, 2)])
def test_r_units_01_combined_unit_piperacillin_tazobactam(grams, units):
    out = run(admin("A1", "piperacillin-tazobactam", "10:00", "10:30", dose=(grams, "g")))
    assert hcpcs(out) == [("J2543", units, ())]


@pytest.mark.parametrize("mg, code", [(3.75, "J1950"), (7.5, "J9217"), (22.5, "J9217")])
def test_r_units_01_dose_tier_chooses_the_covering_code(mg, code):
    out = run(admin("A1", "leuprolide", dose=(mg, "mg"), method=Method.INJECTION,
                    route=Route.IM))
    assert [c.code for c in out.codes if c.system == "HCPCS"] == [code]


def test_oral_dose_gets_no_injectable_drug_line():
    out = run(admin("A1", "ondansetron", "10:00", None, dose=(4, "mg"), route=Route.ORAL,
                    method=None))
    assert hcpcs(out) == []
    assert any("given by mouth" in w for w in out.warnings)


def test_heparin_lock_flush_is_not_billed():
    flush = admin("A1", "heparin", "10:00", None, dose=(50, "units"), method=Method.PUSH,
                  product="heparin lock flush")
    vehicle = admin("A2", "heparin", "11:00", None, dose=(500, "units"), method=Method.PUSH,
                    purpose=Purpose.VEHICLE)
    assert hcpcs(run(flush, vehicle)) == []


def test_r_units_05_units_above_the_mue_are_not_billed():
    out = run(push("A1", "ondansetron", "10:00", (1000, "mg")))
    [line] = [c for c in out.codes if c.system == "HCPCS"]
    assert (line.code, line.units, line.rule) == ("J2405", None, "R-UNITS-05")
    assert ("J2405: 1,000 units exceed the CMS MUE of 64 per day; not billed, coder review "
            "(R-UNITS-05).") in out.warnings
    [query] = [q for q in out.queries if q.rule == "R-CDI-10"]
    assert query.options[-2:] == [OTHER, UNDETERMINED]
    assert not NON_COMPLIANT_WORDS.search(query.question + " ".join(query.options))


def test_r_units_05_units_at_the_mue_are_billed():
    out = run(push("A1", "ondansetron", "10:00", (64, "mg")))
    assert hcpcs(out) == [("J2405", 64, ())]
    assert not [q for q in out.queries if q.rule == "R-CDI-10"]


def _absurd(fid: str, clock: str):
    """A fact past the schema's bounds (built without validation): the engine's own
    defence (R-UNITS-05) must still hold for facts that bypass the schema."""
    drug = push(fid, "ceftriaxone", clock, (1, "g"))
    return drug.model_copy(update={"dose": Quantity.model_construct(value=1e308, unit="g")})


def test_r_units_05_absurd_dose_does_not_overflow():
    drug = _absurd("A1", "10:00")
    out = run(drug)
    [line] = [c for c in out.codes if c.system == "HCPCS"]
    assert line.units is None
    text = " ".join(out.warnings)
    assert "more than 1,000,000 units" in text and "e+30" not in text
    twice = run(drug, _absurd("A2", "11:00"))  # sum is inf
    assert [c.units for c in twice.codes if c.system == "HCPCS"] == [None]


def test_r_units_03_documented_waste_of_a_unit_is_a_jw_line_never_jz():
    drug = admin("A1", "infliximab", "09:00", "11:00", dose=(375, "mg"),
                 wasted=Quantity(value=25, unit="mg"))
    assert hcpcs(run(drug)) == [("J1745", 38, ()), ("J1745", 2, ("JW",))]


def test_r_units_03_sub_unit_waste_covered_by_rounding_is_jz():
    # Noridian: 70 mg given from a 100 mg vial of a 100 mg-unit drug -> x1 JZ.
    drug = admin("A1", "infliximab", "09:00", "11:00", dose=(375, "mg"),
                 wasted=Quantity(value=5, unit="mg"))
    assert hcpcs(run(drug)) == [("J1745", 38, ("JZ",))]
