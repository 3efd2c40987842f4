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


COURSE_COMPLETED = """Oncology infusion 07/01/2026. Limited-stage SCLC, consolidation durvalumab.
Prior: cisplatin/etoposide x4 (completed 4/2026). Old etoposide orders remain (inactive).
1015-1115 durvalumab (Imfinzi) 1500 mg in NS 250 mL IV, 500 mg SDV x3, no waste
"""

RECONSTITUTED_WITH = """Office 07/02/2026 - gonorrhea
ceftriaxone 500 mg vial reconst w/ lidocaine 1% 1 mL, 500 mg IM L glute 09:40, none wasted
"""

PREFILLED_WHOLE = """Office nurse visit 07/03/2026, osteoporosis
Prolia (denosumab) 60 mg single-dose prefilled syringe, full dose SC L arm 10:05.
"""

DRAWN_FROM_STRENGTH = """Nurse visit 07/04/2026 - pernicious anemia
cyanocobalamin 1000 mcg/mL, 1 mL from a 25 mL multi-dose vial, IM R deltoid 11:10
"""


def test_a_course_completed_in_an_earlier_month_and_inactive_orders_are_not_given():
    """"(completed 4/2026)" and "(inactive)" orders are history: only durvalumab is billed."""
    result = code_note(COURSE_COMPLETED, Setting.FACILITY, "official")
    assert [a.generic for a in result.facts.administrations] == ["durvalumab"]


def test_lidocaine_written_w_slash_is_the_diluent():
    """"reconst w/ lidocaine 1%": preparation (R-ADMIN-06), no lidocaine line."""
    result = code_note(RECONSTITUTED_WITH, Setting.PROFESSIONAL, "official")
    assert [line[0] for line in _lines(result, "HCPCS")] == ["J0696"]


def test_full_dose_of_a_single_dose_syringe_is_no_waste():
    """"single-dose prefilled syringe, full dose SC": nothing left, JZ (R-UNITS-03)."""
    result = code_note(PREFILLED_WHOLE, Setting.PROFESSIONAL, "official")
    assert _lines(result, "HCPCS") == [("J0897", 60, ("JZ",))]


def test_dose_from_strength_and_volume_of_an_injection():
    """"1000 mcg/mL, 1 mL ... IM": 1000 mcg given, J3420 x1 (up to 1000 mcg)."""
    result = code_note(DRAWN_FROM_STRENGTH, Setting.PROFESSIONAL, "official")
    assert _lines(result, "HCPCS") == [("J3420", 1, ())]


ONE_LINE_BANNER = """Urgent care 07/12/2026
*** Plan copied from 05/2026 visit: "ceftriaxone 1 g IM given for UTI" ***
Today: ankle sprain L. ketorolac 30 mg IM R deltoid at 1012.
"""


def test_one_line_copied_banner_holds_only_its_own_text():
    """A banner line carrying its copied text in quotes is the whole copied block: the
    ceftriaxone in it is not billed, today's ketorolac on the next line is (J1885 x2)."""
    result = code_note(ONE_LINE_BANNER, Setting.FACILITY, "official")
    assert [a.generic for a in result.facts.administrations] == ["ketorolac"]
    assert _lines(result, "HCPCS") == [("J1885", 2, ())]


DOSE_LINE_BELOW = """Hem-onc office 07/14/2026 - MDS, C3D1
Vidaza (azacitidine) 100 mg single-dose vial x2 reconstituted with 4 mL SWFI each = 25 mg/mL.
Dose 75 mg/m2 x 1.80 = 135 mg -> 5.4 mL SC, R and L abdomen at 09:20.
Remaining 65 mg discarded, witnessed.
"""


def test_a_dose_line_below_the_drug_is_that_drugs_dose_route_and_time():
    """"Dose ... = 135 mg -> 5.4 mL SC ... at 09:20" is the azacitidine given: an SC
    antineoplastic injection (96401), J9025 per 1 mg x135 and JW x65 (R-UNITS-03)."""
    result = code_note(DOSE_LINE_BELOW, Setting.PROFESSIONAL, "official")
    assert _lines(result, "CPT") == [("96401", 1, ())]
    assert _lines(result, "HCPCS") == [("J9025", 65, ("JW",)), ("J9025", 135, ())]


PLAN_NEXT_DRUG = """Office 07/20/2026. COPD exacerbation.
A/P: methylprednisolone IM today, azithromycin 500 mg PO day 1 then 250 mg daily.
Nurse: methylprednisolone acetate 40 mg/mL, 1 mL SDV - 40 mg IM R deltoid 10:05, entire vial.
"""

KEY_VALUE_RECORD = """INFUSION RECORD 07/21/2026
Product: Benlysta 400 mg vial x1 + 120 mg vial x2 (single-dose) = 640 mg reconstituted
Premeds: cetirizine 10 mg PO at 08:50
IV access: #22 L hand 08:55
Infusion start: 09:05
Infusion end: 10:10
"""


def test_a_drug_not_given_later_in_the_sentence_ends_the_window():
    """"methylprednisolone IM today, azithromycin 500 mg PO ...": the 500 mg is the
    azithromycin's (a dose by mouth, not given here), and the plan's "methylprednisolone"
    is the acetate the nurse gave: one line, J1010 per 1 mg x40."""
    result = code_note(PLAN_NEXT_DRUG, Setting.PROFESSIONAL, "official")
    assert [line[:2] for line in _lines(result, "HCPCS")] == [("J1010", 40)]


def test_key_value_record_times_gauge_and_summed_vials():
    """"= 640 mg reconstituted" is the vials' sum, never the dose (none is written: units
    for the coder), "#22 L hand" a gauge, the IV access time no drug's; the infusion times
    are the belimumab's, not the oral premed's: 65 minutes, 96413."""
    result = code_note(KEY_VALUE_RECORD, Setting.FACILITY, "official")
    belimumab = next(a for a in result.facts.administrations if a.generic == "belimumab")
    assert (belimumab.start.hour, belimumab.start.minute) == (9, 5)
    assert belimumab.dose is None and belimumab.volume is None
    assert _lines(result, "CPT") == [("96413", 1, ())]
    assert _lines(result, "HCPCS") == [("J0490", None, ())]
