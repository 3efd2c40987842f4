"""Drug words that are not doses given today, and doses written through their vials, in
styles first met in the independent wild-dev corpus, written here afresh: a medication
stopped in an earlier year, a culture's susceptibility list, a start and stop charted on
one line, a dose made up "from vials", and one vial mixed into a bag."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

STOPPED_EARLIER = """Rheum infusion 09/01/2026. Psoriatic arthritis.
Previously on adalimumab - discontinued 11/2024 for loss of response;
leflunomide stopped 2023 (GI upset).
1000 golimumab (Simponi Aria) 2 mg/kg = 160 mg in NS 100 mL IV started
1035 infusion done
"""

SUSCEPTIBILITY = """ED 09/02/2026 - pyelonephritis
Pt on home IV cefepime via PICC for osteomyelitis (bone cx 08/20: MRSA, resistant to
oxacillin and clindamycin). Blood cx E. coli resistant to ceftriaxone and ciprofloxacin.
1830-1900 ertapenem 1 g in NS 50 mL IV over 30 min
"""

ONE_LINE_START_STOP = """Clinic infusion room 09/03/2026, iron deficiency anemia
Venofer 200 mg in NS 100 mL
1310 infusion start -> 1342 end, no reaction
"""

FROM_VIALS = """Home infusion backup visit 09/04/2026 - MSSA bacteremia
1400 cefazolin 2000 mg (made up from vials) in NS 100 mL started
1432 done
"""

ONE_VIAL_IN_BAG = """ED 09/05/2026 2300 - intra-abdominal infection
2310-2340 piperacillin-tazobactam 3.375 g vial in NS 100 mL IV over 30 min
"""


def _lines(result, system: str) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == system)


def test_medication_stopped_in_an_earlier_year_is_not_given():
    """"discontinued 11/2024", "stopped 2023 (GI upset)": history (RULES.md: nothing is
    billed from text that is not a record of what was given today)."""
    result = code_note(STOPPED_EARLIER, Setting.FACILITY, "official")
    assert [a.generic for a in result.facts.administrations] == ["golimumab"]
    assert [line[0] for line in _lines(result, "HCPCS")] == ["J1602"]


def test_drugs_in_a_susceptibility_list_or_at_home_are_not_given():
    """"resistant to oxacillin and clindamycin" is a culture result, "on home IV cefepime"
    a home medication (RULES.md: only a record of what was given today is billed)."""
    result = code_note(SUSCEPTIBILITY, Setting.FACILITY, "official")
    assert [a.generic for a in result.facts.administrations] == ["ertapenem"]
    assert [line[0] for line in _lines(result, "HCPCS")] == ["J1335"]


def test_start_and_stop_charted_on_one_line():
    """"1310 infusion start -> 1342 end": 32 minutes, an infusion of 16-90 min (96365)."""
    result = code_note(ONE_LINE_START_STOP, Setting.FACILITY, "official")
    [iron] = result.facts.administrations
    assert (iron.start.hour, iron.start.minute, iron.stop.hour, iron.stop.minute) == (
        13, 10, 13, 42)
    assert _lines(result, "CPT") == [("96365", 1, ())]


def test_dose_made_up_from_vials_is_the_dose():
    """"cefazolin 2000 mg (made up from vials)": 2000 mg is the dose, not a vial size;
    J0690 per 500 mg = 4 units."""
    result = code_note(FROM_VIALS, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("J0690", 4, ())]


def test_one_vial_mixed_into_its_bag_is_the_dose():
    """"piperacillin-tazobactam 3.375 g vial in NS 100 mL IV over 30 min": the vial is the
    dose; J2543 per 1 g/0.125 g (1.125 g), 3.375 g = 3 units."""
    result = code_note(ONE_VIAL_IN_BAG, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("J2543", 3, ())]
