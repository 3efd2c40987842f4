"""A throwaway review site in a folder: its settings, a coder, gold notes submitted and
enqueued as the web app would, worker processes, and the tally of how every note ended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent.parent
GOLD = ROOT / "datasets" / "gold"
MARKER = "PHIMARKER-7c1f"  # in every note's text; must never reach a log line above DEBUG
PASSWORD = "a long enough password"


def gold_texts(count: int) -> list[str]:
    """`count` gold note texts (dev then test, cycled if more are asked for), each with the
    marker in a line of its own at the end."""
    texts = [json.loads(p.read_text(encoding="utf-8"))["text"]
             for p in sorted(GOLD.rglob("*.json"))]
    return [f"{texts[n % len(texts)].rstrip()}\nSeen by {MARKER}.\n" for n in range(count)]


@dataclass
class Site:
    """A data directory with its own SQLite database and job queue."""

    folder: Path
    database_url: str | None = None  # None: the SQLite file in the data directory
    jobs_schema: str = "dbos"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def settings(self):
        from notecoder.config import Settings

        return Settings(data_dir=self.data_dir, database_url=self.database_url,
                        jobs_schema=self.jobs_schema)

    @property
    def url(self) -> str:
        return self.settings().resolved_database_url()

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `notecoder` process on this site (no NOTECODER_* of ours)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTECODER_", "FAULTS_"))}
        env.update(PYTHONPATH=str(ROOT), HOME=str(self.folder), NOTECODER_LOG_LEVEL="INFO",
                   NOTECODER_DATA_DIR=str(self.data_dir), NOTECODER_DATABASE_URL=self.url,
                   NOTECODER_JOBS_SCHEMA=self.jobs_schema)
        env.update(extra)
        return env

    def prepare(self) -> int:
        """Migrate the database and the job queue; the id of user `coder1`."""
        from review import jobs
        from review.db import upgrade
        from review.users import add_user

        upgrade(self.url)
        jobs.prepare(self.settings())
        return add_user(self.url, "coder1", "coder", PASSWORD)

    def submit(self, texts: list[str], enqueue: bool = True) -> list[int]:
        """Store each text as a queued note (and enqueue its job), as the web app does."""
        from review import jobs, service
        from review.db import User, session_factory

        ids = []
        with session_factory(self.url)() as db:
            user = db.scalar(select(User).where(User.username == "coder1"))
            for n, text in enumerate(texts):
                note = service.submit_note(db, user, text, f"fault-{n}", "facility", "official",
                                           1_000_000)
                db.commit()
                ids.append(note.id)
        if enqueue:
            for note_id in ids:
                jobs.enqueue(self.settings(), note_id, 1)
        return ids

    def worker(self, worker_id: str, log: Path, module: str = "notecoder.cli",
               preexec_fn: Callable[[], None] | None = None, **env: str) -> subprocess.Popen:
        """Start `notecoder worker --id worker_id` (or the fault-injecting one, `module=
        "bench.faults.worker"`) as its own process, stdout and stderr appended to `log`."""
        with log.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", module, "worker", "--id", worker_id],
                                    env=self.env(**env), cwd=self.folder, stdout=out,
                                    stderr=subprocess.STDOUT, preexec_fn=preexec_fn)

    def queued(self) -> int:
        from sqlalchemy import func

        from review.db import Note, NoteStatus, session_factory

        with session_factory(self.url)() as db:
            return db.scalar(select(func.count()).select_from(Note)
                             .where(Note.status == NoteStatus.QUEUED)) or 0

    def wait_until_none_queued(self, timeout: float) -> bool:
        return wait_for(lambda: self.queued() == 0, timeout)


def wait_for(predicate: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (the worker finishes or hands back its jobs), SIGKILL if it does not exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Tally:
    """How every submitted note ended, against the claim the engine gives its text."""

    notes: int = 0
    coded: int = 0
    failed_with_reason: int = 0
    failed_without_reason: int = 0
    stuck: int = 0  # still queued (no note can be "running" outside a live job)
    lost: int = 0  # submitted, and not in the database
    coded_twice: int = 0  # more than one note.coded event for one version
    duplicate_lines: int = 0  # claim lines beyond the engine's own claim for the text
    wrong_claims: int = 0  # a coded note whose lines differ from the engine's claim
    reasons: Counter = field(default_factory=Counter)

    @property
    def exactly_once(self) -> bool:
        return (self.coded + self.failed_with_reason == self.notes and not self.stuck
                and not self.lost and not self.coded_twice and not self.duplicate_lines
                and not self.wrong_claims and not self.failed_without_reason)


def expected_claims(texts: list[str]) -> list[list[tuple]]:
    """The engine's claim for each text, coded in this process: (system, code, units)."""
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    return [sorted((c.system, c.code, c.units) for c in code_note(t, Setting.FACILITY,
                                                                  "official", "rules").codes)
            for t in texts]


def tally(url: str, ids: list[int], expected: list[list[tuple]] | None = None) -> Tally:
    """Count how each note in `ids` ended; `expected[i]` is the claim note `ids[i]` must
    have when coded (None: only the exactly-once checks)."""
    from review.db import AuditEvent, CodeLineRow, Note, NoteStatus, session_factory

    result = Tally(notes=len(ids))
    with session_factory(url)() as db:
        notes = {n.id: n for n in db.scalars(select(Note).where(Note.id.in_(ids)))}
        coded_events = Counter((e.note_id, (e.after or {}).get("version")) for e in db.scalars(
            select(AuditEvent).where(AuditEvent.action == "note.coded",
                                     AuditEvent.note_id.in_(ids))))
        lines: dict[int, list[tuple]] = {}
        for line in db.scalars(select(CodeLineRow).where(CodeLineRow.note_id.in_(ids))):
            if line.version == notes[line.note_id].version:
                lines.setdefault(line.note_id, []).append((line.system, line.code, line.units))
    for position, note_id in enumerate(ids):
        note = notes.get(note_id)
        if note is None:
            result.lost += 1
            continue
        result.coded_twice += coded_events[(note_id, note.version)] > 1
        got = sorted(lines.get(note_id, []))
        if note.status == NoteStatus.CODED:
            result.coded += 1
            if expected is not None:
                want = expected[position]
                extra = Counter(got) - Counter(want)
                result.duplicate_lines += sum(extra.values())
                result.wrong_claims += got != want
        elif note.status == NoteStatus.FAILED:
            if note.error:
                result.failed_with_reason += 1
                result.reasons[note.error.split(";")[0]] += 1
            else:
                result.failed_without_reason += 1
            result.duplicate_lines += len(got)  # a failed version has no lines
        elif note.status == NoteStatus.QUEUED:
            result.stuck += 1
    return result


def marker_lines(*logs: Path) -> list[str]:
    """Every line of the given logs that holds the marker (should be none)."""
    found = []
    for log in logs:
        if log.exists():
            found += [line for line in log.read_text(encoding="utf-8", errors="replace")
                      .splitlines() if MARKER in line]
    return found
