"""Issue 13: a worker that dies (os._exit, as a segfault or the OOM killer would end it) or
raises while coding one note, run as a real process on a real queue.

The note it died on is coded exactly once by its restart, whether it died while reading
the note or after storing the result but before the queue recorded the job; a note that
kills every worker that reads it is given up after a bounded number of restarts and failed
with a reason; a bug raised while reading one note fails that note with a reason; the other
notes are coded as usual; no note text reaches the workers' output at INFO.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from bench.faults.site import MARKER, Site, expected_claims, gold_texts, marker_lines, stop, tally
from review import service
from review.db import AuditEvent, Note, User, session_factory

SWEEP = "1"  # seconds between the workers' sweeps for stranded jobs


def _run_until_done(site: Site, log: Path, limit: int, **faults: str) -> int:
    """Start the fault-injecting worker again each time it dies, until no note is queued;
    how many times it died."""
    deaths = 0
    while True:
        process = site.worker("crashy", log, module="bench.faults.worker",
                              NOTECODER_JOB_SWEEP_SECONDS=SWEEP, **faults)
        try:
            while process.poll() is None and site.queued():
                time.sleep(0.2)
        finally:
            if process.poll() is None:
                stop(process)
        if process.returncode == 137:
            deaths += 1
        if not site.queued():
            return deaths
        assert deaths <= limit, f"still {site.queued()} queued after {deaths} deaths"


def _events(url: str, note_id: int, action: str) -> int:
    with session_factory(url)() as db:
        return len(db.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id,
                                                       AuditEvent.action == action)).all())


def test_a_worker_dying_mid_note_leaves_it_to_its_restart_coded_once(tmp_path):
    site = Site(tmp_path)
    site.prepare()
    texts = gold_texts(6)
    texts[1] += "DIES-READING\n"
    texts[3] += "DIES-STORED\n"
    texts[4] += "RAISES-READING\n"
    ids = site.submit(texts)
    (tmp_path / "once").mkdir()
    log = tmp_path / "workers.log"
    deaths = _run_until_done(site, log, limit=4, FAULTS_EXIT_READING="DIES-READING",
                             FAULTS_EXIT_STORED="DIES-STORED",
                             FAULTS_RAISE_READING="RAISES-READING",
                             FAULTS_ONCE_DIR=str(tmp_path / "once"))
    assert deaths == 2
    expected = expected_claims(texts)
    expected[4] = []  # the note whose reading raised: failed, no lines
    result = tally(site.url, ids, expected)
    assert result.exactly_once, result
    assert (result.coded, result.failed_with_reason) == (5, 1), result
    with session_factory(site.url)() as db:
        failed = db.get(Note, ids[4])
    assert failed.status == "failed" and failed.error.startswith(
        "Internal error while coding the note (RuntimeError)")
    assert MARKER not in failed.error
    for note_id in (ids[1], ids[3]):
        assert _events(site.url, note_id, "note.coded") == 1
    assert marker_lines(log) == []


def test_a_note_that_kills_every_worker_is_failed_with_a_reason(tmp_path):
    site = Site(tmp_path)
    site.prepare()
    texts = gold_texts(4)
    texts[2] += "ALWAYS-DIES\n"
    ids = site.submit(texts)
    log = tmp_path / "workers.log"
    deaths = _run_until_done(site, log, limit=service.MAX_READINGS + 2,
                             FAULTS_EXIT_READING="ALWAYS-DIES")
    assert deaths == service.MAX_READINGS
    result = tally(site.url, ids)
    assert result.exactly_once and result.failed_with_reason == 1, result
    with session_factory(site.url)() as db:
        poison = db.get(Note, ids[2])
    assert poison.status == "failed"
    assert poison.error.startswith(
        f"The worker stopped while coding this note {service.MAX_READINGS} times")
    assert _events(site.url, ids[2], "note.coded") == 0
    # The coder retries it: a new version, which is read again (here by this process).
    with session_factory(site.url)() as db:
        user = db.scalar(select(User).where(User.username == "coder1"))
        note = service.requeue_failed(db, user, ids[2])
        db.commit()
    assert service.code_queued_note(site.url, ids[2], note.version) == "coded"
    assert marker_lines(log) == []
