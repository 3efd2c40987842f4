"""Few-shot examples: chosen per chunk from the dev split by similarity, covering every
fact type within a token budget; the test split is never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import load_dataset
from extractor.llm.fewshot import (
    FACT_TYPES,
    build_pool,
    choose,
    covered,
    draft_from_gold,
    load_pool,
    shown_types,
)
from extractor.llm.prompt import PROMPT_VERSION
from notecoder.pipeline import extract_note, reset_llm
from tests.llm_stub import use_scripted_llm

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "datasets" / "gold"
POOL = load_pool(PROMPT_VERSION)
COUNT, TOKENS = 6, 2400  # the settings' defaults


@pytest.fixture(autouse=True)
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


def test_the_pool_is_the_dev_splits_gold_facts_and_nothing_of_the_test_split():
    pool_file = ROOT / "prompts" / PROMPT_VERSION / "examples.json"
    recorded = json.loads(pool_file.read_text(encoding="utf-8"))["examples"]
    # Every recorded example is regenerated from the gold labels, not edited. The pool's
    # membership is frozen with the prompt version its cassettes were recorded with: a dev
    # note that passes the checks only after later reader changes joins at the next version.
    built = {item["source"]: item for item in build_pool(GOLD)}
    assert all(built.get(item["source"]) == item for item in recorded)
    test_notes = {g.note.text for g in load_dataset(GOLD, "test")}
    dev_ids = {g.note.id for g in load_dataset(GOLD, "dev")}
    assert len(recorded) >= 40
    for item in recorded:
        assert item["source"].startswith("datasets/gold/dev/")
        assert Path(item["source"]).stem in dev_ids
        assert item["note"] not in test_notes


def test_an_example_answer_is_the_notes_gold_facts_in_the_llms_answer_format():
    (gold,) = [g for g in load_dataset(GOLD, "dev") if g.note.id == "b12_hydration_31_min_midnight"]
    draft = draft_from_gold(gold.note.text, gold.facts)
    (admin,) = draft.administrations
    assert (admin.drug, admin.volume_ml, admin.start_time, admin.stop_time) == (
        "NS", 1000, "23:45", "00:16")
    assert admin.quote in gold.note.text and admin.purpose == "hydration"
    assert covered(draft) == {"administration", "hydration", "diagnosis"}


@pytest.mark.parametrize("source", ["datasets/gold/dev/c14_two_weights.json",
                                    "datasets/gold/dev/m10_office_em_and_im_injection.json",
                                    "datasets/gold/dev/e10_weight_based_dose.json"])
def test_a_note_like_a_dev_note_is_shown_that_note_nearest_the_note(source):
    (example,) = [e for e in POOL if e.source == source]
    # The same kind of note with other numbers and a word changed.
    similar = example.note.replace("1", "2").replace("Patient", "Pt")
    chosen = choose(similar, PROMPT_VERSION, COUNT, TOKENS)
    assert chosen[-1].source == source


def test_every_chosen_set_shows_every_fact_type_within_its_budget():
    notes = [g.note.text for g in load_dataset(GOLD)] + [
        "x", "Ondansetron 4 mg IV push 0800.", "Weight 80 kg.\n" * 40]
    for text in notes:
        chosen = choose(text, PROMPT_VERSION, COUNT, TOKENS)
        assert shown_types(chosen) == set(FACT_TYPES), text[:40]
        assert 3 <= len(chosen) <= COUNT
        assert sum(e.tokens for e in chosen) <= TOKENS
        assert len({e.source for e in chosen}) == len(chosen)


def test_fewer_examples_and_a_smaller_budget_are_honoured():
    text = load_dataset(GOLD, "test")[0].note.text
    chosen = choose(text, PROMPT_VERSION, 4, 2000)
    assert len(chosen) <= 4 and sum(e.tokens for e in chosen) <= 2000


def test_the_choice_is_deterministic_and_depends_on_the_note():
    notes = [g.note.text for g in load_dataset(GOLD, "test")[:20]]
    first = [choose(t, PROMPT_VERSION, COUNT, TOKENS) for t in notes]
    assert first == [choose(t, PROMPT_VERSION, COUNT, TOKENS) for t in notes]
    assert len({tuple(e.source for e in c) for c in first}) > 1


def test_each_call_is_sent_the_examples_chosen_for_its_chunk(tmp_path):
    from extractor.llm.drafts import NoteDraft

    text = load_dataset(GOLD, "test")[0].note.text
    extractor = use_scripted_llm(lambda _t, repair=None: NoteDraft(), tmp_path)
    extract_note(text, "llm")
    (asked,) = extractor.client.asked
    assert asked["examples"] == choose(text, PROMPT_VERSION, COUNT, TOKENS)
    assert all(e.source.startswith("datasets/gold/dev/") for e in asked["examples"])
