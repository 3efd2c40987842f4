"""Wrong bills met in the fresh4 corpus (f4-07, f4-10, f4-12), written here afresh in other
wordings: a double-bracketed copy label, a drug the patient gave from her own supply, a
standing order marked "N/A", and, for the diagnoses, an I10 beside the hypertensive
combination code and a condition due to a drug taken long term. RULES.md: nothing is
billed from text that is not a record of what was given today."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

DOUBLE_BRACKET = """Outpatient infusion 04/14/2026
[[ Carried forward from encounter 03/17/2026 ]]
  1015 diphenhydramine 50 mg IV push for itching. 1020 methylprednisolone 125 mg IV push.
[[ end of carried forward text ]]
1105 tocilizumab 560 mg in NS 100 mL started
1210 tocilizumab infusion complete
"""

OWN_SUPPLY = """Day infusion unit 04/15/2026
0900 NS 1,000 mL IV started for dehydration (poor PO intake x3 days, orthostatic)
1030 NS complete
1015 enoxaparin 40 mg SC self-administered by pt with her own pen, L abdomen.
"""

STANDING_ORDER_NA = """Oncology clinic 04/16/2026
Protocol standing orders (ondansetron 8 mg IV, dexamethasone 12 mg IV): N/A today, no chemo.
0940 zoledronic acid 4 mg in NS 100 mL IV started
1000 zoledronic acid complete
"""


def _codes(text: str) -> list[str]:
    result = code_note(text, Setting.FACILITY, "official")
    return [c.code for c in result.codes]


def test_lines_under_a_double_bracket_copy_label_are_not_billed():
    codes = _codes(DOUBLE_BRACKET)
    assert not {"J1200", "J2919", "J2920", "96374", "96375"} & set(codes)
    # Tocilizumab is a complex biologic: the chemotherapy family (R-ADMIN-12, official).
    assert "96413" in codes and "J3262" in codes


def test_a_dose_from_the_patients_own_supply_is_not_billed():
    codes = _codes(OWN_SUPPLY)
    assert "J1650" not in codes and "96372" not in codes
    assert "96360" in codes


def test_a_standing_order_marked_not_applicable_is_not_billed():
    codes = _codes(STANDING_ORDER_NA)
    assert not {"J2405", "J1100", "96374", "96375"} & set(codes)
    assert "96365" in codes


HTN_TWICE = """Nephrology infusion 04/17/2026
Dx: anemia in CKD stage 3b due to hypertension (hypertensive CKD). HTN - on amlodipine.
1010 iron sucrose 200 mg IV push over 5 min
"""


def test_i10_is_not_coded_beside_the_hypertensive_ckd_code():
    codes = _codes(HTN_TWICE)
    assert "I12.9" in codes and "I10" not in codes


def test_a_condition_due_to_a_drug_taken_long_term():
    from eval.dx_phrases import code_phrase

    assert code_phrase("Hyponatremia d/t long-term carbamazepine") == ["E87.1", "T42.1X5A"]
