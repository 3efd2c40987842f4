"""kill -9 at random moments while a worker codes a queue of gold notes (issue 13).

    python -m bench.faults.kill9 --notes 200 --kills 10 --seed 13

The notes are submitted and enqueued as the web app does; one `notecoder worker` process
(always the same `--id`, as a restarted machine would be) codes them and is killed with
SIGKILL at a moment drawn from a seeded random generator, `kills` times, each time
restarted; a last worker then finishes the queue. At the end every note must have been
coded exactly once (status coded with the engine's own claim for its text, one
`note.coded` event, no duplicate line) or failed with a reason; none queued, none lost;
and the marker in every note's text in no line of the workers' output (log level INFO).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.faults.site import Site, Tally, expected_claims, gold_texts, marker_lines, stop, tally

WORKER_ID = "kill9-worker"


@dataclass
class Kill9Report:
    notes: int
    kills: int
    seed: int
    in_flight_at_kill: list[int] = field(default_factory=list)  # jobs running when killed
    coded_before_last_start: int = 0
    seconds: float = 0.0
    tally: Tally | None = None
    leaked_lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.tally is not None and self.tally.exactly_once and not self.leaked_lines


def _running_jobs(site: Site) -> int:
    from dbos import DBOSClient

    from review.jobs import jobs_database_url

    settings = site.settings()
    client = DBOSClient(system_database_url=jobs_database_url(settings),
                        dbos_system_schema=settings.jobs_schema)
    try:
        return len(client.list_workflows(status="PENDING"))
    finally:
        client.destroy()


def run(folder: Path, notes: int, kills: int, seed: int, earliest: float = 1.0,
        latest: float = 7.0, finish_timeout: float = 600, database_url: str | None = None,
        jobs_schema: str = "dbos") -> Kill9Report:
    """Submit `notes` gold notes, kill the worker `kills` times at random moments between
    `earliest` and `latest` seconds after its start, finish with a last worker, tally."""
    started = time.monotonic()
    site = Site(folder, database_url, jobs_schema)
    site.prepare()
    texts = gold_texts(notes)
    ids = site.submit(texts)
    report = Kill9Report(notes=notes, kills=kills, seed=seed)
    rng = random.Random(seed)
    log = folder / "workers.log"
    for _ in range(kills):
        process = site.worker(WORKER_ID, log)
        time.sleep(rng.uniform(earliest, latest))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        report.in_flight_at_kill.append(_running_jobs(site))
    report.coded_before_last_start = notes - site.queued()
    last = site.worker(WORKER_ID, log)
    try:
        site.wait_until_none_queued(finish_timeout)
    finally:
        stop(last)
    report.tally = tally(site.url, ids, expected_claims(texts))
    report.leaked_lines = marker_lines(log)
    report.seconds = time.monotonic() - started
    return report


def describe(report: Kill9Report) -> str:
    t = report.tally
    assert t is not None
    return (f"{report.notes} notes, {report.kills} SIGKILLs (seed {report.seed}; jobs running "
            f"at each kill: {report.in_flight_at_kill}; {report.coded_before_last_start} "
            f"coded before the last restart): coded {t.coded}, failed with a reason "
            f"{t.failed_with_reason}, failed without one {t.failed_without_reason}, stuck "
            f"{t.stuck}, lost {t.lost}, coded twice {t.coded_twice}, duplicate lines "
            f"{t.duplicate_lines}, claims unlike the engine's {t.wrong_claims}, note text in "
            f"the logs {len(report.leaked_lines)} lines; {report.seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(Path(tmp), args.notes, args.kills, args.seed)
    print(describe(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
