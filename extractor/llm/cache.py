"""A response cache: the LLM's drafts for a note, keyed by (note text hash, prompt version,
model, schema version, chunking), in one SQLite file. A second run of the same note makes
no LLM call. Only complete answers are stored (every chunk of the note answered).
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


def cache_key(note_sha256: str, prompt_version: str, model: str, chunking: tuple[int, int]
              ) -> str:
    parts = [note_sha256, prompt_version, model, draft_schema_version(), *map(str, chunking)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


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
