"""Assemble drug administrations from drug mentions and the quantities around them.

Each drug mention that was given (not negated, not in an allergy or medication
list, not planned for later) opens a window that runs to the next drug mention
in its sentence; doses, times, route and method inside the window belong to it.
A following sentence with no drug but with times or waste ("Infusion completed
at 10:50.") continues the last administration.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache

from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from extractor import charted, cues
from extractor.budget import check_budget
from extractor.dose_wording import clause_around, named_not_given, written_as_not_given
from extractor.lexicon import DrugName, drug_names
from extractor.nlp import doc_text, sentence_of
from extractor.quantities import (
    Amount,
    find_amounts,
    find_clock_times,
    find_durations,
    find_time_ranges,
)
from extractor.sections import not_given_spans
from notecoder.schema import (
    MAX_AMOUNT,
    MAX_MINUTES,
    DrugAdministration,
    Method,
    Purpose,
    Quantity,
    Relation,
    Route,
    Span,
)

_CUE_WINDOW = 25  # characters before a time in which a start/stop word counts
# "start -> 1910 complete": a stop word right after the time (not "10:15, completed 10:50").
_STOP_RIGHT_AFTER = re.compile(r"[ \t]*(?:hrs?[ \t]*)?-?[ \t]*(?:complete[d]?|finished|stopped|"
                               r"ended|done|d/c(?:'d)?|off)\b(?![ \t]*(?:at[ \t]*)?\d)", re.I)


@dataclass
class Draft:
    """A drug administration being assembled (mutable until `freeze`)."""

    mention: SpacySpan
    entry: DrugName
    window: tuple[int, int]
    fields: dict = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    # Numbers beyond any plausible dose or duration, left unread (told to the coder).
    implausible: list[str] = field(default_factory=list)
    # The administration this mention was found to be part of (`_merge_same_drug`).
    merged_into: Draft | None = None

    def merged(self) -> Draft:
        """The administration this mention belongs to after merging."""
        draft = self
        while draft.merged_into is not None:
            draft = draft.merged_into
        return draft

    def set(self, name: str, value, start: int, end: int) -> None:
        if name not in self.fields:
            self.fields[name] = value
            self.spans[name] = Span(start=start, end=end)

    def add_dose(self, more: Quantity | None) -> None:
        """A next bag's dose is given too (R-ADMIN-09 one infusion; R-UNITS-01 units from the
        total given on the date): added when both doses are known in one unit."""
        dose = self.fields.get("dose")
        if dose is not None and more is not None and dose.unit == more.unit:
            self.fields["dose"] = Quantity(value=dose.value + more.value, unit=dose.unit)


def _entry(ent: SpacySpan) -> DrugName | None:
    key = ent._.lexicon_key or ent.text.lower()
    return drug_names().get(key.lower())


class NotToday:
    """Text that is not a record of what was given today (extractor.sections): home and
    reconciled medications, allergies, history, prior and copied-forward visits, plans and
    orders, held/refused/not given, discharge prescriptions."""

    # Sections that list drugs the patient takes or took, never an order for today's dose.
    _LIST_KINDS = frozenset({"home_medications", "medication_reconciliation", "allergies",
                             "past_history", "prior_visit", "discharge"})

    def __init__(self, text: str, sections: list | None = None) -> None:
        self.spans = not_given_spans(text, sections)
        self._starts = [s.start for s in self.spans]
        self._lists = [(s.start, s.end) for s in sections or [] if s.kind in self._LIST_KINDS]

    def in_list(self, offset: int) -> bool:
        """True inside a home-medication, allergy, history or prior-visit section."""
        return any(a <= offset < b for a, b in self._lists)

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and self.spans[i].start <= offset < self.spans[i].end


def _given(ent: SpacySpan, text: str, not_today: NotToday) -> bool:
    if ent._.is_negated or ent._.is_hypothetical or ent._.is_family:
        return False
    if ent.start_char in not_today:
        return False
    sent = sentence_of(ent)
    if named_not_given(text, ent.start_char, ent.end_char, sent.start_char) is not None:
        return False  # "resistant to ciprofloxacin", "on home IV meropenem", "vanc trough"
    sentence = text[sent.start_char:sent.end_char]
    if written_as_not_given(sentence, _clause(text, ent)) is not None:
        return False
    return bool(find_clock_times(sentence) or cues.GIVEN.search(sentence)
                or find_amounts(sentence))


def _clause(text: str, ent: SpacySpan) -> str:
    """The clause of the sentence that holds the mention (between ; , and sentence ends)."""
    sent = sentence_of(ent)
    return clause_around(text, ent.start_char, ent.end_char, sent.start_char, sent.end_char)


def _merge_mentions(ents: list[SpacySpan]) -> list[tuple[SpacySpan, DrugName]]:
    """Drop repeats of the same drug in one sentence (brand in brackets after the generic)."""
    kept: list[tuple[SpacySpan, DrugName]] = []
    for ent in ents:
        entry = _entry(ent)
        if entry is None:
            continue
        # The drug named just before, or before the fluid it is mixed in ("Clindamycin 900
        # mg/50 mL D5W IVPB (from Cleocin Phosphate vial)").
        back = len(kept) - 1
        if back >= 0 and kept[back][1].is_fluid and not entry.is_fluid:
            back -= 1
        if back >= 0:
            last, last_entry = kept[back]
            same_sentence = sentence_of(last).start == sentence_of(ent).start
            if same_sentence and last_entry.generic == entry.generic and (
                ent.start_char - last.end_char < 60
            ):
                if entry.product and not last_entry.product:
                    kept[back] = (last, entry)
                continue
        kept.append((ent, entry))
    return kept


def _is_diluent(ent: SpacySpan, entry: DrugName, text: str, previous: Draft | None) -> bool:
    """A fluid named after "in" as what the drug before it is mixed in: in the drug's own
    sentence ("ceftriaxone 1 g in NS 100 mL"), or opening the preparation line right after
    the drug's line ("Ruxience 375 mg/m2 = 680 mg." / "680 mg in NS 500 mL; 20 mg
    wasted"), where a drug's mass comes before it on that line."""
    if previous is None:
        return False
    if not entry.is_fluid:
        return _reconstituted_with(ent, text, previous)
    if sentence_of(previous.mention).start != sentence_of(ent).start:
        return _prepared_in(ent, text, previous)
    before = text[max(previous.mention.end_char, ent.start_char - 40):ent.start_char]
    return bool(cues.DILUENT_BEFORE.search(before[-30:]) or cues.CARRIER_BEFORE.search(before))


def _diluent_of_order(ent: SpacySpan, entry: DrugName, text: str, previous: Draft | None,
                      not_given_at: list[int]) -> bool:
    """A fluid a prepared dose goes into, written between the drug's order and its given line
    ("Maintenance Actemra IV q4 weeks" / "Drawn: 31 mL (620 mg) into NS 100 mL" / "10:10
    tocilizumab 620 mg IV started"): the ordered drug's diluent, no administration of its own
    (R-ADMIN-05: a fluid that only carries a drug is not reported). The line reads "<mass>
    into <fluid>" and no drug was given since the order."""
    if not entry.is_fluid or not not_given_at:
        return False
    if previous is not None and previous.mention.start_char > not_given_at[-1]:
        return False
    line_start = text.rfind("\n", 0, ent.start_char) + 1
    before = text[line_start:ent.start_char]
    if not cues.DILUENT_BEFORE.search(before[-30:]):
        return False
    return any(a.kind == "dose" and a.unit in ("mg", "g", "mcg", "units")
               for a in find_amounts(before))


def _reconstituted_with(ent: SpacySpan, text: str, previous: Draft) -> bool:
    """A drug named in the previous drug's sentence as what it is reconstituted in
    ("ceftriaxone 1 g vial reconstituted with 2.1 mL lidocaine 1%", "+ 1 mL lidocaine",
    "lidocaine 1% (diluent)"): part of preparing that drug, never a drug given or billed
    of its own. Source: RULES.md R-ADMIN-06 (what only carries a drug is incidental; CMS
    Pub 100-04 ch. 12 s.30.5), read for a reconstitution diluent as for a carrier fluid."""
    if previous.entry.is_fluid or sentence_of(previous.mention).start != sentence_of(ent).start:
        return False
    before = text[max(previous.mention.end_char, ent.start_char - 40):ent.start_char]
    return bool(cues.RECONSTITUTED_BEFORE.search(before)
                or cues.DILUENT_AFTER.match(text, ent.end_char))


def _prepared_in(ent: SpacySpan, text: str, previous: Draft) -> bool:
    """True when the fluid's line follows the drug's line and reads "<mass> in <fluid>",
    or, in prose, when a later sentence reads so for a drug whose own sentence gave no dose
    (`_prepared_in_prose`)."""
    if previous.entry.is_fluid:
        return False
    line_start = text.rfind("\n", 0, ent.start_char) + 1
    previous_line = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
    if not previous_line <= previous.mention.start_char < line_start:
        return _prepared_in_prose(ent, text, previous)
    before = text[line_start:ent.start_char]
    if not cues.DILUENT_BEFORE.search(before[-30:]):
        return False
    return _names_mass(before)


_PROSE_REACH = 600  # characters from the drug's sentence to its preparation sentence


def _names_mass(chunk: str) -> bool:
    return any(a.kind == "dose" and a.unit in ("mg", "g", "mcg", "units")
               for a in find_amounts(chunk))


def _prepared_in_prose(ent: SpacySpan, text: str, previous: Draft) -> bool:
    """"He came in today for his maintenance dose of Simponi Aria ..." / "... pharmacy
    prepared 2 mg/kg, which is 166 mg, in 100 mL of 0.9% sodium chloride": a sentence
    after the drug's, naming no drug before the fluid, reading "<mass> in <fluid>", is the
    preparation of that drug when the drug's own sentence stated no dose. The fluid is
    its diluent (R-ADMIN-05: a fluid that only carries a drug is not reported) and the
    sentence's amounts are the drug's (R-UNITS-01 units from the dose given)."""
    own = sentence_of(previous.mention)
    sentence = sentence_of(ent)
    if not 0 < sentence.start_char - own.end_char < _PROSE_REACH:
        return False
    if _names_mass(text[own.start_char:own.end_char]):
        return False  # "Ceftriaxone 1 g IV given." then "500 mg in NS ...": not its dose
    before = text[sentence.start_char:ent.start_char]
    return bool(cues.DILUENT_BEFORE.search(before[-30:])) and _names_mass(before)


def _assign_times(draft: Draft, text: str) -> None:
    lo, hi = draft.window
    chunk = text[lo:hi]
    for found in find_time_ranges(chunk):
        draft.set("start", _time(found.first), lo + found.first.start, lo + found.first.end)
        draft.set("stop", _time(found.second), lo + found.second.start, lo + found.second.end)
    weak_stop: Span | None = None  # a stop read from an unnamed time, not a stop word
    for clock in find_clock_times(chunk):
        begin, end = lo + clock.start, lo + clock.end
        if any(s.start <= begin < s.end for s in draft.spans.values()):
            continue
        before = chunk[max(0, clock.start - _CUE_WINDOW):clock.start]
        stop_cue, start_cue = _last(cues.STOP, before), _last(cues.START, before)
        if stop_cue >= 0 and _STOP_THEN_AT.search(before):
            start_cue = -1  # "finished at twenty to three": the "at" belongs to the stop
        if _STOP_RIGHT_AFTER.match(chunk, clock.end):  # "start -> 1910 complete"
            stop_cue, start_cue = 1, 0
        if stop_cue < 0 and start_cue < 0 and _LEADS_LINE.search(text, max(0, begin - 40),
                                                                  begin):
            # A time leading its charting line takes the cue that follows on the line.
            line = chunk[clock.end:].split("\n", 1)[0][:60]
            stop_after = cues.STOP_AFTER.search(line)
            start_after = cues.START_AFTER.search(line)
            stop_cue = 1 if stop_after and not start_after else -1
        if stop_cue > start_cue:
            if weak_stop is not None and draft.spans.get("stop") == weak_stop:
                # "started 11:05, rate titrated (11:20 / 11:35), completed 13:17": the time
                # the stop word names wins over an unnamed time read as the stop before it.
                del draft.fields["stop"], draft.spans["stop"]
                weak_stop = None
            draft.set("stop", _time(clock), begin, end)
        elif "start" in draft.fields and start_cue < 0:
            if "stop" not in draft.fields:
                weak_stop = Span(start=begin, end=end)
            draft.set("stop", _time(clock), begin, end)
        else:
            draft.set("start", _time(clock), begin, end)
    for duration in find_durations(chunk):
        if duration.minutes > MAX_MINUTES:
            draft.implausible.append(f"a duration of {duration.minutes:,} minutes")
            continue
        clause = chunk[_clause_start(chunk, duration.start):duration.start]
        if cues.NOT_INFUSION_TIME.search(clause):
            continue  # "his morning stiffness is down to about 20 minutes": no drug's time
        draft.set("duration_minutes", duration.minutes, lo + duration.start, lo + duration.end)


_CLAUSE_EDGE = re.compile(r"[;,.\n]|\band\b")


def _clause_start(chunk: str, offset: int) -> int:
    """Where the clause holding chunk[offset] starts (after ; , . a line break or "and")."""
    edges = [m.end() for m in _CLAUSE_EDGE.finditer(chunk, max(0, offset - 120), offset)]
    return edges[-1] if edges else max(0, offset - 120)


# Nothing but a list mark, a date or blanks between a line's start and a time: the time
# leads its charting line ("0930 ... complete"), unlike "rate titrated (11:20 / 11:35)".
_LEADS_LINE = re.compile(r"(?:^|\n)[ \t>*\-•|]*(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?[ \t]+)?$")
_STOP_THEN_AT = re.compile(r"\b(?:stopped|ended|completed?|finished|done|off|d/c'?d)\s+"
                           r"(?:at|@)\s*$", re.I)


def _last(pattern, text: str) -> int:
    found = [m.end() for m in pattern.finditer(text)]
    return found[-1] if found else -1


def _time(clock) -> dt.time:
    return dt.time(clock.hour, clock.minute)


def _quantity(amount: Amount) -> Quantity:
    return Quantity(value=amount.value, unit=amount.unit)


def _assign_amounts(draft: Draft, text: str) -> None:
    lo, hi = draft.window
    chunk = text[lo:hi]
    for amount in find_amounts(chunk):
        if not 0 < amount.value <= MAX_AMOUNT:
            draft.implausible.append(f"an amount of {amount.value:g} {amount.unit}")
            continue
        begin, end = lo + amount.start, lo + amount.end
        after = chunk[amount.end:amount.end + 25]
        before = chunk[max(0, amount.start - 25):amount.start]
        if amount.kind in ("dose_rate", "concentration"):
            continue
        if _needle_gauge(amount, before, after):
            continue  # "started via L hand 22g": a catheter's gauge, not 22 grams
        if amount.kind == "rate":
            draft.set("rate", _quantity(amount), begin, end)
        elif amount.kind == "volume":
            draft.set("volume", _quantity(amount), begin, end)
        elif (cues.VIAL.match(after.lstrip()) or _vial_follows(chunk[amount.end:amount.end + 40])
              or _COUNT_FOLLOWS.match(chunk, amount.end)):
            draft.set("vial_size", _quantity(amount), begin, end)
            count = _vial_count(before) or _vial_count_after(after)
            if count:
                draft.fields.setdefault("vial_count", count)
        elif (cues.WASTE.search(after[:20]) or cues.WASTE.search(before[-12:])
              or _WASTE_LABEL.search(before)):
            draft.set("wasted", _quantity(amount), begin, end)
        elif _OPENED_TOTAL.search(before) or (_OPENED_AFTER.match(chunk, amount.end)
                                              and _VIALS_BEFORE.search(before)) or (
                _COUNTED_TOTAL.search(before) and not _INTO_THE_BAG.match(after)):
            continue  # "SDV x3 opened (760 mg)": what the vials held, not the dose given
        elif draft.entry.is_fluid and amount.unit in ("g", "mg", "mcg"):
            continue  # a mass is never the saline's dose: it belongs to a drug, named or not
        elif amount.per_kg:
            draft.set("dose_per_kg", _quantity(amount), begin, end)
        elif amount.per_m2:
            draft.set("dose_per_m2", _quantity(amount), begin, end)
        elif not _LIMIT_BEFORE.search(before):
            # A documented total dose is kept beside a per-kg dose and wins for units.
            draft.set("dose", _quantity(amount), begin, end)


# "Waste ........... 56 mg (2.8 mL) remaining": the amount under a waste label, however far
# its dot leader runs.
_WASTE_LABEL = re.compile(r"\b(?:waste[d]?|discarded)\s*(?:\.{2,}|:|-+)\s*$", re.I)
# "5 g/50 mL x1 opened", "120 mg x3 +": a content counted out like containers.
_COUNT_FOLLOWS = re.compile(r"\s*(?:/\s*[\d.]+\s*(?:mL|ml|cc)\s*)?x\s*\d{1,2}\s*"
                            r"(?:opened|\+|vials?|SDVs?|bottles?|=|"
                            r"\(\s*(?:single|multi|SDV|MDV))", re.I)  # "120 mg x3 (single-dose)"


_GAUGE_NEAR = re.compile(r"\b(?:PIV|IV|hand|AC|antecubital|forearm|wrist|arm|FA|via|"
                         r"catheter|cath|angio(?:cath)?|needle|Huber|#)\W*$", re.I)
_DIGITS = re.compile(r"\d+")
_GAUGE_TEXT = re.compile(r"\d{2}\s?(?:g|G|ga)")
_GAUGE_AFTER = re.compile(r"^\s*(?:PIV|IV|angio(?:cath)?|catheter|cath|needle|Huber|"
                          r"peripheral)\b", re.I)


def _needle_gauge(amount: Amount, before: str, after: str) -> bool:
    """"L hand 22g", "#20g PIV", "20G angiocath", "#22 L hand": a catheter or needle gauge
    (14-27), written beside the access, is never a dose in grams nor a volume in litres."""
    written = _DIGITS.match(amount.text.strip())
    if written is None or not 14 <= int(written.group(0)) <= 27:
        return False
    if before.endswith("#"):
        return True  # "#22 L hand", "#18 R AC"
    if amount.unit != "g" or not _GAUGE_TEXT.fullmatch(amount.text.strip()):
        return False
    return bool(_GAUGE_NEAR.search(before) or _GAUGE_AFTER.match(after))


def _vial_follows(after: str) -> bool:
    """"400 mg/20 mL single-dose vial": the amount is a container's content; "1250 mg
    (reconstituted from vials)" is a dose made up from vials, not a vial size."""
    match = cues.VIAL.search(after[:40])
    return match is not None and not _NOT_CONTENT.search(after, 0, match.start())


# The content of the containers opened, in brackets after them: "400 mg SDV x1 + 120 mg SDV
# x3 opened (760 mg)", "100 mg SDV x8 reconstituted (800 mg)". The dose given is written
# apart ("680 mg prepared"); the opened total only bounds dose plus waste (R-UNITS-03).
_OPENED_TOTAL = re.compile(r"(?:\b(?:opened|reconstituted|used|drawn up|available|dispensed)|"
                           r"\b(?:vials?|SDVs?|bottles?)|\bx\s*\d{1,2})\s*\(\s*(?:total\s*)?$",
                           re.I)
# "120 mg x3 (single-dose) = 760 mg; 700 mg diluted ...": what the counted vials hold, when
# the sum is not itself what goes into the bag ("vials x2 = 480 mg in NS 100 mL" is the dose).
_COUNTED_TOTAL = re.compile(r"\bx\s*\d{1,2}\s*(?:\([^()\n]{0,20}\)\s*)?=\s*$", re.I)
_INTO_THE_BAG = re.compile(r"\s*(?:\([^()\n]{0,20}\)\s*)?(?:in|into|added|diluted|given|"
                           r"infused|administered)\b", re.I)
# "400 mg vial x1 + 120 mg vial x3 (single-dose) = 760 mg reconstituted": the sum of the
# vials, not the dose.
_OPENED_AFTER = re.compile(r"\s*(?:total\s+)?(?:reconstituted|opened|drawn up|mixed)\b", re.I)
_CONTAINERS = r"(?:vials?|SDVs?|bottles?|x\s*\d{1,2})\b"
_VIALS_BEFORE = re.compile(_CONTAINERS + r"[^;\n]{0,24}=\s*$", re.I)
# More than one container size ("400 mg vial x1 + 120 mg vial x3"): one vial size times its
# count is not what was opened.
_MIXED_VIALS = re.compile(_CONTAINERS + r"[^;\n]{0,20}\+\s*\d", re.I)
_NOT_CONTENT = re.compile(r"[()=,;]|\bin\b|\bfrom\b|\breconstitut|\busing\b|\bof\b|"
                          r"\d\s*(?:mg|g|gm|mcg|units?)\b", re.I)
_LIMIT_BEFORE = re.compile(r"\b(?:max(?:imum)?|up to|not to exceed|limit)\W*$", re.I)
_COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8,
                "ten": 10}


_COUNT_AFTER = re.compile(r"^\s*(?:/\s*[\d.]+\s*(?:mL|ml)\s*)?(?:single[- ]dose\s+)?"
                          r"(?:vials?|SDVs?)\b[^\n;,]{0,12}?"
                          r"(?:\bx\s*|×\s*)(\d{1,2})\b", re.I)


def _vial_count_after(after: str) -> int | None:
    """'100 mg SDV x 4', '400 mg vial x 2': the count written after the container."""
    match = _COUNT_AFTER.match(after)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def _vial_count(before: str) -> int | None:
    words = before.lower().replace("x", " ").split()
    if not words:
        return None
    last = words[-1]
    if last.isdigit() and 0 < int(last) < 50:
        return int(last)
    return _COUNT_WORDS.get(last)


def _assign_cues(draft: Draft, text: str) -> None:
    lo, hi = draft.window
    chunk = text[lo:hi]

    def first(pattern, name: str, value) -> None:
        match = pattern.search(chunk)
        if match:
            draft.set(name, value, lo + match.start(), lo + match.end())

    first(cues.ROUTE_SC, "route", Route.SC)
    first(cues.ROUTE_IM, "route", Route.IM)
    first(cues.ROUTE_IV, "route", Route.IV)
    first(cues.ROUTE_ORAL, "route", Route.ORAL)
    first(cues.ROUTE_NOT_INJECTED, "route", Route.OTHER)
    if draft.fields.get("route") == Route.SC and cues.SC_INFUSION.search(chunk):
        first(cues.SC_INFUSION, "method", Method.INFUSION)  # "Hizentra 10 g SC via pump"
    if draft.fields.get("route") in (Route.SC, Route.IM):
        first(cues.INJECTION, "method", Method.INJECTION)
    first(cues.PUSH, "method", Method.PUSH)
    first(cues.INFUSION, "method", Method.INFUSION)
    if draft.entry.is_fluid:
        # The first vehicle cue is no purpose when it is the lock charted after the fluid
        # ended (`cues.LOCKED_AFTER_END`).
        vehicle = cues.VEHICLE.search(chunk)
        locked_after = cues.LOCKED_AFTER_END.search(chunk) if vehicle else None
        if vehicle and not (locked_after and locked_after.end() == vehicle.end()):
            draft.set("purpose", Purpose.VEHICLE, lo + vehicle.start(), lo + vehicle.end())
        first(cues.HYDRATION, "purpose", Purpose.HYDRATION)
    elif draft.entry.generic in cues.LOCK_DRUGS:
        # "port flushed NS 10 mL + heparin 100 units/mL 5 mL": the cue may lead the line.
        line_start = text.rfind("\n", 0, draft.mention.start_char) + 1
        match = cues.VEHICLE.search(text, line_start, hi)
        if match:
            draft.set("purpose", Purpose.VEHICLE, match.start(), match.end())
    else:
        first(cues.CHEMO, "purpose", Purpose.CHEMOTHERAPY)
    first(cues.CONCURRENT, "relation", Relation.CONCURRENT)
    _assign_container(draft, text)
    if not draft.entry.is_fluid:
        first(cues.IMPLANTED_PUMP, "device", "implanted_pump")
        first(cues.PORTABLE_PUMP, "device", "portable_pump")
    _assign_no_waste(draft, text)
    site = cues.SITE.search(chunk)
    if site:
        draft.set("site", site.group(0), lo + site.start(), lo + site.end())
    # A sequence cue just before the mention ("..., followed by magnesium") belongs to it.
    lead = text[max(0, draft.mention.start_char - 30):draft.mention.start_char]
    match = cues.SEQUENTIAL.search(lead)
    if match:
        offset = draft.mention.start_char - len(lead)
        draft.set("relation", Relation.SEQUENTIAL, offset + match.start(), offset + match.end())
    else:
        first(cues.SEQUENTIAL, "relation", Relation.SEQUENTIAL)


def _assign_no_waste(draft: Draft, text: str) -> None:
    """'No waste' / 'entire vial' in the window documents zero discarded drug."""
    match = cues.NO_WASTE.search(text, *draft.window)
    if match:
        draft.set("no_waste", True, match.start(), match.end())


_ROUNDED_TO = re.compile(r"^\s*(?:[,;]\s*)?(?:->|→|=>|>|rounded (?:up |down )?to|round(?:ed)? to|"
                         r"adjusted to|per pharmacy(?: rounding)?(?: policy)?:?|"
                         r"\(?\s*capped (?:at|to)|\(?\s*max(?:imum)?(?: dose)? (?:of )?|"
                         r"\(?\s*dose capped at|\(?\s*cap(?:ped)?:?)\s*", re.I)


def _dose_from_container(draft: Draft, text: str) -> None:
    """'Injectafer 750 mg/15 mL single-dose vial ... Full vial, no waste': with no separate
    dose written, the dose given is the container's content when the note says nothing was
    left (or the content less the documented waste), or when one vial named right after
    the drug was mixed into its bag (`_vial_into_bag`). Otherwise the dose stays unknown."""
    if "dose" in draft.fields or "dose_per_kg" in draft.fields or "vial_size" not in draft.fields:
        return
    lo, hi = draft.window
    if _MIXED_VIALS.search(text, lo, hi):
        return  # containers of more than one size: the coder reads what was given
    vial = draft.fields["vial_size"]
    total = vial.value * (draft.fields.get("vial_count") or 1)
    wasted = draft.fields.get("wasted")
    if wasted is not None and wasted.unit == vial.unit and wasted.value < total:
        total -= wasted.value
    elif not draft.fields.get("no_waste") and not _vial_into_bag(draft, text):
        return
    if total > MAX_AMOUNT:
        draft.implausible.append(f"a container total of {total:g} {vial.unit}")
        return
    draft.fields["dose"] = Quantity(value=total, unit=vial.unit)
    draft.spans["dose"] = draft.spans["vial_size"]


def _dose_from_concentration(draft: Draft, text: str) -> None:
    """"cyanocobalamin 1000 mcg/mL, 1 mL drawn ... IM": with no dose written, an injection
    (IM or SC) of a stated volume of at most 5 mL from a stated concentration gives the dose,
    concentration x volume (R-UNITS-01: units from the amount given). Never for an infusion,
    and never when two concentrations are written."""
    if "dose" in draft.fields or "dose_per_kg" in draft.fields or "volume" not in draft.fields:
        return
    if draft.fields.get("route") not in (Route.IM, Route.SC):
        return
    volume = draft.fields["volume"]
    lo, hi = draft.window
    strengths = [a for a in find_amounts(text[lo:hi]) if a.kind == "concentration"
                 and a.unit.endswith("/mL") and not a.per_kg]
    if len(strengths) != 1 or volume.unit != "mL" or not 0 < volume.value <= 5:
        return
    strength = strengths[0]
    draft.fields["dose"] = Quantity(value=strength.value * volume.value,
                                    unit=strength.unit.split("/")[0])
    draft.spans["dose"] = Span(start=lo + strength.start, end=lo + strength.end)


_NAME_TO_VIAL = re.compile(r"\s*(?:\([^()\n]{1,40}\)\s*)?$")


def _vial_into_bag(draft: Draft, text: str) -> bool:
    """"meropenem 1 g vial (ED stock) in NS 100 mL IV over 30 min": one vial whose content
    is written right after the drug's name, mixed into a bag and infused, is the dose given
    (R-UNITS-01: units from the amount given; the vial is the whole preparation). A count
    above one, a waste word or any other amount leaves the dose to the coder."""
    if (draft.fields.get("vial_count") or 1) != 1 or "diluent" not in draft.fields:
        return False
    if draft.fields.get("method") == Method.PUSH or draft.entry.is_fluid:
        return False
    span = draft.spans.get("vial_size")
    if span is None or span.start < draft.mention.end_char:
        return False
    return bool(_NAME_TO_VIAL.fullmatch(text, draft.mention.end_char, span.start))


def _dose_after_rounding(draft: Draft, text: str) -> None:
    """'559 mg -> 560 mg per pharmacy rounding policy': the dose given is the last of the
    chain (R-UNITS-01: units follow the dose administered after pharmacy rounding)."""
    span = draft.spans.get("dose")
    if span is None:
        return
    hi = draft.window[1]
    rest = text[span.end:hi]
    match = _ROUNDED_TO.match(rest)
    if not match:
        return
    following = [a for a in find_amounts(rest[match.end():match.end() + 20])
                 if a.kind == "dose" and a.start == 0 and not a.per_kg and not a.per_m2]
    if following:
        amount = following[0]
        begin = span.end + match.end() + amount.start
        draft.fields["dose"] = _quantity(amount)
        draft.spans["dose"] = Span(start=begin, end=begin + len(amount.text))


# What may follow a drug name on a header line: a bracketed name and a dose or strength.
_HEADER_REST = re.compile(r"[ \t]*(?:\([^()\n]{0,40}\)[ \t]*)?(?:\d[\d,.]*[ \t]*"
                          r"(?:mg|g|gm|mcg|units?|meq|ml)(?:[ \t]*/[ \t]*[\d.]*[ \t]*"
                          r"(?:m2|kg|ml))?)?[ \t]*:?[ \t]*", re.I)


class _HeaderBlocks:
    """Drug header lines and the indented lines under them (R-DOC-02, issue 11 item 2):

        OCREVUS 600 mg
          600 mg in 500 mL NS started 0920
          Stopped 1251, bag empty

    is one administration of the header's drug: its window runs over the indented block,
    and a fluid named there after "in" is its diluent, not a drug of its own."""

    def __init__(self, text: str, mentions: list[tuple[SpacySpan, DrugName]]) -> None:
        self.text = text
        self.ends: dict[int, int] = {}  # header mention start -> block end
        self.blocks: list[tuple[int, int, int]] = []  # (block start, block end, header start)
        others = sorted((ent.start_char, entry.generic) for ent, entry in mentions
                        if not entry.is_fluid)
        for ent, entry in mentions:
            if entry.is_fluid:
                continue
            found = self._block(ent, entry, others)
            if found is not None:
                self.ends[ent.start_char] = found[1]
                self.blocks.append((found[0], found[1], ent.start_char))

    @staticmethod
    def _indent(line: str) -> int:
        return len(line) - len(line.lstrip(" \t"))

    def _block(self, ent: SpacySpan, entry: DrugName,
               others: list[tuple[int, str]]) -> tuple[int, int] | None:
        text = self.text
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        line_end = text.find("\n", ent.end_char)
        line_end = len(text) if line_end < 0 else line_end
        if text[line_start:ent.start_char].strip() or not _HEADER_REST.fullmatch(
                text, ent.end_char, line_end):
            return None
        base = self._indent(text[line_start:line_end])
        start, end, pos = line_end + 1, line_end, line_end + 1
        while pos < len(text):
            nl = text.find("\n", pos)
            nxt = len(text) if nl < 0 else nl
            line = text[pos:nxt]
            if not line.strip() or self._indent(line) <= base:
                break
            i = bisect.bisect_left(others, (pos, ""))
            if i < len(others) and others[i][0] < nxt and others[i][1] != entry.generic:
                break  # another drug's line ends the block
            end, pos = nxt, nxt + 1
        return (start, end) if end > line_end else None

    def holds(self, offset: int) -> bool:
        """True when `offset` lies on an indented line under a drug header line."""
        return any(start <= offset < end for start, end, _ in self.blocks)

    def block_end(self, mention: SpacySpan) -> int:
        return self.ends.get(mention.start_char, 0)

    def header_of(self, ent: SpacySpan, entry: DrugName, previous: Draft | None
                  ) -> Draft | None:
        """The header draft whose block holds this fluid named as a diluent, else None."""
        if not entry.is_fluid or previous is None:
            return None
        for start, end, header in self.blocks:
            if start <= ent.start_char < end and previous.mention.start_char == header:
                line_start = self.text.rfind("\n", 0, ent.start_char) + 1
                before = self.text[max(line_start, ent.start_char - 30):ent.start_char]
                return previous if cues.DILUENT_BEFORE.search(before) else None
        return None


class _LastDraftBefore:
    """The draft listed last among those whose mention starts before an offset (the draft
    a drugless sentence continues) or on a line, by binary search instead of a scan."""

    def __init__(self, drafts: list[Draft]) -> None:
        # Prefix by mention position of the latest list index: "last in list order".
        order = sorted(range(len(drafts)), key=lambda i: drafts[i].mention.start_char)
        self.order = order
        self.starts = [drafts[i].mention.start_char for i in order]
        self.latest: list[int] = []
        for i in order:
            self.latest.append(max(i, self.latest[-1]) if self.latest else i)
        self.drafts = drafts

    def last_on(self, start: int, end: int) -> Draft | None:
        """The draft listed last among those whose mention starts in [start, end)."""
        lo, hi = bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end)
        if lo == hi:
            return None
        return self.drafts[max(self.order[lo:hi])]

    def last_before(self, offset: int) -> Draft | None:
        k = bisect.bisect_left(self.starts, offset)
        return self.drafts[self.latest[k - 1]] if k else None


class _Owners:
    """The administration a drugless sentence continues: the last one listed before it,
    or, when a mention merged into another administration lies after that one's mention,
    the administration the merged mention belongs to."""

    def __init__(self, drafts: list[Draft], merged: list[Draft]) -> None:
        self.kept, self.merged = _LastDraftBefore(drafts), _LastDraftBefore(merged)

    def _pick(self, kept: Draft | None, merged: Draft | None) -> Draft | None:
        if merged is None or (kept is not None
                              and kept.mention.start_char >= merged.mention.start_char):
            return kept
        return merged.merged()

    def last_on(self, start: int, end: int) -> Draft | None:
        return self._pick(self.kept.last_on(start, end), self.merged.last_on(start, end))

    def last_before(self, offset: int) -> Draft | None:
        return self._pick(self.kept.last_before(offset), self.merged.last_before(offset))


def _last_before(drafts: list[Draft], starts: list[int], offset: int, want,
                 look_back: int) -> Draft | None:
    """The administration of the last draft before `offset` that `want` accepts, among the
    `look_back` drafts before it (`starts`: the drafts' mention offsets, in order; bounded
    cost on long notes)."""
    i = bisect.bisect_left(starts, offset)
    for draft in reversed(drafts[max(0, i - look_back):i]):
        if want(draft):
            return draft.merged()
    return None


# A line about the product made ready for an ordered dose: "Calculated dose: 684 mg",
# "Pharmacy: 10 g single-dose vials x 7, all used, no waste", "Vials: 400 mg x1".
_PREPARED_LINE = re.compile(r"\s*(?:(?:calculated|total|actual|final|prepared|dispensed)\s+"
                            r"dose|dose\s+(?:calculated|prepared|dispensed)|pharmacy|product|"
                            r"dispensed|drawn(?:\s+up)?|vials?|SDVs?|waste)\b", re.I)


@cache
def _fluid_generics() -> frozenset[str]:
    return frozenset(e.generic for e in drug_names().values() if e.is_fluid)


def _prepared_for_order(start: int, end: int, text: str, owner: Draft | None,
                        not_given_at: list[int], not_given_drug: list[str],
                        drafts: list[Draft], draft_starts: list[int],
                        not_today: NotToday) -> Draft | None:
    """The administration a product line written between a drug's order and its given
    line belongs to: "Regimen: belimumab 10 mg/kg q4 weeks / Calculated dose: 684 mg /
    Product: Benlysta 400 mg vial x1 ..." or "Order: Gammagard 1 g/kg = 70 g / Pharmacy: 10 g
    vials x 7, no waste / ... 09:30 Gammagard started". The order names no dose given (it
    is not today), and no administration was listed since it; the line, which names no
    drug and no time, is the preparation of the ordered drug, so its amounts and waste go
    to the first administration of that same drug after it (R-UNITS-01 units from the dose
    given; R-MOD-JW/JZ waste). Any other drugless line is left to `_continues`."""
    k = bisect.bisect_left(not_given_at, start)
    if not k or (owner is not None and owner.mention.start_char > not_given_at[k - 1]):
        return None
    chunk = text[start:end]
    # A waste record is the preparation of a dose wherever the sentence starts ("Eight
    # 100 mg vials reconstituted (800 mg); 780 mg added to 250 mL NS; 20 mg discarded").
    if not (_PREPARED_LINE.match(chunk) or cues.WASTE.search(chunk)) or find_clock_times(chunk):
        return None
    i = bisect.bisect_left(draft_starts, end)
    # The order is the latest drug named but not given that is not in a home-medication
    # list, allergies or history ("Maintenance Actemra ..." above "Home meds: ...").
    for j in range(k - 1, max(-1, k - 9), -1):
        if not_today.in_list(not_given_at[j]) or not_given_drug[j] in _fluid_generics():
            continue  # a fluid is what a prepared dose goes into, not the ordered drug
        generic = not_given_drug[j]
        return next((d.merged() for d in drafts[i:i + 8] if d.entry.generic == generic), None)
    return None


def _continues(sentence: SpacySpan, text: str) -> bool:
    chunk = text[sentence.start_char:sentence.end_char]
    if cues.NOT_A_CONTINUATION.match(chunk):
        return False  # "Observation until 0930", "Discharged 1110": no drug stops then
    if cues.ACCESS_REMOVED.search(chunk) and len(find_clock_times(chunk)) == 1:
        return False  # "RN: no reaction; PIV removed 10:25": the line's time, no drug's
    return bool(find_clock_times(chunk) or find_durations(chunk) or cues.WASTE.search(chunk)
                or cues.NO_WASTE.search(chunk) or cues.SINGLE_DOSE.search(chunk)
                or cues.MULTI_DOSE.search(chunk))


# A route written right before a drug's name, after the drug before it in the sentence
# ("ceftriaxone 2 g IV x1 today, then PO linezolid"): the route of that name.
_ROUTE_BEFORE = re.compile(r"(?<![\w/])(?:PO|per os|oral(?:ly)?|IV|IM|SC|SQ|subq|IVP|IVPB)[ \t]+$",
                           re.I)


def draft_administrations(doc: Doc, not_today: NotToday | None = None
                          ) -> tuple[list[Draft], list[Span]]:
    """Drafts for every drug given, with the quantities and cues in their windows, and the
    sentences that look like an administration of a drug the lexicon does not know."""
    text = doc_text(doc)
    not_today = not_today if not_today is not None else NotToday(text)
    mentions = _merge_mentions([e for e in doc.ents if e.label_ == "DRUG"])
    drafts: list[Draft] = []
    blocks = _HeaderBlocks(text, mentions)
    not_given_at: list[int] = []  # drugs named but not given: their sentences continue none
    not_given_drug: list[str] = []  # the generic named at each of those offsets
    prepared: list[tuple[Draft, int, int]] = []  # a drug's preparation sentence after its own
    for ent, entry in mentions:
        if not _given(ent, text, not_today):
            not_given_at.append(ent.start_char)
            not_given_drug.append(entry.generic)
            continue
        previous = drafts[-1] if drafts else None
        header = blocks.header_of(ent, entry, previous)
        if header is not None:  # "  100 mg in 100 mL NS IVPB" under its drug's header line
            header.set("diluent", entry.generic, ent.start_char, ent.end_char)
            continue
        if _is_diluent(ent, entry, text, previous):
            previous.set("diluent", entry.generic, ent.start_char, ent.end_char)
            own = sentence_of(previous.mention)
            sentence = sentence_of(ent)
            if sentence.start != own.start and not blocks.holds(sentence.start_char):
                prepared.append((previous, sentence.start_char, sentence.end_char))
            continue
        if _diluent_of_order(ent, entry, text, previous, not_given_at):
            continue
        drafts.append(Draft(ent, entry, (ent.start_char, sentence_of(ent).end_char)))
    # Windows end where the next drug in the same sentence starts; the first drug of a
    # sentence also owns what precedes it ("1 g ceftriaxone").
    for i, draft in enumerate(drafts):
        sent = sentence_of(draft.mention)
        start = draft.mention.start_char
        if i == 0 or sentence_of(drafts[i - 1].mention).start != sent.start:
            # Only up to the last clause break: "Tylenol 650 mg PO; Benadryl 50 mg IVP" never
            # gives Benadryl the 650 mg, whether or not Tylenol is a known name.
            lead = text[sent.start_char:start]
            breaks = [m.end() for m in _CLAUSE_BREAK.finditer(lead)
                      if not _joins_times(lead, m)]
            start = sent.start_char + (breaks[-1] if breaks else 0)
        elif lead_route := _ROUTE_BEFORE.search(text, sent.start_char, start):
            start = lead_route.start()  # "... x1 today, then PO linezolid": its own route
        end = sent.end_char
        if i + 1 < len(drafts) and sentence_of(drafts[i + 1].mention).start == sent.start:
            end = drafts[i + 1].mention.start_char
        # A drug named but not given later in the sentence ends the window too: "dexamethasone
        # IM today, doxycycline 100 mg PO BID" never gives dexamethasone the 100 mg.
        later = bisect.bisect_right(not_given_at, draft.mention.start_char)
        if later < len(not_given_at) and not_given_at[later] < end:
            end = not_given_at[later]
        draft.window = (start, max(end, blocks.block_end(draft.mention)))
    sentences = list(doc.sents)
    for draft in drafts:
        check_budget()
        _assign_times(draft, text)
        _assign_amounts(draft, text)
        _dose_after_rounding(draft, text)
        _assign_cues(draft, text)
    for draft, start, end in prepared:
        _fill_sentence(draft, text, start, end)
    mentioned = sorted(d.mention.start_char for d in drafts)
    unrecognised: list[Span] = []
    chart = charted.read_chart(text)
    drafts = charted.apply_tables(drafts, chart, doc, lambda d, s, e: _fill_row(d, text, s, e),
                                  not_today.__contains__)
    drafts = charted.stamp_line_times(drafts, chart)
    drafts = charted.drop_change_mentions(drafts, chart)
    mentioned_drafts = drafts
    drafts = _merge_same_drug(drafts)
    drafts = charted.apply_events(drafts, chart, text)
    # A drugless sentence continues the mention before it, in the administration that
    # mention was merged into ("Ruxience ... = 680 mg." / "Vials: ...; 20 mg wasted" /
    # "0900 rituximab started": the waste is the 0900 infusion's).
    owners = _Owners(drafts, [d for d in mentioned_drafts if d.merged_into is not None])
    draft_starts = [d.mention.start_char for d in drafts]
    # Sentences with no drug of their own continue the last administration before them.
    # On a chart line (a table row, a timed flowsheet line) the chart decided the times;
    # such a sentence adds only waste and amounts, to the drug named on its own line.
    for sentence in sentences:
        check_budget()
        first = bisect.bisect_left(mentioned, sentence.start_char)
        if first < len(mentioned) and mentioned[first] < sentence.end_char:
            continue  # the sentence names a drug of its own
        if sentence.start_char in not_today:
            # A plan's or a copied visit's times belong to no administration today; a waste
            # clause a plan section records as done ("...; remaining 20 mg discarded") is
            # the preparation of the ordered dose given later.
            waste = cues.WASTE.search(text, sentence.start_char, sentence.end_char)
            if waste is None or waste.start() in not_today:
                continue
            clause = max(text.rfind(";", sentence.start_char, waste.start()) + 1,
                         sentence.start_char)
            ordered = _prepared_for_order(clause, sentence.end_char, text,
                                          owners.last_before(sentence.start_char),
                                          not_given_at, not_given_drug, drafts, draft_starts,
                                          not_today)
            if ordered is not None:
                _fill_sentence(ordered, text, clause, sentence.end_char)
            continue
        refused = bisect.bisect_left(not_given_at, sentence.start_char)
        if refused < len(not_given_at) and not_given_at[refused] < sentence.end_char:
            continue  # "1015 Neulasta 6 mg SC ordered for day 2; not given today": no dose
        if blocks.holds(sentence.start_char):
            continue  # read already, in its header drug's window
        line = chart.line_of(sentence.start_char)
        if line is not None:
            # "12:45 infusion complete, 70 g infused": the line names no drug, but the chart
            # says whose stop it is; its amounts are that administration's.
            on_line = owners.last_on(line[0], line[1])
            generic = chart.generic_on(line)
            if on_line is None and generic is not None:
                on_line = _last_before(drafts, draft_starts, line[0],
                                       lambda d, g=generic: d.entry.generic == g, 64)
            if on_line is not None:
                _fill_sentence(on_line, text, sentence.start_char, sentence.end_char)
                continue
        if _looks_like_unknown_drug(sentence, text) and not _gives_owner_dose(
                sentence, text, owners.last_before(sentence.start_char)):
            unrecognised.append(Span(start=sentence.start_char, end=sentence.end_char))
            continue
        if line is not None:
            continue
        owner = owners.last_before(sentence.start_char)
        ordered = _prepared_for_order(sentence.start_char, sentence.end_char, text, owner,
                                      not_given_at, not_given_drug, drafts, draft_starts,
                                      not_today)
        if ordered is not None:
            _fill_sentence(ordered, text, sentence.start_char, sentence.end_char)
            continue
        if owner is None or not _continues(sentence, text):
            continue
        if owner.fields.get("route") == Route.ORAL:
            # "Premeds: acetaminophen 650 mg PO" / "Infusion start: 09:40": an oral dose
            # has no infusion; the times are the last drug before it that is not oral.
            owner = _last_before(drafts, draft_starts, sentence.start_char,
                                 lambda d: d.fields.get("route") != Route.ORAL, 8)
            if owner is None:
                continue
        _read_into(owner, text, sentence.start_char, sentence.end_char,
                   _assign_times, *_CONTINUATION_FIELDS)
    starts = sorted(d.mention.start_char for d in drafts)
    for draft in drafts:
        _dose_from_container(draft, text)
        _dose_from_concentration(draft, text)
        later = bisect.bisect_right(starts, draft.mention.start_char)
        _dose_partly_infused(draft, text, starts[later] if later < len(starts) else len(text))
    return drafts, unrecognised


_PARTLY_INFUSED = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:mL|ml|cc)\s+(?:out\s+)?of\s+(?:the\s+)?"
                             r"(\d+(?:\.\d+)?)\s*(?:mL|ml|cc)\s+(?:bag\s+)?(?:were\s+|was\s+)?"
                             r"(?:infused|given|ran|run|delivered)\b", re.I)


def _dose_partly_infused(draft: Draft, text: str, end: int) -> None:
    """"CEFAZOLIN STOPPED 14:22. Pump: 40 mL of 100 mL infused (0.8 g)": an infusion stopped
    early gave only the part of its bag that ran, so the dose given is that share of the
    bag's dose (R-UNITS-01: units from the amount given, never the amount prepared)."""
    dose, volume = draft.fields.get("dose"), draft.fields.get("volume")
    if dose is None or draft.entry.is_fluid:
        return
    match = _PARTLY_INFUSED.search(text, draft.mention.start_char, end)
    if match is None:
        return
    ran, bag = float(match.group(1)), float(match.group(2))
    if not 0 < ran < bag or (volume is not None and volume.value != bag):
        return
    draft.fields["dose"] = Quantity(value=round(dose.value * ran / bag, 3), unit=dose.unit)
    draft.spans["dose"] = Span(start=match.start(), end=match.end())


def _assign_container(draft: Draft, text: str) -> None:
    for pattern, value in ((cues.MULTI_DOSE, "multi"), (cues.SINGLE_DOSE, "single")):
        match = pattern.search(text, *draft.window)
        if match:
            draft.set("container", value, match.start(), match.end())


def _read_into(draft: Draft, text: str, start: int, end: int, *readers) -> None:
    """Run field readers over text[start:end] for a draft, its own window kept."""
    saved = draft.window
    draft.window = (start, end)
    for read in readers:
        read(draft, text)
    draft.window = saved


def _assign_injection_route(draft: Draft, text: str) -> None:
    """"Dose ... = 2.47 mg -> 0.99 mL SQ L abdomen at 10:18 am" continuing the Velcade line:
    an SC or IM route the drug's own line left out, and its injection method. Only these:
    a flush or lock word in a continuation never makes a drug a vehicle."""
    if "route" in draft.fields or draft.entry.is_fluid:
        return
    lo, hi = draft.window
    chunk = text[lo:hi]
    for pattern, route in ((cues.ROUTE_SC, Route.SC), (cues.ROUTE_IM, Route.IM)):
        match = pattern.search(chunk)
        if match:
            draft.set("route", route, lo + match.start(), lo + match.end())
            if "method" not in draft.fields and not cues.SC_INFUSION.search(chunk):
                draft.set("method", Method.INJECTION, lo + match.start(), lo + match.end())
            return


_CONTINUATION_FIELDS = (_assign_amounts, _assign_no_waste, _assign_container,
                        _assign_injection_route)


def _fill_sentence(draft: Draft, text: str, start: int, end: int) -> None:
    """Amounts and waste of a sentence that continues a draft's line (no times)."""
    _read_into(draft, text, start, end, *_CONTINUATION_FIELDS)


def _fill_row(draft: Draft, text: str, start: int, end: int) -> None:
    """Fields a MAR row adds to its administration (dose, route, waste), times excepted."""
    _read_into(draft, text, start, end, _assign_amounts, _assign_cues)


_DOSE_LINE = re.compile(r"\s*(?:(?:calculated|actual|final|total)\s+)?(?:dose|dosing)\b"
                        r"(?:\s+given)?\s*:?", re.I)


_GIVEN_FIRST = re.compile(r"\s*(?:given|administered|injected|pushed|infused)\b", re.I)


def _gives_owner_dose(sentence: SpacySpan, text: str, owner: Draft | None) -> bool:
    """"Invega Sustenna 156 mg/1 mL prefilled syringe ..." then "Given 156 mg IM L deltoid
    at 10:22": a sentence that opens with the giving and states only the dose of the drug
    named just before is that drug's administration, not an unknown drug's."""
    if owner is None or not _GIVEN_FIRST.match(text, sentence.start_char):
        return False
    dose = owner.fields.get("dose")
    chunk = text[sentence.start_char:sentence.end_char]
    doses = [a for a in find_amounts(chunk) if a.kind == "dose"]
    return dose is not None and bool(doses) and all(
        a.value == dose.value and a.unit == dose.unit for a in doses)


def _looks_like_unknown_drug(sentence: SpacySpan, text: str) -> bool:
    """A dose with a route or 'given' but no known drug name: never glued to another drug."""
    chunk = text[sentence.start_char:sentence.end_char]
    if _DOSE_LINE.match(chunk):
        return False  # "Dose 1.3 mg/m2 x 1.90 = 2.47 mg -> 0.99 mL SQ": the drug above's dose
    doses = [a for a in find_amounts(chunk) if a.kind == "dose"
             and not cues.VIAL.search(chunk[a.end:a.end + 20])
             and not cues.WASTE.search(chunk[max(0, a.start - 12):a.end + 12])]
    return bool(doses) and bool(cues.GIVEN.search(chunk) or cues.ROUTE_IV.search(chunk))


_CLAUSE_BREAK = re.compile(r"[;|•]|\s-\s|\t")
_TIME_END = re.compile(r"(?:\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?|\b\d{4})\s*$", re.I)
_TIME_START = re.compile(r"\s*(?:\d{1,2}:\d{2}|\d{4}\b)")


def _joins_times(lead: str, match: re.Match[str]) -> bool:
    """" - " between two clock times ("9:05 am - 9:35 am  fosaprepitant") is a time range,
    not a clause break."""
    return bool(match.group(0).strip() == "-" and _TIME_END.search(lead, 0, match.start())
                and _TIME_START.match(lead, match.end()))
_NEXT_BAG_GAP_MINUTES = 5  # a bag hung within this of the last one ending continues it


def _minutes(value) -> int | None:
    return value.hour * 60 + value.minute if value is not None else None


def _same_drug(a: Draft, b: Draft) -> bool:
    if a.entry.generic != b.entry.generic:
        return False
    products = {a.entry.product, b.entry.product} - {None}
    return len(products) <= 1


def _separate(earlier: Draft, later: Draft) -> bool:
    """Two mentions of one drug are two administrations only when the note shows it: each
    has its own, different start time, or they differ in route (IV and PO) or purpose
    (KVO and bolus), or (fluids) in volume."""
    for name in ("route", "purpose"):
        values = {earlier.fields.get(name), later.fields.get(name)} - {None}
        if len(values) > 1:
            return True
    volumes = {earlier.fields.get("volume"), later.fields.get("volume")} - {None}
    if earlier.entry.is_fluid and len(volumes) > 1:
        return True  # a 10 mL flush and a 1 L bolus
    first, second = _minutes(earlier.fields.get("start")), _minutes(later.fields.get("start"))
    return first is not None and second is not None and first != second


def _next_bag(earlier: Draft, later: Draft) -> bool:
    """A second bag of the same drug hung as the first ends continues one infusion
    (R-ADMIN-09: re-infusing the same drug is not a new service)."""
    stop, start = _minutes(earlier.fields.get("stop")), _minutes(later.fields.get("start"))
    if stop is None or start is None or "stop" not in later.fields:
        return False
    purposes = {earlier.fields.get("purpose"), later.fields.get("purpose")}
    if Purpose.VEHICLE in purposes and len(purposes) > 1:
        return False  # "1000 mL ... COMPLETED 2135" then "NS KVO STARTED 2136": no next bag
    return 0 <= (start - stop) % (24 * 60) <= _NEXT_BAG_GAP_MINUTES


def _absorb(target: Draft, draft: Draft) -> None:
    """Fill the target's missing fields from another mention of the same administration;
    a product named there ("Ruxience (rituximab-pvvr) 375 mg/m2 = 680 mg" above "0900
    rituximab started") is the product given (R-UNITS-04 codes the product)."""
    draft.merged_into = target
    if draft.entry.product and not target.entry.product:
        target.entry = draft.entry
        target.spans.setdefault("product", Span(start=draft.mention.start_char,
                                                end=draft.mention.end_char))
    for name, value in draft.fields.items():
        if name in draft.spans:
            span = draft.spans[name]
            target.set(name, value, span.start, span.end)
        else:
            target.fields.setdefault(name, value)


def _salt_unnamed(draft: Draft) -> bool:
    """A one-word mention with no dose ("methylprednisolone IM today"), whose lexicon entry
    names a salt the note did not write."""
    words = draft.mention.text.lower().split()
    return (len(words) == 1 and " " in draft.entry.generic
            and not {"dose", "dose_per_kg", "dose_per_m2"} & set(draft.fields))


def _same_dose(a: Draft, b: Draft) -> bool:
    return any(a.fields.get(n) is not None and a.fields.get(n) == b.fields.get(n)
               for n in ("dose", "dose_per_kg", "dose_per_m2"))


def _merge_same_drug(drafts: list[Draft]) -> list[Draft]:
    """Mentions of one drug are one administration unless the note shows two.

    An order or plan line, a drug header ("OCREVUS 600 mg"), a dose calculation
    ("15 mg/kg = 930 mg"), a nursing line and a later "vancomycin complete" all name the
    same dose given once: their fields complete one administration (the first value of a
    field wins). Two administrations need two different start times, routes or purposes; a
    next bag hung as the last one ends extends that infusion. A mention with no time of its
    own completes the timed administration of the same drug and dose ("5-FU bolus 400 mg/m2
    = 800 mg" the 800 mg push, "5-FU CIVI ... = 4800 mg over 46 h" the pump), else the only
    or the last one. A wrong bill is worse than no bill.
    """
    timed: list[Draft] = []
    timed_of: dict[str, list[Draft]] = {}  # by generic: the last one found without a scan
    for draft in drafts:  # administrations with a start time: one per drug and start
        if "start" not in draft.fields:
            continue
        same = timed_of.setdefault(draft.entry.generic, [])
        candidates = [k for k in reversed(same) if _same_drug(k, draft)]
        if candidates and _next_bag(candidates[0], draft):
            target = candidates[0]
            target.fields["stop"] = draft.fields["stop"]
            target.spans["stop"] = draft.spans["stop"]
            target.add_dose(draft.fields.get("dose"))  # "KCl 10 mEq bag 1", "bag 2"
            draft.merged_into = target
            continue
        # The latest one it may be ("1935 NS 1000 mL" in a comment under the 1935 and 2136
        # KVO rows is the 1935 liter's).
        target = next((k for k in candidates if not _separate(k, draft)), None)
        if target is None:
            timed.append(draft)
            same.append(draft)
        else:
            _absorb(target, draft)
    untimed_kept: list[Draft] = []
    for draft in drafts:
        if "start" in draft.fields:
            continue
        candidates = [k for k in timed_of.get(draft.entry.generic, [])
                      if _same_drug(k, draft) and not _separate(k, draft)]
        matching = [k for k in candidates if _same_dose(k, draft)]
        target = (matching or candidates or [None])[-1 if not matching else 0]
        if target is None and _salt_unnamed(draft):
            # "A/P: methylprednisolone IM today" beside "methylprednisolone acetate 40 mg IM
            # 10:05": the plan names the drug given, without its salt or a dose of its own.
            word = draft.mention.text.lower().split()[0]
            target = next((k for timed_list in timed_of.values() for k in timed_list
                           if k.entry.generic.split()[0] == word
                           and k.entry.generic != draft.entry.generic), None)
        if target is None:
            others = [k for k in untimed_kept if _same_drug(k, draft) and not _separate(k, draft)]
            if others:
                _absorb(others[-1], draft)
            else:
                untimed_kept.append(draft)
            continue
        _absorb(target, draft)
    return sorted(timed + untimed_kept, key=lambda d: d.mention.start_char)


def freeze(draft: Draft, fact_id: str, previous_id: str | None) -> DrugAdministration:
    """The schema fact for a draft; relations point at the administration before it."""
    values = dict(draft.fields)
    if (values.get("paused_minutes") or 0) > MAX_MINUTES:
        values.pop("paused_minutes")  # chart gaps summed past a week: not a pause
    no_waste = bool(values.pop("no_waste", False))
    relation = values.get("relation")
    spans = dict(draft.spans)
    drug_span = Span(start=draft.mention.start_char, end=draft.mention.end_char)
    spans["drug"] = drug_span
    return DrugAdministration(
        id=fact_id,
        evidence=[drug_span],
        field_spans=spans,
        drug_text=draft.mention.text,
        generic=draft.entry.generic,
        product=draft.entry.product,
        is_fluid=draft.entry.is_fluid,
        purpose=values.get("purpose") or (None if draft.entry.is_fluid else Purpose.THERAPEUTIC),
        related_to=previous_id if relation is not None else None,
        no_waste_documented=no_waste,
        **{k: v for k, v in values.items() if k not in ("purpose",)},
    )
