"""Long-term drug codes a coded condition's "use additional code" note asks for, from the
drugs a note says the patient goes on taking (R-DX-07; ICD-G I.C.4.a.3, I.C.21.c.3; ICD-TAB
E11, E10, I82.5 notes). Styles met in the fresh corpora ("T2DM on metformin", "continue
metformin", a home-medication line) are written here afresh in other words: a medication
reconciliation with a brand insulin, a type 1 diabetic on a pump, a drug stopped, a drug
started today, and an anticoagulant beside a condition whose note does not name it."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

RECONCILED = """Endocrine clinic f/u 10/12/2026
Medication reconciliation: Lantus 22 units at bedtime; Januvia 100 mg daily; lisinopril 10 mg.
Assessment: Type 2 diabetes mellitus with hyperglycemia.
Plan: labs, return 3 months.
"""

TYPE_1 = """Peds endo 10/13/2026. 15 yo with type 1 diabetes mellitus without complications,
uses insulin lispro via pump, CGM in place. A1c 7.4. Continue current settings.
"""

STOPPED = """Office visit 10/14/2026
PMH: DM2 - metformin discontinued 2024 (GI intolerance), now diet controlled.
A/P: Type 2 diabetes mellitus without complications - diet, recheck A1c.
"""

STARTED_TODAY = """Office visit 10/15/2026
A/P: New type 2 diabetes mellitus without complications, A1c 7.6. Start metformin 500 mg
daily with supper; education given.
"""

ANTICOAGULANT_ELSEWHERE = """ED 10/16/2026
Home medications: apixaban 5 mg BID, atorvastatin 20 mg.
Dx: Cellulitis of right lower leg.
1405 cefazolin 2 g IV push over 3 min
"""


def _icd(text: str) -> list[str]:
    result = code_note(text, Setting.FACILITY, "official")
    return [c.code for c in result.codes if c.system == "ICD-10-CM"]


def test_reconciled_insulin_and_oral_drug_add_both_control_codes_after_the_diabetes():
    """I.C.4.a.3: insulin and an oral drug both used -> Z79.4 and Z79.84, after E11.65."""
    codes = _icd(RECONCILED)
    assert codes[0] == "E11.65"
    assert codes[1:] == ["Z79.4", "Z79.84"]


def test_type_1_diabetes_on_insulin_takes_no_z79_4():
    """E10 has no 'use additional code' note for insulin: type 1 diabetes implies it."""
    codes = _icd(TYPE_1)
    assert codes and codes[0].startswith("E10")
    assert not any(c.startswith("Z79") for c in codes)


def test_a_drug_stopped_before_adds_no_control_code():
    codes = _icd(STOPPED)
    assert "E11.9" in codes and "Z79.84" not in codes


def test_a_drug_started_today_is_not_yet_long_term_use():
    codes = _icd(STARTED_TODAY)
    assert "E11.9" in codes and "Z79.84" not in codes


def test_a_listed_drug_no_coded_condition_asks_for_adds_nothing():
    """Apixaban at home beside cellulitis: L03.115 has no Z79.01 note, so no Z79.01."""
    codes = _icd(ANTICOAGULANT_ELSEWHERE)
    assert "L03.115" in codes and not any(c.startswith("Z79") for c in codes)
