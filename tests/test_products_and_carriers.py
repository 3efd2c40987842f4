"""Which product was given and what it ran into, read from notes written the way infusion
and chemo charts write them (styles first met in the independent wild-dev corpus, written
here afresh): the product named on a dose-calculation line is the product of the timed
administration below it, a maker in brackets selects the maker's own code, a drug pushed
into a running line leaves the carrier fluid no administration of its own, and a drug
named but not given lends its line to no other administration."""

from __future__ import annotations

from engine import code_facts, load_profile
from notecoder.pipeline import code_note
from notecoder.schema import Method, Route, Setting
from tests.facts import admin, facts

BIOSIMILAR_DOSE_LINE = """Infusion Center   04/02/2026   62 y/o F, CLL
Truxima (rituximab-abbs) 375 mg/m2 x BSA 1.70 = 640 mg
100 mg/10 mL single-dose vials x 7 = 700 mg; 640 mg in NS 500 mL, 60 mg wasted
1010 rituximab infusion started 50 mg/h
1440 rituximab infusion stopped, tolerated well
"""

CHEMO_CHAIR = """ONCOLOGY CHAIR 7 - 05/14/2026
Pancreatic adenocarcinoma, head of pancreas. C3D8.
gemcitabine{maker} 1000 mg/m2 = 1700 mg in NS 250 mL IV 1100-1130
1135 vinCRIStine 2 mg slow IV push into running NS line
1200 Neulasta 6 mg SC ordered for tomorrow - pt returns 05/15 for the injection; not given today
"""


def _lines(result, system: str) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == system)


def test_product_on_the_dose_line_is_the_product_of_the_timed_infusion():
    """R-UNITS-04: Truxima is Q5115, never the reference product's J9312; the waste on the
    preparation line ("640 mg in NS 500 mL, 60 mg wasted") is the infusion's JW line."""
    result = code_note(BIOSIMILAR_DOSE_LINE, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("Q5115", 6, ("JW",)), ("Q5115", 64, ())]
    [rituximab] = result.facts.administrations
    assert rituximab.product == "rituximab-abbs"
    assert rituximab.diluent == "sodium chloride"  # NS on the preparation line: no fluid
    product = rituximab.field_spans["product"]
    assert BIOSIMILAR_DOSE_LINE[product.start:product.end].startswith("Truxima")


def test_maker_in_brackets_selects_the_makers_code():
    """HCPCS has a code per maker for some generics (gemcitabine (Accord) J9196); the
    generic alone is the not-otherwise-specified code J9201."""
    named = code_note(CHEMO_CHAIR.format(maker=" (Accord)"), Setting.FACILITY, "official")
    plain = code_note(CHEMO_CHAIR.format(maker=""), Setting.FACILITY, "official")
    assert ("J9196", 9, ()) in _lines(named, "HCPCS")
    assert ("J9201", 9, ()) in _lines(plain, "HCPCS")


def test_push_into_a_running_line_is_the_drugs_push_not_a_fluid():
    """"slow IV push into running NS line": the vincristine push (96411 after the
    gemcitabine infusion), and the NS carrier is no administration."""
    result = code_note(CHEMO_CHAIR.format(maker=""), Setting.FACILITY, "official")
    assert ("96411", 1, ()) in _lines(result, "CPT")
    assert ("J9370", 2, ()) in _lines(result, "HCPCS")
    generics = [a.generic for a in result.facts.administrations]
    assert generics == ["gemcitabine", "vincristine"]


def test_drug_named_but_not_given_is_no_unknown_drug_line():
    """Neulasta is in the lexicon; its line (not given) is not "a drug the lexicon does not
    know" for the coder to review, and lends its dose to no other administration."""
    result = code_note(CHEMO_CHAIR.format(maker=""), Setting.FACILITY, "official")
    assert not [w for w in result.warnings if "name no drug in the lexicon" in w]
    assert "J2506" not in {c.code for c in result.codes}


def test_free_flowing_line_does_not_negate_the_drug():
    """ConText's "free" (as in "free of") is no negation in "free-flowing NS"."""
    note = ("Chemo day 06/01/2026\n"
            "0930-0934  DOXOrubicin 100 mg slow IV push via side arm of free-flowing NS\n")
    result = code_note(note, Setting.FACILITY, "official")
    assert ("96409", 1, ()) in _lines(result, "CPT")
    assert ("J9000", 10, ()) in _lines(result, "HCPCS")


def test_fosphenytoin_is_q2009_per_phenytoin_equivalent_never_the_s_code():
    """S codes are not payable by Medicare: Q2009 (per 50 mg PE), not S0078."""
    out = code_facts(facts(admin("A1", "fosphenytoin", "08:15", "08:35", dose=(1000, "mg"),
                                 route=Route.IV, method=Method.INFUSION)),
                     Setting.FACILITY, load_profile("official"))
    assert [(c.code, c.units) for c in out.codes if c.system == "HCPCS"] == [("Q2009", 20)]


def test_dose_by_mouth_gets_no_stop_time_or_indication_query():
    """R-CDI-01 asks for an infusion's end time and R-CDI-07 for the condition a billed drug
    treats; a timed dose by mouth is neither."""
    note = "Urgent care 07/07/2026\n0840 acetaminophen 650 mg PO given\n"
    result = code_note(note, Setting.FACILITY, "official")
    assert [a.route for a in result.facts.administrations] == [Route.ORAL]
    assert result.queries == []
