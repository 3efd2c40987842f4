"""The wrong bills fresh6's first score found (issue 11: a wrong bill is worse than none),
each mended in general form and written here afresh in another wording: an audit-trail MAR
export whose ORDERED rows are no doses and whose AMENDED rows correct or withdraw the row
they amend, a rate-escalation table under its drug's line with another drug pushed during
the pause, and an ESA given to a patient on dialysis (the HCPCS "(for ESRD on dialysis)"
code with its route modifier)."""

from __future__ import annotations

from notecoder.schema import Setting
from tests.test_fresh45_reader import _lines

AUDIT_TRAIL = """MEDICATION AUDIT LOG - ED 07/01/2026 (rows in audit order)
Action | Time | Medication | Dose | Route | By | Note
ORDERED | 09:02 | ondansetron inj | 4 mg | IV push | A.Kerr MD |
ORDERED | 09:02 | famotidine inj | 20 mg | IV push | A.Kerr MD |
ORDERED | 09:02 | hydromorphone inj | 1 mg | IV push | A.Kerr MD |
GIVEN | 09:15 | ondansetron inj | 8 mg | IV push | B.Lowe RN |
AMENDED | 09:15 | ondansetron inj | 4 mg | IV push | B.Lowe RN | corrected 09:40, 8 mg in error
GIVEN | 09:20 | famotidine inj | 20 mg | IV push | B.Lowe RN |
GIVEN | 09:30 | hydromorphone inj | 1 mg | IV push | B.Lowe RN |
AMENDED | 09:30 | hydromorphone inj | -- | -- | B.Lowe RN | charted on wrong patient - not given
ED facility level 3 (99283)
"""


def test_an_audit_trail_bills_given_rows_as_amended_and_no_order_rows():
    lines = _lines(AUDIT_TRAIL)
    # Ondansetron 4 mg (J2405 per 1 mg = 4, as amended) is the initial push, famotidine the
    # second drug's push; the order rows and the withdrawn hydromorphone bill nothing.
    assert sorted(x for x in lines if x[0] == "9") == ["96374x1", "96375x1", "99283x1-25"]
    assert "J2405x4" in lines
    assert not any(x.startswith("J1170") for x in lines)


ESCALATION_UNDER_ITS_DRUG = """INFUSION CENTER (hospital outpatient) 07/02/2026
Truxima (rituximab-abbs) 700 mg in 350 mL NS, 2 mg/mL; single-dose vials fully used.

Titration log
Time | mg/h | Event
1000 | 50  | start
1030 | 100 | VS ok
1100 | 0   | paused - chills
1105 | --  | meperidine 25 mg IV push
1120 | 100 | resumed
1300 | --  | complete
"""


def test_a_titration_table_under_its_drug_times_the_infusion_around_a_push():
    lines = _lines(ESCALATION_UNDER_ITS_DRUG)
    # 10:00-13:00 less the 20-minute pause = 160 min of rituximab (the default profile's
    # complex-biologic family, R-ADMIN-12): the first hour, then 100 min = one added hour and
    # 40 min more (over 30): 96415 x2; the meperidine push is a second drug (96375).
    assert "96413x1" in lines and "96415x2" in lines and "96375x1" in lines
    assert not any(x.startswith(("96374", "96365")) for x in lines)


DIALYSIS_ESA = """OUTPATIENT HEMODIALYSIS RECORD 07/03/2026
Dx: ESRD on HD three times weekly; anemia in CKD.
Run ON 07:00 OFF 11:00.
10:40 epoetin alfa 6,000 units IV into the venous line per protocol.
"""


def test_an_esa_for_a_patient_on_dialysis_takes_the_esrd_code_and_its_route_modifier():
    lines = _lines(DIALYSIS_ESA)
    # Q4081 is epoetin alfa per 100 units for ESRD on dialysis: 6,000 units = 60, with JA
    # (given IV); J0885 is the non-ESRD code and is never billed here.
    assert "Q4081x60-JA" in lines
    assert not any(x.startswith("J0885") for x in lines)


def test_an_esa_for_a_patient_not_on_dialysis_keeps_the_non_esrd_code():
    note = ("ONCOLOGY CLINIC 07/04/2026 - physician office\n"
            "Dx: anemia due to antineoplastic chemotherapy.\n"
            "10:40 epoetin alfa 40,000 units SC L arm.\n")
    lines = _lines(note, Setting.PROFESSIONAL)
    assert "J0885x40" in " ".join(lines) and not any(x.startswith("Q4081") for x in lines)


def test_european_decimal_commas_and_lab_values_are_never_read_as_other_doses():
    from extractor.quantities import find_amounts, find_weights

    # "1,5 g" is 1.5 g (never 5 g), "92,5 kg" is 92.5 kg (never 5 kg); "1,500 mg" keeps its
    # thousands comma; "MIC 1 mg/l" and "trough 14,8 mg/L" are lab values, no dose.
    assert [(a.value, a.unit) for a in find_amounts("Vancomycin 1,5 g in 250 ml")] == [
        (1.5, "g"), (250.0, "mL")]
    assert [(w.value, w.unit) for w in find_weights("Weight 92,5 kg")] == [(92.5, "kg")]
    assert [a.value for a in find_amounts("1,500 mg")] == [1500.0]
    assert find_amounts("vancomycin MIC 1 mg/l; trough 14,8 mg/L") == []


def test_a_european_style_note_bills_the_dose_it_gives():
    note = ("Infusionsambulanz / infusion clinic - physician office, 03.03.2026\n"
            "Diagnosis: cellulitis of the right lower leg (wound swab: vancomycin MIC 1 mg/l).\n"
            "Weight 88,0 kg.\n"
            "Vancomycin 1,25 g in 250 ml NaCl 0,9 %, from single-dose vials, nothing left over.\n")
    lines = _lines(note, Setting.PROFESSIONAL)
    # J3373 is vancomycin per 10 mg: 1.25 g = 125 units.
    assert [x.split("-")[0] for x in lines if x.startswith("J3373")] == ["J3373x125"]
