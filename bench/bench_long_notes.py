"""Reading cost against note length: an ED flowsheet of N timed lines, coded once each.

    python bench/bench_long_notes.py --lines 1000,10000,100000

Prints seconds, microseconds per line and peak memory per size; the cost must stay linear
in note length (issue 13: parse time used to grow with the square of the line count).
Figures are printed, never asserted. The default time budget is lifted for the run.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_LINES = ["ondansetron 4 mg IV push", "NS 1000 mL bolus started", "ceftriaxone 1 g IVPB started",
          "ketorolac 15 mg IV push", "NS bolus complete", "VS stable, pain 4/10",
          "pt resting, no distress", "Dx: gastroenteritis, dehydration"]


def flowsheet(lines: int, seed: int = 1) -> str:
    """An ED flowsheet of `lines` timed lines (a header, allergies and home meds first)."""
    rng = random.Random(seed)
    out = ["ED NURSING FLOWSHEET 03/09/2026",
           "Pt 52 F. Allergies: NKDA. Home meds: metformin 500 mg PO BID."]
    for i in range(lines):
        out.append(f"{(i // 60) % 24:02d}{i % 60:02d} {rng.choice(_LINES)}")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000,10000,100000",
                        help="comma-separated line counts")
    args = parser.parse_args()
    from extractor.budget import time_budget
    from extractor.rules import extract

    extract("warm up: ondansetron 4 mg IV push at 10:00.")
    print(f"{'lines':>8} {'bytes':>10} {'seconds':>9} {'us/line':>8} {'peak MB':>8}")
    for n in (int(x) for x in args.lines.split(",")):
        text = flowsheet(n)
        start = time.perf_counter()
        with time_budget(None):
            extract(text)
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>8} {len(text.encode()):>10,} {elapsed:>9.2f} {elapsed / n * 1e6:>8.0f} "
              f"{peak:>8.0f}")


if __name__ == "__main__":
    main()
