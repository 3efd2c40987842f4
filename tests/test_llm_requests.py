"""What the LLM client sends, per structured-output mode, to a scripted server on
127.0.0.1: the schema once (never beside the grammar in the prompt), strict where the
endpoint honours it, and the constraints a grammar can enforce."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from extractor.llm.client import LLMClient, strict_for
from extractor.llm.prompt import load_prompts
from notecoder.config import Settings
from tests.http_thread import serving

VALID = json.dumps({"administrations": [], "diagnoses": [], "cultures": []})
# A description that is only in the schema: how many times the schema was sent.
SCHEMA_MARK = "verbatim text of the note that documents this administration"


class Capture(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: Capture

    def log_message(self, format, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        message: dict = {"role": "assistant", "content": VALID}
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "c1", "type": "function",
                "function": {"name": name, "arguments": VALID}}]}
        out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                          "choices": [{"index": 0, "message": message,
                                       "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 7, "completion_tokens": 3,
                                    "total_tokens": 10}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def capture() -> Iterator[Capture]:
    srv = Capture()
    with serving(srv):
        yield srv


def sent(capture: Capture, **settings) -> dict:
    client = LLMClient(Settings(llm_base_url=capture.url, llm_model="m", llm_cache=False,
                                **settings))
    client.extract("Ceftriaxone 1 g IV 10:15.", load_prompts())
    return capture.bodies[-1]


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema", "tools", "json"])
def test_the_schema_is_sent_once_per_request(capture, mode):
    body = json.dumps(sent(capture, llm_mode=mode))
    assert body.count(SCHEMA_MARK) == 1


def test_json_object_schema_mode_puts_the_schema_in_the_grammar_not_the_prompt(capture):
    body = sent(capture, llm_mode="json_object_schema")
    assert body["response_format"]["type"] == "json_object"
    assert "AdministrationDraft" in json.dumps(body["response_format"]["schema"])
    assert all("AdministrationDraft" not in m["content"] for m in body["messages"])


def _objects(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def test_strict_json_schema_is_the_strict_subset(capture):
    body = sent(capture, llm_mode="json_schema", llm_strict=True)
    spec = body["response_format"]["json_schema"]
    assert spec["strict"] is True
    objects = list(_objects(spec["schema"]))
    assert len(objects) >= 6
    for node in objects:
        assert node["additionalProperties"] is False
        assert sorted(node["required"]) == sorted(node["properties"])
    assert '"default"' not in json.dumps(spec) and "minLength" not in json.dumps(spec)


def test_a_local_server_gets_the_grammar_constraints(capture):
    body = sent(capture, llm_mode="json_schema")
    spec = body["response_format"]["json_schema"]
    assert "strict" not in spec  # 127.0.0.1: not a hosted model
    admin = spec["schema"]["$defs"]["AdministrationDraft"]["properties"]
    assert admin["quote"]["minLength"] == 1 and admin["drug"]["minLength"] == 1
    assert admin["duration_minutes"]["anyOf"][0]["minimum"] == 0
    start = next(b for b in admin["start_time"]["anyOf"] if b.get("type") == "string")
    assert start["pattern"].startswith("^")


@pytest.mark.parametrize(("url", "mode", "setting", "strict"), [
    ("https://api.example.com/v1", "json_schema", None, True),
    ("http://127.0.0.1:8765/v1", "json_schema", None, False),
    ("http://localhost:11434/v1", "json_schema", None, False),
    ("https://api.example.com/v1", "json_object_schema", None, False),
    ("http://127.0.0.1:8765/v1", "json_schema", True, True),
    ("https://api.example.com/v1", "json_schema", False, False),
])
def test_strict_is_on_for_hosted_json_schema_endpoints(url, mode, setting, strict):
    settings = Settings(llm_base_url=url, llm_model="m", llm_mode=mode, llm_strict=setting)
    assert strict_for(settings) is strict


# Cost accounting ----------------------------------------------------------------------

def _extractor(capture: Capture, tmp_path, **settings):
    from extractor.llm.extract import LLMExtractor

    return LLMExtractor(Settings(llm_base_url=capture.url, llm_model="m", data_dir=tmp_path,
                                 llm_cache_path=tmp_path / "cache.sqlite", **settings))


def test_each_note_reports_its_calls_tokens_cache_hits_and_seconds(capture, tmp_path):
    read = _extractor(capture, tmp_path)
    facts, _ = read("Ceftriaxone 1 g IV 10:15.\n")
    run = facts.llm
    assert (run.calls, run.prompt_tokens, run.completion_tokens, run.cache_hits) == (1, 7, 3, 0)
    assert run.seconds > 0
    again, _ = read("Ceftriaxone 1 g IV 10:15.\n")  # from the cache: no call, no tokens
    assert (again.llm.calls, again.llm.prompt_tokens, again.llm.cache_hits) == (0, 0, 1)
    assert len(capture.bodies) == 1
    other, _ = read("Zofran 4 mg IV push 0900.\n")
    assert (other.llm.calls, other.llm.prompt_tokens) == (1, 7)  # per note, not per run


def test_a_spent_token_budget_refuses_the_next_call(capture, tmp_path):
    from notecoder.errors import LLMBudgetSpent

    read = _extractor(capture, tmp_path, llm_cache=False, llm_token_budget=10)
    read("Ceftriaxone 1 g IV 10:15.\n")  # 7 + 3 tokens: the budget is spent
    with pytest.raises(LLMBudgetSpent, match="budget"):
        read("Zofran 4 mg IV push 0900.\n")
    assert len(capture.bodies) == 1


def test_eval_sums_the_llm_cost_and_drops_per_note():
    from eval.run import EvalTotals, metrics_document
    from notecoder.schema import LLMRun

    totals = EvalTotals()
    for calls, reasons in ((1, {"dose: value not written in its quote": 2}), (3, {})):
        totals.llm.add(LLMRun(calls=calls, prompt_tokens=100 * calls, completion_tokens=10,
                              seconds=2.0, dropped_fields=reasons,
                              dropped_facts={"diagnosis: quote not in the note": 1}))
    cost = metrics_document(totals, 2, {})["llm"]
    assert cost["calls_per_note"] == 2 and cost["prompt_tokens_per_call"] == 100
    assert cost["completion_tokens_per_note"] == 10 and cost["seconds_per_note"] == 2
    assert cost["dropped_fields"] == {"dose: value not written in its quote": 2}
    assert cost["dropped_facts"] == {"diagnosis: quote not in the note": 2}
    assert metrics_document(EvalTotals(), 0, {})["llm"] is None  # offline runs: none


# Tools mode and strict mode: what a local server needs, and the examples' form ---------

def _with_examples(capture: Capture, **settings) -> dict:
    from extractor.llm.fewshot import choose

    client = LLMClient(Settings(llm_base_url=capture.url, llm_model="m", llm_cache=False,
                                **settings))
    text = "Ceftriaxone 1 g IV 10:15."
    client.extract(text, load_prompts(), examples=choose(text, "v3", 3, 2400))
    return capture.bodies[-1]


def test_tools_mode_asks_a_local_server_for_exactly_one_call_of_the_tool(capture):
    body = sent(capture, llm_mode="tools")
    # llama.cpp refuses instructor's named-function object and answers in plain text.
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert body["stop"] == ["</tool_call>"]  # its grammar allows more calls than one
    assert [t["function"]["name"] for t in body["tools"]] == ["NoteDraft"]


@pytest.mark.parametrize(("url", "mode", "fields"), [
    ("http://127.0.0.1:8765/v1", "tools", {"tool_choice", "parallel_tool_calls", "stop"}),
    ("http://localhost:11434/v1", "tools", {"tool_choice", "parallel_tool_calls", "stop"}),
    ("https://api.example.com/v1", "tools", set()),  # instructor's named function stands
    ("http://127.0.0.1:8765/v1", "json_schema", set()),
])
def test_tool_call_fields_only_for_a_local_server_in_tools_mode(url, mode, fields):
    from extractor.llm.client import tool_call_fields

    settings = Settings(llm_base_url=url, llm_model="m", llm_mode=mode)
    assert set(tool_call_fields(settings)) == fields


def test_tools_mode_shows_each_example_as_a_tool_call_and_its_result(capture):
    chat = _with_examples(capture, llm_mode="tools")["messages"]
    roles = [m["role"] for m in chat]
    assert roles == ["system"] + ["user", "assistant", "tool"] * 3 + ["user"]
    for call, result in zip(chat[2::3], chat[3::3], strict=True):
        (tool_call,) = call["tool_calls"]
        assert tool_call["function"]["name"] == "NoteDraft" and not call["content"]
        assert result["tool_call_id"] == tool_call["id"]
        json.loads(tool_call["function"]["arguments"])


def test_strict_mode_examples_carry_every_field_and_others_leave_defaults_out(capture):
    from extractor.llm.drafts import NoteDraft

    strict = _with_examples(capture, llm_mode="json_schema", llm_strict=True)["messages"]
    plain = _with_examples(capture, llm_mode="json_schema")["messages"]
    for strict_answer, plain_answer in zip(
            [m for m in strict if m["role"] == "assistant"],
            [m for m in plain if m["role"] == "assistant"], strict=True):
        full, compact = json.loads(strict_answer["content"]), json.loads(plain_answer["content"])
        assert set(full) == set(NoteDraft.model_fields) and set(compact) < set(full)
        assert NoteDraft.model_validate(full) == NoteDraft.model_validate(compact)
