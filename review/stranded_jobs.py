"""Notes left queued with no live coding job: queued again, or failed with a reason.

Every worker runs this sweep when it starts and every `NOTECODER_JOB_SWEEP_SECONDS` (30)
after. A queued note version is stranded when
- it has no job at all: the web process stored the note but stopped (or the job queue's
  database refused the write) before it enqueued the job. The job is enqueued now (the
  workflow id is the note version's, so a job enqueued meanwhile is not doubled);
- its job ended without storing a result: it raised (the database could not even record a
  failure, e.g. a full disk), was cancelled, or the worker died while coding it more often
  than `jobs.MAX_RECOVERIES` allows (a note that crashes the process every time). The note
  is marked failed with that reason, so the coder can retry it.
A job that is queued or running is live and left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from review.db import Note, NoteStatus, session_factory

log = logging.getLogger(__name__)

LIVE = ("ENQUEUED", "PENDING", "DELAYED")
CHUNK = 500  # workflow ids per status query (SQLite allows 32,766 bound parameters)


@dataclass
class SweepReport:
    enqueued: int = 0
    failed: int = 0


def _reason(status: str, crashes: int) -> str:
    if status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED":
        return (f"The worker stopped while coding this note {crashes} times (a crash, or the "
                "process was killed); nothing was coded. Retry it, or report it if it "
                "happens again.")
    if status == "CANCELLED":
        return "The coding job was cancelled; nothing was coded. Retry it."
    return ("The coding job stopped with an error it could not record (the database did not "
            "take the write); nothing was coded. Retry it once the database can be written.")


def sweep(db_url: str, statuses: Callable[[list[str]], dict[str, str]],
          enqueue: Callable[[int, int], object], workflow_id: Callable[[int, int], str],
          worker: str, crashes: int) -> SweepReport:
    """One pass over the queued notes (see the module docstring).

    `statuses(ids)` maps workflow ids to their DBOS status (missing: no such job);
    `enqueue(note_id, version)` queues a job; `crashes` is how many times a job may stop
    its worker before it is given up (for the reason's wording).
    """
    from review.service import mark_failed

    with session_factory(db_url)() as db:
        queued = db.execute(select(Note.id, Note.version)
                            .where(Note.status == NoteStatus.QUEUED)).all()
    versions = {workflow_id(note_id, version): (note_id, version) for note_id, version in queued}
    found: dict[str, str] = {}
    for chunk in _chunks(list(versions), CHUNK):
        found.update(statuses(chunk))
    report = SweepReport()
    for wid, (note_id, version) in versions.items():
        status = found.get(wid)
        if status in LIVE:
            continue
        if status is None:
            enqueue(note_id, version)
            report.enqueued += 1
        elif status != "SUCCESS":
            done = mark_failed(db_url, note_id, version, worker, _reason(status, crashes))
            report.failed += done == "failed"
    if report.enqueued or report.failed:
        log.warning("stranded coding jobs: %d note(s) queued again, %d failed with a reason",
                    report.enqueued, report.failed)
    return report


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
