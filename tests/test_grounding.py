"""Grounding an LLM's verbatim quote in the note: exact, normalised, fuzzy or none."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from extractor.grounding import FUZZY_THRESHOLD, ground_quote
from notecoder.schema import Alignment

NOTE = (
    "Dx: community-acquired pneumonia. Denies fever.\n"
    "Ceftriaxone 1 g in 50 mL NS IVPB started 10:15, completed 10:50.\n"
    "Wt 80 kg.\n"
)


def quoted(text: str, grounded) -> str:
    return text[grounded.span.start:grounded.span.end]


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def test_exact_quote_spans_the_quoted_characters():
    found = ground_quote("Ceftriaxone 1 g in 50 mL NS IVPB", NOTE)
    assert found.alignment == Alignment.EXACT
    assert found.score == 100.0
    assert found.span.start == NOTE.index("Ceftriaxone")
    assert quoted(NOTE, found) == "Ceftriaxone 1 g in 50 mL NS IVPB"


def test_surrounding_whitespace_of_the_quote_is_ignored():
    found = ground_quote("  Wt 80 kg.\n", NOTE)
    assert found.alignment == Alignment.EXACT
    assert quoted(NOTE, found) == "Wt 80 kg."


def test_near_picks_the_closest_of_several_exact_matches():
    text = "Vancomycin 1 g IV at 08:00.\nCeftriaxone 1 g IV at 10:15.\nCefazolin 1 g IV at 12:00."
    starts = [m.start() for m in re.finditer("1 g", text)]
    assert len(starts) == 3
    assert ground_quote("1 g", text).span.start == starts[0]
    for near, expected in [(0, starts[0]), (text.index("Ceftriaxone"), starts[1]),
                           (text.index("Cefazolin"), starts[2]), (len(text), starts[2])]:
        found = ground_quote("1 g", text, near=near)
        assert found.alignment == Alignment.EXACT
        assert found.span.start == expected


@pytest.mark.parametrize("quote, text", [
    ("ceftriaxone  1 g in 50 mL\nNS IVPB", NOTE),          # case and whitespace in the quote
    ("CEFTRIAXONE 1 G", NOTE),                               # case only
    ("Wt 80 kg", "Allergies: none.\nWt   80\n\tkg.\n"),     # whitespace runs in the note
    ("denies fever", "DENIES\n  FEVER today."),              # both
])
def test_normalised_match_spans_the_original_characters(quote, text):
    found = ground_quote(quote, text)
    assert found.alignment == Alignment.NORMALISED
    assert found.score == 100.0
    assert quoted(text, found) != quote.strip()
    assert fold(quoted(text, found)) == fold(quote)
    # The span starts and ends on a character of the match, not on whitespace around it.
    assert not quoted(text, found)[0].isspace() and not quoted(text, found)[-1].isspace()


def test_normalised_span_keeps_inner_newlines_of_the_note():
    text = "Plan:\nceftriaxone 1 g\n\n   IVPB given."
    found = ground_quote("Ceftriaxone 1 g IVPB", text)
    assert found.alignment == Alignment.NORMALISED
    assert quoted(text, found) == "ceftriaxone 1 g\n\n   IVPB"


def test_near_picks_the_closest_of_several_normalised_matches():
    text = "NS  500 mL bolus at 08:00.\nNS 500 ML bolus at 09:00.\nns 500  ml bolus at 10:00."
    near = text.index("10:00")
    found = ground_quote("ns 500 mL", text, near=near)
    assert found.alignment == Alignment.NORMALISED
    assert found.span.start == text.rindex("ns 500")
    assert quoted(text, found) == "ns 500  ml"


def test_one_character_typo_is_a_fuzzy_match_at_the_right_place():
    quote = "Ceftriaxone 1 g in 50 mL NX IVPB"  # "NS" misspelled
    assert len(quote) >= 30
    found = ground_quote(quote, NOTE)
    assert found.alignment == Alignment.FUZZY
    assert FUZZY_THRESHOLD <= found.score < 100.0
    assert quoted(NOTE, found) == "Ceftriaxone 1 g in 50 mL NS IVPB"


def test_fuzzy_match_inside_a_longer_line_covers_only_the_quoted_part():
    quote = "started 10:15, complted 10:50"  # dropped letter
    found = ground_quote(quote, NOTE)
    assert found.alignment == Alignment.FUZZY
    assert found.score >= FUZZY_THRESHOLD
    expected = NOTE.index("started 10:15")
    assert abs(found.span.start - expected) <= 1
    assert abs(found.span.end - (expected + len("started 10:15, completed 10:50"))) <= 1


def test_absent_quote_is_not_grounded():
    found = ground_quote("Morphine 4 mg IV push given for pain", NOTE)
    assert found.alignment == Alignment.NONE
    assert found.span is None
    assert found.score == 0.0


def test_short_quote_with_a_typo_is_never_fuzzy():
    text = "Chief complaint: fever"
    # Without the length rule this 6-char quote would pass: it scores above the threshold.
    assert fuzz.partial_ratio_alignment("fevers", text.lower()).score >= FUZZY_THRESHOLD
    found = ground_quote("fevers", text)
    assert (found.span, found.alignment) == (None, Alignment.NONE)
    for quote in ["fevr", "10:51", "Wt 81kg", "Ceftrx"]:
        assert len(quote) < 8
        found = ground_quote(quote, NOTE)
        assert (found.span, found.alignment) == (None, Alignment.NONE), quote


@pytest.mark.parametrize("quote", ["", " ", "\n\t  \n"])
def test_empty_or_blank_quote_is_not_grounded(quote):
    found = ground_quote(quote, NOTE)
    assert (found.span, found.alignment, found.score) == (None, Alignment.NONE, 0.0)


def test_window_restricts_the_search_and_offsets_are_into_the_whole_text():
    text = "Ceftriaxone 1 g IVPB at 08:00.\nCeftriaxone 1 g IVPB at 20:00.\n"
    second = text.index("\n") + 1
    found = ground_quote("Ceftriaxone 1 g", text, lo=second)
    assert found.alignment == Alignment.EXACT
    assert found.span.start == second
    assert quoted(text, found) == "Ceftriaxone 1 g"
    normalised = ground_quote("CEFTRIAXONE  1 G", text, lo=second)
    assert normalised.alignment == Alignment.NORMALISED
    assert normalised.span.start == second
    fuzzy = ground_quote("Ceftriaxone 1 g IVPQ at 20:00", text, lo=second)
    assert fuzzy.alignment == Alignment.FUZZY
    assert fuzzy.span.start == second


def test_quote_only_outside_the_window_is_not_found_inside_it():
    text = "Dx: pneumonia.\nWt 80 kg.\nCeftriaxone 1 g in 50 mL NS given.\n"
    line = text.index("Wt")
    assert ground_quote("Ceftriaxone 1 g in 50 mL NS given", text).span is not None
    for lo, hi in [(0, line), (line, line + len("Wt 80 kg.\n"))]:
        found = ground_quote("Ceftriaxone 1 g in 50 mL NS given", text, lo=lo, hi=hi)
        assert (found.span, found.alignment) == (None, Alignment.NONE)
    assert ground_quote("pneumonia", text, lo=line).span is None
    assert ground_quote("Wt 80 kg", text, hi=line).span is None


@given(st.data())
def test_any_substring_of_any_text_is_grounded_exactly(data):
    text = data.draw(st.text(min_size=1, max_size=200), label="text")
    start = data.draw(st.integers(0, len(text) - 1), label="start")
    end = data.draw(st.integers(start + 1, len(text)), label="end")
    quote = text[start:end].strip()  # ground_quote ignores whitespace around a quote
    if not quote:
        return
    found = ground_quote(quote, text)
    assert found.alignment == Alignment.EXACT
    assert quoted(text, found) == quote


@given(st.data())
def test_case_and_whitespace_changes_of_a_substring_are_grounded(data):
    alphabet = st.sampled_from("abcXYZ 019:.\n\t")
    text = data.draw(st.text(alphabet, min_size=1, max_size=120), label="text")
    start = data.draw(st.integers(0, len(text) - 1), label="start")
    end = data.draw(st.integers(start + 1, len(text)), label="end")
    if not text[start:end].strip():
        return
    quote = re.sub(r"\s+", "  ", text[start:end]).swapcase()
    found = ground_quote(quote, text)
    assert found.alignment in (Alignment.EXACT, Alignment.NORMALISED)
    assert fold(quoted(text, found)) == fold(quote)


def test_normalised_span_is_right_after_a_character_whose_lowercase_is_longer():
    text = "Transfer from İstanbul clinic. Ceftriaxone 1 g given"
    found = ground_quote("CEFTRIAXONE 1 G", text)  # 'İ'.lower() is two characters
    assert found.alignment == Alignment.NORMALISED
    assert quoted(text, found) == "Ceftriaxone 1 g"


def test_quote_adding_claims_to_a_short_window_is_not_grounded():
    text = "Denies fever."
    found = ground_quote("Denies fever. Patient has sepsis and received vancomycin.", text)
    assert (found.span, found.alignment) == (None, Alignment.NONE)


def test_dotted_capital_i_first_in_the_note_does_not_break_alignment():
    found = ground_quote("CEFTRIAXONE 1 G", "İ Ceftriaxone 1 g")
    assert found.alignment == Alignment.NORMALISED
    assert quoted("İ Ceftriaxone 1 g", found) == "Ceftriaxone 1 g"
