"""A drug written as an order or as a medication the patient takes is not a dose given, for
the offline reader and for the LLM path alike (extractor.dose_wording)."""

from __future__ import annotations

import pytest

from extractor.dose_wording import clause_around, written_as_not_given
from extractor.llm.drafts import AdministrationDraft, NoteDraft
from notecoder.pipeline import code_note, reset_llm
from notecoder.schema import Setting
from tests.llm_stub import use_scripted_llm


@pytest.mark.parametrize("sentence", [
    "lisinopril 10 mg daily",
    "insulin glargine 20 units SC nightly",
    "ondansetron 4 mg IV q8h PRN nausea",
    "Will give ceftriaxone 1 g IM",
])
def test_schedules_and_plans_are_not_doses_given(sentence):
    assert written_as_not_given(sentence, sentence) is not None


@pytest.mark.parametrize("sentence", [
    "ceftriaxone 1 g IM given",
    "Ceftriaxone 1 g IV q24h, first dose given 1400",
    "Zofran 4 mg IV push 0915",
])
def test_doses_given_are_not_flagged(sentence):
    assert written_as_not_given(sentence, sentence) is None


def test_clause_is_bounded_by_commas_and_semicolons():
    text = "Toradol 30 mg IM given; lisinopril 10 mg daily, aspirin 81 mg"
    start = text.index("lisinopril")
    assert clause_around(text, start, start + 10, 0, len(text)) == " lisinopril 10 mg daily"


NOTE = ("Diabetes follow-up. Insulin glargine 20 units SC nightly, metformin 500 mg BID.\n"
        "A1c 7.4, no changes.")


@pytest.fixture
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


@pytest.mark.parametrize("extractor", ["llm", "both"])
def test_an_llm_claiming_a_schedule_line_as_given_bills_nothing(extractor, tmp_path, _fresh_llm):
    quote = "Insulin glargine 20 units SC nightly"
    draft = NoteDraft(administrations=[AdministrationDraft(
        quote=quote, drug="Insulin glargine", route="SC", method="injection",
        dose=20, dose_unit="units")])
    use_scripted_llm(lambda _chunk, _repair=None: draft, tmp_path)
    result = code_note(NOTE, Setting.PROFESSIONAL, "official", extractor)
    assert [line.code for line in result.codes if line.system in {"CPT", "HCPCS"}] == []
