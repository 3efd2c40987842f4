"""Offline throughput: code N copies of the bundled example notes and every gold note, print
notes/s, start-up and memory.

    python bench/bench_offline.py --copies 50

Figures are printed, never asserted. Peak memory is the process's maximum resident
set size (includes the spaCy pipeline and code tables).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reference_loop_seconds() -> float:
    """Seconds for a fixed pure-Python loop (10 million additions), best of 3: a yardstick
    for comparing figures taken on different or busy machines."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=50, help="copies of each example note")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from engine import code_facts, load_profile
    from notecoder.pipeline import code_note, extract_note
    from notecoder.schema import Setting

    examples = sorted((ROOT / "datasets" / "examples").glob("*.txt"))
    notes = [p.read_text(encoding="utf-8") for p in examples]
    code_note(notes[0], Setting.FACILITY, "official")  # build the pipeline and load tables
    startup = time.perf_counter() - t0

    batch = notes * args.copies
    t1 = time.perf_counter()
    for text in batch:
        code_note(text, Setting.FACILITY, "official")
    elapsed = time.perf_counter() - t1

    # Distinct notes: every gold note once, cold (term index entries parsed on first use)
    # and again warm, as a long-running worker meets them.
    import json

    gold = [json.loads(p.read_text(encoding="utf-8"))["text"]
            for p in sorted((ROOT / "datasets" / "gold").glob("*/*.json"))]
    distinct = []
    for _ in range(2):
        t4 = time.perf_counter()
        for text in gold:
            code_note(text, Setting.FACILITY, "official")
        distinct.append(len(gold) / (time.perf_counter() - t4))

    facts = [extract_note(text)[0] for text in notes]
    profile = load_profile("official")
    engine_runs = max(1000, len(batch))
    t2 = time.perf_counter()
    for i in range(engine_runs):
        code_facts(facts[i % len(facts)], Setting.FACILITY, profile)
    engine_elapsed = time.perf_counter() - t2

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cli = shutil.which("notecoder") or str(Path(sys.executable).with_name("notecoder"))
    runs = []
    for _ in range(3):
        t3 = time.perf_counter()
        subprocess.run([cli, "code", str(examples[0]), "--json"], check=True,
                       capture_output=True)
        runs.append(time.perf_counter() - t3)
    print(f"notes coded (extract + engine): {len(batch)} in {elapsed:.2f} s "
          f"= {len(batch) / elapsed:.1f} notes/s")
    print(f"distinct gold notes ({len(gold)}, each once): first pass {distinct[0]:.1f} notes/s, "
          f"second pass {distinct[1]:.1f} notes/s")
    print(f"engine only on extracted facts: {engine_runs} in {engine_elapsed:.2f} s "
          f"= {engine_runs / engine_elapsed:.0f} notes/s")
    print(f"start-up (imports, pipeline build, first note): {startup:.2f} s")
    print(f"peak resident memory: {peak_mb:.0f} MB")
    print(f"machine yardstick (10M-addition Python loop, best of 3): "
          f"{reference_loop_seconds():.2f} s")
    print(f"single-note CLI run (`notecoder code NOTE --json`, best of 3): {min(runs):.2f} s")


if __name__ == "__main__":
    main()
