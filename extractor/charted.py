"""Charted records: MAR tables and timestamped flowsheet lines joined into administrations.

The narrative reader (`extractor.administrations`) opens one draft per drug mention. Here
the drafts are corrected by what the chart's structure says:
- a MAR drug whose "Started" and "Completed" rows are on separate lines is ONE draft with
  the start of one row, the stop of the other and the paused minutes between rows
  (`extractor.mar_tables`); rows that were not given open nothing;
- a flowsheet line "1505 infusion complete", "1420 paused", "1440 restarted" or
  "1300 infusion started, 250 mL NS" belongs to the administration that is running, as
  `extractor.flowsheet.attribute_events` decides: the stop goes to infliximab, not to the
  saline that carries it, and a pause and restart are one episode with the paused time
  removed (only the drug's running time counts: RULES.md section 1).
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from extractor.flowsheet import FlowsheetEvent, attribute_events, flowsheet_events
from extractor.lexicon import DrugName, drug_names
from extractor.mar_tables import (
    ClockAt,
    MarAdministration,
    Table,
    find_tables,
    mar_administrations,
    name_first_words,
)
from extractor.nlp import doc_text
from extractor.quantities import find_amounts
from notecoder.schema import Method, Quantity, Route, Span

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from extractor.administrations import Draft

_DAY = 24 * 60
# Events that change an administration already running; the line's own mention of the
# drug ("2358 NS restarted, same bag") is that administration, not a new one.
_CHANGES = frozenset({"stop", "pause", "restart", "rate_change", "disconnect"})


def lookup(text: str) -> DrugName | None:
    """Surface name (lower case, single spaces) -> lexicon entry."""
    return drug_names().get(text)


@cache
def _first_words() -> frozenset[str]:
    return name_first_words(drug_names())


lookup.first_words = _first_words  # find_drug_names tries names only from these words


def _time(clock: ClockAt) -> dt.time:
    return dt.time(clock[0], clock[1])


def _set_time(draft: Draft, name: str, clock: ClockAt) -> None:
    draft.fields[name] = _time(clock)
    draft.spans[name] = Span(start=clock[2], end=clock[3])


class _DraftsByPlace:
    """The drafts of a note found by position in O(log n): those on a line, and the last
    of a drug before an offset (linear cost in note length, not lines x drafts). Drafts
    are told apart by identity (a dataclass compare of two drafts walks all their fields)."""

    def __init__(self, drafts: list[Draft]) -> None:
        self.ordered = sorted(drafts, key=lambda d: d.mention.start_char)
        self.starts = [d.mention.start_char for d in self.ordered]
        self.of_drug: dict[str, list[Draft]] = {}
        self.drug_starts: dict[str, list[int]] = {}
        for draft in self.ordered:
            self.of_drug.setdefault(draft.entry.generic, []).append(draft)
            self.drug_starts.setdefault(draft.entry.generic, []).append(
                draft.mention.start_char)

    def on(self, start: int, end: int) -> list[Draft]:
        return self.ordered[bisect.bisect_left(self.starts, start):
                            bisect.bisect_left(self.starts, end)]

    @staticmethod
    def _index(drafts: list[Draft], starts: list[int], draft: Draft) -> int:
        i = bisect.bisect_left(starts, draft.mention.start_char)
        while drafts[i] is not draft:
            i += 1
        return i

    def remove(self, draft: Draft) -> None:
        i = self._index(self.ordered, self.starts, draft)
        del self.ordered[i], self.starts[i]
        generic = draft.entry.generic
        j = self._index(self.of_drug[generic], self.drug_starts[generic], draft)
        del self.of_drug[generic][j], self.drug_starts[generic][j]

    def target(self, generic: str, line_end: int) -> Draft | None:
        """The last administration of the drug named before the line ends, else its first."""
        same = self.of_drug.get(generic, [])
        if not same:
            return None
        before = bisect.bisect_left(self.drug_starts[generic], line_end)
        return same[before - 1] if before else same[0]


@dataclass
class Chart:
    """The charted structure of one note, read once."""

    tables: list[Table]
    administrations: list[MarAdministration]
    events: list[tuple[FlowsheetEvent, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # MAR tables and flowsheet lines never overlap (events skip the MAR tables), so the
        # line holding an offset is one binary search over their sorted starts.
        spans = [(t.start, t.end, t) for t in self.tables if "drug" in t.columns]
        spans += [(e.line[0], e.line[1], None) for e, _generic in self.events]
        self._spans = sorted(spans, key=lambda s: s[0])
        self._span_starts = [s[0] for s in self._spans]
        self._generic_on: dict[tuple[int, int], str] = {}
        for event, generic in self.events:
            if generic is not None:
                self._generic_on.setdefault(event.line, generic)

    def generic_on(self, line: tuple[int, int]) -> str | None:
        """The drug the first flowsheet event of a line belongs to, if any."""
        return self._generic_on.get(line)

    def line_of(self, start: int) -> tuple[int, int] | None:
        """The table row (or table) or flowsheet line holding offset `start`, if any."""
        i = bisect.bisect_right(self._span_starts, start) - 1
        if i < 0 or start >= self._spans[i][1]:
            return None
        span_start, span_end, table = self._spans[i]
        if table is None:
            return (span_start, span_end)
        row = next((r for r in table.rows if r.start <= start < r.end), None)
        return (row.start, row.end) if row else (table.start, table.end)


def read_chart(text: str) -> Chart:
    """Tables, MAR administrations and attributed flowsheet events of a note."""
    tables = find_tables(text, lookup)
    administrations = mar_administrations(text, lookup, tables)
    # A table with no drug column ("1000  infusion start L FA") is a flowsheet: its lines
    # are read as events; a MAR's rows are not read twice.
    mars = [t for t in tables if "drug" in t.columns]
    events = flowsheet_events(text, lookup, skip=[(t.start, t.end) for t in mars])
    return Chart(tables, administrations, attribute_events(events))


def apply_tables(drafts: list[Draft], chart: Chart, doc: Doc,
                 fill: Callable[[Draft, int, int], None],
                 not_today: Callable[[int], bool] = lambda _offset: False) -> list[Draft]:
    """One draft per MAR administration: the drafts its rows opened are joined into the
    first one; a row never given, or in a table that is not today's record (`not_today`),
    removes its drafts. `fill(draft, start, end)` reads the remaining fields (dose, route,
    waste) of a row into the draft."""
    from extractor.administrations import Draft

    place = _DraftsByPlace(drafts)
    taken: set[int] = set()
    for mar in chart.administrations:
        rows = [(r.start, r.end) for r in mar.rows]
        inside = sorted((d for s, e in rows for d in place.on(s, e)
                         if d.entry.generic == mar.generic and id(d) not in taken),
                        key=lambda d: d.mention.start_char)
        taken.update(id(d) for d in inside)
        for d in inside:
            drafts.remove(d)
        if mar.status != "given" or not_today(mar.drug.start):
            continue  # a med-rec or infusion-history table is not today's record
        base = inside[0] if inside else None
        if base is None:
            mention = doc.char_span(mar.drug.start, mar.drug.end, alignment_mode="expand")
            entry = lookup(mar.drug.text.lower()) or _by_generic(mar.generic)
            if mention is None or entry is None:
                continue
            base = Draft(mention, entry, (mar.rows[0].start, mar.rows[0].end))
        for name in ("start", "stop"):
            clock = getattr(mar, name)
            if clock is not None:
                _set_time(base, name, clock)
            elif name == "stop" and mar.kind != "push":
                base.fields.pop("stop", None)
                base.spans.pop("stop", None)
        if mar.paused_minutes:
            base.fields["paused_minutes"] = mar.paused_minutes
        if mar.kind == "push" and "method" not in base.fields and mar.route is not None:
            route = mar.route.text.lower()
            if "push" in route or "ivp" in route:
                base.set("method", Method.PUSH, mar.route.start, mar.route.end)
            elif _iv_injection(mar, doc_text(doc)):
                base.set("method", Method.PUSH, mar.drug.start, mar.drug.end)
        if mar.amended_dose is not None:
            # The amendment's dose is the one given ("dose entered as 30 mg in error").
            base.fields.pop("dose", None)
            base.spans.pop("dose", None)
            fill(base, mar.amended_dose.start, mar.amended_dose.end)
        for s, e in rows:
            fill(base, s, e)
        drafts.append(base)
    return sorted(drafts, key=lambda d: d.mention.start_char)


_IV_ROUTE = re.compile(r"^\s*(?:intravenous(?:ly)?|IV)\s*$", re.I)
_INJECTION_FORM = re.compile(r"\binjection\b", re.I)
_INFUSION_WORDS = re.compile(r"\b(?:infusion|infuse[ds]?|IVPB|piggyback|bag|drip|premix|"
                             r"mL/h(?:r|our)?|in (?:NS|D5W|LR|sodium chloride|dextrose))\b", re.I)


def _iv_injection(mar: MarAdministration, text: str) -> bool:
    """A MAR row given at one time whose order is an "injection" by the intravenous route
    ("ketorolac (TORADOL) injection 15 mg | Intravenous | Given | 03:12", an Epic MAR) is an
    IV push: CPT and CMS Pub 100-04 ch. 12 s.30.5 read an IV injection given at one time,
    with no infusion documented, as a push (RULES.md R-ADMIN-01)."""
    if mar.route is None or not _IV_ROUTE.match(mar.route.text):
        return False
    if not _INJECTION_FORM.search(mar.drug.text):
        return False
    return not any(_INFUSION_WORDS.search(text, r.start, r.end) for r in mar.rows)


def _by_generic(generic: str) -> DrugName | None:
    return next((e for e in drug_names().values() if e.generic == generic), None)


def stamp_line_times(drafts: list[Draft], chart: Chart) -> list[Draft]:
    """A drug named on a timed line takes the line's time when its own clause has none
    ("0025  CIWA 16, still tremulous - LORazepam 2 mg IV"), before one-drug merging, so a
    second dose at a new time stays a second dose."""
    place = _DraftsByPlace(drafts)
    for event, generic in chart.events:
        if generic is None or event.kind not in ("start", "given"):
            continue
        for draft in place.on(*event.line):
            if draft.entry.generic == generic and "start" not in draft.fields:
                _set_time(draft, "start", event.time)
    return drafts


def drop_change_mentions(drafts: list[Draft], chart: Chart) -> list[Draft]:
    """A flowsheet line that pauses, restarts, stops or changes the rate of a running drug
    names that drug; its mention opens no new administration (the change is applied to the
    running one by `apply_events`)."""
    place = _DraftsByPlace(drafts)
    changed: set[int] = set()
    for event, generic in chart.events:
        if generic is not None and event.kind in _CHANGES:
            changed.update(id(d) for d in place.on(*event.line) if d.entry.generic == generic)
    kept: list[Draft] = []
    last: dict[str, Draft] = {}
    for d in drafts:
        if _complete(d) or id(d) not in changed:
            kept.append(d)
            last[d.entry.generic] = d
        elif d.entry.generic in last:
            _carry_waste(last[d.entry.generic], d)
    return kept


_WASTE_FIELDS = ("no_waste", "wasted", "container")


def _carry_waste(target: Draft, change: Draft) -> None:
    """"0940 Reclast complete - entire bottle infused": what a change line says of the
    container is the running administration's (R-MOD-JW/JZ), though its mention opens none."""
    for name in _WASTE_FIELDS:
        if name in change.fields and name in change.spans:
            span = change.spans[name]
            target.set(name, change.fields[name], span.start, span.end)


def _complete(draft: Draft) -> bool:
    """A line that records a whole administration ("1840 ceftriaxone 1 g IVPB start -> 1910
    complete", "NS bolus complete (1300-1405)") is a record, not only a change."""
    start, stop = draft.fields.get("start"), draft.fields.get("stop")
    return start is not None and stop is not None and start != stop


_NEXT_BAG = re.compile(r"\b(?:bag|bottle)\s*#?\s*[2-9]\b[^\n]{0,40}\b"
                       r"(?:hung|started|start|spiked)\b"
                       r"|\bnew bag\b|#\s*[2-9]\b[^\n;]{0,12}\b(?:hung|started|spiked)\b", re.I)


def _add_bag_dose(target: Draft, after: str, same: Quantity | None = None) -> None:
    """"bag #1 complete; bag #2 KCl 10 mEq/100 mL hung": the second bag's dose is given
    too, in the same infusion (R-ADMIN-09), so the drug's units count both bags (R-UNITS-01:
    units from the total amount given). A next bag that states no dose ("10:42 Bag 2
    START") repeats the first bag's (`same`)."""
    amounts = [a for a in find_amounts(after) if a.kind == "dose" and not a.per_kg
               and not a.per_m2]
    if amounts:
        target.add_dose(Quantity(value=amounts[0].value, unit=amounts[0].unit))
    elif same is not None:
        target.add_dose(same)


def apply_events(drafts: list[Draft], chart: Chart, text: str) -> list[Draft]:
    """Flowsheet events applied to the administration each belongs to: a start named only
    by its diluent, the stop, and pause/restart pairs (paused minutes)."""
    place = _DraftsByPlace(drafts)
    paused_at: dict[int, int] = {}
    next_bag: Draft | None = None  # "bag #1 complete; bag #2 hung": the next stop extends it
    bag_dose: dict[int, Quantity | None] = {}  # the first bag's dose of a chain of bags
    for event, generic in chart.events:
        if generic is None:
            if next_bag is not None and event.kind == "stop":
                _set_time(next_bag, "stop", event.time)
                # "11:42 Bag 2 COMPLETE.  11:45 Bag 3 START.": the chain of bags goes on.
                line = text[event.line[0]:event.line[1]]
                bag = _NEXT_BAG.search(line)
                if bag is not None:
                    _add_bag_dose(next_bag, line[bag.start():], bag_dose.get(id(next_bag)))
                else:
                    next_bag = None
            continue
        target = place.target(generic, event.line[1])
        if target is None:
            continue
        named = {g for g, _, _ in event.drugs}
        minute = event.time[0] * 60 + event.time[1]
        if event.kind in ("start", "given") and generic in named and "start" not in target.fields:
            # "1350  Pt still nauseated. Reglan 10 mg IVP": the line's time is the drug's.
            _set_time(target, "start", event.time)
        elif event.kind == "start" and generic not in named:
            # "1300 infusion started, 250 mL NS" under "Infliximab ... 400 mg": the saline on
            # this line is the drug's diluent, not a second infusion.
            if "start" not in target.fields:
                _set_time(target, "start", event.time)
            carriers = [d for d in place.on(*event.line)
                        if d.entry.is_fluid and d.entry.generic in named]
            for carrier in carriers:
                drafts.remove(carrier)
                place.remove(carrier)
                target.fields.setdefault("diluent", carrier.entry.generic)
        elif event.kind in ("stop", "disconnect"):
            if target.fields.get("method") == Method.PUSH:
                continue  # a push is over when it is given; nothing of it runs
            if "start" in target.fields and "stop" not in target.fields:
                _set_time(target, "stop", event.time)
            line = text[event.line[0]:event.line[1]]
            # "10:40 Bag 1 COMPLETE.  10:42 Bag 2 START.": a line naming no drug is the
            # running one's.
            bag = _NEXT_BAG.search(line) if generic in named or not named else None
            if bag is not None:
                next_bag = target
                bag_dose.setdefault(id(target), target.fields.get("dose"))
                _add_bag_dose(target, line[bag.start():], bag_dose[id(target)])
        elif event.kind == "pause":
            paused_at[id(target)] = minute
        elif event.kind == "restart" and id(target) in paused_at:
            gap = (minute - paused_at.pop(id(target))) % _DAY
            target.fields["paused_minutes"] = target.fields.get("paused_minutes", 0) + gap
    _orphan_run_times(drafts, chart)
    return drafts


def _orphan_run_times(drafts: list[Draft], chart: Chart) -> None:
    """A rate-titration table under the drug it titrates names no drug on its rows
    ("09:30  50  25  124/78 ..." ... "13:45 bag empty - infusion complete"): when no row of
    the run belongs to a drug and it ends in an explicit stop, the run is the infusion of
    the one drug infusion of the note that has no times of its own (R-ADMIN-02: times from
    the record). With two or more such drugs nothing is guessed (a CDI query follows)."""
    untimed = [d for d in drafts if not d.entry.is_fluid and "start" not in d.fields
               and "stop" not in d.fields and d.fields.get("method") != Method.PUSH
               and d.fields.get("route") not in (Route.ORAL, Route.SC, Route.IM)
               and "dose" in d.fields]
    if len(untimed) != 1:
        return
    run: list = []
    for event, generic in chart.events:
        if generic is not None or event.drugs:
            run = []
            continue
        if event.kind == "stop" and len(run) >= 2 and all(e.kind == "other" for e in run):
            _set_time(untimed[0], "start", run[0].time)
            _set_time(untimed[0], "stop", event.time)
            return
        run.append(event)
