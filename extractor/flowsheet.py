"""Timestamped flowsheet lines: one charted event per line with a leading time.

ED and infusion flowsheets chart ``1300  NS 1000 mL bolus started via pump``,
``1305  Zofran 4mg IVP``, ``1420 infusion paused - pt c/o chest tightness``,
``02/14 2310 ...``, ``@1415 ...``, ``14:15 - ...``. `flowsheet_events` classifies each
such line; `attribute_events` says which drug each event belongs to, following which
infusions are running (a push is over when it is given; a fluid that carries a drug
is not an infusion of its own).

Times are ``(hour, minute, span start, span end)`` in note offsets. Nothing here
raises on any input string, and the work is linear in the note length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractor.budget import check_budget
from extractor.dose_wording import names_a_reference
from extractor.lexicon import DrugName
from extractor.mar_tables import (
    ClockAt,
    DrugLookup,
    classify_action,
    find_drug_names,
    hour_of,
    note_lines,
)
from extractor.quantities import find_amounts

_I = re.IGNORECASE

DrugAt = tuple[str, int, int]
"""(generic, span start, span end) of a drug name in the note."""


@dataclass(frozen=True)
class FlowsheetEvent:
    """One charted line.

    ``kind`` is start, stop, pause, restart, rate_change, given, disconnect, not_given
    or other. ``drugs`` are the drug names on the line the lookup knows; ``fluids``
    the generics among them (and among ``context_drugs``) that are fluids.
    ``context_drugs`` are the drugs of the closest line above in the same paragraph
    that is not an event ("Infliximab 5 mg/kg = 400 mg", a header). ``bolus``/``pump``
    say the line mentions a bolus / a pump; ``volume_ml`` is the largest volume on it.
    """

    time: ClockAt
    kind: str
    line: tuple[int, int]
    drugs: list[DrugAt]
    generic_infusion: bool
    date: tuple[int, int, int, int] | None = None  # (month, day, span start, span end)
    context_drugs: list[DrugAt] = field(default_factory=list)
    fluids: frozenset[str] = frozenset()
    bolus: bool = False
    pump: bool = False
    volume_ml: float | None = None
    # Further drugs on a start/stop line whose own clause states that action too
    # ("oxaliplatin ... started; leucovorin ... started same time", "oxaliplatin and
    # leucovorin both complete"): the event is theirs as well.
    also: tuple[str, ...] = ()
    # The action is written in a clause that names no drug, and the drugs come in a later one
    # ("1030 HA 6/10 - INFUSION STOPPED. NS 250 mL bolus 1030-1045"): the action is the
    # running infusion's, as on an unnamed line.
    action_unnamed: bool = False
    rate: bool = False  # the line charts a pump rate ("1005 10 mL/h | 1020 20")


_LEAD = re.compile(
    r"[ \t]*(?:[-*•>]+[ \t]*)?"
    r"(?:(?P<date>(?P<mo>1[0-2]|0?[1-9])/(?P<dy>3[01]|[12]\d|0?[1-9])(?:/(?:\d{4}|\d{2}))?)"
    r"[ \t,]+)?"
    r"(?:@[ \t]?)?"
    # A "Time:" label before the clock ("Time: 08:15" on the line above "Action: ...").
    r"(?:time[ \t]*:[ \t]*)?"
    # A device export's ISO timestamp: '{"t":"2026-02-19T09:06:00","event":"START"}'.
    r"(?:\{?[ \t]*\"?(?:t|time|ts|timestamp)\"?[ \t]*[:=][ \t]*\"?\d{4}-\d{2}-\d{2}[T ])?"
    r"(?P<time>(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::[0-5]\d)?"  # "08:02:10" (pump logs)
    r"(?:[ \t]?(?P<mer>[ap])\.?m?\.?(?![a-z]))?"
    r"|(?P<h4>[01]\d|2[0-3])(?P<m4>[0-5]\d)(?:[ \t]?(?:hrs?|h)\b)?"
    r"|(?P<h12>1[0-2]|0?[1-9])[ \t]?(?P<mer12>[ap])\.?m\.?(?![a-z]))"
    r"(?![\d:])", _I)
_NOT_A_TIME_AFTER = re.compile(
    r"[ \t]?(?:mg|mcg|ug|ml|cc|g|gm|grams?|l|liters?|units?|meq|mmol|kg|lbs?|%)(?![a-z])"
    r"|[-/.]\d{1,2}[-/]|[.,]\d", _I)
_PROGRAMMED = re.compile(r"\b(?:program(?:med)?|vtbi|pump set up)\b", _I)
_NUMBER_COLUMNS = re.compile(r"(?:[ \t]+[\d./]+){2,}[ \t]*$")
_GENERIC_INFUSION = re.compile(
    r"(?<!\w)(?:infusion|infusing|bolus|drip|pump|bag|ivpb|piggyback|fluids?|gtt)(?!\w)", _I)
_BOLUS = re.compile(r"(?<!\w)bolus(?:ed)?(?!\w)", _I)
_PUMP = re.compile(r"(?<!\w)pump(?!\w)", _I)
_NOT_CONTEXT = re.compile(r"(?<!\w)(?:premed\w*|pre-med\w*|allerg\w*|home med\w*|"
                          r"prn|will|plan\w*)(?!\w)", _I)
_KINDS = {"held": "pause", "stopped": "stop"}
# A bolus finished and the same line running on at a new rate ("0110 LR bolus done -> LR 150
# mL/h continued for volume resuscitation"): the infusion goes on (R-ADMIN-09), a rate change.
_CONTINUED = re.compile(r"(?:->|→|=>|,|;|\bthen\b)[^;\n]{0,40}?\d+\s*(?:mL|cc)\s*/\s*h(?:r|our)?\b"
                        r"[^;\n]{0,20}?\bcontinu(?:ed|es|ing|e)\b"
                        r"|\bcontinu(?:ed|es|ing|e)\s+(?:at|@)\s*\d+\s*(?:mL|cc)\s*/\s*h", _I)
_RATE = re.compile(r"\d\s*(?:mL|cc)\s*/\s*h(?:r|our)?\b", _I)
_CLAUSE_END = re.compile(r"[;.](?:\s|$)")
_JOINED = re.compile(r"\s*(?:,|and|&|\+|/)\s*", _I)
_JOINED_AFTER_DOSE = re.compile(r"\s*[\d.,]+\s*(?:mg|g|mcg|units?)(?:/m2)?\s*(?:IV|IVPB)?\s*"
                                r"(?:and|&|\+)\s*", _I)


def _action_unnamed(text: str, start: int, end: int, names: list) -> bool:
    """The first clause of the line that states an action names no drug, and a later clause
    does ("INFUSION STOPPED. NS 250 mL bolus")."""
    if not names:
        return False
    pos = start
    for m in [*_CLAUSE_END.finditer(text, start, end), None]:
        clause_end = m.start() if m else end
        if classify_action(text[pos:clause_end]) in ("stop", "stopped", "held", "pause"):
            return not any(pos <= a < clause_end for _, a, _ in names)
        if any(pos <= a < clause_end for _, a, _ in names):
            return False
        pos = m.end() if m else end
    return False


def _also(text: str, kind: str, names: list[tuple[DrugName, int, int]], end: int) -> tuple:
    """Generics after the first drug on a start/stop line that the action names too: each
    drug whose clause (up to the next "; " or ". ") states the same action, or drugs joined
    by "and"/","/"&" in one clause with one action ("X and Y both complete")."""
    if kind not in ("start", "stop", "stopped"):
        return ()
    drugs = [(e.generic, a, b) for e, a, b in names if not e.is_fluid]
    found: list[str] = []
    for index, (generic, a, b) in enumerate(drugs[1:], start=1):
        previous_end = drugs[index - 1][2]
        if generic == drugs[0][0] or generic in found:
            continue
        if _JOINED.fullmatch(text, previous_end, a) or _JOINED_AFTER_DOSE.fullmatch(
                text, previous_end, a):
            # One clause, one action for the drugs it joins ("irinotecan 300 mg IV and
            # leucovorin 800 mg IV started together").
            found.append(generic)
            continue
        clause_end = _CLAUSE_END.search(text, b, end)
        clause = text[a:clause_end.start() if clause_end else end]
        split = _CLAUSE_END.search(text, previous_end, a)
        if split is not None and classify_action(clause) == kind:
            found.append(generic)
    return tuple(found)


# Only a time followed by a stop word: "-> 0935 200 mL/h" is a rate change, not a stop.
_LATER_STOP = re.compile(
    r"(?P<b>(?:[01]\d|2[0-3]):?[0-5]\d)\s+(?:end(?:ed|s)?|stop(?:ped|s)?|complete[ds]?|"
    r"finished|done|off)\b", _I)


def _later_stop(text: str, start: int, end: int) -> ClockAt | None:
    """The stop time a start line charts before a stop word ("0930 start -> 1034 end",
    "1300 infusion started, 1415 complete"), as (hour, minute, start, end)."""
    m = _LATER_STOP.search(text, start, end)
    if m is None:
        return None
    digits = m.group("b").replace(":", "")
    return int(digits[:2]), int(digits[2:]), m.start("b"), m.end("b")


def _leading_time(text: str, start: int, end: int) -> tuple[ClockAt, tuple | None, int] | None:
    m = _LEAD.match(text, start, end)
    if m is None:
        return None
    rest_at = m.end()
    if _NOT_A_TIME_AFTER.match(text, rest_at, end) or not (
            re.search(r"[A-Za-z]", text[rest_at:end])
            or (m.group("h") is not None and _NUMBER_COLUMNS.match(text, rest_at, end))):
        # "1000 mL NS ...", "2024-11-24", a bare number; a clock time before columns of
        # numbers ("08:50     50     25   118/70") is a table row.
        return None
    if m.group("h") is not None:
        hour = int(m.group("h"))
        if m.group("mer") and not 1 <= hour <= 12:
            return None
        hour, minute = hour_of(hour, m.group("mer")), int(m.group("m"))
    elif m.group("h4") is not None:
        hour, minute = int(m.group("h4")), int(m.group("m4"))
    else:
        hour, minute = hour_of(int(m.group("h12")), m.group("mer12")), 0
    date = None
    if m.group("date") is not None:
        date = (int(m.group("mo")), int(m.group("dy")), m.start("date"), m.end("date"))
    return (hour, minute, m.start("time"), m.end("time")), date, rest_at


# "1130 NS #1 complete. 1135 meropenem 1 g/NS 100 mL IVPB started": a second timed entry
# on the same line after a full stop is an event of its own.
_SECOND_ENTRY = re.compile(r"(?<=[.;])[ \t]+(?=(?:[01]\d|2[0-3])[0-5]\d[ \t]+[A-Za-z#])")


# "Time: 08:15" alone on a line, the event on the next ("Action: Hydromorphone 1 mg IV push").
_TIME_LABEL_LINE = re.compile(r"[ \t]*time[ \t]*:[ \t]*(?:[01]?\d|2[0-3]):?[0-5]\d[ \t]*$", _I)
_ACTION_LABEL = re.compile(r"[ \t]*(?:action|event|entry|note|intervention)[ \t]*:", _I)


def _charted_lines(text: str):
    """(start, end) of each line, a line holding two timed entries cut between them; a
    "Time:" line and the "Action:" line under it are one line."""
    label_start: int | None = None
    for line in note_lines(text):
        if label_start is not None:
            start, label_start = label_start, None
            if _ACTION_LABEL.match(text, line.start, line.end):
                yield start, line.end
                continue
            yield start, text.rfind("\n", start, line.start)
        if line.end - line.start <= 80 and _TIME_LABEL_LINE.fullmatch(text, line.start,
                                                                      line.end):
            label_start = line.start
            continue
        pos = line.start
        if line.end - line.start <= 2000:
            for m in _SECOND_ENTRY.finditer(text, line.start, line.end):
                if _leading_time(text, pos, m.start()) is not None:
                    yield pos, m.start()
                    pos = m.end()
        yield pos, line.end


def flowsheet_events(text: str, lookup: DrugLookup,
                     skip: Sequence[tuple[int, int]] = ()) -> list[FlowsheetEvent]:
    """Events of the lines that start with a time, in text order.

    ``skip`` holds spans to leave out (e.g. the spans of `find_tables`, so a MAR
    table is not read twice). A "stopped" line is a pause when the next start, stop,
    restart or disconnect event after it is a restart; otherwise a stop. "Held" is a
    pause.
    """
    if not isinstance(text, str) or not text:
        return []
    skips = sorted(skip)
    k = 0
    events: list[FlowsheetEvent] = []
    stopped: list[int] = []  # indexes of events charted as "stopped"
    context: list[DrugAt] = []
    context_fluids: frozenset[str] = frozenset()
    for start, end in _charted_lines(text):
        check_budget()
        while k < len(skips) and skips[k][1] <= start:
            k += 1
        if k < len(skips) and skips[k][0] < end and start < skips[k][1]:
            continue
        if not text[start:end].strip():
            context, context_fluids = [], frozenset()  # a blank line ends the paragraph
            continue
        lead = _leading_time(text, start, end) if end - start <= 2000 else None
        if lead is None:
            names = find_drug_names(text, lookup, start, min(end, start + 2000))
            if names and not _NOT_CONTEXT.search(text, start, end) and classify_action(
                    text[start:end]) in ("other", "start", "ordered"):
                context = [(e.generic, a, b) for e, a, b in names]
                context_fluids = frozenset(e.generic for e, _, _ in names if e.is_fluid)
            continue
        time, date, rest_at = lead
        rest = text[rest_at:end]
        # "0838 Pain still 8/10 after ketorolac. Morphine 4 mg IV push": the line's drug is
        # the morphine; the ketorolac is what the pain followed.
        names = [n for n in find_drug_names(text, lookup, rest_at, end)
                 if not names_a_reference(text, n[1], n[2], rest_at)]
        # A device's event names ("INFUSION_COMPLETE") read as words.
        raw_kind = classify_action(rest.replace("_", " "))
        if raw_kind == "other" and names and _PROGRAMMED.search(rest):
            # '{"t":"...T09:05:12","event":"PROGRAM","drug":"belimumab",...}': the drug the
            # pump is set up for; the unnamed START after it starts that drug.
            context = [(e.generic, a, b) for e, a, b in names if not e.is_fluid] or context
        if raw_kind in ("stop", "stopped") and _CONTINUED.search(rest):
            raw_kind = "rate_change"  # "LR bolus done -> LR 150 mL/h continued": one fluid
        if raw_kind == "stopped":
            stopped.append(len(events))
        volumes = [a.value for a in find_amounts(rest) if a.kind == "volume"]
        later = _later_stop(text, rest_at, end) if raw_kind == "start" else None
        events.append(FlowsheetEvent(
            time=time, kind=_KINDS.get(raw_kind, raw_kind), line=(start, end),
            drugs=[(e.generic, a, b) for e, a, b in names],
            generic_infusion=not names and bool(_GENERIC_INFUSION.search(rest)),
            date=date, context_drugs=list(context),
            fluids=frozenset(e.generic for e, _, _ in names if e.is_fluid) | context_fluids,
            bolus=bool(_BOLUS.search(rest)), pump=bool(_PUMP.search(rest)),
            volume_ml=max(volumes) if volumes else None,
            also=_also(text, raw_kind, names, end),
            action_unnamed=_action_unnamed(text, rest_at, end, names),
            rate=bool(_RATE.search(rest))))
        if later is not None:  # "0930 start -> 1034 end": the same line charts the stop
            events.append(FlowsheetEvent(
                time=later, kind="stop", line=(start, end), drugs=events[-1].drugs,
                generic_infusion=events[-1].generic_infusion, date=date,
                context_drugs=list(context), fluids=events[-1].fluids))
    return _stopped_then_restarted(events, stopped)


def _stopped_then_restarted(events: list[FlowsheetEvent],
                            stopped: list[int]) -> list[FlowsheetEvent]:
    if not stopped:
        return events
    marks = set(stopped)
    next_kind: str | None = None
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if index in marks and next_kind == "restart":
            events[index] = FlowsheetEvent(**{**event.__dict__, "kind": "pause"})
        if event.kind in ("start", "stop", "restart", "disconnect"):
            next_kind = event.kind
    return events


@dataclass(eq=False)  # told apart by identity: two runs may hold equal fields
class _Running:
    generic: str
    fluid: bool
    bolus: bool
    pump: bool
    carriers: frozenset[str]
    paused: bool = False


_RECENT = 64  # unnamed lines look back this many open runs (linear cost on long flowsheets)


def _most_recent(runs: list[_Running], want) -> _Running | None:
    for run in reversed(runs[-_RECENT:]):
        if want(run):
            return run
    return None


def _started(event: FlowsheetEvent, running: list[_Running]) -> tuple[str | None,
                                                                     frozenset[str]]:
    """Generic a start line starts, and the fluids on it that only carry that drug."""
    named = [g for g, _, _ in event.drugs]
    drugs = [g for g in named if g not in event.fluids]
    fluids = [g for g in named if g in event.fluids]
    if drugs:
        return drugs[0], frozenset(fluids)
    active = {r.generic for r in running[-_RECENT:]}
    above = [g for g, _, _ in event.context_drugs if g not in event.fluids and g not in active]
    if fluids:
        # "1300 infusion started, 250 mL NS" under "Infliximab 5 mg/kg = 400 mg": the NS
        # is the drug's diluent unless the line calls it a bolus or gives more than 500 mL.
        small = event.volume_ml is None or event.volume_ml <= 500
        if above and small and not event.bolus:
            return above[0], frozenset(fluids)
        return fluids[0], frozenset()
    if above:
        return above[0], frozenset()
    context = [g for g, _, _ in event.context_drugs if g not in active]
    return (context[0] if context else None), frozenset()


def _belongs(event: FlowsheetEvent, running: list[_Running],
             finished: list[_Running]) -> _Running | str | None:
    """The running (or finished) infusion a stop/pause/restart/rate/disconnect line is about."""
    named = [] if event.action_unnamed else [g for g, _, _ in event.drugs]
    ordered = [g for g in named if g not in event.fluids] + [g for g in named
                                                               if g in event.fluids]
    for generic in ordered:
        run = _most_recent(running, lambda r, g=generic: r.generic == g)
        if run is not None:
            return run
    for generic in ordered:
        run = _most_recent(running, lambda r, g=generic: g in r.carriers)
        if run is not None:
            return run  # "NS" of "infliximab in NS" is the infliximab infusion
    if ordered:
        return ordered[0]
    if event.kind == "restart":
        run = _most_recent(running, lambda r: r.paused)
        if run is not None:
            return run
    if event.bolus:
        run = _most_recent(running, lambda r: r.bolus) or _most_recent(running,
                                                                      lambda r: r.fluid)
        if run is not None:
            return run
    if event.kind == "disconnect" or event.pump:
        run = _most_recent(running, lambda r: r.pump)
        if run is not None:
            return run
    if event.kind in ("pause", "rate_change"):
        run = _most_recent(running, lambda r: not r.paused)
        if run is not None:
            return run
    run = _most_recent(running, lambda r: True)
    if run is None and event.kind == "disconnect":
        run = _most_recent(finished, lambda r: True)
    return run


def attribute_events(events: list[FlowsheetEvent]) -> list[tuple[FlowsheetEvent, str | None]]:
    """Each event paired with the generic of the administration it belongs to (or None).

    A line that names a drug belongs to it (a named fluid that carries a running drug
    belongs to that drug). A start line naming a drug and a fluid starts the drug;
    the fluid is its carrier, not a second infusion. A start line naming only a fluid
    of at most 500 mL, not a bolus, under a line naming a drug that is not running
    starts that drug (the fluid is its diluent). Unnamed complete/paused/restarted/
    rate lines belong to the most recent running infusion (restart: the paused one;
    "bolus": the running bolus; "pump disconnected": the running pump infusion, else
    the most recent running one, else the one that finished last). Pushes ("given")
    never run, so they are never the target.
    """
    running: list[_Running] = []
    finished: list[_Running] = []
    paired: list[tuple[FlowsheetEvent, str | None]] = []
    for event in events:
        generic: str | None = None
        if event.kind == "start":
            generic, carriers = _started(event, running)
            if generic is not None:
                again = _most_recent(running, lambda r, g=generic: r.generic == g and r.paused)
                if again is not None:
                    again.paused = False  # "started" again after a pause
                else:
                    running.append(_Running(generic, generic in event.fluids, event.bolus,
                                            event.pump, carriers))
        elif (first_rate := _first_rate_drug(event, running, finished)) is not None:
            # "Rate titration: 1005 10 mL/h | 1020 20 ..." under "Inflectra ... 724 mg in NS
            # 250 mL": the first rate charted, with nothing running, starts that drug.
            generic = first_rate
            running.append(_Running(generic, False, event.bolus, event.pump, frozenset()))
            event = FlowsheetEvent(**{**event.__dict__, "kind": "start"})
        elif event.kind in ("stop", "pause", "restart", "rate_change", "disconnect"):
            target = _belongs(event, running, finished)
            if isinstance(target, _Running):
                generic = target.generic
                if event.kind in ("stop", "disconnect") and target in running:
                    running.remove(target)
                    finished.append(target)
                elif event.kind == "pause":
                    target.paused = True
                elif event.kind == "restart":
                    target.paused = False
            else:
                generic = target
        else:
            named = [g for g, _, _ in event.drugs]
            drugs = [g for g in named if g not in event.fluids] or named
            if drugs:
                generic = drugs[0]
            elif event.kind == "other" and event.generic_infusion and running:
                generic = running[-1].generic
        paired.append((event, generic))
        for other in event.also:
            paired.append((event, _also_event(event, other, running, finished)))
    return paired


def _first_rate_drug(event: FlowsheetEvent, running: list[_Running],
                     finished: list[_Running]) -> str | None:
    """The drug a line that names none and charts a rate starts, with nothing running: the
    first drug of the line above, when it has neither run nor finished."""
    if not event.rate or event.drugs or event.kind not in ("other", "rate_change") or running:
        return None
    drugs = [g for g, _, _ in event.context_drugs if g not in event.fluids]
    if not drugs or any(r.generic == drugs[0] for r in finished):
        return None
    return drugs[0]


def _also_event(event: FlowsheetEvent, generic: str, running: list[_Running],
                finished: list[_Running]) -> str:
    """Apply a start or stop to a further drug its line names (`FlowsheetEvent.also`)."""
    if event.kind == "start":
        if _most_recent(running, lambda r: r.generic == generic) is None:
            running.append(_Running(generic, False, event.bolus, event.pump, frozenset()))
    else:
        run = _most_recent(running, lambda r: r.generic == generic)
        if run is not None and event.kind == "stop":
            running.remove(run)
            finished.append(run)
    return generic
