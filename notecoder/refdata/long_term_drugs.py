"""The curated list of drugs taken long term and the Z79 class each belongs to
(`curated/dx_long_term_drugs.csv`), read once: the offline reader finds the names in a note
(`extractor.medications`), the engine maps them to Z79 codes (`engine.dx_codes`)."""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources


@cache
def long_term_drug_rows() -> tuple[dict[str, str], ...]:
    """Rows of `dx_long_term_drugs.csv`: drug, long_term_use_of (the Z79 title's class), note."""
    path = resources.files("notecoder.refdata") / "curated" / "dx_long_term_drugs.csv"
    return tuple(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
