"""The Table of Drugs and Chemicals: building the lookup from the CMS-derived CSV
(`tests/data/icd10cm_drug_2026_sample.csv` holds rows copied unchanged from
icd10cm_drug_2026_final.csv) and the I.C.19.e.5 rules that code from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.dx_codes import choose_codes
from engine.icd10cm_drugs import drug_table
from extractor.dx_terms import read_phrase
from notecoder.refdata.icd_drug_table import table_rows

SAMPLE = Path(__file__).parent / "data" / "icd10cm_drug_2026_sample.csv"


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


def test_table_rows_name_subterms_under_their_parent_both_ways_round():
    rows = dict(table_rows(SAMPLE))
    assert rows["acetaminophen"][0] == "T39.1X1"
    assert rows["fentanyl"][4] == "T40.415"  # "(analogs)" dropped
    assert rows["carbon monoxide"][0] == "T58.91"
    assert rows["carbon dioxide medicinal"][4] == "T41.5X5"  # two levels deep
    assert rows["angiotensin converting enzyme inhibitor"][5] == "T46.4X6"
    assert "substance" not in rows and "inhibitor" not in rows  # header, no codes
    assert not any("see" in k.split() for k in rows)  # "-see" rows skipped


def test_packaged_table_finds_the_longest_substance():
    sub, start, end = drug_table().find(["carbon", "monoxide", "poisoning"])
    assert sub.words == ("carbon", "monoxide") and (start, end) == (0, 2)


@pytest.mark.parametrize("phrase, expected", [
    ("Accidental acetaminophen overdose", ["T39.1X1A"]),
    ("Acetaminophen overdose", ["T39.1X1A"]),  # intent unstated: accidental
    ("Intentional overdose of sertraline", ["T43.222A"]),  # curated class
    ("suicide attempt by overdose of sertraline", ["T43.222A"]),
    ("Tylenol overdose", ["T39.1X1A"]),  # brand read as its generic
    ("CO poisoning, accidental", ["T58.91XA"]),
])
def test_i_c_19_e_5_b_poisoning_by_intent(phrase, expected):
    assert codes(phrase) == expected


@pytest.mark.parametrize("phrase, expected", [
    ("GI bleed due to apixaban, taken as prescribed", ["K92.2", "T45.515A"]),
    ("Hypokalemia due to hydrochlorothiazide (adverse effect, taken as prescribed)",
     ["E87.6", "T50.2X5A"]),
    ("Steroid-induced hyperglycemia", ["R73.9", "T38.0X5A"]),
    ("Hypoglycemia due to insulin", ["E16.0", "T38.3X5A"]),  # the drug-induced title
    ("Anaphylaxis to penicillin", ["T88.6XXA", "T36.0X5A"]),
    ("Oral mucositis due to chemo", ["K12.31", "T45.1X5A"]),  # not K12.32 "other drugs"
    ("Febrile neutropenia after chemo", ["D70.1", "R50.81", "T45.1X5A"]),
])
def test_i_c_19_e_5_a_adverse_effect_follows_the_condition(phrase, expected):
    assert codes(phrase) == expected


def test_i_c_19_e_5_c_underdosing_with_its_intent():
    assert codes("Breakthrough seizure in known epilepsy due to subtherapeutic phenytoin - "
                 "intentional underdosing due to financial hardship") == [
        "G40.909", "T42.0X6A", "Z91.120"]


@pytest.mark.parametrize("phrase, absent", [
    ("Pneumonia on warfarin", "T45.515A"),  # a current medication, not a cause
    ("Penicillin allergy", "T36.0X5A"),  # allergy status Z88.0, no adverse effect
    ("Sepsis due to MRSA", "T36.0X5A"),  # methicillin names the organism
    ("IDA secondary to chronic blood loss", "T45.4X5A"),  # iron is the condition's word
])
def test_no_drug_code_where_the_phrase_names_no_drug_cause(phrase, absent):
    assert absent not in codes(phrase)
