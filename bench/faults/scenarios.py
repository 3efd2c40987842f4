"""Each fault of the suite, run for real on a throwaway site, with how it ended.

The tests (tests/test_fault_*.py) assert on these outcomes; `bench/reliability.py` writes
them into docs/reliability.md. Every scenario runs a real `notecoder worker` process (or
`serve`) at log level INFO on notes that carry the marker, and reports whether the marker
reached any line of its output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bench.faults.conditions import WalPastLimit, WriteLock, file_size_limit, obey_file_modes
from bench.faults.site import (
    MARKER,
    Site,
    Tally,
    expected_claims,
    gold_texts,
    marker_lines,
    stop,
    tally,
    wait_for,
)


@dataclass
class Outcome:
    """How one fault ended: the notes' tally, what the user or coder was told, leaks."""

    tally: Tally
    told: str = ""  # the sentence shown (start refused) or the failed note's reason
    leaked_lines: list[str] = field(default_factory=list)
    deaths: int = 0  # worker processes that died (os._exit) during the scenario
    steps: list[str] = field(default_factory=list)  # what was seen, in order
    log: Path | None = None


def status(site: Site, note_id: int) -> str:
    from review.db import Note, session_factory

    with session_factory(site.url)() as db:
        return db.get(Note, note_id).status


def error(site: Site, note_id: int) -> str:
    from review.db import Note, session_factory

    with session_factory(site.url)() as db:
        return db.get(Note, note_id).error or ""


def job_running(site: Site, note_id: int, version: int = 1) -> bool:
    from dbos import DBOSClient

    from review import jobs

    client = DBOSClient(system_database_url=jobs.jobs_database_url(site.settings()))
    try:
        found = client.list_workflows(workflow_ids=[jobs.workflow_id(note_id, version)])
        return bool(found) and found[0].status == "PENDING"
    finally:
        client.destroy()


def retry(site: Site, note_id: int, enqueue: bool = True) -> int:
    """The coder's Retry on a failed note; its new version."""
    from review import jobs, service
    from review.db import User, session_factory

    with session_factory(site.url)() as db:
        user = db.scalar(select(User).where(User.username == "coder1"))
        version = service.requeue_failed(db, user, note_id).version
        db.commit()
    if enqueue:
        jobs.enqueue(site.settings(), note_id, version)
    return version


def locked(folder: Path, hold_seconds: float = 3.0) -> Outcome:
    """Another connection holds the write lock (BEGIN EXCLUSIVE) over a job's writes, past
    the busy timeout (0.5 s here); a submission meanwhile is refused."""
    site = Site(folder)
    site.database_url = f"sqlite:///{site.data_dir / 'notecoder.db'}?timeout=0.5"
    site.prepare()
    log = folder / "worker.log"
    outcome = Outcome(Tally(), log=log)
    worker = site.worker("locked", log, NOTECODER_JOB_DELAY_SECONDS="1.5",
                         NOTECODER_JOB_SWEEP_SECONDS="1")
    try:
        (note_id,) = site.submit(gold_texts(1))
        if not wait_for(lambda: job_running(site, note_id), 60):
            raise RuntimeError("the worker did not take the job")
        with WriteLock(site.data_dir / "notecoder.db"):
            time.sleep(hold_seconds)
            if "the database is busy" in log.read_text():
                outcome.steps.append("job waited")
            try:
                site.submit([f"submitted while locked {MARKER}"])
                outcome.steps.append("submission stored?!")
            except Exception as exc:
                outcome.told = str(getattr(exc, "orig", exc)).splitlines()[0]
                outcome.steps.append("submission refused")
            outcome.steps.append(f"note {status(site, note_id)} while locked")
        wait_for(lambda: status(site, note_id) != "queued", 30)
        outcome.steps.append(f"note {status(site, note_id)} after the lock")
    finally:
        stop(worker)
    outcome.tally = tally(site.url, [note_id])
    outcome.leaked_lines = marker_lines(log)
    return outcome


READ_ONLY = {"database file 0400": ("notecoder.db", 0o400),
             "data directory 0500": ("", 0o500),
             "job queue file 0400": ("jobs.sqlite", 0o400)}


def read_only(folder: Path, what: str) -> list[tuple[str, int, str]]:
    """`worker` and `serve` started on a database they may not write (`what` names which,
    see READ_ONLY; root's file capabilities dropped): (command, exit status, stderr)."""
    from review.db import engine_for

    site = Site(folder)
    site.prepare()
    site.submit(gold_texts(1), enqueue=False)
    engine_for(site.url).dispose()
    name, mode = READ_ONLY[what]
    target = site.data_dir / name if name else site.data_dir
    os.chmod(target, mode)
    answers = []
    try:
        for command in (["worker", "--id", "ro"], ["serve", "--port", "1"]):
            done = subprocess.run([sys.executable, "-m", "notecoder.cli", *command],
                                  env=site.env(NOTECODER_LOG_LEVEL="WARNING"), cwd=folder,
                                  capture_output=True, text=True, timeout=120,
                                  preexec_fn=obey_file_modes())
            answers.append((command[0], done.returncode, done.stderr + done.stdout))
    finally:
        os.chmod(target, 0o700 if target.is_dir() else 0o600)
    return answers


def disk_full(folder: Path) -> Outcome:
    """The worker may not grow any file past a limit (`ulimit -f`, SIGXFSZ ignored) and the
    database's WAL is already past it: nothing it writes fits. Then space comes back."""
    from review.db import engine_for

    site = Site(folder)
    site.prepare()
    engine_for(site.url).dispose()
    limit = max(p.stat().st_size for p in site.data_dir.iterdir()) + 1_000_000
    full = WalPastLimit(site.data_dir / "notecoder.db", limit)
    log = folder / "worker.log"
    outcome = Outcome(Tally(), log=log)
    worker = site.worker("full", log, preexec_fn=file_size_limit(limit),
                         NOTECODER_JOB_SWEEP_SECONDS="1")
    try:
        (note_id,) = site.submit(gold_texts(1))
        wait_for(lambda: "sweep for stranded coding jobs failed" in log.read_text(), 60)
        outcome.steps.append(f"note {status(site, note_id)} while full")
        full.release()
        wait_for(lambda: status(site, note_id) != "queued", 30)
        outcome.told = error(site, note_id)
        outcome.steps.append(f"note {status(site, note_id)} once there is space")
        if status(site, note_id) == "failed":
            retry(site, note_id)
            wait_for(lambda: status(site, note_id) not in ("queued", "failed"), 60)
            outcome.steps.append(f"retried: {status(site, note_id)}")
        if worker.poll() is not None:
            outcome.steps.append(f"worker died ({worker.returncode})")
    finally:
        stop(worker)
    outcome.tally = tally(site.url, [note_id])
    outcome.leaked_lines = marker_lines(log)
    return outcome


def _run_until_done(site: Site, log: Path, limit: int, **faults: str) -> int:
    """Start the fault-injecting worker again each time it dies, until no note is queued
    (at most `limit` deaths); how many times it died."""
    deaths = 0
    while True:
        process = site.worker("crashy", log, module="bench.faults.worker",
                              NOTECODER_JOB_SWEEP_SECONDS="1", **faults)
        try:
            while process.poll() is None and site.queued():
                time.sleep(0.2)
        finally:
            if process.poll() is None:
                stop(process)
        deaths += process.returncode == 137
        if not site.queued() or deaths > limit:
            return deaths


def worker_deaths(folder: Path) -> tuple[Outcome, list[int]]:
    """Six notes: the worker dies once while reading note 2, once after storing note 4's
    result (before the queue records the job), and reading note 5 raises (a bug); it is
    restarted each time it dies. The outcome and the notes' ids."""
    site = Site(folder)
    site.prepare()
    texts = gold_texts(6)
    texts[1] += "DIES-READING\n"
    texts[3] += "DIES-STORED\n"
    texts[4] += "RAISES-READING\n"
    ids = site.submit(texts)
    (folder / "once").mkdir()
    log = folder / "workers.log"
    deaths = _run_until_done(site, log, limit=4, FAULTS_EXIT_READING="DIES-READING",
                             FAULTS_EXIT_STORED="DIES-STORED",
                             FAULTS_RAISE_READING="RAISES-READING",
                             FAULTS_ONCE_DIR=str(folder / "once"))
    expected = expected_claims(texts)
    expected[4] = []  # failed: no lines
    return Outcome(tally(site.url, ids, expected), told=error(site, ids[4]),
                   leaked_lines=marker_lines(log), deaths=deaths, log=log), ids


def poison_note(folder: Path) -> tuple[Outcome, list[int], Site]:
    """Four notes, one of which kills every worker that reads it (os._exit); the worker is
    restarted each time. The outcome, the notes' ids (the third is the poison) and the site."""
    from review import service

    site = Site(folder)
    site.prepare()
    texts = gold_texts(4)
    texts[2] += "ALWAYS-DIES\n"
    ids = site.submit(texts)
    log = folder / "workers.log"
    deaths = _run_until_done(site, log, limit=service.MAX_READINGS + 2,
                             FAULTS_EXIT_READING="ALWAYS-DIES")
    return Outcome(tally(site.url, ids, None), told=error(site, ids[2]),
                   leaked_lines=marker_lines(log), deaths=deaths, log=log), ids, site
