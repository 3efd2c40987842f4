"""The ICD-10-CM code set: billable flags, titles, hierarchy and tabular notes.

Reads the generated `engine/tables/icd10cm_<year>_codes.tsv.gz` once per process (FY2026 by
default; `code_set("fy2027", folder)` reads another year's table that a user generated with
`python -m notecoder.refdata.build_icd_index --out folder`). Rows are split only when a code
is asked for, so loading costs a gzip read and one pass over the lines.

Codes with a 7th character (S52.501A, T45.1X5A) are not rows: their base row lists the 7th
characters that exist, and the title is the base title plus the 7th-character definition.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

DEFAULT_YEAR = "fy2026"
CODES_FILE = "icd10cm_{year}_codes.tsv.gz"
SEP = " | "
_COLUMNS = ("code", "billable", "parent", "title", "inclusion", "excludes1", "code_first",
            "use_additional", "seventh_def", "sevenths", "includes")
_COL = {name: i for i, name in enumerate(_COLUMNS)}
# A code reference inside a tabular note: "N18.1-N18.6", "B95-B97", "N18.-", "T45.1X5".
_CODE = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
_REF = re.compile(rf"\b({_CODE})(?:\s*-\s*({_CODE})|-)?(?![0-9A-Z])")


class UnknownCodeSet(LookupError):
    """No generated table for the requested ICD-10-CM year."""


@dataclass(frozen=True)
class CodeRange:
    """A code or code range a tabular note refers to (N18.1-N18.6, B95-B97, N18.-)."""

    first: str
    last: str

    def holds(self, code: str) -> bool:
        """True when `code` (with dot) falls in the range, subcodes included."""
        c = code.replace(".", "")
        lo, hi = self.first.replace(".", ""), self.last.replace(".", "")
        return lo <= c[: len(lo)] and c[: len(hi)] <= hi


def code_refs(note: str) -> list[CodeRange]:
    """Code references in a tabular note, in order."""
    return list(_code_refs(note))


@lru_cache(maxsize=16384)
def _code_refs(note: str) -> tuple[CodeRange, ...]:
    out = []
    for m in _REF.finditer(note):
        first, last = m.group(1), m.group(2) or m.group(1)
        out.append(CodeRange(first.rstrip("."), last.rstrip(".")))
    return tuple(out)


class CodeSet:
    """One year's ICD-10-CM code set, as generated from the CMS tabular."""

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        header = lines[0].split("\t")
        self.release = header[1] if len(header) > 1 else "unknown"
        self.source = header[2] if len(header) > 2 else ""
        self._raw: dict[str, str] = {}
        for line in lines[2:]:
            if line:
                self._raw[line[: line.index("\t")]] = line
        self._rows: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] | None = None
        self._sorted: list[str] | None = None  # codes in order, for look-ups
        # Tabular notes per (code, column, inherited), parsed once per process.
        self._notes: dict[tuple[str, str, bool], list[str]] = {}

    # -- rows ---------------------------------------------------------------------------
    def _row(self, code: str) -> list[str] | None:
        row = self._rows.get(code)
        if row is None:
            raw = self._raw.get(code)
            if raw is None:
                return None
            row = self._rows[code] = raw.split("\t")
        return row

    def _split7(self, code: str) -> tuple[list[str], str] | None:
        """(base row, 7th character) of a 7th-character code, else None."""
        plain = code.replace(".", "")
        if len(plain) != 7:
            return None
        base = plain[:6].rstrip("X")
        base = base[:3] + ("." + base[3:] if len(base) > 3 else "")
        row = self._row(base)
        if row is None or code[-1] not in row[_COL["sevenths"]]:
            return None
        return row, code[-1]

    @staticmethod
    def dotted(code: str) -> str:
        """"E1122" / "e11.22" -> "E11.22" (the tabular's form)."""
        c = code.strip().upper().replace(".", "")
        return c if len(c) <= 3 else c[:3] + "." + c[3:]

    def exists(self, code: str) -> bool:
        """True for any category, subcategory or code of the set."""
        return self._row(code) is not None or self._split7(code) is not None

    def is_billable(self, code: str) -> bool:
        """True for a complete code (a leaf of the tabular, 7th character included)."""
        code = self.dotted(code)
        row = self._row(code)
        if row is not None:
            return row[_COL["billable"]] == "1"
        return self._split7(code) is not None

    def search(self, text: str, limit: int = 20) -> list[tuple[str, str]]:
        """Billable codes for a look-up: (code, title) of codes starting with `text`
        (dot optional), else of titles holding every word of it; code order, `limit` at most."""
        words = text.strip().lower().split()
        if not words:
            return []
        prefix = self.dotted(text) if len(words) == 1 else ""
        found = []
        if self._sorted is None:
            self._sorted = sorted(self._raw)
        for code in self._sorted:
            row = self._raw[code]
            if prefix and code.startswith(prefix):
                pass
            elif prefix and words[0][:1].isalpha() and words[0][1:2].isdigit():
                continue  # a code typed: titles are not searched
            else:
                title = row.split("\t", 4)[3].lower()
                if not all(word in title for word in words):
                    continue
            if self.is_billable(code):
                found.append((code, self.description(code)))
                if len(found) >= limit:
                    break
        return found

    def needs_seventh(self, code: str) -> bool:
        """True when the code is complete only with a 7th character."""
        row = self._row(code)
        return row is not None and row[_COL["billable"]] == "7"

    def description(self, code: str) -> str:
        """The official tabular title ("" for an unknown code)."""
        row = self._row(code)
        if row is not None:
            return row[_COL["title"]]
        split = self._split7(code)
        if split is None:
            return ""
        base, char = split
        return f"{base[_COL['title']]}, {self.seventh_characters(base[0])[char]}"

    def parent(self, code: str) -> str:
        """The parent category or block ("" for an unknown code)."""
        row = self._row(code)
        if row is not None:
            return row[_COL["parent"]]
        split = self._split7(code)
        return split[0][0] if split else ""

    def children(self, code: str) -> list[str]:
        """Direct children, 7th-character codes included, in tabular order."""
        if self._children is None:
            kids: dict[str, list[str]] = {}
            for c, raw in self._raw.items():
                parent = raw.split("\t", 3)[2]
                kids.setdefault(parent, []).append(c)
            self._children = kids
        row = self._row(code)
        if row is None:
            return []
        out = list(self._children.get(code, []))
        pad = code.replace(".", "").ljust(6, "X")
        out += [pad[:3] + "." + pad[3:] + ch for ch in row[_COL["sevenths"]]]
        return out

    def _note(self, code: str, column: str, inherit: bool) -> list[str]:
        key = (code, column, inherit)
        got = self._notes.get(key)
        if got is None:
            got = self._notes[key] = self._read_note(code, column, inherit)
        return list(got)

    def _read_note(self, code: str, column: str, inherit: bool) -> list[str]:
        out: list[str] = []
        c = code
        split = self._split7(code)
        if split is not None:
            c = split[0][0]
        while c:
            row = self._row(c)
            if row is None:
                break
            if row[_COL[column]]:
                out += row[_COL[column]].split(SEP)
            if not inherit or row[_COL["parent"]] == c:
                break
            c = row[_COL["parent"]]
        return out

    def inclusion_terms(self, code: str) -> list[str]:
        """Inclusion terms listed under the code itself."""
        return self._note(code, "inclusion", inherit=False)

    def excludes1(self, code: str) -> list[str]:
        """Excludes1 notes of the code and its ancestors (they apply to every subcode)."""
        return self._note(code, "excludes1", inherit=True)

    def code_first(self, code: str) -> list[str]:
        """"Code first" notes of the code and its ancestors."""
        return self._note(code, "code_first", inherit=True)

    def use_additional(self, code: str) -> list[str]:
        """"Use additional code" notes of the code and its ancestors."""
        return self._note(code, "use_additional", inherit=True)

    def seventh_characters(self, code: str) -> dict[str, str]:
        """7th character -> meaning for a code that takes one ({} otherwise)."""
        c = code
        while c:
            row = self._row(c)
            if row is None:
                return {}
            if row[_COL["seventh_def"]]:
                pairs = (p.split("=", 1) for p in row[_COL["seventh_def"]].split(SEP))
                return {k: v for k, v in pairs}
            if row[_COL["parent"]] == c:
                return {}
            c = row[_COL["parent"]]
        return {}

    def with_seventh(self, code: str, char: str) -> str | None:
        """The complete code for `code` + 7th character (X placeholders added), or None."""
        pad = code.replace(".", "").ljust(6, "X") + char
        full = pad[:3] + "." + pad[3:]
        return full if self._split7(full) is not None else None


def table_text(file_name: str, what: str, year: str, folder: str | None) -> str:
    """The text of one generated table of `year` (`file_name` with a `{year}` field): from
    `folder` when given, else the packaged one; UnknownCodeSet names `what` is missing."""
    name = file_name.format(year=year.lower())
    if folder is not None:
        path = Path(folder) / name
        if not path.exists():
            raise UnknownCodeSet(f"No ICD-10-CM {what} {name} in {folder}.")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return f.read()
    res = resources.files("engine") / "tables" / name
    if not res.is_file():
        raise UnknownCodeSet(f"No packaged ICD-10-CM {what} for {year}.")
    with resources.as_file(res) as path, gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read()


def _read(path: Path) -> CodeSet:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return CodeSet(f.read())


@cache
def code_set(year: str = DEFAULT_YEAR, folder: str | None = None) -> CodeSet:
    """The code set of `year`: the packaged table, or the one generated into `folder`."""
    name = CODES_FILE.format(year=year.lower())
    if folder is not None:
        path = Path(folder) / name
        if not path.exists():
            raise UnknownCodeSet(f"No ICD-10-CM table {name} in {folder}.")
        return _read(path)
    res = resources.files("engine") / "tables" / name
    if not res.is_file():
        raise UnknownCodeSet(f"No packaged ICD-10-CM table for {year}; generate one with "
                             "python -m notecoder.refdata.build_icd_index --out DIR.")
    with resources.as_file(res) as path:
        return _read(path)


# Module-level shortcuts on the default (FY2026) code set.
def release() -> str:
    """Name of the default code set's release ("ICD-10-CM FY2026 (...)")."""
    return code_set().release


def is_neoplasm(code: str) -> bool:
    """ICD-10-CM chapter 2 (C00-D49): neoplasms."""
    return code[:1] == "C" or "D00" <= code[:3] <= "D49"


def is_billable(code: str) -> bool:
    """True for a complete FY2026 code."""
    return code_set().is_billable(code)


def description(code: str) -> str:
    """Official FY2026 tabular title."""
    return code_set().description(code)


def parent(code: str) -> str:
    """Parent category / block in FY2026."""
    return code_set().parent(code)


def children(code: str) -> list[str]:
    """Children in FY2026."""
    return code_set().children(code)


def excludes1(code: str) -> list[str]:
    """Excludes1 notes (own and inherited) in FY2026."""
    return code_set().excludes1(code)


def code_first(code: str) -> list[str]:
    """Code-first notes (own and inherited) in FY2026."""
    return code_set().code_first(code)


def use_additional(code: str) -> list[str]:
    """Use-additional-code notes (own and inherited) in FY2026."""
    return code_set().use_additional(code)


def seventh_characters(code: str) -> dict[str, str]:
    """7th-character definitions that apply to the code in FY2026."""
    return code_set().seventh_characters(code)
