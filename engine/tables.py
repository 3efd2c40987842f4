"""Code tables the rules read: HCPCS drug codes and the diagnosis-concept map.

Both are data files under `engine/tables/`, loaded once per process on first use.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

UNCLASSIFIED_DRUG_CODE = "J3490"
HCPCS_TABLE = "hcpcs_drugs.csv"
HCPCS_COLUMNS = ["generic", "product", "code", "billing_amount", "billing_unit", "container",
                 "drug_class", "complex_biologic", "hormonal", "route", "up_to", "qualifier",
                 "description", "checked_against"]


@dataclass(frozen=True)
class DrugCode:
    """One HCPCS Level II drug code and its billing unit."""

    generic: str
    product: str  # "" for the reference / any-product code
    code: str
    billing_amount: float
    billing_unit: str
    container: Literal["single", "multi", "unknown"]
    drug_class: Literal["antineoplastic", "therapeutic", "fluid"]
    complex_biologic: bool
    description: str
    checked_against: str = "unverified"
    hormonal: bool = False  # hormonal antineoplastic: SC/IM injection is 96402 (R-ADMIN-11)
    route: str = ""  # route the descriptor names (IV, SC, IM, oral), "" when it names none
    up_to: bool = False  # "up to X": one unit covers any total up to X on the date
    qualifier: str = ""  # descriptor words that set the code apart from the plain code

    @property
    def verified(self) -> bool:
        """True when the row was checked against a CMS file (or a recorded cross-check)."""
        return self.checked_against.strip().lower() != "unverified"


@dataclass(frozen=True)
class DiagnosisConcept:
    """ICD-10-CM codes for one diagnosis concept, with organism-specific variants."""

    concept: str
    kind: Literal["condition", "symptom", "finding"]
    codes: tuple[str, ...]
    organisms: dict[str, tuple[str, ...]]
    description: str
    subsumed_by: tuple[str, ...] = ()  # concepts whose combination code includes this one
    infection: bool = False  # an organism can make the code more specific (R-CDI-03)
    needs_laterality: bool = False  # the specific code needs site and side (R-CDI-06)
    neoplasm: bool = False  # a cancer: complex biologics given for it are chemotherapy

    def codes_for(self, organism: str | None) -> tuple[str, ...]:
        """Organism-specific codes when the organism is mapped, else the default codes."""
        if organism and organism in self.organisms:
            return self.organisms[organism]
        return self.codes


def _table(name: str):
    return resources.files("engine") / "tables" / name


def hcpcs_table_source():
    """The HCPCS table in use: a refreshed copy in the data directory (written by
    `notecoder data import-hcpcs`) when there is one, else the bundled table."""
    from notecoder.config import get_settings

    refreshed = get_settings().data_dir / HCPCS_TABLE
    return refreshed if refreshed.is_file() else _table(HCPCS_TABLE)


@cache
def drug_codes() -> dict[str, list[DrugCode]]:
    """HCPCS rows grouped by generic name (rows of one generic: all its products)."""
    table: dict[str, list[DrugCode]] = {}
    with hcpcs_table_source().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = DrugCode(
                generic=row["generic"].strip().lower(),
                product=row["product"].strip().lower(),
                code=row["code"].strip().upper(),
                billing_amount=float(row["billing_amount"]),
                billing_unit=row["billing_unit"].strip(),
                container=row["container"].strip(),  # type: ignore[arg-type]
                drug_class=row["drug_class"].strip(),  # type: ignore[arg-type]
                complex_biologic=row["complex_biologic"].strip().lower() == "true",
                description=row["description"].strip(),
                checked_against=(row.get("checked_against") or "unverified").strip(),
                hormonal=(row.get("hormonal") or "").strip().lower() == "true",
                route=(row.get("route") or "").strip(),
                up_to=(row.get("up_to") or "").strip().lower() == "true",
                qualifier=(row.get("qualifier") or "").strip(),
            )
            table.setdefault(code.generic, []).append(code)
    return table


def drug_code_rows(generic: str | None) -> list[DrugCode]:
    """All HCPCS rows for a generic name (empty when the drug has no specific code)."""
    if not generic:
        return []
    return drug_codes().get(generic.lower(), [])


MUE_TABLE = "mue_practitioner.csv"
ASP_TABLE = "asp_payment_limits.csv"


def _code_values(name: str, column: str, cast) -> dict[str, object]:
    """One column of a generated per-code table (empty when the table is absent)."""
    entry = _table(name)
    if not entry.is_file():
        return {}
    with entry.open(encoding="utf-8", newline="") as handle:
        return {row["code"].strip().upper(): cast(row[column]) for row in csv.DictReader(handle)}


@cache
def _asp() -> dict[str, float]:
    return _code_values(ASP_TABLE, "payment_limit", float)


def asp_payment_limit(code: str) -> float | None:
    """Medicare Part B payment limit in USD per billing unit (CMS ASP file), or None."""
    return _asp().get(code.strip().upper())


@cache
def _mue() -> dict[str, int]:
    return _code_values(MUE_TABLE, "mue", int)


def mue_limit(code: str) -> int | None:
    """The CMS practitioner MUE (most units of the code per day) or None when CMS sets none."""
    return _mue().get(code.strip().upper())


@cache
def _dx_map() -> dict:
    return json.loads(_table("icd10cm_map.json").read_text(encoding="utf-8"))


def icd10cm_code_set() -> str:
    """Name and year of the ICD-10-CM code set the map was checked against."""
    return str(_dx_map()["code_set"])


@cache
def diagnosis_concepts() -> dict[str, DiagnosisConcept]:
    """Diagnosis concept id -> its ICD-10-CM codes."""
    concepts = {}
    for name, entry in _dx_map()["concepts"].items():
        concepts[name] = DiagnosisConcept(
            concept=name,
            kind=entry["kind"],
            codes=tuple(entry["codes"]),
            organisms={k: tuple(v) for k, v in entry.get("organisms", {}).items()},
            description=entry["description"],
            subsumed_by=tuple(entry.get("subsumed_by", ())),
            infection=bool(entry.get("infection", False)),
            needs_laterality=bool(entry.get("needs_laterality", False)),
            neoplasm=bool(entry.get("neoplasm", False)),
        )
    return concepts
