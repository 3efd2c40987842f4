"""Sections and cues that say where a note is *not* a record of what was given today.

Home medication lists, allergies, past history, copied-forward prior visits, plans and
orders, held or refused doses and discharge prescriptions all name drugs with doses and
routes; none of them is an administration. The rules are data
(`lexicons/sections.json`, in the spirit of medspaCy's Sectionizer and ConText rules);
this module only applies them, one line at a time, so the cost is linear in the note.

A section starts at a header and ends at the next header of any kind; a header alone on
its line opens a block that also ends at a blank line (or where its list of bullets,
numbers or table rows ends); a header with its content on the same line ("Allergies: PCN")
reaches the end of that line and the list or wrapped lines that continue it.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from extractor.budget import check_budget
from extractor.service_date import other_day_ranges
from notecoder.schema import Span


@dataclass(frozen=True)
class Section:
    """A stretch of the note under one header (or a run of flowsheet time lines)."""

    kind: str  # home_medications, allergies, past_history, prior_visit, plan, ...
    start: int  # character offsets into the note, header included
    end: int
    header_end: int  # where the header ends (== start when there is no header)
    records_today: bool  # False: nothing in it is a drug given today


@dataclass(frozen=True)
class _HeaderKind:
    kind: str
    records_today: bool
    today_carve_out: bool


@dataclass(frozen=True)
class _Cue:
    category: str
    scope: str
    pause_exception: bool


class _PatternsByWord:
    """Lower-cased first word -> the regex of the cue phrases it starts, compiled the first
    time a note holds the word (compiling all of them took most of the reader's start-up)."""

    def __init__(self, sources: dict[str, str], flags: re.RegexFlag) -> None:
        self._sources = sources
        self._flags = flags
        self._compiled: dict[str, re.Pattern[str]] = {}

    def get(self, word: str) -> re.Pattern[str] | None:
        """The word's regex, or None when no cue phrase starts with it."""
        found = self._compiled.get(word)
        if found is None and word in self._sources:
            found = self._compiled[word] = re.compile(self._sources[word], self._flags)
        return found


@dataclass(frozen=True)
class _Rules:
    header_at_line_start: re.Pattern[str]
    header_first_words: frozenset[str]  # lower-cased first words of the header phrases
    header_by_pattern: re.Pattern[str] | None  # the headers written as regexes, alone
    header_mid_line: re.Pattern[str]
    header_kinds: dict[str, _HeaderKind]  # regex group name -> kind
    cue_by_first_word: _PatternsByWord  # lower-cased first word -> its phrases
    cue_patterns: re.Pattern[str] | None  # the cues written as regexes
    cues: dict[str, _Cue]  # regex group name -> cue
    pause_after_hold: re.Pattern[str]
    not_a_refusal: re.Pattern[str]
    stopwords: frozenset[str]
    today_marker: re.Pattern[str]
    today_carve_out: re.Pattern[str]
    bracket_opener: re.Pattern[str]
    banner_opener: re.Pattern[str]
    banner_closer: re.Pattern[str]
    time_line: re.Pattern[str]
    dose: re.Pattern[str]


_LEAD = r"[ \t]*+(?:(?:[#*=>•·\-]+|\d{1,2}[.)])[ \t]*+)?(?:\*\*|__)?"
# Each blank run is followed by a mark it must reach, so no two runs compete (no backtracking).
# A header may carry its date ("Patient portal message 11/30:", "Plan 12/01:").
_TAIL = (r"(?:[ \t]*+(?:\*\*|__|\([^()\n]{0,60}\)|#{1,6}|={1,6}"
         r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d/]))){0,4}[ \t]*+")
_SEP = r"(?P<sep>:|[-–—]+(?=[ \t]|$)|$)"
_GENERIC_HEADER = re.compile(
    r"[ \t]*+(?:#{1,6}[ \t]*+|\*\*)?(?P<name>[A-Za-z][A-Za-z/&' ()-]{0,40}?)"
    r"[ \t]*+(?:\*\*[ \t]*+)?:(?=[ \t]|$)")
_CAPS_HEADER = re.compile(
    r"[ \t]*+(?:#{1,6}[ \t]*+)?[A-Z][A-Z/&' ()-]{3,80}[ \t]*+(?::[ \t]*+)?(?:#+[ \t]*+)?$")
_MARKDOWN_HEADER = re.compile(
    r"[ \t]*+(?:#{1,6}[ \t]+\S|={2,}[ \t]*+\S|\*\*[^*\n]{1,60}\*\*[ \t]*+$)")
_UNDERLINE = re.compile(r"[ \t]*+[-=_~]{3,}[ \t]*+$")
_LIST_ITEM = re.compile(r"(?:[ \t]*+(?:[-*•·▪+>o]|\d{1,3}[.)]|\(\d{1,3}\)|[a-z][.)])[ \t]+\S"
                        r"|[ \t]*+\||[ \t]{2,}\S|\t|[^\n\t]*+\t)")
_SENTENCE_END = re.compile(r"[.!?](?=[ \t]|$)|;")
_FULL_STOP = re.compile(r"[.!?](?=[ \t]|$)")
_CLAUSE_END = re.compile(r"[.!?](?=[ \t]|$)|[;,]|[ \t][-–—][ \t]")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'.]*")
_CONTINUES = re.compile(r"(?:^|[^A-Za-z0-9])(?:and|or)$", re.IGNORECASE)
_FIRST_WORD = re.compile(_LEAD + r"([A-Za-z0-9]+)")


def _phrase_regex(phrase: str) -> str:
    words = phrase.split()
    body = r"[ \t]+".join(re.escape(w) for w in words)
    start = r"\b" if re.match(r"\w", phrase) else ""
    end = r"(?![A-Za-z0-9])" if re.search(r"\w$", phrase) else ""
    return start + body + end


def _alternation(phrases: list[str], patterns: list[str]) -> str:
    # Longest phrase first, so "home medications" wins over "home med".
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join([*(_phrase_regex(p) for p in ordered), *patterns])


def _grouped(entries: list[tuple[str, str]]) -> str:
    """One named group per cue, the cue holding the longest phrase first."""
    groups: dict[str, list[str]] = {}
    for phrase, group in entries:
        groups.setdefault(group, []).append(phrase)
    ordered = sorted(groups.items(), key=lambda item: -max(len(p) for p in item[1]))
    return "|".join(f"(?P<{group}>{_alternation(phrases, [])})" for group, phrases in ordered)


@cache
def _rules() -> _Rules:
    path = resources.files("extractor") / "lexicons" / "sections.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    kinds: dict[str, _HeaderKind] = {}
    start_alts, mid_alts, pattern_alts_h = [], [], []
    first_words: set[str] = set()
    for i, entry in enumerate(data["headers"]):
        group = f"h{i}"
        kinds[group] = _HeaderKind(entry["kind"], entry["records_today"],
                                   entry.get("today_carve_out", False))
        alt = _alternation(entry.get("phrases", []), entry.get("patterns", []))
        start_alts.append(f"(?P<{group}>{alt})")
        first_words.update(t.group(0).lower() for p in entry.get("phrases", [])
                           if (t := _TOKEN.match(p)))
        if entry.get("patterns"):
            pattern_alts_h.append("|".join(entry["patterns"]))
        # Mid-line headers need a colon ("... daily.  Allergies: NKDA"); single letters never.
        long_phrases = [p for p in entry.get("phrases", []) if len(p) > 2]
        mid_alts.append(f"(?P<{group}>{_alternation(long_phrases, entry.get('patterns', []))})")
    cues: dict[str, _Cue] = {}
    by_word: dict[str, list[tuple[str, str]]] = {}  # first word -> (phrase, group)
    pattern_alts = []
    for i, entry in enumerate(data["cues"]):
        group = f"c{i}"
        cues[group] = _Cue(entry["category"], entry["scope"], entry.get("pause_exception", False))
        for phrase in entry.get("phrases", []):
            first = _TOKEN.match(phrase)
            if first:
                by_word.setdefault(first.group(0).lower(), []).append((phrase, group))
        if entry.get("patterns"):
            pattern_alts.append(f"(?P<{group}>{'|'.join(entry['patterns'])})")
    flags = re.IGNORECASE
    # One small regex per first word: a big alternation would be tried at every character.
    by_first_word = _PatternsByWord({word: _grouped(found) for word, found in by_word.items()},
                                    flags)
    return _Rules(
        header_at_line_start=re.compile(f"(?P<lead>{_LEAD})(?:{'|'.join(start_alts)}){_TAIL}{_SEP}",
                                        flags),
        header_first_words=frozenset(first_words),
        header_by_pattern=re.compile(f"{_LEAD}(?:{'|'.join(pattern_alts_h)})", flags)
        if pattern_alts_h else None,
        header_mid_line=re.compile(f"(?:{'|'.join(mid_alts)})"
                                   r"[ \t]*+(?:\([^()\n]{0,60}\)[ \t]*+)?:", flags),
        header_kinds=kinds,
        cue_by_first_word=by_first_word,
        cue_patterns=re.compile("|".join(pattern_alts), flags) if pattern_alts else None,
        cues=cues,
        pause_after_hold=re.compile(data["pause_after_hold"], flags),
        not_a_refusal=re.compile(data["not_a_refusal"], flags),
        stopwords=frozenset(w.lower() for w in data["stopwords"]),
        today_marker=re.compile(data["today_markers"], flags),
        today_carve_out=re.compile(data["today_carve_out"], flags),
        bracket_opener=re.compile(data["bracket_openers"], flags),
        banner_opener=re.compile(data["banner_openers"], flags | re.MULTILINE),
        banner_closer=re.compile(data["banner_closers"], flags | re.MULTILINE),
        time_line=re.compile(data["time_line"], flags),
        dose=re.compile(data["dose"], flags),
    )


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, the newline excluded."""
    lines, pos, size = [], 0, len(text)
    while pos <= size:
        nl = text.find("\n", pos)
        end = size if nl < 0 else nl
        lines.append((pos, end - 1 if end > pos and text[end - 1] == "\r" else end))
        if nl < 0:
            break
        pos = nl + 1
    return lines


def _matched_kind(match: re.Match[str], rules: _Rules) -> _HeaderKind:
    group = next(g for g, v in match.groupdict().items()
                 if v is not None and g in rules.header_kinds)
    return rules.header_kinds[group]


_OTHER = _HeaderKind("other", True, False)
_ADMINISTRATION = _HeaderKind("administration", True, False)


@dataclass
class _Open:
    kind: _HeaderKind
    start: int
    header_end: int
    block: bool  # header alone on its line: content follows on the next lines
    end: int
    listish: bool | None = None  # block content is a list (bullets, numbers, rows)
    prev_continues: bool = False  # the last line ended with "," ";" "and": the next one wraps


def _line_header(text: str, start: int, end: int, underlined: bool, rules: _Rules):
    """(kind, header end, block?) when the line starts with a header, else None."""
    line = text[start:end]
    first = _FIRST_WORD.match(line)
    # The big header regex only where a header can start (it is slow to try on every line).
    maybe = (first is not None and first.group(1).lower() in rules.header_first_words) or (
        rules.header_by_pattern is not None and rules.header_by_pattern.match(line) is not None)
    known = rules.header_at_line_start.match(line) if maybe else None
    if known:
        kind = _matched_kind(known, rules)
        header_end = start + known.end()
        block = not text[header_end:end].strip()
        if known.group("sep") == "" and not block:
            known = None  # a phrase followed by more words is not a header ("Plan to ...")
        elif kind.kind in {"other", "assessment"} and len(known.group(0).strip()) <= 2 \
                and known.group("sep") != ":":
            known = None  # lone letters ("A", "S") are headers only as "A:"
        else:
            return kind, header_end, block
    generic = _GENERIC_HEADER.match(line)
    if generic and len(generic.group("name").split()) <= 5:
        header_end = start + generic.end()
        content = text[header_end:end]
        if not content.strip():
            return _OTHER, header_end, True
        # "Lisinopril: 10 mg daily" inside a med list is an item, not a new header.
        if not rules.dose.search(content):
            return _OTHER, header_end, False
        return None
    titled = underlined or _CAPS_HEADER.match(line) or _MARKDOWN_HEADER.match(line)
    if titled and not rules.dose.search(line):
        return _OTHER, end, True
    return None


class _Scanner:
    """One pass over the lines of a note, opening and closing sections."""

    def __init__(self, text: str, rules: _Rules) -> None:
        self.text = text
        self.rules = rules
        self.sections: list[Section] = []
        self.current: _Open | None = None

    def close(self, at: int | None = None) -> None:
        current = self.current
        self.current = None
        if current is None:
            return
        end = max(current.end if at is None else at, current.header_end)
        while end > current.header_end and self.text[end - 1] in " \t\r\n":
            end -= 1
        if end > current.start:
            self.sections.append(Section(current.kind.kind, current.start, end,
                                         min(current.header_end, end),
                                         current.kind.records_today))

    def open(self, kind: _HeaderKind, start: int, header_end: int, block: bool, end: int,
             listish: bool | None = None) -> None:
        self.close(start)
        self.current = _Open(kind, start, header_end, block, end, listish)

    def mid_line(self, start: int, end: int) -> None:
        """Headers after a sentence end within a line ("... prn.  Allergies: NKDA"), and a
        today marker ending an inline non-today section ("Prior visit: ... Today ...")."""
        text, rules = self.text, self.rules
        for boundary in _SENTENCE_END.finditer(text, start, end):
            pos = boundary.end()
            while pos < end and text[pos] in " \t":
                pos += 1
            current = self.current
            if pos >= end or (current is not None and pos <= current.header_end):
                continue
            hit = rules.header_mid_line.match(text, pos, end)
            if hit:
                self.open(_matched_kind(hit, rules), pos, hit.end(), False, end)
            elif current is not None and not current.kind.records_today \
                    and not current.block and rules.today_marker.match(text, pos, end):
                self.close(pos)

    def scan(self) -> list[Section]:
        text, rules = self.text, self.rules
        lines = _lines(text)
        skip_underline = False
        for index, (start, end) in enumerate(lines):
            check_budget()
            line = text[start:end]
            if skip_underline:
                skip_underline = False
                if self.current is not None:
                    self.current.header_end = self.current.end = end
                continue
            if not line.strip():
                if self.current is not None:
                    self.close()
                continue
            first = start + len(line) - len(line.lstrip())
            following = lines[index + 1] if index + 1 < len(lines) else None
            underlined = following is not None and not _UNDERLINE.match(line) and bool(
                _UNDERLINE.match(text, following[0], following[1]))
            header = _line_header(text, start, end, underlined, rules)
            current = self.current
            if header is not None:
                kind, header_end, block = header
                self.open(kind, first, header_end, block, end)
                skip_underline = underlined
            elif rules.time_line.match(line):
                # Flowsheet time lines are administrations, and they end any list above them.
                if current is None or current.kind.kind != "administration":
                    self.open(_ADMINISTRATION, first, first, True, end, listish=False)
                else:
                    current.end = end
            elif current is not None:
                is_item = bool(_LIST_ITEM.match(line))
                if current.block:
                    if current.listish is None:
                        current.listish = is_item
                    if current.listish and not is_item:
                        self.close()
                    else:
                        current.end = end
                elif is_item or current.prev_continues:
                    current.end = end
                else:
                    self.close()
            if self.current is not None and self.current.end == end:
                tail = line.rstrip()
                self.current.prev_continues = tail.endswith((",", ";", "&", "+")) or bool(
                    _CONTINUES.search(tail, max(0, len(tail) - 4)))
                self.mid_line(start, end)
            elif self.current is None:
                # A header after a sentence of a line that opens no section ("Consent
                # obtained. Plan: propofol ...").
                self.mid_line(start, end)
        self.close()
        return self.sections


def find_sections(text: str) -> list[Section]:
    """The note's headed sections (and runs of flowsheet time lines), in order."""
    return _Scanner(text, _rules()).scan()


def _merged(ranges: list[tuple[int, int]]) -> list[Span]:
    spans: list[Span] = []
    last_start, last_end = -1, -1
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if start <= last_end:
            last_end = max(last_end, end)
            continue
        if last_end > last_start >= 0:
            spans.append(Span(start=last_start, end=last_end))
        last_start, last_end = start, end
    if last_end > last_start >= 0:
        spans.append(Span(start=last_start, end=last_end))
    return spans


def _subtract(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]):
    """Ranges with the holes cut out; both lists sorted, holes disjoint."""
    out, i = [], 0
    holes = sorted(holes)
    for start, end in sorted(ranges):
        while i < len(holes) and holes[i][1] <= start:
            i += 1
        j, pos = i, start
        while j < len(holes) and holes[j][0] < end:
            if holes[j][0] > pos:
                out.append((pos, holes[j][0]))
            pos = max(pos, holes[j][1])
            j += 1
        if pos < end:
            out.append((pos, end))
    return out


class _LineBounds:
    """Sentence and clause boundaries of one line, for the reach of a cue."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, start, end)]
        self.full_stops = [m.end() for m in _FULL_STOP.finditer(text, start, end)]
        clauses = [(m.start(), m.end()) for m in _CLAUSE_END.finditer(text, start, end)]
        self.clause_starts = [c[0] for c in clauses]
        self.clause_ends = [c[1] for c in clauses]

    def sentence(self, at: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.sentence_ends, at)
        start = self.sentence_ends[i - 1] if i else self.start
        end = self.sentence_ends[i] if i < len(self.sentence_ends) else self.end
        return start, end

    def full_sentence_start(self, at: int) -> int:
        """Start of the sentence holding `at`, where only . ! ? end sentences (not ;)."""
        i = bisect.bisect_right(self.full_stops, at)
        return self.full_stops[i - 1] if i else self.start

    def clause_start(self, at: int, steps: int = 1) -> int:
        """Start of the clause holding `at` (steps=2: of the clause before it)."""
        i = bisect.bisect_right(self.clause_ends, at)
        i = max(0, i - (steps - 1))
        return self.clause_ends[i - 1] if i else self.start

    def clause_end(self, at: int) -> int:
        i = bisect.bisect_left(self.clause_starts, at)
        return self.clause_starts[i] if i < len(self.clause_starts) else self.end


def _names_nothing(segment: str, stopwords: frozenset[str]) -> bool:
    return all(w.lower().rstrip(".") in stopwords or w.lower() in stopwords
               for w in _WORD.findall(segment))


def _cue_hits(text: str, start: int, end: int,
              rules: _Rules) -> Iterator[tuple[re.Match[str], _Cue]]:
    """Every cue in text[start:end], in order of where it starts."""
    hits: list[tuple[re.Match[str], _Cue]] = []
    for token in _TOKEN.finditer(text, start, end):
        phrases = rules.cue_by_first_word.get(token.group(0).lower())
        if phrases is not None:
            hit = phrases.match(text, token.start(), end)
            if hit is not None and hit.lastgroup is not None:
                hits.append((hit, rules.cues[hit.lastgroup]))
    if rules.cue_patterns is not None:
        for hit in rules.cue_patterns.finditer(text, start, end):
            if hit.lastgroup is not None:
                hits.append((hit, rules.cues[hit.lastgroup]))
        hits.sort(key=lambda h: h[0].start())
    return iter(hits)


def _has_cue(text: str, start: int, end: int, rules: _Rules) -> bool:
    return next(_cue_hits(text, start, end, rules), None) is not None


class _LineCache:
    """Bounds, table-row flag and pause positions of the lines that hold cues, built once."""

    def __init__(self, text: str, rules: _Rules) -> None:
        self.text, self.rules = text, rules
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.bounds: dict[int, _LineBounds] = {}
        self.table_row: dict[int, bool] = {}
        self.pauses: dict[int, list[int]] = {}

    def line_of(self, at: int) -> int:
        return bisect.bisect_right(self.line_starts, at) - 1

    def line_bounds(self, line: int) -> _LineBounds:
        if line not in self.bounds:
            start = self.line_starts[line]
            nl = self.text.find("\n", start)
            self.bounds[line] = _LineBounds(self.text, start, len(self.text) if nl < 0 else nl)
        return self.bounds[line]

    def is_table_row(self, line: int) -> bool:
        if line not in self.table_row:
            b = self.line_bounds(line)
            text = self.text
            # Pipe, tab and machine CSV rows ("0900,ceftriaxone,1 g,IV,Not Given": commas
            # with no space after any of them) are rows: a status cell negates the row.
            self.table_row[line] = (text.count("|", b.start, b.end) >= 2
                                    or text.count("\t", b.start, b.end) >= 2
                                    or (text.count(",", b.start, b.end) >= 3
                                        and text.count(", ", b.start, b.end) == 0))
        return self.table_row[line]

    def pause_starts(self, line: int) -> list[int]:
        if line not in self.pauses:
            b = self.line_bounds(line)
            self.pauses[line] = [m.start() for m in
                                 self.rules.pause_after_hold.finditer(self.text, b.start, b.end)]
        return self.pauses[line]


def _cue_ranges(text: str, rules: _Rules) -> list[tuple[int, int]]:
    """Clauses and sentences that a cue marks as not a record of today."""
    ranges: list[tuple[int, int]] = []
    lines = _LineCache(text, rules)
    for hit, cue in _cue_hits(text, 0, len(text), rules):
        line = lines.line_of(hit.start())
        bounds = lines.line_bounds(line)
        s_start, s_end = bounds.sentence(hit.start())
        if cue.scope == "sentence":
            ranges.append((s_start, s_end))
        elif cue.scope == "forward":
            ranges.append((hit.start(), s_end))
        elif cue.scope == "clause":
            ranges.append((max(s_start, bounds.clause_start(hit.start())),
                           min(s_end, bounds.clause_end(hit.end()))))
        elif cue.scope == "clause_to_sentence_end":
            ranges.append((max(s_start, bounds.clause_start(hit.start())), s_end))
        elif cue.scope == "negation":
            found = _negation_range(text, hit, cue, line, lines, s_start, s_end)
            if found is not None:
                ranges.append(found)
    return ranges


def _negation_range(text: str, hit: re.Match[str], cue: _Cue, line: int, lines: _LineCache,
                    s_start: int, s_end: int) -> tuple[int, int] | None:
    """The clause a held / refused / not-given cue negates, or None for a pause."""
    rules, bounds = lines.rules, lines.line_bounds(line)
    if cue.pause_exception:
        # "held for rigors at 1010, restarted 1035": a pause of a drug that was given.
        pauses = lines.pause_starts(line)
        after = bisect.bisect_left(pauses, hit.end())
        if after < len(pauses) and pauses[after] < s_end:
            return None
    if hit.group(0).lower().startswith("declin"):
        if rules.not_a_refusal.search(text, max(bounds.start, hit.start() - 40), hit.start()):
            return None  # "BP declined to 90/60"
        if re.match(r"[ \t]+(?:to|from|by)[ \t]+\d", text[hit.end():hit.end() + 12]):
            return None
    if lines.is_table_row(line):
        return bounds.start, bounds.end
    start = max(s_start, bounds.clause_start(hit.start()))
    if hit.start() - start <= 200 and _names_nothing(text[start:hit.start()], rules.stopwords):
        # "Ondansetron 4 mg IV, not given" / "Offered Toradol 30 mg IM; patient refused":
        # the cue's own clause names nothing, so it negates the clause before.
        start = max(bounds.full_sentence_start(hit.start()),
                    bounds.clause_start(hit.start(), steps=2))
    return start, min(s_end, bounds.clause_end(hit.end()))


def _bracket_ranges(text: str, rules: _Rules) -> list[tuple[int, int]]:
    """Copied-forward brackets: "[Copied from C3D1 note 03/04/2026: ...]"."""
    ranges, pos = [], 0
    while True:
        hit = rules.bracket_opener.search(text, pos)
        if hit is None:
            return ranges
        close = text.find("]", hit.end())
        paragraph = text.find("\n\n", hit.end())
        paragraph_end = paragraph if paragraph >= 0 else len(text)
        if 0 <= close < paragraph_end and _LABEL_ONLY.match(text, close + 1) \
                and _LABEL_TEXT.fullmatch(text, hit.end(), close):
            # "[Copied from note dated 03/16/2026 by K. Ames RN]" alone on its line labels
            # the lines after it: they are copied up to "[end copied text]" or the
            # paragraph's end, whichever comes first.
            closer = _BRACKET_CLOSER.search(text, close + 1, paragraph_end)
            end = closer.end() if closer else paragraph_end
        else:
            end = min(close + 1, paragraph_end) if close >= 0 else paragraph_end
        ranges.append((hit.start(), end))
        pos = max(end, hit.end())


# Nothing but blanks after a bracket's close on its line: the bracket is a label.
_LABEL_ONLY = re.compile(r"\]?[ \t]*(?:\n|$)")  # "[[ Copied forward ... ]]" too
# ... and the bracket holds a label only (no copied text of its own after a colon or quote).
_LABEL_TEXT = re.compile(r"[^:\"“\n\]]{0,80}")
_BRACKET_CLOSER = re.compile(r"\[{1,2}[ \t]*(?:end|ends|ended|close[ds]?)\b[^\]\n]{0,40}\]{1,2}",
                             re.I)


_ONE_LINE_BANNER = re.compile(r":\s*[\"“'][^\n]{3,}[\"”']\s*(?:\*{2,}|-{3,}|={3,}|#{2,}|~{2,})"
                              r"[ \t]*$")


def _banner_ranges(text: str, rules: _Rules) -> list[tuple[int, int]]:
    """Copied-forward blocks between banner lines: "*** Previous visit note (01/30),
    carried forward ***" ... "*** end of carried-forward text ***" (or the paragraph end)."""
    ranges, pos = [], 0
    while True:
        hit = rules.banner_opener.search(text, pos)
        if hit is None:
            return ranges
        if _ONE_LINE_BANNER.search(hit.group(0)):
            # '*** HPI copied from 11/2024 visit: "L knee pain after fall" ***': the banner
            # carries its copied text itself; the lines after it are today's note.
            ranges.append((hit.start(), hit.end()))
            pos = hit.end() + 1
            continue
        close = rules.banner_closer.search(text, hit.end())
        paragraph = text.find("\n\n", hit.end())
        ends = [e for e in (close.end() if close else -1, paragraph) if e >= 0]
        end = min(ends) if ends else len(text)
        ranges.append((hit.start(), end))
        pos = max(end, hit.end() + 1)


def _carve_outs(text: str, section: Section, rules: _Rules) -> list[tuple[int, int]]:
    """Clauses of a plan that record a dose given now ("Kenalog 40 mg IM today")."""
    holes = []
    for start, end in _section_lines(text, section):
        bounds = _LineBounds(text, start, end)
        unit_start = start
        for unit_end in [*bounds.sentence_ends, end]:
            if unit_end <= unit_start:
                continue
            lo = max(unit_start, section.header_end)
            unit = text[lo:unit_end]
            if unit.strip() and rules.today_carve_out.search(unit) \
                    and not _has_cue(text, lo, unit_end, rules):
                holes.append((lo, unit_end))
            unit_start = unit_end
    return holes


def _section_lines(text: str, section: Section) -> Iterator[tuple[int, int]]:
    pos = section.start
    while pos < section.end:
        nl = text.find("\n", pos, section.end)
        end = section.end if nl < 0 else nl
        yield pos, end
        pos = end + 1


def not_given_spans(text: str, sections: list[Section] | None = None) -> list[Span]:
    """Merged, sorted character ranges that are not a record of what was given today:
    non-today sections (less the clauses of a plan that record a dose given now),
    copied-forward, prior-visit, plan/order, discharge and held/refused/not-given cues,
    copied-forward banner blocks, and sentences dated another day (extractor.service_date)."""
    rules = _rules()
    ranges: list[tuple[int, int]] = []
    for section in find_sections(text) if sections is None else sections:
        if section.records_today:
            continue
        whole = [(section.start, section.end)]
        if section.kind in _carved_kinds():
            whole = _subtract(whole, _carve_outs(text, section, rules))
        ranges += whole
    ranges += _cue_ranges(text, rules)
    ranges += _bracket_ranges(text, rules)
    ranges += _banner_ranges(text, rules)
    ranges += other_day_ranges(text)
    return _merged(_trimmed(text, ranges))


def _trimmed(text: str, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges without blanks at either edge (each edge position trimmed once: linear)."""
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    out = []
    for start, end in ranges:
        if start not in starts:
            pos = start
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            starts[start] = pos
        if end not in ends:
            pos = end
            while pos > 0 and text[pos - 1] in " \t\r\n":
                pos -= 1
            ends[end] = pos
        out.append((starts[start], ends[end]))
    return out


@cache
def _carved_kinds() -> frozenset[str]:
    return frozenset(k.kind for k in _rules().header_kinds.values() if k.today_carve_out)


def historical_spans(text: str, sections: list[Section] | None = None) -> list[Span]:
    """Past medical / surgical history and prior-visit sections, and copied-forward blocks
    ("[Copied forward from 01/12/2026 note: ...]"): diagnoses there are historical unless
    the note documents them as current elsewhere (ICD-G IV.J: code what is treated at this
    encounter; a copied prior visit is no record of today)."""
    found = find_sections(text) if sections is None else sections
    rules = _rules()
    ranges = [(s.start, s.end) for s in found if s.kind in ("past_history", "prior_visit")]
    ranges += _bracket_ranges(text, rules)
    ranges += _banner_ranges(text, rules)
    return _merged(_trimmed(text, ranges))
