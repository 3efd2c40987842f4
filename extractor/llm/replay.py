"""Recorded LLM traffic (vcrpy cassettes): replay it offline, or record it from a real server.

A cassette `NAME.yaml` has a sidecar `NAME.meta.json` naming the endpoint settings it was
recorded with (model, mode, base URL, server and model provenance), so a replay sends
byte-for-byte the requests that were recorded and gets the recorded answers; a request
that was never recorded is an error (`LLMReplayMissing`), never a call to the network.
Requests match on method, path and JSON body (model, prompt, note, schema); the
Authorization header is never written to a cassette.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from notecoder.config import Settings
from notecoder.errors import InputNotFound

_SECRET_HEADERS = ["authorization", "api-key", "x-api-key", "openai-organization",
                   "openai-project", "cookie", "set-cookie"]
_REPLAYED = ("llm_model", "llm_mode", "llm_base_url", "llm_max_tokens", "llm_seed",
             "llm_context_window", "llm_chunk_tokens", "llm_context_lines", "llm_examples",
             "llm_examples_tokens", "llm_max_retries", "llm_repair",
             "llm_strict", "llm_passes", "llm_pass_temperature")
# What a cassette recorded before a setting existed was recorded without it.
_BEFORE = {"llm_repair": False}


def meta_path(cassette: Path) -> Path:
    return cassette.with_suffix(".meta.json")


def replay_settings(cassette: Path, settings: Settings) -> Settings:
    """The settings a cassette was recorded with, over `settings`, and no cache (every
    request must come from the cassette). Re-asks replay as recorded: each has its own
    request body."""
    if not cassette.is_file() or not meta_path(cassette).is_file():
        raise InputNotFound(f"No cassette with its .meta.json at '{cassette}'.")
    meta = json.loads(meta_path(cassette).read_text(encoding="utf-8"))
    recorded = {k: meta["settings"].get(k, _BEFORE.get(k)) for k in _REPLAYED
                if k in meta["settings"] or k in _BEFORE}
    return settings.model_copy(update={**recorded, "llm_cache": False})


def recorded_settings(settings: Settings) -> dict:
    """The settings to write into a cassette's meta file."""
    return {k: getattr(settings, k) for k in _REPLAYED}


def note_sent(request_body: str) -> str:
    """The note (or chunk) a recorded chat request carried: its last delimited user message
    (re-asks append messages after it)."""
    from extractor.llm.prompt import undelimit

    for message in reversed(json.loads(request_body)["messages"]):
        if message["role"] == "user" and (note := undelimit(message["content"])) is not None:
            return note
    raise ValueError("the request carries no delimited note")


def _vcr(record_mode: str):
    import vcr

    return vcr.VCR(
        record_mode=record_mode,
        match_on=["method", "path", "body"],
        filter_headers=_SECRET_HEADERS,
        decode_compressed_response=True,
    )


@contextmanager
def replaying(cassette: Path) -> Iterator[None]:
    """Serve every HTTP request from the cassette; an unrecorded one fails."""
    with _vcr("none").use_cassette(str(cassette), allow_playback_repeats=True):
        yield


@contextmanager
def recording(cassette: Path, append: bool = False) -> Iterator[None]:
    """Send requests to the real server and write the traffic to a fresh cassette (with
    `append`: after the interactions it already holds)."""
    cassette.parent.mkdir(parents=True, exist_ok=True)
    if cassette.exists() and not append:
        cassette.unlink()
    with _vcr("all").use_cassette(str(cassette)):
        yield
