"""The one adapter to an LLM: the `openai` client (any OpenAI-compatible endpoint) wrapped
by instructor, with `NoteDraft` as the response model.

Faults are bounded: the openai client retries connection errors, 429 (honouring
Retry-After) and 5xx with exponential backoff up to `llm_max_retries` times, never a timed
out call (the server may still be generating it; each call's limit is sized to its answer
limit, `call_timeout`); instructor
re-asks up to the same bound when the answer is not valid JSON or not valid against the
schema. Each re-ask is a call with its own HTTP retries, so one note sends at most
(llm_max_retries + 1)^2 requests per chunk. After that, one typed error
(`notecoder.errors.LLM*`) says what went wrong, in one sentence without note text, and
nothing from that note is coded.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import cache

from extractor.llm.drafts import NoteDraft, response_schema
from extractor.llm.prompt import AnswerForm, PromptSet, messages
from notecoder.config import Settings
from notecoder.errors import (
    LLMBudgetSpent,
    LLMError,
    LLMInvalidOutput,
    LLMNotConfigured,
    LLMRateLimited,
    LLMReplayMissing,
    LLMServerError,
    LLMTimeout,
    LLMUnavailable,
)

log = logging.getLogger(__name__)

NOT_CONFIGURED = ("The LLM extractor needs an endpoint: set NOTECODER_LLM_BASE_URL and "
                  "NOTECODER_LLM_MODEL (and the API key in the variable named by "
                  "NOTECODER_LLM_API_KEY_ENV, default OPENAI_API_KEY), or llm_base_url and "
                  "llm_model in notecoder.toml.")


@dataclass
class Meter:
    """Calls and tokens of one note's requests."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ThreadMeters:
    """The Meter each thread's calls count on: a client, and anything standing in for
    one, mixes it in and sets `self._meters = threading.local()` in its constructor."""

    _meters: threading.local

    def start_meter(self) -> Meter:
        """Count calls and tokens of this thread's calls from now on (one note)."""
        self._meters.current = Meter()
        return self._meters.current

    def use_meter(self, meter: Meter) -> None:
        """Count this thread's calls on `meter` (a worker reading one chunk of a note)."""
        self._meters.current = meter

    def meter(self) -> Meter | None:
        return getattr(self._meters, "current", None)


class LLMClient(ThreadMeters):
    """Structured extraction calls to one endpoint; counts HTTP requests it sends."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url or not settings.llm_model:
            raise LLMNotConfigured(NOT_CONFIGURED)
        import httpx2
        import instructor
        import openai

        # instructor logs failed attempts with the model's answer (extracted values): those
        # go to the log only when debugging, like note text (README, Settings).
        logging.getLogger("instructor").setLevel(
            logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.CRITICAL)
        self.model = settings.llm_model
        self.settings = settings
        self.requests = 0
        self.spent = 0  # tokens (in + out) of every answer of this client: the run's budget
        self._lock = threading.Lock()
        self._meters = threading.local()
        http = openai.DefaultHttpx2Client(event_hooks={"request": [self._count],
                                                       "response": [self._usage]})
        raw = _client_class()(
            base_url=settings.llm_base_url,
            # Local servers need no key; hosted ones read it from the named variable.
            api_key=os.environ.get(settings.llm_api_key_env) or "not-set",
            timeout=httpx2.Timeout(settings.llm_timeout, connect=min(10.0, settings.llm_timeout)),
            max_retries=settings.llm_max_retries,
            http_client=http,
        )
        # The schema is sent once per request: in the response format (json_schema,
        # json_object_schema), the tool (tools) or, only where nothing else carries it, the
        # prompt (json). instructor's JSON mode pastes it into the prompt, so the
        # json_object_schema request is built from its JSON_SCHEMA mode instead.
        mode = {"json_schema": instructor.Mode.JSON_SCHEMA, "tools": instructor.Mode.TOOLS,
                "json": instructor.Mode.JSON,
                "json_object_schema": instructor.Mode.JSON_SCHEMA}[settings.llm_mode]
        self._client = instructor.from_openai(raw, mode=mode)
        self.strict = strict_for(settings)
        self.form = answer_form(settings)

    def response_format(self) -> dict | None:
        """The response format sent in place of instructor's (which has no `strict` and,
        in JSON mode, no schema): None where instructor's own request is used as it is."""
        mode = self.settings.llm_mode
        if mode == "json_object_schema":
            # llama-cpp-python's server constrains decoding to this schema (a grammar).
            return {"type": "json_object", "schema": response_schema()}
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {
                "name": "NoteDraft", "schema": response_schema(self.strict),
                **({"strict": True} if self.strict else {})}}
        return None

    def _count(self, _request) -> None:
        meter = self.meter()
        with self._lock:  # a note's chunks may be read on several threads at once
            self.requests += 1
            if meter is not None:
                meter.calls += 1

    def _usage(self, response) -> None:
        """Tokens the server says an answer used, for the note being read on this thread
        and the run's budget (an answer without usage counts none)."""
        try:
            response.read()
            usage = response.json().get("usage") or {}
            tokens_in = int(usage.get("prompt_tokens") or 0)
            tokens_out = int(usage.get("completion_tokens") or 0)
        except Exception:  # not JSON, an error body: no usage to count
            return
        meter = self.meter()
        with self._lock:
            self.spent += tokens_in + tokens_out
            if meter is not None:
                meter.prompt_tokens += tokens_in
                meter.completion_tokens += tokens_out

    def check_budget(self) -> None:
        """Refuse a call once the run has spent `llm_token_budget` tokens."""
        budget = self.settings.llm_token_budget
        if budget is not None and self.spent >= budget:
            raise LLMBudgetSpent(f"The run's LLM token budget ({budget} tokens, "
                                 "NOTECODER_LLM_TOKEN_BUDGET) is spent; no further call is "
                                 "made.")

    def extract(self, text: str, prompts: PromptSet,
                repair: tuple[NoteDraft, list[str]] | None = None,
                sampling: tuple[float, int | None] | None = None,
                examples: tuple = (), context: tuple[str, str] = ("", "")) -> NoteDraft:
        """One structured call for one note or chunk, shown `examples` first and its
        neighbour `context` around it (with `repair`: its first answer and the checker's
        reasons, asked once more; with `sampling`: the temperature and seed of a further
        pass, else temperature 0 and `llm_seed`); a typed error when it cannot."""
        self.check_budget()
        limit = answer_tokens(text, self.settings)
        temperature, seed = sampling or (0, self.settings.llm_seed)
        extra: dict = {"temperature": temperature, "max_tokens": limit,
                       "timeout": call_timeout(limit, self.settings)}
        if seed is not None:
            extra["seed"] = seed
        response_format = self.response_format()
        # Sent over instructor's own fields (extra_body is merged last into the request).
        body = {**({"response_format": response_format} if response_format else {}),
                **tool_call_fields(self.settings)}
        if body:
            extra["extra_body"] = body
        try:
            return self._client.chat.completions.create(
                model=self.model,
                response_model=NoteDraft,
                messages=messages(text, prompts, examples, repair, context, self.form),
                max_retries=self.settings.llm_max_retries,  # re-asks after the first try
                **extra,
            )
        except Exception as exc:
            raise classify(exc, self.settings) from exc


def answer_tokens(text: str, settings: Settings) -> int:
    """The answer limit for one note or chunk, sized to what it can hold: its quotes copy
    the note, so about one token per note character plus the JSON around them (256), never
    more than `llm_max_tokens`. A runaway answer stops early instead of at the global cap."""
    return max(64, min(settings.llm_max_tokens, 256 + len(text)))


def call_timeout(max_tokens: int, settings: Settings) -> float:
    """Seconds to wait for one call: reading the prompt (`llm_timeout_floor`) plus the
    answer limit at the slowest generation rate waited for (`llm_min_tokens_per_second`),
    never more than `llm_timeout`."""
    sized = settings.llm_timeout_floor + max_tokens / settings.llm_min_tokens_per_second
    return min(settings.llm_timeout, sized)


@cache
def _client_class():
    """The openai client class used (built on first use: openai is imported lazily)."""
    import openai

    class NoTimeoutResend(openai.OpenAI):
        """The openai client, except that a timed-out request is never sent again: the
        server may still be generating the first answer, and at temperature 0 a re-send
        asks for the same runaway answer. Refused connections, 429 and 5xx are still
        retried with backoff (the request never ran, or the server said to try again)."""

        def _send_request(self, request, **kwargs):
            from openai._base_client import timeout_exceptions

            try:
                return super()._send_request(request, **kwargs)
            except timeout_exceptions() as err:  # an OpenAIError is raised, not retried
                raise openai.APITimeoutError(request=request) from err

    return NoTimeoutResend


_LOCAL_HOSTS = ("127.", "localhost", "[::1]", "0.0.0.0")
# The tool instructor's TOOLS mode offers: the response model's name.
TOOL_NAME = NoteDraft.__name__
# Where a tool call ends in the Hermes/Qwen form that llama.cpp, vLLM and the ChatML
# template of tests/cassettes/chatml-tools.jinja write tool calls in.
TOOL_CALL_END = "</tool_call>"


def is_local(settings: Settings) -> bool:
    """Whether the endpoint is on this machine (a llama.cpp, vLLM or Ollama server), not a
    hosted API: what strict output and the tool-call fields are chosen by."""
    from urllib.parse import urlsplit

    host = urlsplit(settings.llm_base_url or "").netloc.rsplit("@", 1)[-1]
    return host.startswith(_LOCAL_HOSTS)


def strict_for(settings: Settings) -> bool:
    """Strict structured output: `llm_strict` when set, else on for a json_schema endpoint
    that is not on this machine (hosted models honour `strict`; a local llama.cpp or vLLM
    server enforces the plain schema, with min lengths, as a grammar)."""
    if settings.llm_strict is not None:
        return settings.llm_strict and settings.llm_mode == "json_schema"
    return settings.llm_mode == "json_schema" and not is_local(settings)


def tool_call_fields(settings: Settings) -> dict:
    """The request fields that make a local server answer with one call of the tool, in
    place of instructor's: `tool_choice: "required"` (llama.cpp refuses the named-function
    object instructor sends as the wrong type and answers in plain text), no parallel
    calls (one NoteDraft per chunk) and a stop at the end of the first call: llama.cpp's
    tool-call grammar allows one call or more whatever `parallel_tool_calls` says, and a
    small model repeats its call until the token limit (the server parses a call cut at
    its closing tag as a whole call). Empty outside tools mode and for a hosted endpoint,
    which honours the named function as instructor sends it."""
    if settings.llm_mode != "tools" or not is_local(settings):
        return {}
    return {"tool_choice": "required", "parallel_tool_calls": False,
            "stop": [TOOL_CALL_END]}


def answer_form(settings: Settings) -> AnswerForm:
    """How the chat's answers (examples, a repair's first answer) are written in this mode:
    tool calls in tools mode, every field in strict json_schema, else compact JSON text."""
    if settings.llm_mode == "tools":
        return AnswerForm(tool=TOOL_NAME)
    return AnswerForm(every_field=strict_for(settings))


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        for inner in (getattr(exc, "last_exception", None), getattr(exc, "failed_attempts",
                                                                     None)):
            if isinstance(inner, BaseException):
                yield from _chain(inner)
        exc = exc.__cause__ or exc.__context__


def classify(exc: BaseException, settings: Settings) -> LLMError:
    """The typed, one-sentence error for whatever the openai/instructor stack raised."""
    import openai

    tries = settings.llm_max_retries + 1
    causes = list(_chain(exc))
    if any(type(inner).__name__ == "CannotOverwriteExistingCassetteException" for inner in causes):
        return LLMReplayMissing("No recorded LLM answer for this request in the replay "
                                "cassette; re-record it (docs/llm.md).")
    for inner in causes:
        if isinstance(inner, openai.APITimeoutError):
            return LLMTimeout("The LLM endpoint did not answer within the call's time limit "
                              f"(at most {settings.llm_timeout:g} s, sized to the answer "
                              "limit); a timed-out call is not sent again.")
        if isinstance(inner, openai.APIConnectionError):
            return LLMUnavailable(f"The LLM endpoint at {settings.llm_base_url} could not be "
                                  f"reached ({tries} attempt(s)); is the server running?")
        if isinstance(inner, openai.RateLimitError):
            return LLMRateLimited(f"The LLM endpoint kept refusing with 429 Too Many Requests "
                                  f"({tries} attempt(s)); lower NOTECODER_LLM_CONCURRENCY or "
                                  "try later.")
        if isinstance(inner, openai.APIStatusError):
            return LLMServerError(f"The LLM endpoint answered HTTP {inner.status_code} "
                                  f"({tries} attempt(s)).")
        if isinstance(inner, openai.LengthFinishReasonError) or \
                type(inner).__name__ == "IncompleteOutputException":
            return LLMInvalidOutput("The LLM answer was cut off at the token limit "
                                    "(NOTECODER_LLM_MAX_TOKENS); nothing was coded from it.")
    log.debug("unclassified LLM failure", exc_info=exc)
    return LLMInvalidOutput(f"The LLM answer was empty, not JSON or not valid against the "
                            f"extraction schema after {tries} attempt(s); nothing was coded "
                            "from it.")
