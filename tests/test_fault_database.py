"""Issue 13: a real `notecoder worker` process on a database that is locked by another
connection, that it may not write (even as root), or on a disk that is full (`ulimit -f`)
(`bench.faults.scenarios`).

- Locked: the job waits while another connection holds the write lock past the busy
  timeout, and the note is coded once the lock is released; a submission meanwhile is
  refused (the web app answers 503, tests/test_review_phi_logs.py); nothing is lost.
- Read-only (file 0400, directory 0500, job queue 0400): `worker` and `serve` refuse to
  start with one sentence (exit 2), no traceback, no note text; the note waits.
- Disk full: a job that cannot store anything leaves the note queued, not lost; once there
  is space again the note is failed with a reason, and retried it is coded.
In every case the marker in the notes' text is in no line of the worker's output at INFO.
"""

from __future__ import annotations

import pytest

from bench.faults import scenarios
from bench.faults.site import MARKER, Site


def test_a_job_waits_out_a_write_lock_and_codes_the_note_when_it_is_released(tmp_path):
    outcome = scenarios.locked(tmp_path)
    assert outcome.steps == ["job waited", "submission refused", "note queued while locked",
                             "note coded after the lock"], outcome.steps
    assert outcome.told == "database is locked"
    assert outcome.tally.exactly_once and outcome.tally.coded == 1, outcome.tally
    assert outcome.leaked_lines == []


@pytest.mark.parametrize("what", list(scenarios.READ_ONLY))
def test_a_database_it_may_not_write_stops_the_start_with_one_sentence(tmp_path, what):
    for command, code, output in scenarios.read_only(tmp_path, what):
        assert code == 2, (command, output)
        lines = output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: The ") \
            and "cannot be written" in lines[0] and "will not start" in lines[0], lines
        assert MARKER not in output
    assert scenarios.status(Site(tmp_path), 1) == "queued"  # nothing lost: it waits


def test_a_full_disk_fails_the_job_with_a_reason_and_a_retry_codes_it(tmp_path):
    outcome = scenarios.disk_full(tmp_path)
    assert outcome.steps == ["note queued while full", "note failed once there is space",
                             "retried: coded"], outcome.steps
    assert outcome.told.startswith("The coding job stopped with an error")
    assert MARKER not in outcome.told
    assert outcome.tally.exactly_once and outcome.tally.coded == 1, outcome.tally
    assert outcome.leaked_lines == []
