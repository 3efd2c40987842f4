"""Styles met in the fresh3 corpus's wrong-bill notes, written here afresh: an ED visit
charted across midnight with dates on every line, a diagnosis the physician considered and
set aside, a waste amount under a dot-leader label, containers read that hold less than
the dose, and vials counted after their strength ("500 mg/50 mL SDV x2 ... all vials
used")."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

OVERNIGHT = """County ED - nursing record (printed 06/02/2026 02:15)
06/01 22:40  PIV 18G L AC
06/01 22:45  LR 1000 mL IV bolus started
06/01 23:50  LR bolus complete
06/02 00:05  metoclopramide 10 mg IV push
06/02 01:30  discharged
Dx: Gastroenteritis with dehydration
"""

CONSIDERED = """Clinic note 06/03/2026. Cough and fever 3 days. We considered pneumonia, but the
chest film is clear and she is well. Assessment: acute bronchitis.
"""

WASTE_LABEL = """Infusion record 06/04/2026 - Crohn's disease of small intestine
Vials .......... infliximab 100 mg SDV x 4 (400 mg)
Dose ........... 350 mg
Waste .......... 50 mg (5 mL) left in the last vial, to sharps bin
1000 infliximab 350 mg in NS 250 mL IV started
1215 infusion complete
"""

SHORT_CONTAINERS = """Infusion record 06/05/2026 - seropositive RA
Product: tocilizumab 400 mg/20 mL single-dose vial (plus one 80 mg vial)
1300 tocilizumab 480 mg in NS 100 mL IV started
1405 infusion complete
"""

VIALS_AFTER_STRENGTH = """Infusion record 06/06/2026 - seropositive RA
0900 rituximab 500 mg/50 mL SDV x2 = 1000 mg in NS 500 mL IV started, all vials used
1330 infusion complete
"""


def _lines(text: str) -> list[tuple]:
    result = code_note(text, Setting.FACILITY, "official")
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes)


def test_the_evening_before_a_visit_past_midnight_is_the_same_encounter():
    """The 06/01 bolus is billed with the 06/02 push: the push is the initial service, the
    65-minute bolus its hydration add-on (CPT hierarchy, R-ADMIN-01)."""
    codes = [c for c, _, _ in _lines(OVERNIGHT)]
    assert {"96374", "96361", "J2765"} <= set(codes)


def test_a_diagnosis_considered_and_set_aside_is_not_coded():
    """ICD-G IV.H: an uncertain diagnosis is not coded in the outpatient setting."""
    codes = [c for c, _, _ in _lines(CONSIDERED)]
    assert "J20.9" in codes
    assert not any(c.startswith(("J18", "J12", "J15")) for c in codes)


def test_waste_under_a_dot_leader_label_is_a_jw_line():
    """R-UNITS-03: 50 mg discarded from single-dose vials -> J1745 x5 JW beside x35."""
    lines = [line for line in _lines(WASTE_LABEL) if line[0] == "J1745"]
    assert lines == [("J1745", 5, ("JW",)), ("J1745", 35, ())]


def test_containers_holding_less_than_the_dose_never_give_jz():
    """JZ attests nothing was discarded: a 400 mg vial read for a 480 mg dose says nothing
    of waste, so no modifier (CMS JW/JZ FAQ; the coder is told)."""
    result = code_note(SHORT_CONTAINERS, Setting.FACILITY, "official")
    lines = [c for c in result.codes if c.code == "J3262"]
    assert lines and all(not c.modifiers for c in lines)
    assert any("JW/JZ for coder" in w for w in result.warnings)


def test_vials_counted_after_their_strength_and_all_used_give_jz():
    lines = [line for line in _lines(VIALS_AFTER_STRENGTH) if line[0] == "J9312"]
    assert lines == [("J9312", 100, ("JZ",))]
