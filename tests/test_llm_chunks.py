"""Long notes on the LLM path: chunks sized in tokens from the context window, neighbour
context that is read but not reported, chunks read in parallel, single-valued facts
chosen across chunks by evidence, and a cost that grows linearly with the note."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from extractor.llm.chunks import chunk_tokens, split_note
from extractor.llm.convert import Window, convert
from extractor.llm.drafts import (
    AdministrationDraft,
    EMDraft,
    NoteDraft,
    WeightDraft,
)
from extractor.llm.merge import merge
from extractor.llm.tokens import estimate_tokens
from notecoder.config import Settings
from notecoder.errors import LLMNotConfigured
from notecoder.pipeline import extract_note, reset_llm
from tests.llm_stub import use_scripted_llm


@pytest.fixture(autouse=True)
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


FILLER = "Vital signs stable, patient resting, no complaints, IV site clean and dry.\n"


def long_note(*lines: str, filler: int = 12) -> str:
    """`lines` with `filler` lines of observations before each."""
    return "".join(FILLER * filler + line + "\n" for line in lines)


# Sizing ---------------------------------------------------------------------------------

def test_chunk_size_is_what_the_context_window_leaves_beside_prompt_examples_and_answer():
    base = Settings(llm_context_window=8192, llm_max_tokens=2048, llm_examples_tokens=2400)
    size = chunk_tokens(base, 1000)
    assert size == 8192 - 1000 - 2400 - 2048 - 400 - 64
    assert chunk_tokens(base.model_copy(update={"llm_context_window": 16384}), 1000) \
        == size + 8192
    assert chunk_tokens(base.model_copy(update={"llm_max_tokens": 1024}), 1000) == size + 1024
    assert chunk_tokens(base.model_copy(update={"llm_chunk_tokens": 300}), 1000) == 300


def test_a_window_too_small_for_any_note_is_a_clear_setting_error():
    with pytest.raises(LLMNotConfigured, match="NOTECODER_LLM_CONTEXT_WINDOW"):
        chunk_tokens(Settings(llm_context_window=4096, llm_max_tokens=2048), 1000)


def test_the_token_estimate_errs_high_on_clinical_text():
    # SmolLM2's tokenizer counted 1,201 tokens for 3,976 characters of prompt (recorded);
    # the estimate must not fall below a server's count.
    assert estimate_tokens("Ceftriaxone 1 g IVPB 10:15-10:50") >= 12
    assert estimate_tokens("0800") == 4


# Neighbour context ----------------------------------------------------------------------

ONDANSETRON = "Ondansetron 4 mg IV push 10:20."


def test_a_fact_quoted_from_the_neighbour_context_belongs_to_the_neighbouring_chunk():
    text = long_note("Dx: nausea.", ONDANSETRON)
    at = text.index(ONDANSETRON)
    # A chunk ending just before the line, with the line as its context after.
    where = Window(text, 0, at, context_lo=0, context_hi=len(text))
    draft = NoteDraft(administrations=[AdministrationDraft(
        quote=ONDANSETRON, drug="Ondansetron", dose=4, dose_unit="mg", route="IV",
        method="push")])
    out = convert(draft, where)
    assert out.administrations == []
    assert out.dropped_facts == {"administration: in the neighbour context": 1}
    # The chunk that holds the line codes it.
    own = convert(draft, Window(text, at, len(text), context_lo=0))
    assert [a.generic for a in own.administrations] == ["ondansetron"]


def test_each_chunk_is_sent_its_neighbour_lines_as_context_and_each_fact_is_coded_once(
        tmp_path):
    text = long_note("Dx: nausea.", ONDANSETRON, "Discharged home.")

    def answer(chunk: str, repair=None) -> NoteDraft:
        # A model that reports the line wherever it sees it, context included.
        return NoteDraft(administrations=[AdministrationDraft(
            quote=ONDANSETRON, drug="Ondansetron", dose=4, dose_unit="mg", route="IV",
            method="push", start_time="10:20", start_quote="10:20")])

    extractor = use_scripted_llm(answer, tmp_path, llm_chunk_tokens=200, llm_context_lines=2,
                                 llm_repair=False)
    facts, _warnings = extract_note(text, "llm")
    asked = extractor.client.asked
    assert len(asked) == facts.llm.chunks > 2
    for sent in asked[1:]:
        before, _ = sent["context"]
        assert before and before.count("\n") <= 2  # two whole lines
    assert [a.generic for a in facts.administrations] == ["ondansetron"]
    assert text[facts.administrations[0].evidence[0].start:].startswith(ONDANSETRON)


# Parallel chunks ------------------------------------------------------------------------

def test_chunks_of_one_note_are_read_in_parallel_within_the_setting(tmp_path):
    text = long_note("Dx: nausea.", ONDANSETRON, "Discharged home.", "Weight 80 kg.")
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def answer(_chunk: str, repair=None) -> NoteDraft:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return NoteDraft()

    use_scripted_llm(answer, tmp_path, llm_chunk_tokens=200, llm_chunk_concurrency=2)
    facts, _ = extract_note(text, "llm")
    assert facts.llm.chunks >= 4 and facts.llm.calls == facts.llm.chunks  # every call metered
    assert state["most"] == 2
    reset_llm()
    state["most"] = 0
    use_scripted_llm(answer, tmp_path, llm_chunk_tokens=200, llm_chunk_concurrency=1)
    extract_note(text, "llm")
    assert state["most"] == 1


# Single-valued facts across chunks -------------------------------------------------------

def weights_note(*weights: str) -> tuple[str, list[Window]]:
    text = long_note(*weights)
    starts = [text.index(w) for w in weights]
    bounds = [0, *starts[1:], len(text)]
    return text, [Window(text, lo, hi) for lo, hi in itertools.pairwise(bounds)]


def weight_parts(weights: list[tuple[str, float, str]]):
    _text, windows = weights_note(*(quote for quote, _, _ in weights))
    return [convert(NoteDraft(weight=WeightDraft(quote=quote, value=value, unit=unit)), where)
            for (quote, value, unit), where in zip(weights, windows, strict=True)]


def test_a_weight_most_chunks_agree_on_wins_not_the_first_chunks():
    merged, warnings = merge(weight_parts([("Wt 90 kg.", 90, "kg"), ("Wt 80 kg.", 80, "kg"),
                                           ("Weight 80 kg.", 80, "kg")]))
    assert (merged.weight.value, merged.weight.unit) == (80, "kg")
    assert any("disagree on the weight" in w and "90 kg" in w for w in warnings)


def test_one_weight_in_kg_and_in_lb_is_one_weight():
    merged, warnings = merge(weight_parts([("Wt 80 kg.", 80, "kg"),
                                           ("Wt 176.4 lb.", 176.4, "lb")]))
    assert merged.weight is not None and warnings == []


def test_two_weights_with_equal_support_are_a_conflict_and_neither_is_coded():
    merged, warnings = merge(weight_parts([("Wt 90 kg.", 90, "kg"), ("Wt 80 kg.", 80, "kg")]))
    assert merged.weight is None
    assert any("none is coded" in w and "90 kg" in w and "80 kg" in w for w in warnings)


def test_an_em_level_written_in_a_later_chunk_wins_over_a_visit_without_one():
    text = long_note("ED provider visit.", "Level 4 visit documented.")
    at = text.index("Level 4")
    first = convert(NoteDraft(em=EMDraft(quote="ED provider visit.")), Window(text, 0, at))
    second = convert(NoteDraft(em=EMDraft(quote="Level 4 visit documented.",
                                          level_quote="Level 4")),
                     Window(text, at, len(text)))
    assert first.em is not None and first.em.stated_level is None
    merged, warnings = merge([first, second])
    assert merged.em.stated_level == 4 and warnings == []


# Cost -------------------------------------------------------------------------------------

def test_calls_and_prompt_size_grow_linearly_with_the_note(tmp_path):
    unit = long_note("Dx: nausea.", ONDANSETRON, filler=20)
    calls = {}
    for times in (1, 2, 4, 8):
        reset_llm()
        extractor = use_scripted_llm(lambda _c, repair=None: NoteDraft(), tmp_path,
                                     llm_chunk_tokens=300, llm_repair=False)
        facts, _ = extract_note(unit * times, "llm")
        calls[times] = facts.llm.calls
        assert facts.llm.calls == facts.llm.chunks
        for sent in extractor.client.asked:  # each call's note part stays within the size
            assert estimate_tokens(sent["text"]) <= 300
            assert sum(e.tokens for e in sent["examples"]) <= 2400
    assert calls[1] >= 2
    for times in (2, 4, 8):
        assert calls[times] <= times * calls[1] + 1


def test_a_short_note_is_one_call(tmp_path):
    use_scripted_llm(lambda _c, repair=None: NoteDraft(), tmp_path, llm_repair=False)
    facts, _ = extract_note("Ondansetron 4 mg IV push 10:20.\n", "llm")
    assert facts.llm.calls == facts.llm.chunks == 1
    assert split_note("Ondansetron 4 mg IV push 10:20.\n", 300, 2)[0].before == ""
