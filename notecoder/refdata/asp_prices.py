"""Medicare Part B ASP payment limits per HCPCS Level II code, from the CMS ASP pricing file.

Used only to estimate whether a drug is separately payable under OPPS on a facility claim
(JW/JZ apply only then: CMS JW/JZ FAQ; corpus convention 4). CPT rows (five digits, with
AMA short descriptors) are never read: only the code, its dosage and the payment limit of
Level II codes are written.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

_LEVEL_II = re.compile(r"^[A-V]\d{4}$")
TABLE = "asp_payment_limits.csv"


def read_asp_limits(path: Path) -> list[tuple[str, str, float]]:
    """(code, dosage, payment limit in USD) for every Level II row of an ASP pricing CSV."""
    rows: list[tuple[str, str, float]] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = None
        for row in reader:
            if header is None:
                if row and row[0].strip() == "HCPCS Code":
                    header = [c.strip() for c in row]
                continue
            if not row or not _LEVEL_II.match(row[0].strip()):
                continue
            record = dict(zip(header, row, strict=False))
            try:
                limit = float(record["Payment Limit"])
            except (KeyError, ValueError):
                continue
            rows.append((row[0].strip(), record.get("HCPCS Code Dosage", "").strip(), limit))
    return sorted(rows)


def write_asp_limits(rows: list[tuple[str, str, float]], path: Path, release: str) -> None:
    """Write the generated table (code, dosage, payment limit) with its release."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "dosage", "payment_limit", "release"])
        for code, dosage, limit in rows:
            writer.writerow([code, dosage, f"{limit:g}", release])
