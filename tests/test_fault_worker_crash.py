"""Issue 13: a worker that dies (os._exit, as a segfault or the OOM killer would end it) or
raises while coding one note, run as a real process on a real queue
(`bench.faults.scenarios`).

The note it died on is coded exactly once by its restart, whether it died while reading
the note or after storing the result but before the queue recorded the job; a note that
kills every worker that reads it is failed with a reason after `service.MAX_READINGS`
deaths, without taking the notes read beside it along; a bug raised while reading one
note fails that note with a reason; the other notes are coded as usual; no note text
reaches the workers' output at INFO.
"""

from __future__ import annotations

from sqlalchemy import select

from bench.faults import scenarios
from bench.faults.site import MARKER
from review import service
from review.db import AuditEvent, Note, session_factory


def _coded_events(url: str, note_id: int) -> int:
    with session_factory(url)() as db:
        return len(db.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id,
                                                       AuditEvent.action == "note.coded")).all())


def test_a_worker_dying_mid_note_leaves_it_to_its_restart_coded_once(tmp_path):
    outcome, ids = scenarios.worker_deaths(tmp_path)
    assert outcome.deaths == 2
    result = outcome.tally
    assert result.exactly_once, result
    assert (result.coded, result.failed_with_reason) == (5, 1), result
    assert outcome.told.startswith("Internal error while coding the note (RuntimeError)")
    assert MARKER not in outcome.told
    url = f"sqlite:///{tmp_path / 'data' / 'notecoder.db'}"
    for note_id in (ids[1], ids[3]):
        assert _coded_events(url, note_id) == 1
    assert outcome.leaked_lines == []


def test_a_note_that_kills_every_worker_is_failed_with_a_reason(tmp_path):
    outcome, ids, site = scenarios.poison_note(tmp_path)
    assert outcome.deaths == service.MAX_READINGS
    result = outcome.tally
    with session_factory(site.url)() as db:
        readings = db.execute(select(Note.id, Note.reading_attempts)).all()
    assert result.exactly_once and (result.coded, result.failed_with_reason) == (3, 1), \
        (result, readings, outcome.log.read_text()[-3000:])
    assert outcome.told.startswith(
        f"The worker stopped while coding this note {service.MAX_READINGS} times")
    assert _coded_events(site.url, ids[2]) == 0
    # The coder retries it: a new version, read again (here by this process).
    version = scenarios.retry(site, ids[2], enqueue=False)
    assert service.code_queued_note(site.url, ids[2], version) == "coded"
    assert outcome.leaked_lines == []
