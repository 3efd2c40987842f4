"""Note wording and rules added for the fifth phrase batch (dev-758..1015); each test fails
without the rule or vocabulary row it names."""

from __future__ import annotations

import pytest

from engine.dx_codes import choose_codes, r_presumed_links
from engine.dx_rules import r_dx_08_presumed_links
from eval.dx_phrases import code_phrase
from extractor.dx_terms import read_phrase
from notecoder.schema import CodeLine, Span


def codes(phrase: str) -> list[str]:
    return [c.code for c in choose_codes(read_phrase(phrase))]


# ---- shorthand (extractor.dx_words._NOTE_SHORTHAND) -------------------------------------

def test_d_slash_t_is_due_to():
    assert codes("Hyperkalemia d/t spironolactone") == ["E87.5", "T50.0X5A"]


@pytest.mark.parametrize("phrase, expected", [
    ("SBP", ["K65.2"]),
    ("SBP 182", []),  # a systolic pressure
    ("NPH", ["G91.2"]),
    ("DM2 on NPH insulin", ["E11.9", "Z79.4"]),  # the insulin, never hydrocephalus
])
def test_sbp_and_nph_read_as_diagnoses_only_without_a_value_or_insulin(phrase, expected):
    assert codes(phrase) == expected


# ---- curated vocabulary that used to give a wrong code -------------------------------------

@pytest.mark.parametrize("phrase, expected", [
    ("Pulm HTN", ["I27.20"]),                       # was I10
    ("PJP pneumonia", ["B59"]),                     # was J18.9
    ("PCP pneumonia", ["B59"]),
    ("Legionella pneumonia", ["A48.1"]),            # was J18.9
    ("Delirium tremens", ["F10.231"]),              # was R41.0
    ("Epidermoid cyst of scalp", ["L72.0"]),        # was K09.8 (an oral cyst)
    ("Primary myelofibrosis", ["D47.1"]),           # D75.81 Excludes1; was D75.81 + T45.1X5A
    ("Pancreatitis d/t gallstones", ["K85.10"]),    # was K80.20 + K85.90
])
def test_index_redirects_for_note_wording(phrase, expected):
    assert codes(phrase) == expected


# ---- engine rules ------------------------------------------------------------------------

def test_if_applicable_adverse_effect_needs_a_drug_cause():
    """ICD-G I.C.19.e.5.a: D75.81's "code for adverse effect, if applicable" is no T-code
    when no drug is named; D70.1's title names chemotherapy, so T45.1X5A stays."""
    assert codes("Myelofibrosis") == ["D75.81"]
    assert codes("Chemo-induced neutropenia") == ["D70.1", "T45.1X5A"]


@pytest.mark.parametrize("phrase, expected", [
    ("Allergy: codeine", ["Z88.5"]),        # narcotic agent (T40.2-)
    ("Allergic to ceftriaxone", ["Z88.1"]),  # other antibiotic (T36.1-)
    ("Morphine allergy", ["Z88.5"]),
])
def test_z88_allergy_status_by_drug_class(phrase, expected):
    assert codes(phrase) == expected


def test_allergic_reaction_caused_by_a_drug_is_no_status():
    assert codes("Allergic urticaria due to amoxicillin") == ["L50.0", "T36.0X5A"]


def test_manifestation_code_first_names_the_combination_code():
    """ICD-G I.A.13: K31.84's "code first ... diabetes (E11.43)" -> E11.43, K31.84."""
    assert codes("Diabetic gastroparesis") == ["E11.43", "K31.84"]
    # A category in the note (J18.9: "code first ... influenza (J10.0-)") adds nothing.
    assert codes("Influenza with pneumonia") == ["J11.00"]


@pytest.mark.parametrize("found, swap", [
    (["I10", "N18.31"], {"I10": "I12.9"}),
    (["I10", "N18.6"], {"I10": "I12.0"}),
    (["I10", "I50.9"], {"I10": "I11.0"}),
    (["I10", "I50.22", "N18.4"], {"I10": "I13.0"}),
    (["I10", "I50.22", "N18.6"], {"I10": "I13.2"}),
    (["E11.9", "N18.32"], {"E11.9": "E11.22"}),
    (["I10", "E78.5", "E11.9"], {}),
    (["I48.91", "I50.9", "N18.4"], {}),
])
def test_r_presumed_links(found, swap):
    """ICD-G I.C.9.a (hypertension with heart failure / CKD) and I.A.15 (diabetes with
    CKD): linked even when stated as separate diagnoses."""
    assert r_presumed_links(found) == swap


def _line(code: str) -> CodeLine:
    return CodeLine(system="ICD-10-CM", code=code, rule="R-DX-03", rationale=code,
                    evidence=[Span(start=0, end=3)])


def test_r_dx_08_presumed_links_on_the_claim():
    lines = r_dx_08_presumed_links([_line("I10"), _line("N18.4")])
    assert [x.code for x in lines] == ["I12.9", "N18.4"]
    assert "R-DX-08" in lines[0].rule


# ---- the phrase harness reads an assessment line as the note reader does ------------------

@pytest.mark.parametrize("phrase, expected", [
    ("HTN: stable, cont lisinopril", ["I10"]),
    ("CKD 3b; anemia", ["N18.32", "D64.9"]),      # no "in"/"due to": not D63.1
    ("Afib; CHF; CKD 4", ["I48.91", "I50.9", "N18.4"]),
    ("HTN; CKD 3a", ["I12.9", "N18.31"]),
])
def test_items_and_plan_text(phrase, expected):
    assert code_phrase(phrase) == expected
