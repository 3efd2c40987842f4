"""Durable jobs: real `notecoder worker` processes on one database (SQLite, PostgreSQL).

A worker killed with SIGKILL in the middle of a job leaves the job to the worker that
restarts with its id; the note is coded exactly once. Two workers with different ids
share one queue and code every note once between them.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from notecoder.config import Settings
from review import jobs, service
from review.db import AuditEvent, CodeLineRow, Note, NoteStatus, Role, session_factory, upgrade
from review.users import add_user
from tests import db_urls

database_url = db_urls.database_url  # every test here runs on SQLite and on PostgreSQL

NOTE = Path(__file__).resolve().parent.parent / "datasets" / "examples" / "g1_ceftriaxone.txt"


_DATABASE: dict[Path, str] = {}  # test directory -> its database URL


def _settings(tmp_path: Path) -> Settings:
    # One job-queue schema per test: workflow ids (note-1-v1) repeat across tests.
    return Settings(data_dir=tmp_path, database_url=_DATABASE[tmp_path],
                    jobs_schema=f"jobs_{abs(hash(str(tmp_path))) % 10**12}")


@pytest.fixture(autouse=True)
def _database(tmp_path, database_url):
    _DATABASE[tmp_path] = database_url
    yield
    _DATABASE.pop(tmp_path, None)


def _env(tmp_path: Path, delay: float) -> dict:
    settings = _settings(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTECODER_")}
    env.update(NOTECODER_DATA_DIR=str(tmp_path), NOTECODER_JOB_DELAY_SECONDS=str(delay),
               NOTECODER_DATABASE_URL=settings.resolved_database_url(),
               NOTECODER_JOBS_SCHEMA=settings.jobs_schema)
    return env


def _worker(tmp_path: Path, worker_id: str, delay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "notecoder.cli", "worker", "--id", worker_id],
                            env=_env(tmp_path, delay), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _submit(tmp_path: Path, count: int) -> list[int]:
    settings = _settings(tmp_path)
    url = settings.resolved_database_url()
    upgrade(url)
    try:
        user_id = add_user(url, "coder1", Role.CODER, "a long enough password")
    except Exception:
        user_id = 1
    ids = []
    with session_factory(url)() as db:
        user = db.get(service.User, user_id)
        for n in range(count):
            note = service.submit_note(db, user, NOTE.read_text(encoding="utf-8"), f"n{n}",
                                       "facility", "official", 1_000_000)
            db.commit()
            ids.append(note.id)
    for note_id in ids:
        jobs.enqueue(settings, note_id, 1)
    return ids


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _status(tmp_path: Path, note_id: int) -> str:
    with session_factory(_settings(tmp_path).resolved_database_url())() as db:
        return db.get(Note, note_id).status


def _workflow_status(tmp_path: Path, note_id: int) -> str | None:
    from dbos import DBOSClient

    settings = _settings(tmp_path)
    client = DBOSClient(system_database_url=jobs.jobs_database_url(settings),
                        dbos_system_schema=settings.jobs_schema)
    try:
        found = client.list_workflows(workflow_ids=[jobs.workflow_id(note_id, 1)])
        return found[0].status if found else None
    finally:
        client.destroy()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_a_worker_killed_mid_job_leaves_it_to_its_restart_and_it_is_coded_once(tmp_path):
    (note_id,) = _submit(tmp_path, 1)
    first = _worker(tmp_path, "machine-a", delay=30)
    try:
        # The job is taken (PENDING in the queue's own tables) and the worker is sleeping
        # inside the coding step when it is killed.
        assert _wait(lambda: _workflow_status(tmp_path, note_id) == "PENDING", 60)
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert _status(tmp_path, note_id) == NoteStatus.QUEUED  # nothing coded, nothing lost
    second = _worker(tmp_path, "machine-a", delay=0)
    try:
        assert _wait(lambda: _status(tmp_path, note_id) == NoteStatus.CODED, 90)
    finally:
        _stop(second)
    url = _settings(tmp_path).resolved_database_url()
    with session_factory(url)() as db:
        lines = db.scalars(select(CodeLineRow).where(CodeLineRow.note_id == note_id)).all()
        coded = db.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id,
                                                    AuditEvent.action == "note.coded")).all()
    assert sorted(line.code for line in lines) == ["96365", "J0696", "J18.9"]
    assert len(coded) == 1 and coded[0].after["worker"] == "machine-a"
    assert _workflow_status(tmp_path, note_id) == "SUCCESS"


@pytest.mark.parametrize("count", [6])
def test_two_workers_share_one_queue_and_code_every_note_once(tmp_path, count):
    ids = _submit(tmp_path, count)
    workers = [_worker(tmp_path, "machine-a", 0.3), _worker(tmp_path, "machine-b", 0.3)]
    try:
        assert _wait(lambda: all(_status(tmp_path, i) == NoteStatus.CODED for i in ids), 120)
    finally:
        for process in workers:
            _stop(process)
    url = _settings(tmp_path).resolved_database_url()
    with session_factory(url)() as db:
        coded = db.scalars(select(AuditEvent).where(AuditEvent.action == "note.coded")).all()
        lines = db.scalars(select(CodeLineRow)).all()
    assert sorted(event.note_id for event in coded) == sorted(ids)  # once each
    assert len(lines) == 3 * count
    assert {event.after["worker"] for event in coded} <= {"machine-a", "machine-b"}
