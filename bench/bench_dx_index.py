"""Load time of the ICD-10-CM tables and time per diagnosis phrase (issue 12).

    python bench/bench_dx_index.py [phrases.jsonl]

Load: a fresh interpreter imports the modules and loads the code table, the term index,
the synonyms and the axis vocabulary (what a single `notecoder code` run pays once).
Per phrase: read + choose, warm (main terms already parsed), over the phrase file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = """
import time
t0 = time.perf_counter()
from engine.icd10cm import code_set
from engine.icd10cm_terms import term_index
from extractor.dx_terms import axes_vocabulary
from extractor.dx_words import synonyms
t1 = time.perf_counter()
code_set(); term_index(); synonyms(); axes_vocabulary()
t2 = time.perf_counter()
from engine.dx_codes import choose_codes
from extractor.dx_terms import read_phrase
choose_codes(read_phrase("Cellulitis of left lower leg"))
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def main() -> int:
    """Print load and per-phrase figures."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "datasets/dx_phrases/own-dev.jsonl"
    runs = [subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True,
                           cwd=ROOT, check=True).stdout.split() for _ in range(3)]
    imp, load, first = (min(float(r[i]) for r in runs) for i in range(3))
    print(f"import modules {imp:.3f} s; load code table + term index + vocabulary {load:.3f} s;"
          f" first phrase (spelling list, main-term parse) {first:.3f} s")

    from engine.dx_codes import choose_codes
    from extractor.dx_terms import read_phrase

    phrases = [json.loads(line)["phrase"] for line in path.read_text().splitlines() if line]
    for p in phrases:  # warm: every main term parsed once
        choose_codes(read_phrase(p))
    reps = 5
    t0 = time.perf_counter()
    for _ in range(reps):
        for p in phrases:
            read_phrase(p)
    t1 = time.perf_counter()
    for _ in range(reps):
        for p in phrases:
            choose_codes(read_phrase(p))
    t2 = time.perf_counter()
    n = reps * len(phrases)
    print(f"{len(phrases)} phrases x {reps}: read {1000 * (t1 - t0) / n:.3f} ms/phrase, "
          f"read + choose {1000 * (t2 - t1) / n:.3f} ms/phrase")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
