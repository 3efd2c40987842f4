"""Build the extractor's drug-name lexicon (`extractor/lexicons/drugs.csv`).

Names come, in order of precedence, from
1. the hand file `curated/drug_names.csv` (clinical shorthand, and every entry the
   lexicon had before it was generated),
2. the HCPCS table itself (generic names, CMS descriptor names, product names),
3. the CMS ASP NDC-HCPCS crosswalk (brand and package names -> HCPCS code),
4. the `drug-named-entity-recognition` dictionary (MIT; brand names and synonyms of the
   generics in the table), used at build time only.
A later source never overrides an earlier one; a name that two sources map to different
generics is dropped. Synonyms that are common English words (wordfreq Zipf >= 3.5) are
never added, and `fuzzy_guard.txt` lists the common words that lie within the spelling
distance of a lexicon name, so the extractor never reads them as misspellings.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

LEXICON_COLUMNS = ["name", "generic", "product", "kind"]
_COMMON_ZIPF = 3.5  # "insulin" 3.8, "saline" 3.3, "tylenol" 2.8 (wordfreq, English)
_GUARD_ZIPF = 3.0
_NAME = re.compile(r"^[a-z][a-z0-9 \-/'.&]*[a-z0-9]$", re.I)


def curated_names() -> list[dict]:
    """The hand-written names (clinical shorthand and the original lexicon)."""
    entry = resources.files("notecoder.refdata") / "curated" / "drug_names.csv"
    with entry.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _acceptable(name: str, common) -> bool:
    """A synonym worth matching: 4-40 characters, at most four words of three or more
    characters, and not made only of common English words."""
    words = re.split(r"[ \-/]+", name.lower())
    if not (4 <= len(name) <= 40 and len(words) <= 4 and _NAME.match(name)):
        return False
    if len(words) > 1 and any(len(w) < 3 and not w.isdigit() for w in words):
        return False  # "bb k 8", "sr 38": codes and fragments; "Kenalog-40" is a name
    return common is None or not all(common(w) >= _COMMON_ZIPF for w in words)


def asp_names(path: Path) -> dict[str, set[str]]:
    """Lower-cased drug/product name -> HCPCS codes it is listed under (CPT rows skipped)."""
    names: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.reader(handle))
    header = next((i for i, row in enumerate(rows[:30])
                   if row and "code" in row[0].lower() and "Drug Name" in row), None)
    if header is None:
        return names
    col = rows[header].index("Drug Name")
    for row in rows[header + 1:]:
        if len(row) <= col or not re.match(r"^[A-V]\d{4}$", row[0].strip()):
            continue  # five-digit CPT rows (AMA descriptors) are never read
        name = " ".join(row[col].split())
        if name:
            names[name].add(row[0].strip().upper())
    return names


def dictionary_synonyms(generics: set[str]) -> dict[str, str]:
    """Synonym -> generic from drug-named-entity-recognition, for generics in the table."""
    try:
        from drug_named_entity_recognition import drugs_finder
    except ImportError:
        return {}
    out: dict[str, str] = {}
    for canonical, data in drugs_finder.drug_canonical_to_data.items():
        generic = canonical.lower()
        if generic not in generics:
            continue
        for synonym in data.get("synonyms", []) or []:
            out.setdefault(synonym.lower(), generic)
    return out


def build_lexicon(table_rows: list[dict], asp_path: Path | None,
                  use_dictionary: bool = True) -> list[dict]:
    """Lexicon rows (name, generic, product, kind) for the table rows."""
    try:
        from wordfreq import zipf_frequency

        def common(word: str) -> float:
            return zipf_frequency(word, "en")
    except ImportError:
        common = None
    kinds = {}
    for row in table_rows:
        kinds.setdefault(row["generic"], "fluid" if row["drug_class"] == "fluid" else "drug")
    by_code = {row["code"]: row for row in table_rows}
    entries: dict[str, dict] = {}
    dropped: set[str] = set()

    def add(name: str, generic: str, product: str, trusted: bool = False) -> None:
        key = name.lower()
        if key in dropped or not generic:
            return
        if not trusted and not _acceptable(name, common):
            return
        entry = {"name": name, "generic": generic, "product": product,
                 "kind": kinds.get(generic, "drug")}
        have = entries.get(key)
        if have is None:
            entries[key] = entry
        elif have["generic"] != generic and not have.get("_curated"):
            del entries[key]
            dropped.add(key)

    for row in curated_names():
        entries[row["name"].lower()] = {**row, "_curated": True}
    for row in table_rows:
        add(row["generic"], row["generic"], "", trusted=True)
    products: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in table_rows:
        if row["product"]:
            products[row["product"]].add((row["generic"], row["product"]))
    listed = {name.lower() for name in asp_names(asp_path)} if asp_path else set()
    for name, targets in products.items():
        # Biosimilar names and brands the ASP crosswalk lists; makers in brackets
        # ("hikma", "b. braun") are no drug names.
        if len(targets) == 1 and ("-" in name or name in listed):
            generic, product = next(iter(targets))
            add(name, generic, product)
            # "gamunex-c/gammaked": each brand of a shared code is a name of its own.
            for part in name.split("/") if "/" in name else ():
                if len(part.strip()) >= 4:
                    add(part.strip(), generic, product, trusted=True)
        else:
            # A maker's own code is named as the descriptor writes it, the generic with the
            # maker in brackets: "cyclophosphamide (Baxter)" is J9076, not J9075 (NOS).
            for generic, product in targets:
                add(f"{generic} ({product})", generic, product, trusted=True)
    from notecoder.refdata.drug_descriptor import base_name, parse_drug_descriptor

    for row in table_rows:
        parsed = parse_drug_descriptor(row["description"])
        if parsed and not row["product"] and "/" not in parsed.name:
            add(base_name(parsed.name), row["generic"], "")
    if asp_path is not None:
        for name, codes in sorted(asp_names(asp_path).items()):
            rows = [by_code[c] for c in codes if c in by_code]
            if not rows or len({r["generic"] for r in rows}) != 1:
                continue
            product_names = {r["product"] for r in rows}
            add(name, rows[0]["generic"], product_names.pop() if len(product_names) == 1 else "")
    if use_dictionary:
        generics = {g for g, kind in kinds.items() if kind == "drug"}
        for synonym, generic in sorted(dictionary_synonyms(generics).items()):
            add(synonym, generic, "")
    out = [{k: e[k] for k in LEXICON_COLUMNS} for e in entries.values()]
    return sorted(out, key=lambda e: (e["generic"], e["product"], e["name"].lower()))


def fuzzy_guard_words(names: list[str]) -> list[str]:
    """Common English words (Zipf >= 3.0) that lie within the misspelling distance of a
    lexicon name (same first letter): never read as a drug misspelling."""
    try:
        from wordfreq import top_n_list, zipf_frequency
    except ImportError:
        return []
    from rapidfuzz.distance import Levenshtein

    from extractor.lexicon import spelling_distance

    known = {name.lower() for name in names}
    targets = defaultdict(list)
    for name in known:
        if name.isalpha() and len(name) >= 5:
            targets[name[0].lower()].append(name.lower())
    guard = set()
    for word in top_n_list("en", 60000):
        if (not word.isalpha() or len(word) < 5 or zipf_frequency(word, "en") < _GUARD_ZIPF
                or word in known):
            continue
        bound = spelling_distance(word)
        for name in targets.get(word[0], ()):
            if abs(len(name) - len(word)) <= bound and Levenshtein.distance(
                    word, name, score_cutoff=bound) <= bound:
                guard.add(word)
                break
    return sorted(guard)


def write_lexicon(rows: list[dict], path: Path) -> None:
    """Write the lexicon CSV."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=LEXICON_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
