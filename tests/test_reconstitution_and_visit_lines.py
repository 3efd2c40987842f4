"""A drug named as what another drug is mixed in, an emergency-department header written in
capitals, and a biller's charge line that is not the note's first line: styles first met in
the independent wild-dev corpus, written here afresh."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

RECONSTITUTED = """Urgent care 06/11/2026. 24 y/o M, gonococcal urethritis.
Rocephin 500 mg vial reconstituted with 1 mL lidocaine 1%; 500 mg IM R ventrogluteal 1415.
No waste, entire vial given.
"""

PLUS_DILUENT = """clinic visit 06/12/26 - cellulitis L forearm
1520: ceftriaxone 1 g + 2.1 mL lidocaine 1% given IM L glute
"""

DILUENT_IN_BRACKETS = """06/13/2026 peds clinic, otitis media R ear
ceftriaxone 250 mg / lidocaine 1% (diluent) IM R thigh at 0940, no waste
"""

ED_CAPITALS = """EMERGENCY DEPARTMENT NOTE   07/02/2026
CC: vomiting x2 days. Exam, work-up and decision making separately documented below.
ED facility level 4 (99284).
0915 ondansetron 4 mg IV push
"""

CHARGE_LINE_LATER = """Office visit 07/09/2026, established patient.
Knee pain; triamcinolone 40 mg injected R knee 1030.
Billing per provider: 99212-25
"""


def _lines(result, system: str) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == system)


def test_reconstitution_diluent_is_no_administration():
    """R-ADMIN-06: the lidocaine a ceftriaxone vial is reconstituted with is part of
    preparing the ceftriaxone: one IM injection (96372) and J0696, no lidocaine line."""
    for note, units in ((RECONSTITUTED, 2), (PLUS_DILUENT, 4), (DILUENT_IN_BRACKETS, 1)):
        result = code_note(note, Setting.FACILITY, "official")
        drugs = [a.generic for a in result.facts.administrations]
        assert drugs == ["ceftriaxone"], note
        assert _lines(result, "CPT") == [("96372", 1, ())], note
        assert [line[:2] for line in _lines(result, "HCPCS")] == [("J0696", units)], note


def test_emergency_department_header_in_capitals_is_an_ed_visit():
    """An ED E/M level documented as 99284 in an "EMERGENCY DEPARTMENT" note is the ED
    visit, with -25 beside the same-day push (R-EM rules; place from the header)."""
    result = code_note(ED_CAPITALS, Setting.FACILITY, "official")
    assert ("99284", 1, ("25",)) in _lines(result, "CPT")


def test_charge_line_on_a_later_line_is_not_documentation():
    """A biller's "Billing per provider: 99212-25" is no E/M the note documents, on any
    line of the note (corpus wd-04, wd-09): no E/M is coded from it."""
    result = code_note(CHARGE_LINE_LATER, Setting.FACILITY, "official")
    assert not [c for c in result.codes if c.code.startswith("992")]
