"""Durable coding jobs on DBOS (dbos-transact): a queue in the database itself.

Why DBOS: it is a maintained library whose queue lives in SQLite (the embedded default)
or PostgreSQL (a team server, many worker machines), with no broker to run. A job is a
DBOS workflow `code_note(note_id, version)` whose one step codes the note and writes the
result; DBOS checkpoints it, so a worker killed mid-job (kill -9) leaves the workflow
pending and the worker that restarts with the same id (`notecoder worker --id`, default
the host name) runs it again. The step is idempotent (a version already coded is not
coded again) and the workflow id `note-<id>-v<version>` is unique, so a job is never
queued or coded twice. The web app only enqueues (`DBOSClient`); it never codes.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from notecoder.config import Settings

log = logging.getLogger(__name__)

QUEUE = "coding"
WORKFLOW = "notecoder.code_note"
APP_VERSION = "notecoder-jobs-1"  # bump when the workflow's steps change shape

_clients: dict[tuple[str, str], object] = {}
_prepared: set[tuple[str, str]] = set()
_lock = threading.Lock()


def jobs_database_url(settings: Settings) -> str:
    """Where the queue lives: beside the product tables (PostgreSQL), or its own SQLite file
    in the data directory (DBOS keeps its own tables)."""
    url = settings.database_url
    if url and not url.startswith("sqlite"):
        return url.replace("postgresql+psycopg://", "postgresql://")
    from notecoder.private_files import private_sqlite_file

    path = private_sqlite_file(settings.data_dir / "jobs.sqlite")  # 0600 before DBOS opens it
    return f"sqlite:///{path}"


def prepare(settings: Settings) -> None:
    """Create or migrate the queue's tables (DBOS's own migrations); safe to repeat."""
    from dbos import DBOS

    key = (jobs_database_url(settings), settings.jobs_schema)
    if key not in _prepared:
        DBOS.migrate(key[0], schema=key[1])
        _prepared.add(key)


def workflow_id(note_id: int, version: int) -> str:
    return f"note-{note_id}-v{version}"


def enqueue(settings: Settings, note_id: int, version: int) -> str:
    """Queue the coding of one note version; a second call for the same version is a no-op."""
    from dbos import DBOSClient

    key = (jobs_database_url(settings), settings.jobs_schema)
    with _lock:
        prepare(settings)
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = DBOSClient(system_database_url=key[0],
                                                dbos_system_schema=key[1])
    handle = client.enqueue({"workflow_name": WORKFLOW, "queue_name": QUEUE,
                             "workflow_id": workflow_id(note_id, version),
                             "app_version": APP_VERSION}, note_id, version)
    return handle.get_workflow_id()


def run_worker(settings: Settings, worker_id: str | None, concurrency: int,
               stop: threading.Event) -> None:
    """Run this process as a worker until `stop` is set: dequeue and code notes."""
    from dbos import DBOS

    from review import service

    executor = worker_id or socket.gethostname()
    db_url = settings.resolved_database_url()

    @DBOS.step(name="notecoder.code_note.step")
    def code_step(note_id: int, version: int) -> str:
        if settings.job_delay_seconds:  # fault injection: room to kill a worker mid-job
            time.sleep(settings.job_delay_seconds)
        return service.code_queued_note(db_url, note_id, version, worker=executor)

    @DBOS.workflow(name=WORKFLOW)
    def code_note(note_id: int, version: int) -> str:
        return code_step(note_id, version)

    DBOS(config={"name": "notecoder", "system_database_url": jobs_database_url(settings),
                 "run_admin_server": False, "executor_id": executor, "log_level": "WARNING",
                 "application_version": APP_VERSION,
                 "dbos_system_schema": settings.jobs_schema})
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=concurrency, polling_interval_sec=0.25)
    log.warning("worker %s is running (%d at a time)", executor, concurrency)
    try:
        _heartbeat_until(stop, db_url, executor)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=5)


def _heartbeat_until(stop: threading.Event, db_url: str, worker_id: str) -> None:
    """Say this worker is running every few seconds until `stop` (the queue page tells
    coders when no worker is); a database hiccup skips one beat, never stops the worker."""
    from review import service

    while True:
        try:
            service.record_heartbeat(db_url, worker_id)
        except Exception as exc:  # the next beat tries again
            log.warning("worker heartbeat not written: %s", type(exc).__name__)
        if stop.wait(service.HEARTBEAT_SECONDS):
            return
