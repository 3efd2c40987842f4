"""Diagnosis rules and wording found on the fresh-dev corpus (branch icd-fresh). Each test
uses a note written for it (not a corpus note) and fails without the rule or vocabulary row
it names."""

from __future__ import annotations

from engine.dx_codes import choose_codes
from extractor.dx_terms import read_phrase
from notecoder.pipeline import code_note
from notecoder.schema import Setting


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


def icd(note: str, setting: Setting = Setting.PROFESSIONAL) -> list[str]:
    return [c.code for c in code_note(note, setting, "official").codes
            if c.system == "ICD-10-CM"]


def test_r_dx_05_hormonal_antineoplastic_is_not_a_chemotherapy_encounter():
    """ICD-TAB Z51.11 is an encounter for antineoplastic chemotherapy; a GnRH agonist
    injection (96402) is hormone therapy: the neoplasm is listed, no Z51.1-."""
    note = ("Urology clinic - hormone injection\n"
            "Assessment: Prostate cancer (C61), rising PSA previously, now on androgen "
            "deprivation.\n"
            "10:45 leuprolide acetate depot 7.5 mg IM R gluteus given by RN, no reaction.\n")
    got = icd(note)
    assert got[0] == "C61"
    assert not any(c.startswith("Z51.1") for c in got)


def test_drug_caused_condition_takes_the_due_to_medicaments_title():
    """Index: Hypothyroidism, due to, drugs/medicaments E03.2; ICD-G I.C.19.e.5.a: the
    nature of the adverse effect, then the T code of the drug."""
    assert codes("Hypothyroidism secondary to amiodarone") == ["E03.2", "T46.2X5A"]


def test_icd_g_iv_j_condition_not_addressed_at_this_visit_is_not_coded():
    """ICD-G IV.J: a coexisting condition is coded when it requires or affects care at the
    visit; one the provider says was not addressed is left off."""
    note = ("Office visit - infusion clinic\n"
            "Assessment:\n"
            "1. Iron deficiency anemia - IV iron today\n"
            "2. Hyperlipidemia: not addressed this visit, followed by PCP\n"
            "3. HTN - on lisinopril per PCP, not addressed today\n")
    assert icd(note) == ["D50.9"]


# ---- course words, joints, staging words, norovirus (session 22) -----------------------

def test_a_flare_is_an_exacerbation_where_the_category_has_one():
    # J45.901 / J44.1 "with (acute) exacerbation": "flare" and "flare-up" are read as it.
    assert codes("asthma flare") == ["J45.901"]
    assert codes("COPD flare-up") == ["J44.1"]


def test_a_flare_changes_no_code_where_the_category_names_none():
    # No "with exacerbation" under Colitis, ulcerative / Crohn's / Arthritis, rheumatoid:
    # the condition is coded, never left uncoded for the course word.
    assert codes("UC flare, on mesalamine") == ["K51.90"]
    assert codes("Crohn disease flare") == ["K50.90"]
    assert codes("RA exacerbation") == ["M06.9"]


def test_a_joint_names_the_site_of_a_joint_code():
    assert codes("Gout flare, L first MTP joint") == ["M10.072"]


def test_small_cell_staging_words_change_no_lung_code():
    assert codes("SCLC, extensive stage, left upper lobe") == ["C34.12"]
    assert codes("limited-stage small cell lung ca of the RLL") == ["C34.31"]


def test_norovirus_is_the_a08_11_gastroenteropathy():
    # A08.11 inclusion term "Acute gastroenteropathy due to Norovirus"; never also K52.9.
    assert codes("GE due to norovirus (PCR+)") == ["A08.11"]
    assert codes("gastroenteritis - norovirus") == ["A08.11"]


def test_hormone_sensitivity_status_follows_the_prostate_cancer_it_qualifies():
    # C61 "code, if applicable, to identify hormone sensitivity status (Z19.1-Z19.2)": the
    # status follows C61 (I.A.13 use additional code), whatever the phrase's word order.
    assert codes("castration-sensitive adenocarcinoma of the prostate") == ["C61", "Z19.1"]
    assert codes("prostate ca - castrate resistant") == ["C61", "Z19.2"]


def test_the_class_of_lupus_nephritis_changes_no_code():
    assert codes("SLE w/ class III lupus nephritis") == ["M32.14"]


def test_pagets_disease_of_bone_is_osteitis_deformans_by_site():
    assert codes("Paget disease of bone - L thigh") == ["M88.852"]
    # No bone named: the unspecified-bone code, never an "unspecified shoulder" one.
    assert codes("osteitis deformans") == ["M88.9"]


def test_ear_and_external_auricular_canal_is_one_site():
    # C44.2- titles: "skin of <side> ear and external auricular canal". Read as a list the
    # title once took "canal" for "skin", so an anal-canal SCC was coded C44.221 + K62.9.
    assert codes("squamous cell carcinoma of the anal canal") == ["C21.1"]
    assert codes("melanoma of right ear") == ["C43.21"]


def test_esbl_is_the_z16_12_resistance_after_the_infection_and_its_organism():
    # Z16.12 "Extended spectrum beta lactamase (ESBL) resistance"; Z16: code first the
    # infection, so it follows N39.0 and the organism B96.20.
    assert codes("UTI w/ ESBL-producing E. coli") == ["N39.0", "B96.20", "Z16.12"]


def test_sepsis_precedes_the_localized_infection_without_organ_dysfunction():
    # I.C.1.d.4: the systemic infection first, then the localized infection.
    assert codes("sepsis d/t cellulitis, L lower leg") == ["A41.9", "L03.116"]


def test_hyperemesis_gravidarum_needs_no_timing_words():
    """ICD-TAB O21.0/O21.1: the inclusion terms add "starting before the end of the 20th
    week of gestation", which is what hyperemesis gravidarum is (late vomiting is O21.2);
    a note writes only the condition and, for O21.1, the metabolic disturbance."""
    assert codes("Hyperemesis gravidarum") == ["O21.0"]
    assert codes("Hyperemesis gravidarum w/ dehydration") == ["O21.1"]
    assert codes("hyperemesis gravidarum with electrolyte imbalance") == ["O21.1"]
