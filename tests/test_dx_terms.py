"""extractor.dx_terms: a diagnosis phrase -> main terms and axes."""

from __future__ import annotations

import pytest

from extractor.dx_terms import read_phrase
from extractor.dx_words import title_terms


def test_main_term_and_site_from_note_wording():
    m = read_phrase("Cellulitis of L lower leg")
    assert "cellulitis" in m.main_terms
    assert m.axes.laterality == "left"
    assert "limb" in m.soft_words  # "leg" meets the tabular's "lower limb"


@pytest.mark.parametrize("phrase, stage", [("CKD 3a", "3a"), ("CKD stage IV", "4"),
                                           ("chronic kidney disease stage 3b", "3b"),
                                           ("ESRD", "esrd")])
def test_ckd_stage(phrase, stage):
    assert read_phrase(phrase).axes.stage == stage


@pytest.mark.parametrize("phrase, axis, value", [
    ("acute on chronic diastolic CHF", "acuity", "acute_on_chronic"),
    ("HFrEF", "type", "systolic"),
    ("T2DM", "type", "type2"),
    ("MRSA pneumonia", "organism", "MRSA"),
    ("E. coli UTI", "organism", "E. coli"),
    ("liver mets", "behaviour", "secondary"),
    ("h/o breast cancer", "behaviour", "history"),
    ("fracture of right radius, subsequent encounter", "encounter", "subsequent"),
    ("RLE cellulitis", "laterality", "right"),
    ("moderate persistent asthma", "severity", "moderate persistent"),
])
def test_axes(phrase, axis, value):
    assert getattr(read_phrase(phrase).axes, axis) == value


def test_without_and_intractable():
    m = read_phrase("intractable migraine without aura")
    assert m.axes.intractable is True and "aura" in m.negated_words


@pytest.mark.parametrize("typo, word", [("pnuemonia", "pneumonia"), ("Hypertention",
                                                                      "hypertension"),
                                        ("fibrilation", "fibrillation")])
def test_misspelling_within_edit_distance(typo, word):
    assert word in read_phrase(typo).words


def test_short_words_are_not_corrected():
    assert read_phrase("gout").words == ["gout"]


def test_title_and_head_names_two_conditions():
    keys = {t.key for t in title_terms("Hypo-osmolality and hyponatremia")}
    assert keys == {"osmolality", "hyponatremia"}


def test_title_site_list_is_one_group():
    (t,) = title_terms("Malignant neoplasm of upper lobe, right bronchus or lung")
    assert t.key == "neoplasm" and ["bronchus", "lung"] in t.required


def test_title_without_is_negative():
    (t,) = title_terms("Migraine without aura, not intractable, without status migrainosus")
    assert ["aura"] in t.negative and ["intractable"] in t.negative


@pytest.mark.parametrize("phrase", ["#1 HTN", "3. HTN", "2) HTN", "Dx: HTN"])
def test_list_number_and_label_are_not_words(phrase):
    assert read_phrase(phrase).words == ["hypertension"]


def test_note_shorthand_with_and_history():
    assert "with" not in read_phrase("COPD w/ exacerbation").words
    assert read_phrase("Hx CVA").history
    assert read_phrase("Former smoker").history


def test_title_or_head_shares_its_modifier():
    keys = {t.key: t.required for t in title_terms("Corkhandler's disease or lung")}
    assert keys["disease"] == [["corkhandler"]] and keys["lung"] == [["corkhandler"]]


def test_title_axis_noun_before_unspecified_is_open():
    (t,) = title_terms("Diverticulitis of intestine, part unspecified, without perforation")
    assert t.required == [["intestine"]] and "part" in t.optional


def test_spelling_vocabulary_is_shipped_in_the_index():
    from engine.icd10cm_terms import WORDS_KEY, term_index

    index = term_index()
    assert WORDS_KEY in index._raw and "pneumonia" in index.words()
    assert WORDS_KEY not in index.keys() and WORDS_KEY not in index  # noqa: SIM118
