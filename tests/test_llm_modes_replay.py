"""The other structured-output modes on recorded traffic: Gemma-3-270M answering in
`tools` mode (one call of the NoteDraft tool) and in strict `json_schema` mode, from a real
llama.cpp server (tests/cassettes/gemma-modes-*.yaml, docs/llm.md), replayed offline.

A replay sends the requests the code builds now; vcrpy matches them on their whole body,
so a change to what these modes send (tool_choice, the stop, the strict schema, the
examples' form) is an unrecorded request and these tests fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from extractor.llm.drafts import (
    AdministrationDraft,
    DiagnosisDraft,
    NoteDraft,
    response_schema,
)
from extractor.llm.replay import note_sent, replay_settings, replaying
from notecoder.config import Settings
from notecoder.errors import LLMInvalidOutput
from notecoder.pipeline import code_note, extract_note, reset_llm, use_llm_settings
from notecoder.schema import Alignment, Setting
from tests.llm_notes import CASSETTES, MODE_NOTES

TOOLS = CASSETTES / "gemma-modes-tools.yaml"
STRICT = CASSETTES / "gemma-modes-json-schema-strict.yaml"
NOTES = dict(MODE_NOTES)

# The seed notes' codes, from the rule book's gold answers (tests/test_seed_examples.py).
GOLD_CODES = {
    "g1_ceftriaxone.txt": {"J18.9", "96365", "J0696"},
    "g2_infliximab.txt": {"K50.90", "Z79.620", "99214", "96413", "96415", "J1745"},
    "g3_vancomycin_magnesium.txt": {"R78.81", "B95.62", "E83.42", "96365", "96367", "J3373",
                                    "J3475"},
    "g4_reclast.txt": {"M81.0", "96365", "J3489"},
    "g5_iron_sucrose.txt": {"D50.9", "96365", "96366", "J1756"},
}


@pytest.fixture(autouse=True)
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


def _meta(cassette: Path) -> dict:
    return json.loads(cassette.with_suffix(".meta.json").read_text(encoding="utf-8"))


def _interactions(cassette: Path) -> list[tuple[dict, dict]]:
    """(request body, response body) of each recorded call."""
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    return [(json.loads(item["request"]["body"]), json.loads(item["response"]["body"]["string"]))
            for item in data["interactions"]]


def _use(cassette: Path, tmp_path: Path) -> None:
    use_llm_settings(replay_settings(cassette, Settings(data_dir=tmp_path)))


def _answer(response: dict, tools: bool) -> NoteDraft | None:
    """The draft a recorded response holds, None when it was cut off at the limit."""
    choice = response["choices"][0]
    if choice["finish_reason"] == "length":
        return None
    message = choice["message"]
    if tools:
        (call,) = message["tool_calls"]
        assert call["function"]["name"] == "NoteDraft"
        return NoteDraft.model_validate_json(call["function"]["arguments"])
    return NoteDraft.model_validate_json(message["content"])


def _replay_every_note(cassette: Path, tmp_path: Path):
    """Each recorded note replayed: (label, facts, warnings), or the error it failed with,
    as it failed while recording."""
    _use(cassette, tmp_path)
    for label, outcome in _meta(cassette)["notes"].items():
        with replaying(cassette):
            if "error" in outcome:
                with pytest.raises(LLMInvalidOutput, match="cut off"):
                    extract_note(NOTES[label], "llm")
                continue
            facts, warnings = extract_note(NOTES[label], "llm")
        yield label, outcome, facts, warnings


def _check_recorded_outcome(cassette: Path, tmp_path: Path) -> tuple[int, int]:
    """Every complete answer replays to the facts and drops it had while recording: each
    fact grounded in the note, each drop one warning with its reason and counted by
    reason. Returns the notes replayed without an error, and of them the notes where a
    fact stands with a field of it left out (per-field rejection)."""
    complete = per_field = 0
    for label, outcome, facts, warnings in _replay_every_note(cassette, tmp_path):
        complete += 1
        if facts.facts() and facts.llm.dropped_fields:
            per_field += 1
            assert any("left out" in w for w in warnings)
        text = NOTES[label]
        assert facts.model == "gemma-3-270m-q4_k_m"
        assert len(facts.facts()) == outcome["facts"] and len(warnings) == outcome["dropped"]
        for fact in facts.facts():
            assert fact.alignment in (Alignment.EXACT, Alignment.NORMALISED, Alignment.FUZZY)
            assert all(0 <= s.start < s.end <= len(text) for s in fact.spans())
        counted = sum(facts.llm.dropped_facts.values()) + sum(facts.llm.dropped_fields.values())
        assert counted == len(warnings)
        assert all(("left out" in w or "not coded" in w) and ": " in w for w in warnings)
    return complete, per_field


def _no_false_code(cassette: Path, tmp_path: Path) -> None:
    """Whatever the model said, the LLM path bills no code the note's gold answer lacks."""
    _use(cassette, tmp_path)
    for label, outcome in _meta(cassette)["notes"].items():
        if "error" in outcome:
            continue
        with replaying(cassette):
            result = code_note(NOTES[label], Setting.FACILITY, "official", "llm")
        assert {line.code for line in result.codes} <= GOLD_CODES[label], label


# --- tools mode -------------------------------------------------------------------------

def test_tools_requests_ask_the_local_server_for_one_call_of_the_tool():
    recorded = _interactions(TOOLS)
    assert recorded
    for body, _ in recorded:
        assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
        assert body["stop"] == ["</tool_call>"]
        (tool,) = body["tools"]
        assert tool["function"]["name"] == "NoteDraft" and "response_format" not in body


def test_tools_examples_are_tool_calls_with_their_results_not_json_text():
    for body, _ in _interactions(TOOLS):
        chat = body["messages"]
        calls = [m for m in chat if m["role"] == "assistant"]
        results = [m for m in chat if m["role"] == "tool"]
        assert len(calls) >= 3 and len(results) == len(calls)
        for call, result in zip(calls, results, strict=True):
            (tool_call,) = call["tool_calls"]
            assert not call["content"]  # the answer is the call, never text beside it
            assert result["tool_call_id"] == tool_call["id"]
            NoteDraft.model_validate_json(tool_call["function"]["arguments"])


def test_tools_answers_are_one_tool_call_parsed_as_a_note_draft():
    answers = [(body, response) for body, response in _interactions(TOOLS)]
    parsed = [_answer(response, tools=True) for _, response in answers]
    finished = [r["choices"][0]["finish_reason"] for _, r in answers]
    assert set(finished) <= {"tool_calls", "length"}
    assert any(draft is not None for draft in parsed)  # at least one complete call
    for (body, response), draft in zip(answers, parsed, strict=True):
        if draft is not None:
            assert response["choices"][0]["finish_reason"] == "tool_calls"
            assert note_sent(json.dumps(body)) in NOTES.values()


def test_tools_replay_grounds_codes_or_rejects_each_fact_as_recorded(tmp_path):
    complete, per_field = _check_recorded_outcome(TOOLS, tmp_path)
    assert complete >= 1 and per_field >= 1


def test_tools_repair_sends_the_first_call_and_the_checkers_reasons_as_its_result():
    repairs = [body for body, _ in _interactions(TOOLS)
               if body["messages"][-1]["role"] == "tool"
               and body["messages"][-1]["tool_call_id"] == "answer-1"]
    assert repairs  # a first answer lost a field, so it was asked once more
    for body in repairs:
        first, reasons = body["messages"][-2:]
        (call,) = first["tool_calls"]
        assert call["id"] == "answer-1" and call["function"]["name"] == "NoteDraft"
        NoteDraft.model_validate_json(call["function"]["arguments"])
        assert "\n- " in reasons["content"] and "left out" in reasons["content"]


def test_tools_replay_bills_no_false_code(tmp_path):
    _no_false_code(TOOLS, tmp_path)


# --- strict json_schema mode ------------------------------------------------------------

def _every_field(draft: dict) -> None:
    assert set(draft) == set(NoteDraft.model_fields)
    for admin in draft["administrations"]:
        assert set(admin) == set(AdministrationDraft.model_fields)
    for diagnosis in draft["diagnoses"]:
        assert set(diagnosis) == set(DiagnosisDraft.model_fields)


def test_strict_requests_send_the_strict_schema():
    recorded = _interactions(STRICT)
    assert recorded
    for body, _ in recorded:
        spec = body["response_format"]["json_schema"]
        assert spec["strict"] is True and spec["schema"] == response_schema(strict=True)
        assert "tools" not in body and "tool_choice" not in body


def test_strict_examples_carry_every_field_the_strict_schema_requires():
    for body, _ in _interactions(STRICT):
        answers = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        assert len(answers) >= 3
        for answer in answers:
            _every_field(json.loads(answer))


def test_strict_answers_are_parsed_and_carry_every_field():
    parsed = 0
    for _, response in _interactions(STRICT):
        draft = _answer(response, tools=False)
        if draft is not None:
            parsed += 1
            _every_field(json.loads(response["choices"][0]["message"]["content"]))
    assert parsed >= 1


def test_strict_replay_grounds_codes_or_rejects_each_fact_as_recorded(tmp_path):
    complete, per_field = _check_recorded_outcome(STRICT, tmp_path)
    assert complete >= 3 and per_field >= 1


def test_strict_replay_bills_no_false_code(tmp_path):
    _no_false_code(STRICT, tmp_path)
