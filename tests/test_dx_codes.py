"""engine.dx_codes: one test per guideline rule; each fails without its rule."""

from __future__ import annotations

import pytest

from engine import icd10cm
from engine.dx_codes import choose_codes
from eval.dx_phrases import code_phrase, outcome
from extractor.dx_terms import read_phrase


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


@pytest.mark.parametrize("phrase, code", [
    ("Acute pyelonephritis", "N10"),
    ("Cellulitis of left lower leg", "L03.116"),
    ("Type 2 diabetes mellitus with hyperglycemia", "E11.65"),
    ("Non-small cell lung cancer, right upper lobe", "C34.11"),
    ("Atrial fibrillation", "I48.91"),
    ("Chronic kidney disease stage 3a", "N18.31"),
    ("Low back pain", "M54.50"),
    ("COVID-19", "U07.1"),
])
def test_i_b_2_most_specific_code(phrase, code):
    assert codes(phrase) == [code]


def test_i_b_13_unspecified_side_and_missing_axis():
    (c,) = choose_codes(read_phrase("cellulitis of leg"))
    assert c.code == "L03.119" and c.missing_axes == ["laterality"]


def test_i_b_18_stage_not_stated_is_unspecified_with_query():
    (c,) = choose_codes(read_phrase("CKD"))
    assert c.code == "N18.9" and "stage" in c.missing_axes


def test_i_b_9_combination_code_not_both():
    assert codes("COPD with acute exacerbation") == ["J44.1"]
    got = codes("nausea and vomiting")
    assert got == ["R11.2"]


def test_i_a_13_use_additional_stage_with_combination():
    assert codes("Type 2 diabetes with CKD stage 3a") == ["E11.22", "N18.31"]
    assert codes("Hypertension with CKD stage 4") == ["I12.9", "N18.4"]


def test_i_a_13_code_first_ckd_before_anemia():
    assert codes("anemia in CKD stage 4") == ["N18.4", "D63.1"]


def test_i_c_1_organism_code_with_uti():
    assert codes("E. coli UTI") == ["N39.0", "B96.20"]


def test_i_c_1_combination_names_organism_no_b_code():
    assert codes("MRSA pneumonia") == ["J15.212"]


def test_i_c_1_b_codes_never_alone():
    assert codes("E. coli") == []


def test_i_c_1_d_bacteremia_is_not_sepsis():
    got = codes("MRSA bacteremia")
    assert "R78.81" in got and not any(c.startswith("A41") for c in got)


def test_i_c_1_d_localized_infection_is_not_sepsis():
    assert not any(c.startswith("A41") for c in codes("MRSA septic arthritis of right knee"))


def test_i_c_19_adverse_effect_drug_code():
    assert codes("chemotherapy induced anemia") == ["D64.81", "T45.1X5A"]


def test_i_b_4_symptom_integral_to_diagnosis():
    assert codes("pneumonia with cough") == ["J18.9"]


def test_i_a_12_a_excludes1_pair_never_both():
    for phrase in ("nausea and vomiting", "nausea, vomiting"):
        got = codes(phrase)
        assert not ({"R11.0", "R11.2"} <= set(got))


def test_i_c_21_history_code_only():
    assert codes("history of breast cancer") == ["Z85.3"]


def test_i_c_19_a_no_encounter_no_code():
    assert codes("fracture of lower end of right radius") == []
    got = codes("fracture of lower end of right radius, initial encounter")
    assert got and got[0].endswith("A")


def test_every_code_is_billable():
    for phrase in ("asthma", "UTI", "CHF", "breast cancer", "afib", "gout of left great toe"):
        for c in codes(phrase):
            assert icd10cm.is_billable(c)


def test_iv_h_uncertain_not_coded_symptom_coded():
    assert code_phrase("possible pneumonia") == []
    assert code_phrase("probable pneumonia with cough") == ["R05.9"]


def test_negated_not_coded():
    assert code_phrase("denies chest pain") == []


def test_outcome_classes():
    assert outcome(["L03.116"], ["L03.116"]) == "exact"
    assert outcome(["L03.116"], ["L03.119"]) == "vaguer"
    assert outcome(["L03.116"], ["L03.115"]) == "wrong"
    assert outcome(["L03.116"], ["J18.9"]) == "wrong"
    assert outcome(["L03.116"], []) == "none"


def test_unrelated_term_without_required_words_is_not_coded():
    assert "J67.3" not in codes("Graves disease")
    assert "J67.3" not in codes("Anemia of chronic disease")


def test_i_b_13_organ_implied_by_main_term():
    assert codes("Diverticulitis") == ["K57.92"]
    assert codes("Otitis externa, right") == ["H60.91"]


def test_i_a_9_a_other_code_only_when_it_holds_more():
    assert codes("Bilateral PE with acute cor pulmonale") == ["I26.09"]
    assert codes("PE") == ["I26.99"]
    assert codes("DKA") == ["E11.10"]  # never E13 "other specified diabetes"


def test_i_c_4_a_2_diabetes_type_unstated_is_type_2():
    assert codes("diabetes mellitus with ketoacidosis") == ["E11.10"]


def test_negative_group_void_only_on_words_the_title_lacks():
    assert codes("Acute suppurative otitis media R ear") == ["H66.001"]


def test_influenza_identified_virus_and_placeholder_seventh():
    assert codes("Influenza A") == ["J10.1"]
    assert codes("Flu") == ["J11.1"]
    assert codes("Concussion without LOC, initial encounter") == ["S06.0X0A"]


def test_exposure_is_not_the_disease():
    assert codes("Exposure to COVID-19") == ["Z20.822"]


def test_i_b_5_symptom_codes_outside_chapter_18():
    assert code_phrase("Flu with fever and myalgias") == ["J11.1"]


def test_i_c_2_c_1_anemia_in_neoplastic_disease():
    assert codes("Anemia of chronic disease in CLL") == ["C91.10", "D63.0"]


@pytest.mark.parametrize("phrase, code", [("h/o MI", "I25.2"), ("Hx of DVT", "Z86.718"),
                                          ("Hx CVA without residual deficits", "Z86.73"),
                                          ("Former smoker", "Z87.891"),
                                          ("History of C. diff", "Z86.19")])
def test_i_c_21_c_4_history_code_by_category(phrase, code):
    assert codes(phrase) == [code]


def test_history_code_needs_every_condition_mapped():
    assert codes("history of hypokalemia") == []


@pytest.mark.parametrize("phrase, expected", [
    ("Pneumonia, resolved", ["Z87.01"]),
    ("Chest pain; MI ruled out", ["R07.9"]),
    ("Flu swab negative", []),
    ("Pneumonia vs bronchitis", []),
    ("CLL in remission", ["C91.11"]),
])
def test_phrase_assertion(phrase, expected):
    assert code_phrase(phrase) == expected


@pytest.mark.parametrize("phrase, code", [
    ("R ankle sprain, initial", "S93.401A"),  # "unspecified ligament": the axis left open
    ("Scalp laceration, initial", "S01.01XA"),  # "without foreign body of scalp"
    ("Closed fracture of right distal radius, initial", "S52.501A"),  # distal = lower end
    ("L distal radius fx, subsequent encounter, routine healing", "S52.502D"),
    ("Lumbar strain, initial encounter", "S39.012A"),
    ("Dog bite left forearm, initial", "S51.852A"),  # Index: Bite - see Wound, open
    ("Displaced fx L 5th metatarsal, initial", "S92.352A"),
    ("Fracture of one rib, left, initial", "S22.32XA"),
    ("2nd degree burn R hand, initial", "T23.201A"),
])
def test_i_c_19_a_injuries_by_site_side_and_encounter(phrase, code):
    assert codes(phrase) == [code]


@pytest.mark.parametrize("phrase, expected", [
    ("Colon cancer with liver metastases", ["C18.9", "C78.7"]),
    ("Metastatic breast cancer to bone", ["C50.919", "C79.51"]),
    ("Small cell lung ca, R lung, w/ brain mets", ["C34.91", "C79.31"]),
    ("Bone mets from unknown primary", ["C80.1", "C79.51"]),
    ("L breast ca with axillary lymph node mets", ["C50.912", "C77.3"]),
])
def test_i_c_2_primary_and_secondary_sites_coded_apart(phrase, expected):
    assert codes(phrase) == expected


def test_ca_with_a_value_is_calcium_never_cancer():
    """"Ca 9.2, no hypercalcemia" (a lab line) was coded C80.1 on wild-dev notes."""
    assert codes("Ca 9.2") == [] and codes("Ca++ 8.1") == []
    assert codes("breast ca") == ["C50.919"]
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    result = code_note("Multiple myeloma. Cr 1.0. Ca 9.2, no hypercalcemia.",
                       Setting.FACILITY, "official")
    assert "C80.1" not in [c.code for c in result.codes]


@pytest.mark.parametrize("phrase, expected", [
    ("UTI in pregnancy at 20 weeks", ["O23.42", "Z3A.20"]),  # 14-27 weeks: second
    ("Preeclampsia, 34 weeks", ["O14.93", "Z3A.34"]),
    ("Threatened miscarriage, 8 weeks", ["O20.0", "Z3A.08"]),
    ("Gestational diabetes, diet controlled, 28 weeks", ["O24.410", "Z3A.28"]),
    ("Gestational diabetes", ["O24.419"]),
])
def test_i_c_15_trimester_from_weeks_and_z3a_weeks_of_gestation(phrase, expected):
    assert codes(phrase) == expected


def test_a_duration_in_weeks_is_no_gestation():
    assert read_phrase("cough x 2 weeks").axes.gestation_weeks is None


@pytest.mark.parametrize("phrase, expected", [
    ("A-fib on apixaban", ["I48.91", "Z79.01"]),
    ("DM2 on insulin", ["E11.9", "Z79.4"]),
    ("T2DM on metformin", ["E11.9", "Z79.84"]),
    ("RA on methotrexate", ["M06.9", "Z79.631"]),
])
def test_i_c_21_c_3_long_term_drug_after_its_condition(phrase, expected):
    assert codes(phrase) == expected


def test_long_term_classes_resolve_to_z79_titles_of_the_code_set():
    """Every curated drug's class names a billable Z79 title (the code is read, not typed)."""
    from engine.dx_codes import _long_term_codes

    table = _long_term_codes("fy2026", None)
    assert table["warfarin"] == "Z79.01" and table["insulin"] == "Z79.4"
    assert all(icd10cm.is_billable(c) and c.startswith("Z79") for c in table.values())


@pytest.mark.parametrize("phrase, expected", [
    ("Morbid obesity, BMI 42", ["E66.01", "Z68.41"]),
    ("Obesity, BMI 31.5", ["E66.9", "Z68.31"]),
    ("Overweight, BMI 27", ["E66.3", "Z68.27"]),
    ("Hypertension, BMI 35", ["I10"]),  # no weight condition: no BMI code
])
def test_i_b_14_bmi_code_only_with_a_weight_condition(phrase, expected):
    assert codes(phrase) == expected


@pytest.mark.parametrize("phrase, expected", [
    ("Iron deficiency anemia in pregnancy", ["O99.019", "D50.9"]),
    ("Iron deficiency anemia in pregnancy, 28 weeks", ["O99.013", "D50.9", "Z3A.28"]),
    ("Pregnancy", []),  # Z33.1 only when the provider says incidental
    ("Pregnant state, incidental", ["Z33.1"]),
])
def test_i_c_15_a_1_condition_in_pregnancy_coded_from_chapter_15_first(phrase, expected):
    assert codes(phrase) == expected


def test_weeks_stated_once_in_the_note_reach_its_pregnancy_diagnoses():
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    result = code_note("32 y/o G2P1 at 28w2d.\nA/P: Iron deficiency anemia in pregnancy.",
                       Setting.FACILITY, "official")
    got = [c.code for c in result.codes if c.system == "ICD-10-CM"]
    assert "O99.013" in got and "Z3A.28" in got


@pytest.mark.parametrize("phrase, expected", [
    ("AKI on CKD 3b", ["N18.32", "N17.9"]),  # each title's doubtful word is the other's
    ("T2DM, HTN and CKD stage 3b", ["E11.22", "I12.9", "N18.32"]),
])
def test_i_b_1_two_conditions_in_one_phrase_each_coded(phrase, expected):
    assert codes(phrase) == expected


@pytest.mark.parametrize("phrase, code", [
    ("Fracture of great toe, right, initial", "S92.401A"),  # I.C.19.c.1: displaced
    ("Nondisplaced fracture of great toe, right, initial", "S92.404A"),
    ("LBP with left-sided sciatica", "M54.42"),
    ("Lumbar radiculopathy", "M54.16"),
    ("Acute blood loss anemia", "D62"),
    ("B12 deficiency anemia", "D51.9"),
    ("Cellulitis of R great toe", "L03.031"),
])
def test_note_wording_reaches_the_tabular_title(phrase, code):
    assert codes(phrase) == [code]


@pytest.mark.parametrize("phrase", [
    "BP 118/74 pre",  # the inclusion term "PRES" read as note words (I67.83)
    "observation, VS WNL",  # Z39.0 from one workflow word
    "activity as tolerated",  # Y93.9 activity code
])
def test_no_code_from_acronym_inclusions_or_one_word_status_titles(phrase):
    assert codes(phrase) == []


def test_copied_forward_symptoms_are_not_todays_diagnoses():
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    note = ("Infusion visit. Dx: Crohn's disease.\n[Copied forward from 01/12/2026 note: "
            "\"Pt c/o mild nausea at start. Zofran 4 mg IV given 1315.\"]\n")
    got = [c.code for c in code_note(note, Setting.FACILITY, "official").codes]
    assert "R11.0" not in got and "K50.90" in got


@pytest.mark.parametrize("phrase, expected", [
    ("Oxaliplatin-induced peripheral polyneuropathy, grade 2", ["G62.0", "T45.1X5A"]),
    ("Hb-SS disease with vaso-occlusive pain crisis", ["D57.00"]),
    ("hypertensive chronic kidney disease, CKD stage 4 (eGFR 22), not on dialysis",
     ["I12.9", "N18.4"]),  # a lab value beside the diagnosis is no leftover word
    ("New today: 2 episodes of painless gross hematuria this week", []),  # never T30.0
])
def test_wild_dev_wordings(phrase, expected):
    assert codes(phrase) == expected


def test_a_numbered_diagnosis_list_on_one_line_is_a_diagnostic_statement():
    """Symptoms a provider lists are kept beside a definitive diagnosis (not dropped as
    narrative symptoms, I.B.5)."""
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    note = "Dr. Kowalczyk: 1. Dehydration  2. Nausea with vomiting  3. Diarrhea.\n"
    got = [c.code for c in code_note(note, Setting.FACILITY, "official").codes]
    assert got == ["E86.0", "R11.2", "R19.7"]


@pytest.mark.parametrize("note, present, absent", [
    # A column gap and the patient's age and sex end a narrative clause.
    ("02/25/2026   61 y/o M   Adenocarcinoma of sigmoid colon, stage IIIB.\n", "C18.7", None),
    # "on <drug>" ends a clause; the joined phrase still gives Z79.01.
    ("44 y/o F, relapsing-remitting multiple sclerosis on ocrelizumab q6 months.\n", "G35.A",
     "G35.D"),
    ("A-fib on apixaban, stable.\n", "Z79.01", None),
    ("Pt 36 M - ulcerative pancolitis, in remission on maintenance vedolizumab q8wk.\n",
     "K51.00", None),
    # A quoted provider statement; a dash joins its parts.
    ("0915  Dr. Patel notified by phone: \"dehydration - adverse effect of chemotherapy "
     "(FOLFOX)\"; verbal order NS 1000 mL IV.\n", "T45.1X5A", None),
    # "?" before a word asks about it: uncertain, never coded outpatient (IV.H).
    ("Pt refused Toradol. Abd pain, ?appendicitis - surgery consulted.\n", "R10.9", "K37"),
    ("Abd pain, ? appendicitis.\n", "R10.9", "K37"),
    ("62 y/o F, CT: acute uncomplicated sigmoid diverticulitis - no abscess.\n", "K57.32", None),
])
def test_narrative_clauses_of_notes_written_by_others(note, present, absent):
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    got = [c.code for c in code_note(note, Setting.FACILITY, "official").codes]
    assert present in got
    assert absent is None or absent not in got


def test_lexicon_symptoms_of_the_narrative_go_with_the_definitive_diagnosis():
    """R-DX-06 / I.B.5: "fever 38.9" in the HPI beside a coded pyelonephritis was coded
    R50.9 because it came from the concept lexicon, not from a narrative phrase."""
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    note = ("38 y/o F: R flank pain, fever 38.9, chills, dysuria x 2 d.\n"
            "Assessment: 1. Acute pyelonephritis  2. Dehydration\n")
    got = [c.code for c in code_note(note, Setting.FACILITY, "official").codes]
    assert "N10" in got and "R50.9" not in got


@pytest.mark.parametrize("phrase, expected", [
    ("pernicious anemia (intrinsic factor Ab positive)", ["D51.0"]),  # bracketed: nonessential
    ("Iron deficiency anemia secondary to chronic blood loss from menorrhagia (heavy regular "
     "cycles; gyn following)", ["D50.0", "N92.0"]),
    ("Pain 3/10 (8/10 before treatment)", []),  # a pain score is a vital sign
])
def test_bracketed_words_never_block_a_code(phrase, expected):
    assert codes(phrase) == expected


@pytest.mark.parametrize("phrase, expected", [
    ("Crohn's ileocolitis", ["K50.80"]),
    ("seronegative rheumatoid arthritis", ["M06.00"]),  # its "without" ends at the term
    ("Seropositive rheumatoid arthritis", ["M05.9"]),
    ("RA, RF positive, polyarticular", ["M05.79"]),
])
def test_rheumatology_and_ibd_wordings(phrase, expected):
    assert codes(phrase) == expected
