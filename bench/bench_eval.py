"""Evaluation speed: score N gold notes (the gold set repeated) on the offline path.

    python bench/bench_eval.py --notes 1000

Prints notes scored per second and the total time; issue 5 targets 1,000 notes in
under a minute on the 2-core machine. No files or history are written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1000)
    args = parser.parse_args()
    from eval.gold import load_dataset
    from eval.run import EvalTotals, evaluate_note, headline

    gold = load_dataset(ROOT / "datasets" / "gold")
    batch = [gold[i % len(gold)] for i in range(args.notes)]
    totals = EvalTotals()
    evaluate_note(batch[0], "rules", None, EvalTotals())  # build the pipeline first
    start = time.perf_counter()
    for note in batch:
        evaluate_note(note, "rules", None, totals)
    elapsed = time.perf_counter() - start
    print(f"evaluated {len(batch)} notes ({len(gold)} distinct gold notes repeated) in "
          f"{elapsed:.1f} s = {len(batch) / elapsed:.0f} notes/s")
    print(f"code F1 over the batch: {headline(totals, len(batch))['code_f1']:.3f}")


if __name__ == "__main__":
    main()
