"""The ICD-10-CM Table of Drugs and Chemicals as a generated lookup table.

Read by `build_icd_index` from the FY2026 Table (CSV derived from the CMS PDF; provenance in
`engine/tables/README.md`) plus `curated/dx_drug_substances.csv` (drug names the Table does
not list, mapped to the Table row of their class), and written as
`engine/tables/icd10cm_<year>_drugs.tsv.gz`: one line per substance name in the reader's
word form (`extractor.dx_words.phrase_words`), with its six columns (poisoning accidental,
intentional self-harm, assault, undetermined; adverse effect; underdosing), 7th character
not included, as in the Table.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from extractor.dx_words import phrase_words

COLUMNS = ["accidental", "self_harm", "assault", "undetermined", "adverse_effect",
           "underdosing"]
_PAREN = re.compile(r"\([^()]*\)")
_SEE = re.compile(r"\s-\s?see\b.*$", re.I)


def _words(name: str) -> str:
    """A substance name in the reader's word form: parentheses and NEC dropped."""
    text = _PAREN.sub(" ", name).replace(",", " ")
    words = [w for w in phrase_words(text).core if w != "nec"]
    return " ".join(words)


def table_rows(path: Path) -> list[tuple[str, list[str]]]:
    """(substance words, six codes) for every row of the Table with a code, a subterm named
    both ways round under its parent ("Carbon" / "- monoxide": "carbon monoxide";
    "Inhibitor" / "- angiotensin-converting enzyme": "angiotensin converting enzyme
    inhibitor"). Page-header rows and "-see" rows are skipped."""
    out: list[tuple[str, list[str]]] = []
    parents: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            name, codes = row[0], row[1:7]
            if name in ("substance", "Substance"):
                continue
            depth = len(name) - len(name.lstrip("- "))
            level = name[:depth].count("-")
            text = _SEE.sub("", name[depth:]).strip()
            parents = [*parents[:level], text]
            if not any(codes) or _SEE.search(name):
                continue
            if level == 0:
                names = [text]
            else:
                chain = parents[:level]
                names = [" ".join([*chain, text]), " ".join([text, *reversed(chain)])]
            for n in names:
                words = _words(n)
                if words:
                    out.append((words, codes))
    return out


def curated_rows(path: Path, table: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """Curated drug names -> the columns of the Table row they name (`substance`)."""
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            codes = table.get(_words(row["substance"]))
            if codes is None:
                raise ValueError(f"curated drug {row['drug']!r}: no Table row "
                                 f"{row['substance']!r}")
            out.append((_words(row["drug"]), codes))
    return out


def drug_lines(table_csv: Path, curated_csv: Path) -> list[str]:
    """The generated file's lines (first name wins when the Table repeats one)."""
    table: dict[str, list[str]] = {}
    for words, codes in table_rows(table_csv):
        table.setdefault(words, codes)
    for words, codes in curated_rows(curated_csv, table):
        table.setdefault(words, codes)
    return [f"{w}\t" + "\t".join(c) for w, c in sorted(table.items())]
