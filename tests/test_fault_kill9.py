"""Issue 13: SIGKILL at random (seeded) moments while a real worker process codes a queue
of gold notes, restarted each time; every note ends coded exactly once with the engine's
own claim (or failed with a reason), none stuck, none lost, no duplicate line, no note
text in the workers' output. The 200-note run is `python bench/reliability.py --kill9`
(or `python -m bench.faults.kill9`)."""

from __future__ import annotations

from bench.faults import kill9


def test_kill_9_at_random_moments_codes_every_note_exactly_once(tmp_path):
    report = kill9.run(tmp_path, notes=20, kills=3, seed=7, earliest=2.5, latest=4.5,
                       finish_timeout=120)
    assert len(report.in_flight_at_kill) == 3
    assert report.ok, kill9.describe(report)
    assert report.tally.coded == 20, kill9.describe(report)
