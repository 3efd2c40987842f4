"""engine.dx_codes / extractor.dx_words: combination codes across conditions, note partners,
receptor status, sepsis, history derivation and the index's inherited inclusion terms.
One test per rule; each failed before its rule was written (issue 12 follow-up)."""

from __future__ import annotations

import pytest

from engine.dx_codes import choose_codes, classifiable_history, receptor_status
from engine.icd10cm import code_set
from eval.dx_phrases import code_phrase
from extractor.dx_terms import read_phrase
from extractor.dx_words import inherited_terms, title_terms


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


# ---- the term index -------------------------------------------------------------------

def test_i_a_11_inclusion_term_of_a_subcategory_applies_to_its_codes():
    (t,) = inherited_terms("Fracture of unspecified carpal bone",
                           "Fracture of unspecified carpal bone, right wrist",
                           "Fracture of wrist NOS")
    assert t.key == "fracture" and ["right"] in t.required and ["wrist"] in t.required
    assert codes("R wrist fx, initial") == ["S62.101A"]


def test_inherited_terms_skip_a_code_naming_another_condition_or_other_specified():
    assert inherited_terms("Neutropenia", "Other drug-induced agranulocytosis",
                           "agranulocytosis") == []
    assert inherited_terms("Other chronic obstructive pulmonary disease",
                           "Other specified chronic obstructive pulmonary disease",
                           "chronic obstructive bronchitis") == []
    assert codes("Neutropenia") == ["D70.9"]


def test_unspecified_as_to_leaves_the_axis_open():
    (t,) = title_terms("Partial intestinal obstruction, unspecified as to cause")
    assert ["cause"] in t.negative and ["cause"] not in t.required
    assert codes("Partial SBO") == ["K56.600"]
    assert codes("Complete small bowel obstruction") == ["K56.601"]


def test_including_words_are_nonessential():
    (t,) = title_terms("Malignant melanoma of right upper limb, including shoulder")
    assert "shoulder" in t.optional and ["shoulder"] not in t.required


def test_i_a_13_manifestation_titles_are_not_matched_by_words():
    (t,) = title_terms("Pneumonia in diseases classified elsewhere")
    assert ["elsewhereclassified"] in t.required
    assert "J17" not in codes("COPD w/ acute exacerbation and CAP")


def test_drug_or_chemical_induced_diabetes_is_indexed_under_the_condition():
    (t,) = title_terms("Drug or chemical induced diabetes mellitus without complications")
    assert t.key == "mellitus" and ["chemical", "drug"] in t.required
    assert codes("Steroid-induced diabetes") == ["E09.9", "T38.0X5A"]


def test_a_list_running_into_the_main_term_again_keeps_its_first_word():
    (t,) = title_terms("Hypertensive heart and chronic kidney disease with heart failure and "
                       "stage 1 through stage 4 chronic kidney disease, or unspecified "
                       "chronic kidney disease")
    assert ["failure"] in t.required


def test_doubtful_words_come_only_from_nearly_stated_titles():
    # "large" is a word of "Congenital ... stricture of large intestine" (Q42), which needs
    # two more words the phrase does not state: it does not block K56.609.
    assert codes("Large bowel obstruction") == ["K56.609"]


def test_lower_of_leg_is_no_lower_leg():
    assert codes("DVT left leg") == ["I82.402"]


def test_i_b_8_an_acute_title_is_never_a_condition_stated_chronic():
    assert codes("Chronic DVT right femoral vein") == ["I82.511"]


# ---- combination codes and note partners ---------------------------------------------

@pytest.mark.parametrize("phrase, expected", [
    ("HTN with CHF", ["I11.0", "I50.9"]),
    ("Chronic HFrEF with HTN", ["I11.0", "I50.22"]),
])
def test_i_c_9_a_hypertension_with_heart_failure_through_the_i50_note(phrase, expected):
    assert codes(phrase) == expected


def test_i_c_9_a_hypertensive_heart_and_ckd_with_its_pairs():
    assert set(codes("Hypertensive heart and CKD w/ chronic HFrEF and CKD 4")) == {
        "I13.0", "I50.22", "N18.4"}


def test_a_note_answered_by_a_fuller_code_is_not_coded_again():
    assert codes("Hypertension with CKD stage 3b") == ["I12.9", "N18.32"]


@pytest.mark.parametrize("phrase, expected", [
    ("Diabetic foot ulcer", ["E11.621", "L97.509"]),
    ("DM II with foot ulcer, R heel", ["E11.621", "L97.419"]),
])
def test_use_additional_site_of_ulcer_one_code_per_note(phrase, expected):
    assert codes(phrase) == expected


# ---- sepsis ----------------------------------------------------------------------------

@pytest.mark.parametrize("phrase, expected", [
    ("Septic shock due to cellulitis of R leg", ["A41.9", "L03.115", "R65.21"]),
    ("Severe sepsis from UTI, no shock", ["A41.9", "N39.0", "R65.20"]),
    ("Septic shock due to E coli UTI", ["A41.51", "N39.0", "R65.21"]),
    ("severe sepsis due to MRSA pneumonia", ["A41.02", "J15.212", "R65.20"]),
])
def test_i_c_1_d_severe_sepsis_systemic_infection_first(phrase, expected):
    assert codes(phrase) == expected


# ---- receptor status ------------------------------------------------------------------

def test_receptor_status_reading():
    assert receptor_status("ER+/PR-/HER2-") == {"er": "+", "pr": "-", "her2": "-"}
    assert receptor_status("ER/PR positive, HER2 negative") == {"er": "+", "pr": "+",
                                                                "her2": "-"}
    assert receptor_status("HER2-positive") == {"her2": "+"}
    assert receptor_status("triple negative") == {"hr": "-", "her2": "-"}


@pytest.mark.parametrize("phrase, expected", [
    ("Breast ca L, ER+/PR-/HER2-", ["C50.912", "Z17.0", "Z17.22", "Z17.32"]),
    ("HR+/HER2- metastatic breast cancer to liver", ["C50.919", "C78.7", "Z17.411"]),
    ("ER-negative breast cancer", ["C50.919", "Z17.1"]),
])
def test_z17_one_code_per_receptor_or_the_combined_status(phrase, expected):
    assert codes(phrase) == expected


def test_a_receptor_status_is_never_coded_from_the_index_words_alone():
    # The term index reads "HR" without its sign (Z17.41 -> Z17.410 would be a guess): only
    # the stated statuses are coded, once.
    assert codes("HR+/HER2- breast cancer of the right breast") == ["C50.911", "Z17.411"]


def test_a_receptor_status_clause_qualifies_the_neoplasm_before_it():
    # The clause "HR+ HER2-" is no condition of its own: the side and quadrant after it
    # still reach the breast cancer (C50.412, not C50.919).
    assert code_phrase("Breast cancer, HR+ HER2-, left upper outer quadrant") == [
        "C50.412", "Z17.411"]


def test_receptor_clause_is_not_a_negation_in_the_phrase_scorer():
    assert code_phrase("Right breast IDC, ER/PR positive, HER2 negative") == [
        "C50.911", "Z17.0", "Z17.21", "Z17.32"]


# ---- history ---------------------------------------------------------------------------

def test_history_code_from_conditions_classifiable_to():
    cs = code_set()
    assert classifiable_history(cs, "C43.9", family=False) == "Z85.820"
    assert classifiable_history(cs, "C18.9", family=True) == "Z80.0"
    # Z86.7 "I00-I99" is a subcategory with several codes: no guess.
    assert classifiable_history(cs, "I48.91", family=False) is None


@pytest.mark.parametrize("phrase, expected", [
    ("h/o melanoma", ["Z85.820"]),
    ("Hx of lymphoma", ["Z85.72"]),
    ("Family hx of colon cancer", ["Z80.0"]),
    ("family history of lung cancer", ["Z80.1"]),
    ("FH of breast cancer", ["Z80.3"]),
    ("History of falls", ["Z91.81"]),
    ("Remote history of CVA", ["Z86.73"]),
    ("Prior DVT", ["Z86.718"]),
    ("Hx of colon cancer s/p resection", ["Z85.038"]),
    ("History of MRSA infection", ["Z86.14"]),
])
def test_i_c_21_c_4_history_codes(phrase, expected):
    assert codes(phrase) == expected


# ---- drugs, pregnancy, pain -------------------------------------------------------------

def test_i_c_4_a_3_insulin_and_an_oral_drug_both_coded():
    assert codes("T2DM with hyperglycemia, on insulin and metformin") == [
        "E11.65", "Z79.4", "Z79.84"]


def test_i_c_15_i_no_z79_control_code_with_gestational_diabetes():
    assert codes("GDM on insulin, 30 weeks") == ["O24.419", "Z3A.30"]


def test_r52_is_never_pain_at_a_stated_site():
    assert "R52" not in codes("Left ear pain")


def test_grade_is_one_word_and_never_other_hemorrhoids():
    assert "K64.8" not in codes("Internal hemorrhoids, grade 2")


# ---- phrase-level uncertainty (the scorer's stand-in for ConText) --------------------

@pytest.mark.parametrize("phrase, expected", [
    ("? arrhythmia", []),
    ("Palpitations, ? arrhythmia", ["R00.2"]),
    ("Abd pain, ?appendicitis", ["R10.9"]),
    ("Dyspnea, c/w CHF exacerbation", ["R06.00"]),
    ("Fever and cough, consistent with pneumonia", ["R50.9", "R05.9"]),
])
def test_iv_h_uncertain_cues(phrase, expected):
    assert sorted(code_phrase(phrase)) == sorted(expected)


# ---- rules found on the third dev batch ---------------------------------------------------

def test_adjectives_listed_before_one_noun_keep_the_noun_required():
    (t,) = title_terms("Unspecified complication following an ectopic and molar pregnancy")
    assert ["pregnancy"] in t.required
    assert "O08.9" not in codes("Anemia complicating pregnancy, third trimester")


def test_a_rib_fracture_is_one_rib_unless_multiple_is_said():
    assert codes("Rib fracture, right, initial") == ["S22.31XA"]
    assert codes("Multiple rib fractures, right, initial") == ["S22.41XA"]


def test_except_leaves_the_named_part_out():
    (t,) = title_terms("Malignant neoplasm of right kidney, except renal pelvis")
    assert ["kidney", "pelvis"] in t.negative
    assert codes("Renal cell carcinoma, right kidney") == ["C64.1"]


def test_influenza_letter_is_no_article():
    assert codes("Influenza with pneumonia") == ["J11.00"]


def test_encounter_for_title_under_what_it_is_for():
    assert codes("Screening for colon cancer") == ["Z12.11"]
    # never "chemotherapy" alone: a drug's mention is no encounter
    assert "Z51.11" not in codes("Anemia due to chemotherapy")


def test_spread_stated_in_one_comma_part():
    assert codes("Encounter for chemo, metastatic breast ca to liver") == [
        "Z51.11", "C50.919", "C78.7"]


def test_i_a_15_with_sibling_whose_note_names_the_stated_symptom():
    assert codes("BPH with urinary retention") == ["N40.1", "R33.8"]


def test_an_excludes1_pair_that_drops_stated_words_codes_nothing():
    # I26 Excludes1 "cor pulmonale without embolism (I27.81)": never I26.99 alone.
    assert "I26.99" not in codes("PE with cor pulmonale")


def test_mutually_accounting_titles_are_accepted_together():
    assert codes("Hypertensive heart disease with CHF") == ["I11.0", "I50.9"]


def test_do_not_resuscitate_is_no_negation():
    (t,) = title_terms("Do not resuscitate")
    assert t.key == "dnr" and not t.negative


@pytest.mark.parametrize("phrase, expected", [
    ("Alcohol use disorder, severe, with uncomplicated withdrawal", ["F10.230"]),
    ("Alcohol use disorder, mild", ["F10.10"]),
])
def test_substance_use_disorder_severity_and_uncomplicated_withdrawal(phrase, expected):
    # F10.20 would be a wrong code here: "uncomplicated" belongs to the withdrawal.
    assert codes(phrase) == expected
