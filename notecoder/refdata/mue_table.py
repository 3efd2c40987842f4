"""Build `engine/tables/mue_practitioner.csv` from the CMS practitioner MUE table.

Input: the JSON array `[code, mue, mai, rationale]` (refdata `ncci/practitioner_mue/
mue.json.gz`, CMS practitioner services, 2026 Q2). Kept: HCPCS drug codes (J, Q, C, S),
drug administration 96360-96379 and 96401-96549, office E/M 99202-99215 and ED E/M 99281-99285. Only
code numbers, MUE values, MAI digits and CMS rationale labels: no CPT descriptors.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

MUE_COLUMNS = ["code", "mue", "mai", "rationale"]
# Hydration/therapeutic 96360-96379 and chemotherapy 96401-96549; 96380-96381 (RSV
# antibody administration, immunisation family) are not drug administration here.
_RANGES = [(96360, 96379), (96401, 96549), (99202, 99215), (99281, 99285)]


def kept_code(code: str) -> bool:
    """True for the codes the engine checks units of."""
    if code[:1] in "JQCS" and code[1:].isdigit():
        return True
    return code.isdigit() and any(lo <= int(code) <= hi for lo, hi in _RANGES)


def read_mue_rows(path: Path) -> list[dict]:
    """Rows of the MUE table the engine uses, sorted by code."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        entries = json.load(handle)
    rows = [{"code": str(code), "mue": int(mue), "mai": int(mai), "rationale": rationale}
            for code, mue, mai, rationale in entries if kept_code(str(code))]
    return sorted(rows, key=lambda row: row["code"])


def write_mue_rows(rows: list[dict], path: Path) -> None:
    """Write the MUE rows as CSV."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MUE_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
