"""bench/bench_llm.py's prompt estimate counts what a tools-mode request sends."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from extractor.llm.tokens import estimate_tokens

ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_llm", ROOT / "bench" / "bench_llm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_call_arguments_are_part_of_the_estimate():
    answer = json.dumps({"administrations": [{"drug": {"quote": "ondansetron 4 mg IV"}}]})
    body = {"messages": [
        {"role": "system", "content": "Read the note."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "example-1", "type": "function",
             "function": {"name": "note_facts", "arguments": answer}}]},
        {"role": "tool", "tool_call_id": "example-1", "content": "OK"}]}
    got = _bench().request_estimate(body, estimate_tokens)
    assert got == estimate_tokens("Read the note.") + estimate_tokens(answer) + \
        estimate_tokens("OK")


def test_recorded_tools_prompts_are_not_under_counted():
    # The estimate errs high (chunks sized by it fit the window) on the real recording.
    _, _, tokens = _bench()._notes_in(ROOT / "tests" / "cassettes" / "gemma-modes-tools.yaml")
    assert tokens["estimate_ratio"] and min(tokens["estimate_ratio"]) > 1.0
