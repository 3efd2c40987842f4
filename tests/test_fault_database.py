"""Issue 13: a real `notecoder worker` process on a database that is locked by another
connection, that it may not write (even as root), or on a disk that is full (`ulimit -f`).

- Locked: the job waits while another connection holds the write lock past the busy
  timeout, and the note is coded once the lock is released; nothing is lost.
- Read-only (file 0400, directory 0500, job queue 0400): `worker` and `serve` refuse to
  start with one sentence (exit 2), no traceback, no note text.
- Disk full: a job that cannot store anything leaves the note queued, not lost; once there
  is space again the note is failed with a reason, and retried it is coded.
In every case the marker in the notes' text is in no line of the worker's output at INFO.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from bench.faults.conditions import WalPastLimit, WriteLock, file_size_limit, obey_file_modes
from bench.faults.site import MARKER, Site, gold_texts, marker_lines, stop, tally, wait_for
from review import jobs, service
from review.db import AuditEvent, Note, User, engine_for, session_factory


def _status(site: Site, note_id: int) -> str:
    with session_factory(site.url)() as db:
        return db.get(Note, note_id).status


def _job_running(site: Site, note_id: int) -> bool:
    from dbos import DBOSClient

    client = DBOSClient(system_database_url=jobs.jobs_database_url(site.settings()))
    try:
        found = client.list_workflows(workflow_ids=[jobs.workflow_id(note_id, 1)])
        return bool(found) and found[0].status == "PENDING"
    finally:
        client.destroy()


def test_a_job_waits_out_a_write_lock_and_codes_the_note_when_it_is_released(tmp_path):
    site = Site(tmp_path)
    site.database_url = f"sqlite:///{site.data_dir / 'notecoder.db'}?timeout=0.5"
    site.prepare()
    log = tmp_path / "worker.log"
    worker = site.worker("locked", log, NOTECODER_JOB_DELAY_SECONDS="1.5",
                         NOTECODER_JOB_SWEEP_SECONDS="1")
    try:
        (note_id,) = site.submit(gold_texts(1))
        assert wait_for(lambda: _job_running(site, note_id), 60), log.read_text()
        with WriteLock(site.data_dir / "notecoder.db"):  # held over the job's writes
            assert wait_for(lambda: "the database is busy" in log.read_text(), 15)
            with pytest.raises(Exception, match="database is locked"):
                site.submit(["a note submitted while the database is locked"])
            assert _status(site, note_id) == "queued"
        assert wait_for(lambda: _status(site, note_id) == "coded", 30), log.read_text()
    finally:
        stop(worker)
    result = tally(site.url, [note_id])
    assert result.exactly_once and result.coded == 1, result
    with session_factory(site.url)() as db:
        assert db.scalar(select(Note).where(Note.label == "fault-0").offset(1)) is None
    assert marker_lines(log) == []


@pytest.mark.parametrize("what", ["database file 0400", "data directory 0500",
                                  "job queue file 0400"])
def test_a_database_it_may_not_write_stops_the_start_with_one_sentence(tmp_path, what):
    site = Site(tmp_path)
    site.prepare()
    site.submit(gold_texts(1), enqueue=False)
    engine_for(site.url).dispose()
    target = {"database file 0400": (site.data_dir / "notecoder.db", 0o400),
              "data directory 0500": (site.data_dir, 0o500),
              "job queue file 0400": (site.data_dir / "jobs.sqlite", 0o400)}[what]
    os.chmod(*target)
    try:
        for command in (["worker", "--id", "ro"], ["serve", "--port", "1"]):
            done = subprocess.run([sys.executable, "-m", "notecoder.cli", *command],
                                  env=site.env(NOTECODER_LOG_LEVEL="WARNING"), cwd=tmp_path,
                                  capture_output=True,
                                  text=True, timeout=120, preexec_fn=obey_file_modes())
            assert done.returncode == 2, (command, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: The ") \
                and "cannot be written" in lines[0] and "will not start" in lines[0], lines
            assert MARKER not in done.stderr + done.stdout
    finally:
        os.chmod(target[0], 0o700 if target[0].is_dir() else 0o600)
    assert _status(site, 1) == "queued"  # nothing lost: the note waits for a worker


def test_a_full_disk_fails_the_job_with_a_reason_and_a_retry_codes_it(tmp_path):
    site = Site(tmp_path)
    site.prepare()
    engine_for(site.url).dispose()
    limit = max(p.stat().st_size for p in site.data_dir.iterdir()) + 1_000_000
    full = WalPastLimit(site.data_dir / "notecoder.db", limit)  # no room left for this worker
    log = tmp_path / "worker.log"
    worker = site.worker("full", log, preexec_fn=file_size_limit(limit),
                         NOTECODER_JOB_SWEEP_SECONDS="1")
    try:
        (note_id,) = site.submit(gold_texts(1))
        assert wait_for(lambda: "stopped with an error" in log.read_text()
                        or "sweep for stranded coding jobs failed" in log.read_text(), 60), \
            log.read_text()
        assert _status(site, note_id) == "queued"  # nothing could be written, nothing lost
        full.release()  # space again
        assert wait_for(lambda: _status(site, note_id) == "failed", 30), log.read_text()
        with session_factory(site.url)() as db:
            note = db.get(Note, note_id)
            assert note.error.startswith("The coding job stopped with an error")
            assert MARKER not in note.error
            user = db.scalar(select(User).where(User.username == "coder1"))
            note = service.requeue_failed(db, user, note_id)
            db.commit()
        jobs.enqueue(site.settings(), note_id, note.version)
        assert wait_for(lambda: _status(site, note_id) == "coded", 60), log.read_text()
        assert worker.poll() is None  # SIGXFSZ did not kill it
    finally:
        stop(worker)
    with session_factory(site.url)() as db:
        coded = db.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id,
                                                    AuditEvent.action == "note.coded")).all()
    assert len(coded) == 1
    assert marker_lines(log) == []
