"""The generated ICD-10-CM term index: main term -> tabular titles as word groups.

`engine/tables/icd10cm_<year>_terms.tsv.gz` holds one line per main term (the head noun of
a tabular title, "cellulitis", "neoplasm", "mellitus"); the line's entries are parsed the
first time a phrase names that term, with an inverted list (word -> entries) so a phrase is
matched against the entries that share its words, never against the whole code set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

from engine.icd10cm import DEFAULT_YEAR, table_text

TERMS_FILE = "icd10cm_{year}_terms.tsv.gz"


@dataclass(frozen=True)
class TermEntry:
    """One tabular title (or inclusion term) under a main term."""

    code: str
    billable: int  # 1 complete code, 7 complete with a 7th character
    required: tuple[frozenset[str], ...]  # every group needs one of its words
    optional: frozenset[str]  # nonessential words: count when stated, never needed
    negative: tuple[frozenset[str], ...]  # "without X": void when X is stated
    source: str  # "t" title, "i" inclusion term

    @property
    def words(self) -> frozenset[str]:
        """Every word the entry can explain."""
        out = set(self.optional)
        for g in self.required:
            out |= g
        for g in self.negative:
            out |= g
        return frozenset(out)


@dataclass(eq=False)
class MainTerm:
    """The entries of one main term with their word -> entry lists."""

    key: str
    entries: list[TermEntry]
    by_word: dict[str, list[tuple[int, int]]]  # word -> (entry index, required group index)
    no_required: list[int]  # entries that need no word beyond the main term
    vocabulary: frozenset[str]  # every word any entry of the term uses
    need: list[int] = field(default_factory=list)  # per entry: the mask of all its groups
    # Per entry with a one-word required group "other": that group's index.
    other_group: dict[int, int] = field(default_factory=dict)
    # Per code: the words of all its entries (title and inclusion terms) under this term.
    code_words: dict[str, frozenset[str]] = field(default_factory=dict)


def _main_term(key: str, raw: str) -> MainTerm:
    entries = []
    for code, billable, req, opt, neg, src in json.loads(raw):
        entries.append(TermEntry(code, billable, tuple(frozenset(g) for g in req),
                                 frozenset(opt), tuple(frozenset(g) for g in neg), src))
    by_word: dict[str, list[tuple[int, int]]] = {}
    vocab: set[str] = set()
    no_required = []
    for i, e in enumerate(entries):
        if not e.required:
            no_required.append(i)
        for gi, group in enumerate(e.required):
            for w in group:
                by_word.setdefault(w, []).append((i, gi))
        vocab |= e.words
    need = [(1 << len(e.required)) - 1 for e in entries]
    other = {i: gi for i, e in enumerate(entries) for gi, g in enumerate(e.required)
             if g == _OTHER}
    code_words: dict[str, set[str]] = {}
    for e in entries:
        code_words.setdefault(e.code, set()).update(e.words)
    return MainTerm(key, entries, by_word, no_required, frozenset(vocab), need, other,
                    {c: frozenset(w) for c, w in code_words.items()})


_OTHER = frozenset({"other"})
WORDS_KEY = "#words"  # the line of the file that lists every word of the index


class TermIndex:
    """Main terms of one code-set year, parsed on first use."""

    def __init__(self, text: str) -> None:
        lines = text.split("\n")
        header = lines[0].split("\t")
        self.release = header[1] if len(header) > 1 else "unknown"
        self._raw: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                key, _, rest = line.partition("\t")
                self._raw[key] = rest
        self._parsed: dict[str, MainTerm] = {}
        self._words: frozenset[str] | None = None

    def __contains__(self, key: str) -> bool:
        return key in self._raw and key != WORDS_KEY

    def keys(self) -> frozenset[str]:
        """Every main term."""
        return frozenset(self._raw) - {WORDS_KEY}

    def term(self, key: str) -> MainTerm | None:
        """The main term's entries, or None when the index has no such term."""
        mt = self._parsed.get(key)
        if mt is None:
            raw = self._raw.get(key)
            if raw is None or key == WORDS_KEY:
                return None
            mt = self._parsed[key] = _main_term(key, raw)
        return mt

    def words(self) -> frozenset[str]:
        """Every word of the index (main terms and modifiers), for spelling correction.

        Read from the raw lines without building entries (one pass, on first use)."""
        if self._words is None and WORDS_KEY in self._raw:
            self._words = frozenset(self._raw[WORDS_KEY].split())
        if self._words is None:
            out: set[str] = set(self._raw) - {WORDS_KEY}
            for raw in self._raw.values():
                out.update(w for w in raw.replace('"', " ").replace("[", " ")
                           .replace("]", " ").replace(",", " ").split()
                           if w.isalpha() or any(ch.isalpha() for ch in w))
            self._words = frozenset(w for w in out if not _looks_like_code(w))
        return self._words


def _looks_like_code(w: str) -> bool:
    return len(w) >= 3 and w[0].isupper() and w[1].isdigit()


@cache
def term_index(year: str = DEFAULT_YEAR, folder: str | None = None) -> TermIndex:
    """The term index of `year`: the packaged one, or the one generated into `folder`."""
    return TermIndex(table_text(TERMS_FILE, "term index", year, folder))
