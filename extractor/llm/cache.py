"""A response cache: the LLM's drafts for a note, in one SQLite file, keyed by everything
that shapes the answer (`cache_key`): the note text, the content of every prompt file, the
LLM-facing schema, the endpoint, model and mode, the sampling, the answer limit, strict
output, repair, chunking and the few-shot examples chosen. A second run of the same note
makes no LLM call. Only complete answers are stored (every chunk of the note answered).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from extractor.llm.drafts import NoteDraft

_SCHEMA = "CREATE TABLE IF NOT EXISTS llm_drafts (key TEXT PRIMARY KEY, drafts TEXT NOT NULL)"


def draft_schema_version() -> str:
    """A short hash of the LLM-facing schema: any change to it invalidates the cache."""
    schema = json.dumps(NoteDraft.model_json_schema(), sort_keys=True)
    return hashlib.sha256(schema.encode()).hexdigest()[:12]


# The settings that change what is asked or how it is answered.
KEYED_SETTINGS = ("llm_base_url", "llm_model", "llm_mode", "llm_strict", "llm_seed",
                  "llm_max_tokens", "llm_repair", "llm_context_window", "llm_chunk_tokens",
                  "llm_context_lines", "llm_examples", "llm_examples_tokens",
                  "llm_passes", "llm_pass_temperature")


def cache_key(note_sha256: str, settings, prompts_digest: str, temperature: float = 0.0,
              chosen: list[list[str]] | None = None) -> str:
    """The key of one note's answer: a change to any part of the request gets a new one,
    including which few-shot examples each chunk was shown (`chosen`: their sources)."""
    from extractor.llm.client import answer_form, tool_call_fields
    from extractor.llm.drafts import response_schema

    parts = {"note": note_sha256, "prompts": prompts_digest, "examples": chosen or [],
             # How the examples' answers are written (compact JSON, every field, tool
             # calls) and the request fields that force a tool call: what the model is
             # shown and allowed, beyond the settings that choose them.
             "form": repr(answer_form(settings)), "request": tool_call_fields(settings),
             "schema": draft_schema_version(),
             "sent_schema": hashlib.sha256(json.dumps(response_schema(), sort_keys=True)
                                           .encode()).hexdigest()[:12],
             "temperature": temperature,
             **{name: getattr(settings, name) for name in KEYED_SETTINGS}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class DraftCache:
    """Thread-safe get/put of per-chunk drafts by key."""

    def __init__(self, path: Path) -> None:
        from notecoder.private_files import private_sqlite_file

        private_sqlite_file(path)  # drafts quote the notes: readable by the owner only
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(_SCHEMA)
        self._db.commit()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> list[NoteDraft] | None:
        with self._lock:
            row = self._db.execute("SELECT drafts FROM llm_drafts WHERE key = ?",
                                   (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return [NoteDraft.model_validate(item) for item in json.loads(row[0])]

    def put(self, key: str, drafts: list[NoteDraft]) -> None:
        payload = json.dumps([d.model_dump(mode="json") for d in drafts])
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO llm_drafts (key, drafts) VALUES (?, ?)",
                             (key, payload))
            self._db.commit()
