"""Durable coding jobs on DBOS (dbos-transact): a queue in the database itself.

Why DBOS: it is a maintained library whose queue lives in SQLite (the embedded default)
or PostgreSQL (a team server, many worker machines), with no broker to run. A job is a
DBOS workflow `code_note(note_id, version)` whose one step codes the note and writes the
result; DBOS checkpoints it, so a worker killed mid-job (kill -9) leaves the workflow
pending and the worker that restarts with the same id (`notecoder worker --id`, default
the host name) runs it again. The step is idempotent (a version already coded is not
coded again) and the workflow id `note-<id>-v<version>` is unique, so a job is never
queued or coded twice. The web app only enqueues (`DBOSClient`); it never codes.

A note that kills its worker every time it is read is read alone after the first death
and failed with a reason after `service.MAX_READINGS` (`review.reading_guard`); DBOS gives
up a job after `MAX_RECOVERIES` restarts whatever the cause. Every worker sweeps for notes
left queued with no live job (`review.stranded_jobs`): those are enqueued again or failed
with a reason, so no note waits forever.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from notecoder.config import Settings
from notecoder.errors import NotecoderError
from notecoder.log_privacy import install_phi_filter
from review.db_errors import first_line
from review.startup import DatabaseNotReady

log = logging.getLogger(__name__)

QUEUE = "coding"
WORKFLOW = "notecoder.code_note"
APP_VERSION = "notecoder-jobs-1"  # bump when the workflow's steps change shape
# Restarts of a job whose worker died while it ran before DBOS gives the job up (the sweep
# then fails its note with the reason): a backstop. A death while the note is read is
# counted by the note itself (service.MAX_READINGS), which fails it far sooner; a job only
# waiting beside a note that kills its worker is restarted as often as that takes.
MAX_RECOVERIES = 20


class JobNotStored(NotecoderError):
    """A coding job could not store even its failure (the error's type only: the original
    message may hold SQL parameters, and DBOS keeps the raised exception in its tables)."""

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
    from review.reading_guard import ReadingGuard

    executor = worker_id or socket.gethostname()
    db_url = settings.resolved_database_url()
    guard = ReadingGuard()

    @DBOS.step(name="notecoder.code_note.step")
    def code_step(note_id: int, version: int) -> str:
        if settings.job_delay_seconds:  # fault injection: room to kill a worker mid-job
            time.sleep(settings.job_delay_seconds)
        try:
            return service.code_queued_note(db_url, note_id, version, worker=executor,
                                            guard=guard)
        except Exception as exc:
            raise JobNotStored(f"note {note_id} v{version}: {type(exc).__name__}") from None

    @DBOS.workflow(name=WORKFLOW, max_recovery_attempts=MAX_RECOVERIES)
    def code_note(note_id: int, version: int) -> str:
        return code_step(note_id, version)

    DBOS(config={"name": "notecoder", "system_database_url": jobs_database_url(settings),
                 "run_admin_server": False, "executor_id": executor, "log_level": "WARNING",
                 "application_version": APP_VERSION,
                 "dbos_system_schema": settings.jobs_schema})
    install_phi_filter()  # on the handlers DBOS has just added
    try:
        DBOS.launch()
    except Exception as exc:
        DBOS.destroy(workflow_completion_timeout_sec=0)
        raise DatabaseNotReady(f"The job queue database cannot be opened ({first_line(exc)}); "
                               "the worker will not start.") from None
    DBOS.register_queue(QUEUE, worker_concurrency=concurrency, polling_interval_sec=0.25)
    log.warning("worker %s is running (%d at a time)", executor, concurrency)
    try:
        _watch_until(stop, settings, db_url, executor)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=5)


def _watch_until(stop: threading.Event, settings: Settings, db_url: str,
                 worker_id: str) -> None:
    """Until `stop`: a heartbeat every few seconds (the queue page tells coders when no
    worker is running) and a sweep for stranded jobs every `job_sweep_seconds`."""
    from review import service

    next_sweep = 0.0
    while True:
        if time.monotonic() >= next_sweep:
            _sweep(settings, db_url, worker_id)
            next_sweep = time.monotonic() + settings.job_sweep_seconds
        _beat(db_url, worker_id)
        wait = min(service.HEARTBEAT_SECONDS, max(0.0, next_sweep - time.monotonic()))
        if stop.wait(wait):
            return


def _beat(db_url: str, worker_id: str) -> None:
    """Say this worker is running; a database hiccup skips one beat, never stops it."""
    from review import service

    try:
        service.record_heartbeat(db_url, worker_id)
    except Exception as exc:  # the next beat tries again
        log.warning("worker heartbeat not written: %s", type(exc).__name__)


def _sweep(settings: Settings, db_url: str, executor: str) -> None:
    """Re-enqueue or fail the notes left queued with no live job (`review.stranded_jobs`);
    a database that cannot be read or written now is tried again at the next sweep."""
    from dbos import DBOS

    from review.stranded_jobs import sweep

    def statuses(ids: list[str]) -> dict[str, str]:
        return {w.workflow_id: w.status for w in DBOS.list_workflows(workflow_ids=ids)}

    try:
        sweep(db_url, statuses, lambda note_id, version: enqueue(settings, note_id, version),
              workflow_id, executor, MAX_RECOVERIES + 1)
    except Exception as exc:
        log.warning("the sweep for stranded coding jobs failed (%s: %s); it runs again in "
                    "%.0f s", type(exc).__name__, first_line(exc), settings.job_sweep_seconds)
