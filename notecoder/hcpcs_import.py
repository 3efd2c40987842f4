"""Refresh the HCPCS drug table from a CMS file a user downloads.

Two kinds of file are read:
- the CMS HCPCS alpha-numeric file of a newer quarter (the zip, or the fixed-width `.txt`
  in it): the table is rebuilt from it with the same builder as the bundled table
  (`notecoder.refdata.drug_table`), keeping curated container values;
- a CMS quarterly ASP pricing file (CSV), which only checks the rows of the current table.

The ASP file is a CSV with a few title lines, then a header row naming "HCPCS Code",
"Short Description" and "HCPCS Code Dosage" ("250 MG", "10 MG", "1 ML", ...). Rows of
codes in our table are checked against it: billing amount, unit and description are
updated where CMS differs, and each row records the file it was checked against.
CPT rows (five digits, AMA content) are never read into the table.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.tables import HCPCS_COLUMNS, HCPCS_TABLE, hcpcs_table_source
from notecoder.refdata.drug_table import build_drug_rows, write_rows
from notecoder.refdata.hcpcs_file import InvalidHcpcsFile, read_hcpcs_file, release_date

_HCPCS = re.compile(r"^[A-V]\d{4}$")
_DOSAGE = re.compile(r"^\s*(?:per\s+)?(?:up to\s+)?([\d.,]+)\s*([A-Za-z]+)\b", re.I)
_UNITS = {"MG": "mg", "G": "g", "GM": "g", "MCG": "mcg", "ML": "mL", "CC": "mL",
          "UNIT": "units", "UNITS": "units", "IU": "units", "MEQ": "mEq"}


@dataclass(frozen=True)
class CmsDrugCode:
    code: str
    description: str
    amount: float
    unit: str


@dataclass
class ImportReport:
    confirmed: int = 0
    changed: int = 0
    missing: int = 0  # codes in our table that the file does not list
    unparsed: int = 0  # file rows whose dosage could not be read
    written_to: Path | None = None
    release: str = ""  # HCPCS file: the release name; ASP file: ""
    codes: int = 0  # HCPCS file: drug codes in the rebuilt table


def parse_asp_file(text: str) -> tuple[dict[str, CmsDrugCode], int]:
    """HCPCS Level II drug rows of an ASP-format CSV by code, and how many rows had a
    dosage that could not be read."""
    lines = text.splitlines()
    header_at = next((i for i, line in enumerate(lines[:50])
                      if "hcpcs code" in line.lower() and "dosage" in line.lower()), None)
    if header_at is None:
        raise InvalidHcpcsFile(
            "No header row with 'HCPCS Code' and 'HCPCS Code Dosage' in the first 50 lines; "
            "expected a CMS ASP pricing file (CSV).")
    reader = csv.DictReader(io.StringIO("\n".join(lines[header_at:])))
    names = {name.strip().lower(): name for name in reader.fieldnames or []}
    code_col, dose_col = names.get("hcpcs code"), names.get("hcpcs code dosage")
    desc_col = names.get("short description") or names.get("long description")
    if not (code_col and dose_col and desc_col):
        raise InvalidHcpcsFile("The header row lacks a code, description or dosage column.")
    found: dict[str, CmsDrugCode] = {}
    unparsed = 0
    for row in reader:
        code = (row.get(code_col) or "").strip().upper()
        if not _HCPCS.match(code):
            continue  # CPT (numeric) rows and blank lines are skipped
        match = _DOSAGE.match(row.get(dose_col) or "")
        unit = _UNITS.get(match.group(2).upper()) if match else None
        if match is None or unit is None:
            unparsed += 1
            continue
        amount = float(match.group(1).replace(",", ""))
        found[code] = CmsDrugCode(code, (row.get(desc_col) or "").strip(), amount, unit)
    if not found:
        raise InvalidHcpcsFile("The file lists no HCPCS Level II drug rows with a dosage.")
    return found, unparsed


def import_asp_file(path: Path, data_dir: Path) -> ImportReport:
    """Check our table against the file; write the refreshed table to `data_dir`."""
    if not path.is_file():
        raise InvalidHcpcsFile(f"No file at '{path}'.")
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    cms, unparsed = parse_asp_file(text)
    report = ImportReport(unparsed=unparsed)
    with hcpcs_table_source().open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        entry = cms.get(row["code"].strip().upper())
        if entry is None:
            report.missing += 1
            continue
        same = (float(row["billing_amount"]) == entry.amount
                and row["billing_unit"] == entry.unit)
        report.confirmed += same
        report.changed += not same
        row["billing_amount"] = f"{entry.amount:g}"
        row["billing_unit"] = entry.unit
        row["checked_against"] = f"CMS ASP file {path.name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / HCPCS_TABLE
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HCPCS_COLUMNS)
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in HCPCS_COLUMNS} for row in rows)
    report.written_to = target
    return report


def _is_hcpcs_file(path: Path) -> bool:
    if zipfile.is_zipfile(path):
        return True
    with path.open("rb") as handle:
        first = handle.read(320)
    return len(first) >= 92 and first[10:11] in (b"3", b"7") and first[:5].isalnum()


def import_hcpcs_file(path: Path, data_dir: Path) -> ImportReport:
    """Rebuild the table from a CMS HCPCS alpha-numeric file; write it to `data_dir`."""
    release, records = read_hcpcs_file(path)
    day = release_date(release)
    if day is None:
        raise InvalidHcpcsFile(
            f"Cannot tell the quarter from the file name '{release}'; expected a CMS name "
            "such as HCPC2026_APR_ANWEB.")
    with hcpcs_table_source().open(encoding="utf-8", newline="") as handle:
        previous = {row["code"]: row for row in csv.DictReader(handle)}
    rows, _ = build_drug_rows(records, release, day, previous)
    if not rows:
        raise InvalidHcpcsFile("The HCPCS file lists no active drug codes.")
    report = ImportReport(release=release, codes=len(rows))
    for row in rows:
        old = previous.get(row["code"])
        if old is None:
            continue
        same = (float(old["billing_amount"]) == float(row["billing_amount"])
                and old["billing_unit"] == row["billing_unit"])
        report.confirmed += same
        report.changed += not same
    report.missing = len(set(previous) - {row["code"] for row in rows})
    target = data_dir / HCPCS_TABLE
    write_rows(rows, target)
    report.written_to = target
    return report


def import_reference_file(path: Path, data_dir: Path) -> ImportReport:
    """`notecoder data import-hcpcs FILE`: a CMS HCPCS file rebuilds the table, an ASP
    pricing file checks it."""
    if not path.is_file():
        raise InvalidHcpcsFile(f"No file at '{path}'.")
    if _is_hcpcs_file(path):
        return import_hcpcs_file(path, data_dir)
    return import_asp_file(path, data_dir)
