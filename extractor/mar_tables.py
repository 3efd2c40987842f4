"""Medication administration records (MAR) written as tables inside a note.

Three layouts are found: pipe tables (``| 0930 | ceFAZolin | 2 g | IVPB | Started |``),
tab-separated exports, and fixed-column printouts whose columns are aligned with runs
of two or more spaces. `find_tables` finds them and names their columns (from a header
row when there is one, otherwise from what the cells look like); `mar_administrations`
joins the rows of one drug ("Started" ... "Paused" ... "Restarted" ... "Completed") into
one administration with its start, stop and paused minutes.

Every `Cell` carries exact offsets: ``text[cell.start:cell.end] == cell.text``. Times
are ``(hour, minute, span start, span end)`` with the span in note offsets. Nothing
here raises on any input string, and the work is linear in the note length.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from extractor import cues
from extractor.budget import check_budget
from extractor.lexicon import DrugName
from extractor.quantities import find_amounts, find_time_ranges

_I = re.IGNORECASE

ClockAt = tuple[int, int, int, int]
"""(hour, minute, span start, span end) of a clock time in the note."""

DrugLookup = Callable[[str], "DrugName | None"]
"""Lower-cased, single-spaced surface text -> drug entry, e.g. ``drug_names().get``."""


@dataclass(frozen=True)
class Cell:
    """One table cell; ``text == note[start:end]`` and is stripped."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class TableRow:
    """One data row (its line span) with its non-empty cells by column key."""

    start: int
    end: int
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Table:
    """A table found in a note. ``style`` is pipe, tab or fixed.

    ``columns`` are the normalised keys (time, date, drug, dose, route, action, rate,
    volume, site, comment, initials, start_time, stop_time; ``colN`` when unknown).
    ``header`` is the header row when the table has one (not among ``rows``).
    """

    start: int
    end: int
    style: str
    columns: list[str]
    rows: list[TableRow]
    header: TableRow | None = None


@dataclass(frozen=True)
class MarAdministration:
    """Rows of one drug joined into one administration.

    ``status`` is given or not_given; ``kind`` is infusion (start/stop rows), push
    (one row given at one time) or none (not given). ``start``/``stop`` are
    `ClockAt` tuples or None when the table does not say. ``paused_minutes`` sums
    pause -> restart gaps (modulo 24 h, so a pause across midnight counts).
    """

    drug: Cell
    generic: str
    rows: list[TableRow]
    status: str
    start: ClockAt | None
    stop: ClockAt | None
    paused_minutes: int
    dose: Cell | None
    route: Cell | None
    action: Cell | None
    kind: str = "infusion"
    # The dose an amendment row corrected the given row to ("AMENDED | 14:10 | ketorolac |
    # 15 mg | ... dose entered as 30 mg in error"): the dose given.
    amended_dose: Cell | None = None


# --- vocabulary shared with extractor.flowsheet --------------------------------------

def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w/])(?:" + "|".join(alternatives) + r")(?![\w/])", _I)


# Order matters: the first pattern that matches decides ("restarted" before "started",
# "not given" before "given"). "held" and "stopped" are ambiguous: a pause when the
# drug is running and later restarted, otherwise not given / a stop.
ACTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("not_given", _words(r"not (?:given|administered|started|done|infused|hung)",
                         r"refused", r"(?:pt |patient )?declined", r"omitted", r"missed",
                         r"cancel(?:l)?ed", r"canceled entry", r"deferred", r"unavailable",
                         r"not needed", r"not required", r"no need", r"not indicated")),
    ("disconnect", _words(r"disconnect(?:ed|s)?", r"pump (?:removed|off)",
                          r"saline[- ]lock(?:ed)?", r"hep(?:arin)?[- ]lock(?:ed)?",
                          r"de-?accessed", r"iv removed", r"tubing removed")),
    ("restart", _words(r"re-?start(?:ed|s|ing)?", r"resum(?:e[ds]?|ing)", r"re-?initiated",
                       r"re-?hung")),
    ("held", _words(r"held", r"hold(?:ing)?", r"on hold")),
    ("pause", _words(r"paused?", r"pausing", r"interrupted")),
    ("stopped", _words(r"stop(?:ped|s)?")),
    ("stop", _words(r"complete[ds]?", r"completion", r"finish(?:ed|es)?", r"end(?:ed|s)?",
                    r"done", r"infused", r"discontinued", r"d/c(?:'d)?", r"dc'd", r"turned off",
                    r"shut off", r"bag empty", r"ran in")),
    ("start", _words(r"start(?:ed|s|ing)?", r"begin", r"began", r"begun", r"initiated",
                     r"hung", r"new bag", r"spiked")),
    ("rate_change", re.compile(
        r"(?<![\w/])(?:rate\s*(?:change[ds]?|↑|↓|up|down|increased?|decreased?|titrated|"
        r"adjusted|to)|(?:increase[ds]?|decrease[ds]?|titrat(?:ed|e)|turned (?:up|down)|"
        r"adjusted)\b|↑|↓)", _I)),
    # An order row ("ORDERED | 13:41 | metoclopramide ...") records no dose given; "given as
    # ordered" is a given (the action written first decides).
    ("ordered", _words(r"ordered", r"order(?:ed)?[ \t]+(?:placed|entered|signed)")),
    ("given", _words(r"given", r"pushed", r"administered", r"injected", r"IVP", r"IV push",
                     r"push", r"taken", r"applied", r"admin")),
]


def classify_action(text: str) -> str:
    """The action a cell or charting line states (see `ACTIONS`), or ``other``: a "not
    given" anywhere wins; otherwise the action written first ("1120 5-FU pump started. Pump
    teaching done." is a start)."""
    best: tuple[int, int, str] | None = None
    for order, (kind, pattern) in enumerate(ACTIONS):
        match = pattern.search(text)
        if match is None:
            continue
        if kind == "not_given":
            return kind
        if best is None or (match.start(), order) < best[:2]:
            best = (match.start(), order, kind)
    return best[2] if best else "other"


_TOKEN = re.compile(  # "5-FU": a number joined to a name by a hyphen starts a name
    # "1/2NS", "1/2 NS": a half-strength fluid's fraction is a word of its name.
    r"(?:\d/\d(?![\d/])[A-Za-z]*|\d+(?:\.\d+)?%|\d+(?=-[A-Za-z])|[A-Za-z][A-Za-z0-9']*)(?:[-/](?:\d+(?:\.\d+)?%?|[A-Za-z][A-Za-z0-9']*))*")
_PIECE = re.compile(r"\d+(?:\.\d+)?%?|[A-Za-z][A-Za-z0-9']*")
_MAX_WORDS = 4  # longest multi-word name tried ("0.9% sodium chloride")


def name_first_words(names) -> frozenset[str]:
    """The first word (as `find_drug_names` splits words) of each lower-cased name."""
    return frozenset(m.group(0) for name in names if (m := _TOKEN.search(name)))


def find_drug_names(text: str, lookup: DrugLookup, start: int = 0,
                    end: int | None = None) -> list[tuple[DrugName, int, int]]:
    """Drug names the lookup knows in ``text[start:end]``, longest match first.

    The lookup is called with lower-cased text, words joined by one space. A
    hyphen/slash compound the lookup does not know ("ceFAZolin/NS") is tried piece by
    piece. Returns ``(entry, span start, span end)`` in note offsets.
    """
    end = len(text) if end is None else end
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text, start, end)]
    found: list[tuple[DrugName, int, int]] = []
    # A lookup may say which words a name can start with: other words skip the n-gram tries.
    firsts = getattr(lookup, "first_words", None)
    firsts = firsts() if callable(firsts) else None
    i = 0
    while i < len(tokens):
        hit = None
        a, b = tokens[i]
        widths = range(min(_MAX_WORDS, len(tokens) - i), 0, -1)
        if firsts is not None and text[a:b].lower() not in firsts:
            widths = range(0)
        for n in widths:
            span = tokens[i:i + n]
            if any(text[a[1]:b[0]].strip(" ") for a, b in itertools.pairwise(span)):
                continue  # only words separated by spaces form one name
            key = " ".join(text[a:b] for a, b in span).lower()
            entry = lookup(key)
            if entry is not None:
                hit = (entry, span[0][0], span[-1][1], n)
                break
        if hit is not None:
            found.append(hit[:3])
            i += hit[3]
            continue
        a, b = tokens[i]
        if b - a > 1 and re.search(r"[-/]", text[a:b]):
            for piece in _PIECE.finditer(text, a, b):
                entry = lookup(piece.group(0).lower())
                if entry is not None:
                    found.append((entry, piece.start(), piece.end()))
        i += 1
    return found


_MERIDIEM = r"(?:\s?(?P<mer>[ap])\.?(?:m\.?)?(?![a-z]))"
_CELL_TIME = re.compile(
    r"(?:(?P<date>\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2})[\sT,]+)?@?\s*"
    r"(?P<time>(?P<h>[01]?\d|2[0-3]):?(?P<m>[0-5]\d)(?::[0-5]\d)?" + _MERIDIEM
    + r"?(?:\s?(?:h|hrs?)\b)?)",  # seconds as exports write them: "02/09/2026 14:05:00"
    _I)


def hour_of(hour: int, meridiem: str | None) -> int:
    """24-hour clock hour for a 12-hour reading with an a/p marker (None: as written)."""
    if not meridiem:
        return hour
    if meridiem.lower() == "a":
        return 0 if hour == 12 else hour
    return hour if hour == 12 else hour + 12


def cell_time(cell: Cell) -> ClockAt | None:
    """The clock time a time cell holds ("0930", "09:30 AM", "02/14 2310", "@1415")."""
    m = _CELL_TIME.fullmatch(cell.text)
    if m is None:
        return None
    hour = int(m.group("h"))
    if m.group("mer") and not 1 <= hour <= 12:
        return None
    return (hour_of(hour, m.group("mer")), int(m.group("m")), cell.start + m.start("time"),
            cell.start + m.end("time"))


def minutes_between(first: ClockAt, second: ClockAt) -> int:
    """Minutes from one clock time to the next, crossing midnight when needed."""
    return ((second[0] * 60 + second[1]) - (first[0] * 60 + first[1])) % 1440


# --- lines and cells -------------------------------------------------------------------

@dataclass(frozen=True)
class NoteLine:
    """One line of a note: ``[start, end)`` without its newline or carriage return."""

    start: int
    end: int


def note_lines(text: str) -> Iterator[NoteLine]:
    """The lines of a note with their offsets (linear, never empty for any string)."""
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        stop = end - 1 if end > pos and text[end - 1] == "\r" else end
        yield NoteLine(pos, stop)
        if nl < 0:
            break
        pos = nl + 1


def _cell(text: str, a: int, b: int) -> Cell | None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return Cell(text[a:b], a, b) if a < b else None


def _split(text: str, line: NoteLine, sep: str) -> list[tuple[int, int]]:
    """Raw cell intervals of a pipe or tab line (outer pipes dropped)."""
    a, b = line.start, line.end
    if sep == "|":
        while a < b and text[a] in " \t":
            a += 1
        while b > a and text[b - 1] in " \t":
            b -= 1
        if a < b and text[a] == "|":
            a += 1
        if b > a and text[b - 1] == "|":
            b -= 1
    bounds: list[tuple[int, int]] = []
    pos = a
    while True:
        k = text.find(sep, pos, b)
        if k < 0:
            bounds.append((pos, b))
            return bounds
        bounds.append((pos, k))
        pos = k + 1


_PIPE_RULE = re.compile(r"[\s|:+=\-]*-[\s|:+=\-]*")
_FIXED_RULE = re.compile(r"[\s\-=_*]*[\-=_][\s\-=_*]*")


# --- header keys -----------------------------------------------------------------------

_HEADER_KEYS = {
    "time": ("time", "admin time", "time given", "given at", "clock", "hour", "charted time",
             "time admin", "admin dt tm", "date time", "action time", "action date time",
             "action dt tm", "administration time", "given time", "admin date time",
             "date and time", "taken time", "documented time", "time charted"),
    "date": ("date", "day", "admin date", "dt"),
    "drug": ("medication", "medications", "med", "meds", "drug", "order", "orders",
             "medication name", "med name", "drug name", "product", "item", "medication dose",
             "medication order", "agent"),
    "dose": ("dose", "amount", "amt", "dose vol", "dose volume", "dosage", "qty", "strength",
             "dose given", "dose amount"),
    "route": ("route", "rte", "rt"),
    "action": ("action", "status", "event", "admin", "administration", "admin status",
               "action taken", "activity", "result", "admin action", "mar action"),
    "rate": ("rate", "rate ml hr", "ml hr", "infusion rate", "pump rate"),
    "volume": ("volume", "vol", "volume ml", "vol infused", "volume infused",
               "amount infused", "infused", "total volume", "bag volume"),
    "site": ("site", "line", "access", "location", "iv site", "access site"),
    "comment": ("notes", "note", "comment", "comments", "remarks", "details", "reason",
                "nursing note", "narrative"),
    "initials": ("rn", "init", "initials", "by", "nurse", "user", "sig", "admin by",
                 "given by", "signature", "staff", "charted by", "documented by", "inits"),
    "start_time": ("start", "start time", "begin", "started", "time started", "begin time"),
    "stop_time": ("stop", "stop time", "end", "end time", "stopped", "time stopped",
                  "completed", "time completed"),
}
_HEADER_INDEX = {alias: key for key, aliases in _HEADER_KEYS.items() for alias in aliases}


def _header_key(cell_text: str) -> str | None:
    words = re.sub(r"[^a-z0-9]+", " ", cell_text.lower()).split()
    if not words or len(words) > 4:
        return None
    whole = " ".join(words)
    return _HEADER_INDEX.get(whole) or _HEADER_INDEX.get(words[0])


def _name_columns(keys: list[str | None]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, key in enumerate(keys, 1):
        name = key or f"col{index}"
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in seen:
                suffix += 1
            name = f"{name}_{suffix}"
        names.append(name)
        seen.add(name)
    return names


def _header_keys(cells: list[Cell | None]) -> list[str | None] | None:
    """Keys for a header row, or None when the row is not a header."""
    keys = [(_header_key(c.text) if c else None) for c in cells]
    known = sum(k is not None for k in keys)
    data_like = any(c and (cell_time(c) or find_amounts(c.text)) for c in cells)
    return keys if known >= 2 and not data_like else None


# --- column inference without a header -------------------------------------------------

_ROUTE = re.compile(r"(?:IV|IVPB|IVP|IV ?push|IV piggyback|IV infusion|intravenous(?:ly)?|"
                    r"SC|SQ|subq|sub-?q|subcut(?:aneous)?|IM|intramuscular|PO|oral|SL|PR|"
                    r"INH|neb|topical|TD|ID|intradermal|PICC|port)", _I)
_DATE = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{4}-\d{2}-\d{2}")
_INITIALS = re.compile(r"(?:[A-Z]\.?){1,3}(?:,?\s*RN)?|[A-Z][a-z]+,?\s*RN|RN", 0)
_BLANK = re.compile(r"[-–—\"'.]*|n/?a|ditto|same|none", _I)
_PRIORITY = ("time", "date", "route", "rate", "dose", "action", "site", "drug", "initials")


def _is_blank(text: str) -> bool:
    return bool(_BLANK.fullmatch(text.strip()))


def _cell_kinds(cell: Cell, lookup: DrugLookup | None) -> set[str]:
    text = cell.text
    kinds: set[str] = set()
    if cell_time(cell):
        kinds.add("time")
        return kinds
    if _DATE.fullmatch(text):
        return {"date"}
    if _ROUTE.fullmatch(text):
        return {"route"}
    amounts = find_amounts(text) if len(text) <= 200 else []
    if amounts and amounts[0].start == 0:
        kinds.add("rate" if amounts[0].kind == "rate" else "dose")
    if len(text) <= 40 and any(p.match(text) for _, p in ACTIONS):
        kinds.add("action")  # an action cell starts with its word ("Held for reaction")
    if cues.SITE.fullmatch(text):
        kinds.add("site")
    if _INITIALS.fullmatch(text):
        kinds.add("initials")
    if lookup is not None and len(text) <= 200 and find_drug_names(text, lookup):
        kinds.add("drug")
    if re.search(r"[A-Za-z]{3}", text):
        kinds.add("text")
    return kinds


def _infer_columns(rows: list[list[Cell | None]], width: int,
                   lookup: DrugLookup | None) -> list[str | None]:
    votes: list[dict[str, int]] = [{} for _ in range(width)]
    filled = [0] * width
    for cells in rows:
        for index, cell in enumerate(cells[:width]):
            if cell is None or _is_blank(cell.text):
                continue
            filled[index] += 1
            for kind in _cell_kinds(cell, lookup):
                votes[index][kind] = votes[index].get(kind, 0) + 1
    keys: list[str | None] = [None] * width
    taken: set[str] = set()
    for kind in _PRIORITY:
        shares = [(votes[i].get(kind, 0) / filled[i], -i) for i in range(width)
                  if keys[i] is None and filled[i]]
        if shares and max(shares)[0] >= 0.5:
            keys[-max(shares)[1]] = kind
            taken.add(kind)
    # Free-text columns: the first is the drug (when no lookup found one), the next the comment.
    for index in range(width):
        if keys[index] is None and filled[index] and votes[index].get("text", 0) * 2 >= \
                filled[index]:
            if "drug" not in taken:
                keys[index] = "drug"
                taken.add("drug")
            elif "comment" not in taken:
                keys[index] = "comment"
                taken.add("comment")
    return keys


_SAMPLE_ROWS = 200  # columns are named from the first rows; a long export repeats itself
_EVIDENCE = {"time", "date", "dose", "route", "action", "rate", "start_time", "stop_time"}


# --- table assembly --------------------------------------------------------------------

def _build(text: str, style: str, lines: list[NoteLine], cell_rows: list[list[Cell | None]],
           lookup: DrugLookup | None) -> Table | None:
    """Name the columns and make the table (None when a fixed block is not a table)."""
    width = max(len(c) for c in cell_rows)
    header_keys = _header_keys(cell_rows[0])
    data_lines, data_cells = lines, cell_rows
    header: TableRow | None = None
    if header_keys is not None:
        keys = header_keys + [None] * (width - len(header_keys))
        data_lines, data_cells = lines[1:], cell_rows[1:]
        if not data_cells:
            return None
    else:
        keys = _infer_columns(cell_rows[:_SAMPLE_ROWS], width, lookup)
        if style == "fixed" and len({k for k in keys if k in _EVIDENCE}) < 2:
            return None  # aligned prose is not a table
    columns = _name_columns(keys)
    if header_keys is not None:
        header = TableRow(lines[0].start, lines[0].end,
                          {columns[i]: c for i, c in enumerate(cell_rows[0]) if c is not None})
    rows = [TableRow(line.start, line.end,
                     {columns[i]: c for i, c in enumerate(cells[:width]) if c is not None})
            for line, cells in zip(data_lines, data_cells, strict=True)]
    return Table(lines[0].start, lines[-1].end, style, columns, rows, header)


def _kind_of(text: str, line: NoteLine) -> str:
    body = text[line.start:line.end]
    if not body.strip():
        return "blank"
    if "\t" in body and body.strip(" \t"):
        return "tab"
    if body.count("|") >= 1 and len(_split(text, line, "|")) >= 2:
        return "pipe"
    if re.search(r"\S {2,}\S", body):
        return "fixed"
    return "other"


def _delimited_tables(text: str, lines: list[NoteLine], style: str,
                      lookup: DrugLookup | None) -> Table | None:
    sep = "|" if style == "pipe" else "\t"
    members: list[NoteLine] = []
    cell_rows: list[list[Cell | None]] = []
    for line in lines:
        if style == "pipe" and _PIPE_RULE.fullmatch(text, line.start, line.end):
            continue  # a markdown rule |---|---|
        members.append(line)
        cell_rows.append([_cell(text, a, b) for a, b in _split(text, line, sep)])
    if len(members) < 2:
        return None
    return _build(text, style, members, cell_rows, lookup)


def _runs_of_cells(text: str, lines: list[NoteLine], style: str) -> Iterator[list[NoteLine]]:
    """Consecutive lines of one delimited style with a consistent cell count."""
    sep = "|" if style == "pipe" else "\t"
    block: list[NoteLine] = []
    width = 0
    for line in lines:
        if style == "pipe" and _PIPE_RULE.fullmatch(text, line.start, line.end):
            if block:
                block.append(line)
            continue
        count = len(_split(text, line, sep))
        # Rows may drop empty trailing cells; more cells than the first row starts anew.
        if block and count <= width:
            block.append(line)
            continue
        if block:
            yield block
        block, width = [line], count
    if block:
        yield block


def _space_mask(text: str, line: NoteLine) -> bytearray:
    return bytearray(1 if text[i] == " " else 0 for i in range(line.start, line.end))


def _gutters(mask: bytearray, length: int, min_width: int) -> list[tuple[int, int]]:
    """Column runs that are blank (or past the end) in every line of a block."""
    runs: list[tuple[int, int]] = []
    col = 0
    while col < length:
        if col < len(mask) and mask[col]:
            begin = col
            while col < length and (col >= len(mask) or mask[col]):
                col += 1
            if begin > 0 and col < length and col - begin >= min_width:
                runs.append((begin, col))
        else:
            col += 1
    return runs


class _FixedBlock:
    """A fixed-column block grown line by line; gutters only ever shrink."""

    def __init__(self, text: str, first: NoteLine):
        self.text = text
        self.lines = [first]
        self.rules: list[NoteLine] = []
        self.mask = _space_mask(text, first)
        self.length = first.end - first.start
        self.gutters: list[tuple[int, int]] = []

    def _merge(self, line: NoteLine) -> tuple[bytearray, int]:
        other = _space_mask(self.text, line)
        length = max(self.length, len(other))
        mask = bytearray(length)
        for col in range(length):
            a = self.mask[col] if col < len(self.mask) else 1
            b = other[col] if col < len(other) else 1
            mask[col] = a & b
        return mask, length

    def add(self, line: NoteLine) -> bool:
        if _FIXED_RULE.fullmatch(self.text, line.start, line.end):
            self.rules.append(line)
            return True
        mask, length = self._merge(line)
        if len(self.lines) == 1:
            gutters = _gutters(mask, length, 2)
            if not gutters:
                return False
        else:
            # Each gutter must survive as exactly one (maybe narrower) gutter: losing one
            # merges two columns, a character inside one splits it.
            gutters = []
            candidates = _gutters(mask, length, 1)
            j = 0
            for a, b in self.gutters:  # both lists are sorted: one sweep
                while j < len(candidates) and candidates[j][1] <= a:
                    j += 1
                k = j
                while k < len(candidates) and candidates[k][0] < b:
                    k += 1
                if k - j != 1:
                    return False
                gutters.append(candidates[j])
        self.mask, self.length, self.gutters = mask, length, gutters
        self.lines.append(line)
        return True

    def cells(self) -> list[list[Cell | None]]:
        bounds = [0] + [c for g in self.gutters for c in g] + [self.length]
        spans = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
        rows: list[list[Cell | None]] = []
        for line in self.lines:
            width = line.end - line.start
            row: list[Cell | None] = []
            for index, (a, b) in enumerate(spans):
                b = width if index == len(spans) - 1 else b  # the last column runs to the end
                row.append(_cell(self.text, line.start + min(a, width),
                                 line.start + min(b, width)))
            rows.append(row)
        return rows


def _grow_fixed(text: str, lines: list[NoteLine], kinds: list[str], i: int) -> _FixedBlock:
    block = _FixedBlock(text, lines[i])
    j = i + 1
    while j < len(lines) and kinds[j] in ("fixed", "rule") and block.add(lines[j]):
        j += 1
    while block.rules and block.rules[-1].start > block.lines[-1].start:
        block.rules.pop()  # a trailing rule belongs after the table, not to it
    return block


def _fixed_tables(text: str, lines: list[NoteLine], kinds: list[str],
                  lookup: DrugLookup | None) -> Iterator[Table]:
    i = 0
    cached: dict[int, _FixedBlock] = {}
    while i < len(lines):
        if kinds[i] != "fixed":
            i += 1
            continue
        block = cached.pop(i, None) or _grow_fixed(text, lines, kinds, i)
        size = len(block.lines)
        if size == 2 and i + 1 < len(lines):
            # A lead-in line ("MAR:  see below") may pair with the header by chance;
            # prefer the longer block that starts one line later.
            later = _grow_fixed(text, lines, kinds, i + 1)
            if len(later.lines) >= 3:
                cached[i + 1] = later
                i += 1
                continue
        if size < 2 or not block.gutters:
            i += 1
            continue
        if size >= 3:
            cells = block.cells()
            if _header_keys(cells[0]) is None and _header_keys(cells[1]) is not None:
                i += 1  # a lead-in line ("MAR:   see below") above the header
                continue
        table = _build(text, "fixed", block.lines, block.cells(), lookup)
        if table is not None:
            yield table
        # Skip the whole block even when it is not a table: regrowing from each of its
        # lines would make long runs of aligned prose quadratic.
        i += size + sum(1 for r in block.rules if r.start < block.lines[-1].start)


def find_tables(text: str, lookup: DrugLookup | None = None) -> list[Table]:
    """Pipe, tab and fixed-column tables in a note, in text order.

    A table needs at least two lines (header included) of one layout: the same
    number of pipe/tab cells (rows may drop trailing empty cells), or columns aligned
    by runs of two or more spaces. Without a header, columns are named from their
    cells (clock time, dose, route word, action word...; a drug when ``lookup`` knows
    it, else the first free-text column); a header-less fixed block needs two such
    columns. Empty cells are left out of ``TableRow.cells``.
    """
    if not isinstance(text, str) or not text:
        return []
    lines = list(note_lines(text))
    kinds = [_kind_of(text, line) for line in lines]
    for index, line in enumerate(lines):
        check_budget()
        if kinds[index] in ("fixed", "other") and _FIXED_RULE.fullmatch(text, line.start,
                                                                         line.end):
            kinds[index] = "rule"
    tables: list[Table] = []
    for style in ("pipe", "tab"):
        group: list[NoteLine] = []
        for index, line in enumerate([*lines, None]):
            is_member = line is not None and (kinds[index] == style or (
                style == "pipe" and kinds[index] == "rule" and group))
            if is_member:
                group.append(line)
                continue
            for run in _runs_of_cells(text, group, style):
                table = _delimited_tables(text, run, style, lookup)
                if table is not None:
                    tables.append(table)
            group = []
    tables.extend(_fixed_tables(text, lines, kinds, lookup))
    return sorted(tables, key=lambda t: t.start)


# --- joining rows into administrations -------------------------------------------------

@dataclass
class _Open:
    """An administration being assembled from rows (mutable until `_freeze`)."""

    drug: Cell
    generic: str
    rows: list[TableRow] = field(default_factory=list)
    status: str = "given"
    kind: str = "infusion"
    start: ClockAt | None = None
    stop: ClockAt | None = None
    paused_minutes: int = 0
    paused_at: ClockAt | None = None  # set while paused; never restarted -> it ended there
    closed: bool = False
    amended_dose: Cell | None = None


def _first_cell(rows: list[TableRow], key: str) -> Cell | None:
    for row in rows:
        cell = row.cells.get(key)
        if cell is not None and not _is_blank(cell.text):
            return cell
    return None


def _freeze(draft: _Open) -> MarAdministration:
    stop = draft.stop
    paused = draft.paused_minutes
    if draft.paused_at is not None and stop is None:
        stop = draft.paused_at  # paused or stopped and never restarted: it ended there
    elif draft.paused_at is not None and stop is not None:
        paused += minutes_between(draft.paused_at, stop)  # paused until "Completed"
    return MarAdministration(
        drug=draft.drug, generic=draft.generic, rows=list(draft.rows), status=draft.status,
        start=draft.start, stop=stop, paused_minutes=paused,
        dose=_first_cell(draft.rows, "dose"), route=_first_cell(draft.rows, "route"),
        action=_first_cell(draft.rows, "action"), kind=draft.kind,
        amended_dose=draft.amended_dose)


def _row_drug(text: str, row: TableRow, lookup: DrugLookup) -> tuple[str, Cell] | None:
    """(generic, evidence cell) named by a row; None when the row only says "-"/ditto."""
    cell = row.cells.get("drug")
    if cell is not None:
        if _is_blank(cell.text):
            return None
        names = find_drug_names(text, lookup, cell.start, cell.end)
        if names:
            entry = next((e for e, _, _ in names if not e.is_fluid), names[0][0])
            return entry.generic, cell
        word = re.search(r"[A-Za-z][A-Za-z0-9\-]*", cell.text)
        return (word.group(0).lower() if word else cell.text.lower()), cell
    for key, other in row.cells.items():
        if key in ("time", "date", "initials", "comment"):
            continue  # a comment may name another drug ("next cefepime dose tonight")
        names = find_drug_names(text, lookup, other.start, other.end)
        drugs = [n for n in names if not n[0].is_fluid] or names
        if drugs:
            entry, a, b = drugs[0]
            return entry.generic, Cell(text[a:b], a, b)
    return None


_ACTION_KEYS = ("action", "comment")
_CONTINUES = {"pause", "held", "stopped", "restart", "rate_change", "stop", "disconnect"}


_BAG_MARKER = re.compile(r"\[\s*(begin|start|hang|end|stop)\s+bag\b", re.I)


_AMENDED = re.compile(r"\b(?:amend(?:ed|ment)?|correct(?:ed|ion)|revised|edited|"
                      r"(?:entered|charted|documented)\s+in\s+error)\b", _I)


def _amends(row: TableRow) -> bool:
    """The row is an audit trail's amendment of an earlier row (its action cell, or the
    row's text when the table has no action column, says amended / corrected / in error)."""
    cell = row.cells.get("action")
    cells = [cell] if cell is not None else list(row.cells.values())
    return any(_AMENDED.search(c.text) for c in cells)


def _amend(done: list[_Open], running: dict[str, _Open], generic: str, at: ClockAt | None,
           action: str, row: TableRow) -> bool:
    """Apply an amendment row to the latest administration of the same drug charted at the
    same time: a "not given" amendment ("documented on wrong patient; NOT given") withdraws
    it, one with a dose corrects its dose. False when the row amends no earlier row."""
    target = next((d for d in reversed(done) if d.generic == generic and d.status == "given"
                   and (at is None or (d.start is not None and d.start[:2] == at[:2]))), None)
    if target is None:
        return False
    target.rows.append(row)
    if action == "not_given":
        target.status, target.kind = "not_given", "none"
        running.pop(generic, None)
        return True
    dose = row.cells.get("dose")
    if dose is not None and not _is_blank(dose.text):
        target.amended_dose = dose
    return True


_HEADER_LINES = 4  # lines above a drugless table searched for the drug it charts


def _header_drug(text: str, table: Table, lookup: DrugLookup) -> tuple[str, Cell] | None:
    """The last drug (not a fluid) named in the few lines above a table that has no drug
    column, when its rows name no drug of their own at their start: the drug the table
    charts. None when those lines name none."""
    lo = table.start
    for _ in range(_HEADER_LINES + 1):
        lo = text.rfind("\n", 0, lo - 1) if lo > 0 else -1
        if lo < 0:
            break
    names = [n for n in find_drug_names(text, lookup, lo + 1, table.start) if not n[0].is_fluid]
    if not names:
        return None
    entry, a, b = names[-1]
    return entry.generic, Cell(text[a:b], a, b)


def _row_action(row: TableRow) -> str:
    # "NOT GIVEN - dc'd by MD" counts in whichever column it was typed.
    if any(classify_action(c.text) == "not_given" for c in row.cells.values()):
        return "not_given"
    # "Admin ... [Begin Bag]" / "Admin ... [End Bag - infused 1,000 mL]" (a Cerner export):
    # the bag marker, in whichever column, says the row starts or ends an infusion.
    for cell in row.cells.values():
        marker = _BAG_MARKER.search(cell.text)
        if marker:
            return "start" if marker.group(1).lower() in ("begin", "start", "hang") else "stop"
    for key in _ACTION_KEYS:
        cell = row.cells.get(key)
        if cell is not None:
            kind = classify_action(cell.text)
            if kind != "other":
                return kind
    for key, cell in row.cells.items():
        if key not in _ACTION_KEYS and key not in ("time", "date", "initials"):
            kind = classify_action(cell.text)
            if kind != "other":
                return kind
    return "other"


def _row_times(text: str, row: TableRow) -> tuple[ClockAt | None, ClockAt | None,
                                                     ClockAt | None]:
    """(row time, range start, range stop); a range is read from non-time cells."""
    at = None
    for key in ("time", "start_time"):
        cell = row.cells.get(key)
        if cell is not None and (at := cell_time(cell)) is not None:
            break
    stop_cell = row.cells.get("stop_time")
    stop_at = cell_time(stop_cell) if stop_cell is not None else None
    start_at = cell_time(row.cells["start_time"]) if "start_time" in row.cells else None
    if start_at is not None or stop_at is not None:
        return at, start_at, stop_at
    for key, cell in row.cells.items():
        # A "time" cell may hold the range itself ("| 10:15-10:50 | carboplatin |").
        if key in ("date", "start_time", "stop_time") or len(cell.text) > 300 or (
                key == "time" and at is not None):
            continue
        ranges = find_time_ranges(cell.text)
        if ranges:
            r = ranges[0]
            return at, (r.first.hour, r.first.minute, cell.start + r.first.start,
                        cell.start + r.first.end), (r.second.hour, r.second.minute,
                                                    cell.start + r.second.start,
                                                    cell.start + r.second.end)
    return at, None, None


def _apply(draft: _Open, action: str, at: ClockAt | None, first: ClockAt | None,
           last: ClockAt | None) -> None:
    """Update an open administration with one of its later rows."""
    if action in ("pause", "held", "stopped"):
        if draft.paused_at is None and at is not None:
            draft.paused_at = at
    elif action == "restart":
        if draft.paused_at is not None and at is not None:
            draft.paused_minutes += minutes_between(draft.paused_at, at)
        draft.paused_at = None
    elif action in ("stop", "disconnect"):
        if draft.start is None and first is not None:
            draft.start = first
        draft.stop = last or at
        draft.closed = True
    elif action == "start" and draft.paused_at is not None:
        _apply(draft, "restart", at, first, last)  # "Started" again after a pause


def mar_administrations(text: str, lookup: DrugLookup,
                        tables: list[Table] | None = None) -> list[MarAdministration]:
    """Administrations read from the MAR tables of a note, in order of their first row.

    Rows are joined by drug generic (a row whose drug cell is "-"/ditto continues the
    drug of the row above; in a table without a drug column, where drugs are read from
    the other cells but never the comment, a row naming none continues the drug above
    only when it pauses, restarts, changes the rate of or stops that running drug).
    Started opens, Completed/Stopped-and-never-restarted
    closes, Paused/Held/Stopped -> Restarted/Resumed adds paused minutes, Rate change
    and other rows join the running administration. A row Given/Pushed with one time
    is a push at that time; a row with a time range ("infusion complete 0905-1320")
    gives both ends; Not given/Refused/Declined (or Held with nothing running) make
    a ``not_given`` entry. A row with no action word and nothing running counts as given.
    """
    if not isinstance(text, str) or not text:
        return []
    tables = find_tables(text, lookup) if tables is None else tables
    done: list[_Open] = []
    running: dict[str, _Open] = {}
    for table in tables:
        previous: tuple[str, Cell] | None = None
        context = _header_drug(text, table, lookup) if "drug" not in table.columns else None
        for row in table.rows:
            action = _row_action(row)
            named = _row_drug(text, row, lookup)
            if named is None and previous is not None and (
                    "drug" in row.cells or ("drug" not in table.columns
                                            and action in _CONTINUES
                                            and previous[0] in running)):
                named = previous  # "-"/ditto, or an Event row "rate change" with no drug
            if named is None and context is not None and (
                    action in _CONTINUES or action in ("start", "restart")):
                # A rate-escalation table under its drug's line ("Riabni 1000 mg in 500 mL
                # NS" / "0920 | 100 | 50 | start" ... "1305 | complete"): that drug's rows,
                # even after a row of another drug given during a pause.
                named = context
            if named is None:
                continue
            previous = named
            generic, cell = named
            at, first, last = _row_times(text, row)
            if _amends(row) and _amend(done, running, generic, at, action, row):
                continue
            draft = running.get(generic)
            if draft is not None and action in ("start", "given") and draft.paused_at is None:
                draft = None  # a second bag or a push of a drug already running
            if draft is not None and action in ("not_given", "ordered"):
                draft.rows.append(row)
                continue
            if draft is not None:
                draft.rows.append(row)
                _apply(draft, action, at, first, last)
                if draft.closed:
                    running.pop(generic, None)
                continue
            draft = _Open(cell, generic, [row])
            done.append(draft)
            if action in ("not_given", "held", "ordered"):
                draft.status, draft.kind = "not_given", "none"
                continue
            if first is not None and last is not None:
                draft.start, draft.stop, draft.closed = first, last, True
                continue
            if action in ("given", "other"):
                draft.kind = "push"
                draft.start = at
                draft.closed = True
                continue
            if action in ("stop", "disconnect") or (last is not None and first is None):
                draft.stop, draft.closed = last or at, True
                continue
            if action in ("pause", "stopped"):
                draft.paused_at = at
            else:  # start, restart, rate change: it is running from here
                draft.start = at if action != "rate_change" else None
            running[generic] = draft
    done.sort(key=lambda d: d.rows[0].start)
    return [_freeze(d) for d in done]
