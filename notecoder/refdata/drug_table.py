"""Build the HCPCS drug table (`engine/tables/hcpcs_drugs.csv`) from the CMS HCPCS file.

Every active J, Q, C and S code whose descriptor names a drug and one measurable
billing amount becomes a row. Curated, non-CMS values (the project's generic names,
single/multi-dose container, class and complex-biologic overrides) come from the
hand-written files in `notecoder/refdata/curated/`, never from code.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from engine.tables import HCPCS_COLUMNS
from notecoder.refdata.drug_descriptor import DrugDescriptor, base_name, parse_drug_descriptor
from notecoder.refdata.hcpcs_file import HcpcsRecord

TABLE_COLUMNS = HCPCS_COLUMNS

# BETOS drug families: O1D chemotherapy drugs, O1E other drugs, O1G immunizations,
# D1G drugs supplied through DME (kept only when the descriptor is an injection).
_DRUG_BETOS = {"O1D", "O1E", "O1G"}
_SKIN_SUBSTITUTES = re.compile(r"^Q4[1-3]\d\d$")  # per square centimetre grafts, not drugs
_IMAGING = re.compile(r"contrast|\bmci\b|millicurie|microcurie|radiolabel|"
                      r"\b(?:tc|ga|f|in|i|y|lu|ra|sm|sr|rb|n|cu|zr)-\d{2,3}m?\b", re.I)
_INJECTION_LEAD = re.compile(r"^(?:injection|infusion)\b", re.I)
_FLUID_CODES = re.compile(r"^(?:J70[2-9]\d|J71[0-3]\d|S50[01]\d)$")
_FLUID_NAMES = re.compile(r"saline|dextrose|ringer|sodium chloride|sterile water", re.I)
_SALTS = {"sodium", "disodium", "hydrochloride", "hcl", "dihydrochloride", "sulfate",
          "sulphate", "acetate", "phosphate", "succinate", "mesylate", "tartrate", "citrate",
          "maleate", "bromide", "fumarate", "besylate", "tromethamine", "lactate",
          "decanoate", "cypionate", "enanthate", "palmitate", "pamoate", "propionate",
          "hyclate", "lactobionate", "potassium", "calcium", "trihydrate", "monohydrate",
          "dihydrate", "bitartrate", "ditromethamine", "medoxomil", "acetonide"}
_IONS = {"magnesium", "potassium", "calcium", "sodium", "zinc", "iron", "ferric", "ferrous",
         "ammonium"}
# Long-acting esters are other products than the plain drug (haloperidol decanoate).
_DEPOT_ESTERS = {"decanoate", "enanthate", "cypionate", "palmitate", "pamoate", "undecanoate"}
_SYNONYMS = {"hcl": "hydrochloride", "sulphate": "sulfate"}


@dataclass
class BuildReport:
    """What the builder kept and why it left codes out."""

    release: str
    rows: int = 0
    drugs: int = 0
    excluded: Counter = field(default_factory=Counter)


def _curated(name: str) -> list[dict]:
    entry = resources.files("notecoder.refdata") / "curated" / name
    with entry.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def curated_overrides() -> dict[str, dict]:
    """Code -> curated generic, product, container, class, complex-biologic values."""
    return {row["code"]: row for row in _curated("hcpcs_overrides.csv")}


def _normal(name: str) -> str:
    return " ".join(_SYNONYMS.get(w, w) for w in name.lower().split())


def _base_and_salt(name: str) -> tuple[str, str]:
    """'ceftriaxone sodium' -> ('ceftriaxone', 'sodium'); 'methylprednisolone sodium
    succinate' -> ('methylprednisolone', 'sodium succinate'); minerals keep their salt
    ('magnesium sulfate')."""
    words = _normal(name).split()
    for cut in range(1, len(words)):
        if words[cut - 1] not in _IONS and all(w in _SALTS for w in words[cut:]):
            return " ".join(words[:cut]), " ".join(words[cut:])
    return " ".join(words), ""


def exclusion(record: HcpcsRecord, on: dt.date) -> str | None:
    """Why a CMS record is not a drug row of the table, or None when it is."""
    if record.code[:1] not in "JQCS":
        return "not a J/Q/C/S code"
    if not record.active_on(on):
        return "terminated"
    if _SKIN_SUBSTITUTES.match(record.code):
        return "skin substitute (per square centimetre)"
    if record.betos in ("I1E", "I1F") or _IMAGING.search(record.description):
        return "contrast or radiopharmaceutical"
    injection = bool(_INJECTION_LEAD.match(record.description))
    if record.code[0] == "S":
        if not (injection or _FLUID_CODES.match(record.code)):
            return "S code that is not an injection or fluid"
    elif record.betos == "D1G":
        if not injection:
            return "drug supplied through DME (inhalation solution, pump insulin)"
    elif record.betos not in _DRUG_BETOS:
        return "not a drug (BETOS: service, supply or device)"
    if parse_drug_descriptor(record.description) is None:
        return "no single measurable billing amount (per vial, per dose, NOS, combination)"
    return None


def _assign_generics(parsed: dict[str, DrugDescriptor], curated: dict[str, dict],
                     all_parsed: dict[str, DrugDescriptor]) -> dict[str, str]:
    """Code -> generic: the curated generic of the same drug (same name, or same base
    and salt), the CMS name without salt when no other salt of it has a code, else the
    full CMS name."""
    aliases = {row["cms_name"]: row["generic"] for row in _curated("generic_names.csv")}
    by_full: dict[str, str] = {}
    by_base: dict[str, tuple[str, str]] = {}
    for code, row in curated.items():
        descriptor = all_parsed.get(code)
        if descriptor is None:
            continue
        name = _normal(base_name(descriptor.name))
        by_full.setdefault(name, row["generic"])
        base, salt = _base_and_salt(name)
        by_base.setdefault(base, (salt, row["generic"]))
    # Salts that set injectable codes apart (methylprednisolone acetate / sodium
    # succinate); an oral salt (hydroxyzine pamoate) does not, its route does.
    salts: dict[str, set[str]] = defaultdict(set)
    for descriptor in parsed.values():
        base, salt = _base_and_salt(base_name(descriptor.name))
        if descriptor.route != "oral":
            salts[base].add(salt)
    generics = {}
    for code, descriptor in parsed.items():
        name = _normal(base_name(descriptor.name))
        base, salt = _base_and_salt(name)
        if code in curated:
            generics[code] = curated[code]["generic"]
        elif name in aliases:
            generics[code] = aliases[name]
        elif name in by_full:
            generics[code] = by_full[name]
        elif base in by_base and salt in ("", by_base[base][0]):
            generics[code] = by_base[base][1]
        elif len(salts[base] - {""}) <= 1 and not (salts[base] & _DEPOT_ESTERS):
            generics[code] = base
        else:
            generics[code] = name
    return generics


def _flags() -> dict[tuple[str, str], str]:
    return {(row["generic"], row["flag"]): row["value"] for row in _curated("drug_flags.csv")}


def _is_complex_biologic(generic: str) -> bool:
    # Monoclonal antibodies (-mab) and fusion proteins (-cept), by INN stem.
    return any(word.endswith(("mab", "cept")) for word in generic.split())


def build_drug_rows(records: list[HcpcsRecord], release: str, on: dt.date,
                    previous: dict[str, dict] | None = None) -> tuple[list[dict], BuildReport]:
    """Table rows for every active drug code of the CMS records.

    `previous` (code -> row of an earlier table) carries curated containers forward
    when a newer quarter is imported; the bundled overrides always apply.
    """
    report = BuildReport(release=release)
    curated = curated_overrides()
    all_parsed = {r.code: d for r in records if (d := parse_drug_descriptor(r.description))}
    kept: dict[str, HcpcsRecord] = {}
    for record in records:
        why = exclusion(record, on)
        if why is None:
            kept[record.code] = record
        else:
            report.excluded[why] += 1
    parsed = {code: all_parsed[code] for code in kept}
    generics = _assign_generics(parsed, curated, all_parsed)
    flags = _flags()
    # Containers of terminated curated codes pass to the active code of the same product.
    inherited: dict[tuple[str, str], str] = {}
    for code, row in curated.items():
        if code not in kept and row["container"] != "unknown":
            inherited.setdefault((row["generic"], row["product"]), row["container"])
    chemo_generics = {generics[c] for c in kept if c.startswith("J9")}
    # A biosimilar name that a curated code already claims (infliximab-dyyb: Q5103)
    # names the other code by its brand (J1748 zymfentra).
    claimed = {row["product"] for row in curated.values() if row["product"]}
    rows = []
    for code, record in sorted(kept.items()):
        descriptor = parsed[code]
        generic = generics[code]
        over = curated.get(code, {})
        product = over.get("product", descriptor.product) if over else descriptor.product
        if not over and product in claimed and descriptor.brand:
            product = descriptor.brand
        if product == generic:
            product = ""
        hormonal = flags.get((generic, "hormonal")) == "true"
        if over:
            drug_class = over["drug_class"]
        elif (_FLUID_CODES.match(code) and _FLUID_NAMES.search(descriptor.name)) or generic in {
                row["generic"] for row in curated.values() if row["drug_class"] == "fluid"}:
            drug_class = "fluid"
        elif hormonal or generic in chemo_generics or (code.startswith("J8")
                                                        and record.betos == "O1D"):
            drug_class = "antineoplastic"
        else:
            drug_class = "therapeutic"
        if over:
            complex_biologic = over["complex_biologic"]
        else:
            flagged = flags.get((generic, "complex_biologic"))
            complex_biologic = flagged or str(_is_complex_biologic(generic)).lower()
        container = (over.get("container") or (previous or {}).get(code, {}).get("container")
                     or inherited.get((generic, product)) or "unknown")
        rows.append({
            "generic": generic,
            "product": product,
            "code": code,
            "billing_amount": f"{descriptor.amount:g}",
            "billing_unit": descriptor.unit,
            "container": container,
            "drug_class": drug_class,
            "complex_biologic": complex_biologic,
            "hormonal": str(hormonal).lower(),
            "route": descriptor.route,
            "up_to": str(descriptor.up_to).lower(),
            "qualifier": descriptor.qualifier,
            "description": record.description,
            "checked_against": f"CMS HCPCS {on.year} {on:%B} ({release})",
        })
    # Biosimilars and other products take the class of their generic's reference code.
    reference = {r["generic"]: r for r in rows if not r["product"]}
    for row in rows:
        ref = reference.get(row["generic"])
        if row["product"] and ref is not None and row["code"] not in curated:
            row["drug_class"], row["complex_biologic"] = ref["drug_class"], ref[
                "complex_biologic"]
    report.rows = len(rows)
    report.drugs = len({r["generic"] for r in rows})
    return rows, report


def write_rows(rows: list[dict], path: Path) -> None:
    """Write table rows as CSV (UTF-8, LF line ends, stable column order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
