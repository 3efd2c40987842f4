"""Fault injection for the LLM client: a scripted OpenAI-compatible server on 127.0.0.1.

Each test scripts the answers of a local `/v1/chat/completions` endpoint (timeouts, 429,
5xx, refused connections, broken or truncated JSON) and checks that `LLMClient.extract`
raises exactly one typed `notecoder.errors.LLM*` error after a bounded number of requests,
with a one-line message that holds no note text; and that a batch goes on past failed
notes without coding anything from them.

Request counts below are what openai 3.x and instructor 1.x actually do with
`llm_max_retries = MAX_RETRIES`:

* HTTP faults (refused connection, 429, 5xx) are retried by the openai client,
  `MAX_RETRIES` times after the first request; instructor does not re-ask on them.
* A timeout is not retried at all (the server may still be generating): one request.
* A 4xx other than 408/409/429 is not retried at all.
* An answer that is not valid JSON or not valid against the schema is re-asked by
  instructor, `MAX_RETRIES` times after the first attempt: `MAX_RETRIES + 1` requests.
* A truncated answer (`finish_reason: "length"`) is not re-asked: one request.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from extractor.llm.client import LLMClient
from extractor.llm.drafts import NoteDraft
from extractor.llm.prompt import load_prompts
from notecoder.config import Settings, get_settings
from notecoder.errors import (
    EXIT_PARTIAL,
    LLMError,
    LLMInvalidOutput,
    LLMNotConfigured,
    LLMRateLimited,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)
from tests.http_thread import serving

MARKER = "Zebra-7731"
NOTE = (f"Patient {MARKER} received ceftriaxone 1 g IV over 30 min at 08:00 for pneumonia. "
        "No waste.")
MAX_RETRIES = 2
HTTP_ATTEMPTS = MAX_RETRIES + 1  # openai: the first request and MAX_RETRIES retries
REASK_ATTEMPTS = MAX_RETRIES + 1  # instructor: the first attempt and MAX_RETRIES re-asks
VALID = json.dumps({"administrations": [], "diagnoses": [], "cultures": []})
CHAT_PATH = "/v1/chat/completions"
HANDLER_SLEEP_CAP = 5.0  # no scripted delay may keep a server thread longer than this


def completion(content: str, finish_reason: str = "stop") -> bytes:
    """A chat-completion body whose message content is `content`."""
    return json.dumps({
        "id": "x", "object": "chat.completion", "created": 0, "model": "fault-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 1},
    }).encode()


def api_error(status: int, message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "fault", "code": status}}).encode()


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, body, extra headers, and a delay before answering."""

    status: int = 200
    body: bytes = field(default_factory=lambda: completion(VALID))
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


def ok(content: str = VALID, finish_reason: str = "stop") -> Reply:
    return Reply(body=completion(content, finish_reason))


def failing(status: int, **headers: str) -> Reply:
    return Reply(status=status, body=api_error(status, f"scripted {status}"),
                 headers=tuple((k.replace("_", "-"), v) for k, v in headers.items()))


class FaultServer(ThreadingHTTPServer):
    """Answers the nth request with `script[n]`; the last reply repeats forever."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Reply] = [ok()]
        self.bodies: list[bytes] = []
        self.arrivals: list[float] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.bodies)

    def answer(self, *script: Reply) -> None:
        self.script = list(script)

    def record(self, body: bytes) -> Reply:
        with self._lock:
            self.bodies.append(body)
            self.arrivals.append(time.monotonic())
            return self.script[min(len(self.bodies), len(self.script)) - 1]


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != CHAT_PATH:
            self._send(failing(404))
            return
        reply = self.server.record(body)
        # Interruptible: teardown sets `stopping`, so no sleeping thread outlives the test.
        if reply.delay and self.server.stopping.wait(min(reply.delay, HANDLER_SLEEP_CAP)):
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client gave up (timeout) and closed the connection
            pass


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch, tmp_path):
    """No config file, NOTECODER_* variable, proxy or API key from the machine running tests."""
    for name in list(os.environ):
        if name.startswith("NOTECODER_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    empty = tmp_path / "notecoder.toml"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("NOTECODER_CONFIG", str(empty))


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    with serving(srv, before_stop=srv.stopping.set):
        yield srv


def client_for(url: str, **overrides) -> LLMClient:
    settings = {"llm_base_url": url, "llm_model": "fault-test", "llm_max_retries": MAX_RETRIES,
                "llm_timeout": 5.0, "llm_cache": False, "llm_mode": "json_schema", **overrides}
    return LLMClient(Settings(**settings))


def extract_fails(client: LLMClient, expected: type[LLMError]) -> LLMError:
    """Run one extraction that must fail with exactly `expected`; return the error."""
    with pytest.raises(LLMError) as info:
        client.extract(NOTE, load_prompts())
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    return info.value


def assert_one_line_without_note_text(error: Exception) -> None:
    message = str(error)
    assert message.strip()
    assert "\n" not in message and "\r" not in message, message
    assert MARKER not in message, message


def assert_requests(server: FaultServer, client: LLMClient, expected: int) -> None:
    """The server saw exactly `expected` requests, the client counted as many, and the
    note was in what was sent (so the no-note-text check above means something)."""
    assert server.requests == expected
    assert client.requests == expected
    assert all(MARKER.encode() in body for body in server.bodies)


# --- success ---------------------------------------------------------------------------


def test_valid_answer_is_one_request_and_a_note_draft(server):
    server.answer(ok(VALID))
    client = client_for(server.url)

    draft = client.extract(NOTE, load_prompts())

    assert isinstance(draft, NoteDraft)
    assert draft.administrations == [] and draft.diagnoses == [] and draft.cultures == []
    assert_requests(server, client, 1)


# --- HTTP faults: retried by the openai client -----------------------------------------


def test_slow_endpoint_times_out_once_and_is_not_sent_again(server):
    # The call waits llm_timeout (0.5 s) for a handler that sleeps 1.5 s.
    server.answer(Reply(body=completion(VALID), delay=1.5))
    client = client_for(server.url, llm_timeout=0.5)

    started = time.monotonic()
    error = extract_fails(client, LLMTimeout)
    elapsed = time.monotonic() - started

    # A timed-out call is never re-sent to the same server (it may still be generating):
    # one request, neither the openai client nor instructor tries again.
    assert_requests(server, client, 1)
    assert_one_line_without_note_text(error)
    assert "not sent again" in str(error)
    assert elapsed < 0.5 + 1.0


def test_each_call_waits_as_long_as_its_answer_limit_needs():
    from extractor.llm.client import answer_tokens, call_timeout

    settings = Settings(llm_timeout=120, llm_max_tokens=2048, llm_timeout_floor=30,
                        llm_min_tokens_per_second=10)
    short, long = "Zofran 4 mg IV push 0900.", "x" * 5000
    assert answer_tokens(short, settings) == 256 + len(short)
    assert answer_tokens(long, settings) == 2048  # never past the setting
    assert call_timeout(answer_tokens(short, settings), settings) == 30 + (256 + len(short)) / 10
    assert call_timeout(2048, settings) == 120  # capped by llm_timeout


def test_the_sized_answer_limit_is_what_is_sent(server):
    server.answer(ok(VALID))
    client = client_for(server.url, llm_max_tokens=2048)
    client.extract(NOTE, load_prompts())
    body = json.loads(server.bodies[0])
    assert body["max_tokens"] == 256 + len(NOTE) < 2048


@pytest.mark.parametrize(("reply", "expected"), [
    pytest.param(failing(429, Retry_After="0"), LLMRateLimited, id="429-retry-after-0"),
    pytest.param(failing(500), LLMServerError, id="500"),
    pytest.param(failing(503), LLMServerError, id="503"),
])
def test_persistent_http_error_gives_typed_error_after_bounded_retries(server, reply, expected):
    server.answer(reply)  # every request, forever
    client = client_for(server.url)

    error = extract_fails(client, expected)

    # openai retries 429 and 5xx MAX_RETRIES times; instructor does not re-ask: 3 requests.
    assert_requests(server, client, HTTP_ATTEMPTS)
    assert_one_line_without_note_text(error)
    assert f"{HTTP_ATTEMPTS} attempt(s)" in str(error)


def test_client_error_4xx_is_not_retried(server):
    server.answer(failing(400))
    client = client_for(server.url)

    error = extract_fails(client, LLMServerError)

    # openai retries no 4xx but 408, 409 and 429; instructor does not re-ask: 1 request.
    assert_requests(server, client, 1)
    assert_one_line_without_note_text(error)
    assert "HTTP 400" in str(error)


@pytest.mark.parametrize("first", [
    pytest.param(failing(429, Retry_After="0"), id="429-retry-after-0"),
    pytest.param(failing(503), id="503"),
])
def test_one_transient_http_error_is_retried_to_success(server, first):
    server.answer(first, ok(VALID))
    client = client_for(server.url)

    draft = client.extract(NOTE, load_prompts())

    assert isinstance(draft, NoteDraft)
    assert_requests(server, client, 2)  # the failed request and its one retry


def test_rate_limit_retry_waits_as_long_as_retry_after_says(server):
    # openai's own first backoff is 0.375-0.5 s (and "Retry-After: 0" is treated as no hint,
    # so it gets that backoff); a gap of about 1 s can only come from the header.
    server.answer(failing(429, Retry_After="1"), ok(VALID))
    client = client_for(server.url)

    draft = client.extract(NOTE, load_prompts())

    assert isinstance(draft, NoteDraft)
    assert_requests(server, client, 2)
    gap = server.arrivals[1] - server.arrivals[0]
    assert 0.95 <= gap < 3.0, gap


def test_refused_connection_is_unavailable_after_bounded_retries():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` now.
    url = f"http://127.0.0.1:{port}/v1"
    client = client_for(url)

    error = extract_fails(client, LLMUnavailable)

    # No server received anything; the client attempted 1 + MAX_RETRIES connections.
    assert client.requests == HTTP_ATTEMPTS
    assert_one_line_without_note_text(error)
    assert url in str(error)


# --- bad answers: re-asked by instructor -----------------------------------------------


@pytest.mark.parametrize("content", [
    pytest.param('{"administrations": [ not json', id="not-json"),
    pytest.param('{"administrations": "yes"}', id="schema-invalid"),
    pytest.param("", id="empty"),
])
def test_unusable_answer_is_invalid_output_after_bounded_reasks(server, content):
    server.answer(ok(content))
    client = client_for(server.url)

    error = extract_fails(client, LLMInvalidOutput)

    # Every answer is HTTP 200, so openai never retries; instructor re-asks. The client gives
    # instructor max_retries=MAX_RETRIES + 1, which instructor reads as re-asks after the first
    # attempt: MAX_RETRIES + 2 = 4 requests (one more than llm_max_retries implies).
    assert_requests(server, client, REASK_ATTEMPTS)
    assert_one_line_without_note_text(error)


def test_answers_failing_both_ways_stay_within_retries_times_reasks(server):
    # Each instructor attempt is one openai call with its own HTTP retries, so the worst case
    # is (llm_max_retries + 1) attempts x (llm_max_retries + 1) requests. With 1 retry:
    # 503 then an invalid answer, twice over = 2 x 2 = 4 requests, then it stops.
    bad = ok('{"administrations": "yes"}')
    server.answer(failing(503), bad, failing(503), bad, ok(VALID))
    client = client_for(server.url, llm_max_retries=1)

    error = extract_fails(client, LLMInvalidOutput)

    assert_requests(server, client, (1 + 1) * (1 + 1))
    assert_one_line_without_note_text(error)


def test_failed_attempts_leave_no_note_text_in_the_log(server, caplog):
    # instructor logs each failed attempt with the model's answer, and answers quote the note.
    server.answer(ok(json.dumps({"administrations": f"Patient {MARKER} received"})))
    client = client_for(server.url)

    with caplog.at_level(logging.WARNING):
        extract_fails(client, LLMInvalidOutput)

    assert server.requests == REASK_ATTEMPTS
    assert not [r for r in caplog.records if MARKER in r.getMessage()]


def test_truncated_answer_is_invalid_output_without_reask(server):
    server.answer(ok('{"administrations": [{"quote": "Patient Zeb', finish_reason="length"))
    client = client_for(server.url)

    error = extract_fails(client, LLMInvalidOutput)

    # instructor raises IncompleteOutputException at once; it is never re-asked: 1 request.
    assert_requests(server, client, 1)
    assert_one_line_without_note_text(error)
    assert "token limit" in str(error)


# --- configuration ----------------------------------------------------------------------


def test_missing_endpoint_is_not_configured_and_names_the_variable():
    with pytest.raises(LLMNotConfigured) as info:
        LLMClient(Settings(llm_base_url=None, llm_model=None))

    assert type(info.value) is LLMNotConfigured
    assert "NOTECODER_LLM_BASE_URL" in str(info.value)
    assert "\n" not in str(info.value)


# --- a batch goes on past failed notes --------------------------------------------------


def forget_llm_settings() -> None:
    """Drop the cached settings and the process's LLM extractor."""
    from notecoder import pipeline

    get_settings.cache_clear()
    pipeline.reset_llm()


@pytest.fixture
def llm_env(monkeypatch, tmp_path, server):
    """Settings from environment variables pointing at the fault server."""
    monkeypatch.setenv("NOTECODER_LLM_BASE_URL", server.url)
    monkeypatch.setenv("NOTECODER_LLM_MODEL", "fault-test")
    monkeypatch.setenv("NOTECODER_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("NOTECODER_LLM_TIMEOUT", "5")
    monkeypatch.setenv("NOTECODER_LLM_CACHE", "false")
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path / "data"))
    forget_llm_settings()
    yield server
    forget_llm_settings()


def test_batch_reports_each_failed_note_and_codes_nothing(llm_env, tmp_path, capsys):
    from notecoder.cli import main

    server = llm_env
    server.answer(failing(500))
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("a.txt", "b.txt"):
        (notes / name).write_text(f"{NOTE} ({name})\n", encoding="utf-8")

    status = main(["code", str(notes), "--json", "--extractor", "llm"])

    out, err = capsys.readouterr()
    assert status == EXIT_PARTIAL
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert sorted(line["source"] for line in lines) == sorted(
        str(notes / name) for name in ("a.txt", "b.txt"))
    for line in lines:
        assert "codes" not in line, line
        assert line["error"] == f"The LLM endpoint answered HTTP 500 ({1} attempt(s))."
    # max_retries 0: one request per note, no retry, no re-ask.
    assert server.requests == 2
    assert MARKER not in out and MARKER not in err
