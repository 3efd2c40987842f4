"""Grounded LLM drafts -> the shared schema's facts, or a dropped fact with its reason.

Every draft's quote is grounded in the note (`extractor.grounding`); then each value is
checked against the text it came from with the same deterministic grammar the offline
extractor uses: the dose in the fact must be an amount written in its quote, a time a
clock time written there, a weight a weight written there, a diagnosis a condition the
ICD-10-CM index (or lexicon) can code, no more certain than the note's wording. The
offline pass is never a gate: a fact it missed is coded, marked `found_by: llm`; what
protects a bill applies to every reader (text that is not a dose given today, PO doses,
the quote's own route). A fact that fails a check is dropped from coding and reported
with the reason; a value is never repaired from the note behind the LLM's back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from extractor import cues
from extractor.dose_wording import clause_around, named_not_given, written_as_not_given
from extractor.encounter import EM_CODE, EM_LEVEL, EM_LEVELS, SEPARATE
from extractor.grounding import Grounded, ground_quote
from extractor.lexicon import DrugName, drug_names, phrase_index
from extractor.llm.drafts import (
    AdministrationDraft,
    CultureDraft,
    DiagnosisDraft,
    EMDraft,
    NoteDraft,
    PlaceDraft,
    WeightDraft,
)
from extractor.llm.reading import NoteReading
from extractor.quantities import find_amounts, find_clock_times, find_durations, find_weights
from notecoder.schema import (
    Alignment,
    Assertion,
    CultureResult,
    Diagnosis,
    DrugAdministration,
    EMVisit,
    EncounterPlace,
    FoundBy,
    Method,
    PatientWeight,
    Purpose,
    Quantity,
    Relation,
    Route,
    Span,
)

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


NOT_WRITTEN = "value not written in its quote"
CONTRADICTED = "contradicted by its quote"


class Inconsistent(Exception):
    """A draft (or one field of it) whose quote is not in the note or does not state its
    value; `kind` is the short reason it is counted under."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Window:
    """The part of the note a draft came from (a chunk, `lo`-`hi`), within the whole note
    text, and the neighbour context sent around it (`context_lo`-`context_hi`, default the
    chunk itself): quotes are found there, and a fact whose evidence starts in the context
    belongs to the neighbouring chunk."""

    text: str
    lo: int
    hi: int
    # How many drafts of this chunk quoted each evidence text so far (in-order grounding).
    quoted: Counter[str] = field(default_factory=Counter)
    context_lo: int | None = None
    context_hi: int | None = None

    def __post_init__(self) -> None:
        self.context_lo = self.lo if self.context_lo is None else min(self.context_lo, self.lo)
        self.context_hi = self.hi if self.context_hi is None else max(self.context_hi, self.hi)

    def occurrence(self, kind: str, quote: str | None) -> int:
        """0 for the first draft of a kind quoting this text, 1 for the second, ..."""
        key = kind + "\x1f" + " ".join((quote or "").split()).lower()
        seen = self.quoted[key]
        self.quoted[key] += 1
        return seen


@dataclass
class Converted:
    """Facts built from one chunk's drafts (ids assigned later) and dropped-fact reasons."""

    administrations: list[DrugAdministration] = field(default_factory=list)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    cultures: list[CultureResult] = field(default_factory=list)
    em: EMVisit | None = None
    weight: PatientWeight | None = None
    place: EncounterPlace | None = None
    dropped: list[str] = field(default_factory=list)  # one reason per fact or field dropped
    dropped_facts: Counter[str] = field(default_factory=Counter)  # "kind: reason" -> count
    dropped_fields: Counter[str] = field(default_factory=Counter)  # "field: reason" -> count


class Fields:
    """Field checks of one draft: a field that fails is left out with its reason (the rest
    of the fact stands); the engine already treats a missing value (no dose: units null
    and a CDI query)."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, Inconsistent]] = []

    def check(self, name: str, build):
        """`build()`, or None when its check fails (the failure kept under `name`)."""
        try:
            return build()
        except Inconsistent as exc:
            self.failed.append((name, exc))
            return None


class Checked:
    """A fact built from a draft, with the fields its checks left out."""

    def __init__(self, fact, failed: list[tuple[str, Inconsistent]]) -> None:
        self.fact, self.failed = fact, failed


def _ground(quote: str | None, where: Window, what: str, near: int | None = None,
            occurrence: int = 0) -> Grounded:
    """Ground in the chunk and the context after it first (a quote may run across the
    chunk's end), then in the context before it; never in text the LLM was not sent."""
    if not quote or not quote.strip():
        raise Inconsistent(f"the LLM gave no quote for the {what}", "no quote")
    found = ground_quote(quote, where.text, where.lo, where.context_hi, near, occurrence)
    if found.span is None and where.context_lo < where.lo:
        found = ground_quote(quote, where.text, where.context_lo, where.context_hi, near,
                             occurrence)
    if found.span is None:
        raise Inconsistent(f"its {what} quote is not in the note", "quote not in the note")
    return found


def _inside(outer: Span, inner_lo: int, inner_hi: int) -> Span:
    return Span(start=outer.start + inner_lo, end=outer.start + inner_hi)


def _evidence(draft_quote: str, where: Window, kind: str = "") -> tuple[Span, Alignment]:
    found = _ground(draft_quote, where, "evidence",
                    occurrence=where.occurrence(kind, draft_quote))
    assert found.span is not None
    if not where.lo <= found.span.start < where.hi:
        raise Inconsistent("its quote starts in the neighbour context sent around the chunk "
                           "(the neighbouring chunk reports it)", "in the neighbour context")
    return found.span, found.alignment


def _line_at(text: str, span: Span) -> tuple[int, int]:
    """Start and end of the line(s) holding `span`."""
    end = text.find("\n", span.end)
    return text.rfind("\n", 0, span.start) + 1, len(text) if end == -1 else end


def _field_span(quote: str | None, evidence: Span, where: Window, what: str,
                drug: str | None = None) -> Span:
    """The span to read a value from: its own quote when given, else the evidence.

    A field quote must lie inside the evidence, so a value is never borrowed from another
    drug's line; with `drug`, a quote outside the evidence is also accepted on a line that
    names that drug ("Ceftriaxone completed 10:50" after the start line).
    """
    if quote is None:
        return evidence
    found = _ground(quote, where, what, near=evidence.start)
    assert found.span is not None
    span = found.span
    if evidence.start <= span.start and span.end <= evidence.end:
        return span
    text = where.text
    line = text[slice(*_line_at(text, span))]
    if drug and re.search(rf"(?<!\w){re.escape(drug)}(?!\w)", line, re.IGNORECASE):
        return span
    raise Inconsistent(f"its {what} quote lies outside its evidence"
                       + (", on a line that does not name the drug" if drug else ""),
                       "quote outside its evidence")


def _lexicon_drug(name: str) -> DrugName | None:
    """The lexicon entry for the drug as written, or for a lexicon name inside it."""
    names = drug_names()
    if name.lower().strip() in names:
        return names[name.lower().strip()]
    for surface in sorted(names, key=len, reverse=True):
        if re.search(rf"(?<![\w-]){re.escape(surface)}(?![\w-])", name, re.IGNORECASE):
            return names[surface]
    return None


def _amount_span(text: str, within: Span, value: float, unit: str | None, per_kg: bool,
                 what: str) -> Span:
    """The span of the amount `value unit` written inside `within`, or Inconsistent."""
    for amount in find_amounts(text[within.start:within.end]):
        if abs(amount.value - value) < 1e-9 and (unit is None or amount.unit == unit) \
                and amount.per_kg == per_kg:
            return _inside(within, amount.start, amount.end)
    written = f"{value:g} {unit or ''}{'/kg' if per_kg else ''}".strip()
    raise Inconsistent(f"its {what} ({written}) is not written in its quote", NOT_WRITTEN)


def _time_span(text: str, within: Span, value: str, what: str) -> tuple[dt.time, Span]:
    match = _HHMM.match(value.strip())
    if match is None:
        raise Inconsistent(f"its {what} '{value}' is not a 24-hour HH:MM time", "not a time")
    wanted = dt.time(int(match.group(1)), int(match.group(2)))
    # Read times on the whole line: whether "0800" is a clock time depends on its
    # context ("0800-0900", "started 0800"), which a short quote cuts off.
    lo, hi = _line_at(text, within)
    for clock in find_clock_times(text[lo:hi]):
        start, end = lo + clock.start, lo + clock.end
        if start < within.end and within.start < end \
                and (clock.hour, clock.minute) == (wanted.hour, wanted.minute):
            return wanted, Span(start=start, end=end)
    raise Inconsistent(f"its {what} ({value}) is not written in its quote", NOT_WRITTEN)


def administration(draft: AdministrationDraft, where: Window,
                   previous_id: str | None, fact_id: str,
                   reading: NoteReading | None = None) -> Checked:
    """One administration fact from a draft, every value checked against its quote.

    The fact stands on its evidence and drug name (grounded), on text that records a dose
    given today, and on a route its quote does not contradict; each other value is checked
    on its own and, when it fails, left out with its reason (`Checked.failed`)."""
    text = where.text
    reading = reading or NoteReading(text)
    evidence, alignment = _evidence(draft.quote, where, "administration")
    drug = _ground(draft.drug, where, "drug name", near=evidence.start)
    assert drug.span is not None
    if drug.span.start in reading.not_today or evidence.start in reading.not_today:
        raise Inconsistent("its quote lies in text that is not a record of a dose given "
                           "today (home or listed medications, history, plan or order, "
                           "held, refused or another day)", "not given today")
    line_start, line_end = _line_at(text, drug.span)
    why = written_as_not_given(text[line_start:line_end], clause_around(
        text, drug.span.start, drug.span.end, line_start, line_end))
    if why is not None:
        raise Inconsistent(f"its line is {why}", "not given today")
    named = named_not_given(text, drug.span.start, drug.span.end, line_start)
    if named is not None:
        raise Inconsistent(f"the drug is {named}", "not given today")
    entry = _lexicon_drug(draft.drug)
    if entry is None:
        raise Inconsistent(f"'{text[drug.span.start:drug.span.end]}' names no drug in the "
                           "drug lexicon (coder review)", "not a known drug")
    _checked_route(draft, text[slice(*_line_at(text, evidence))])
    spans: dict[str, Span] = {"drug": drug.span}
    values: dict = {}
    fields = Fields()

    def put(name: str, found: tuple | None) -> None:
        if found is not None:
            values[name], spans[name] = found

    if draft.dose is not None:
        name = "dose_per_kg" if draft.dose_is_per_kg else "dose"
        put(name, fields.check("dose", lambda: _dose(draft, evidence, where)))
    if draft.volume_ml is not None:
        put("volume", fields.check("volume", lambda: _amount(
            text, evidence, draft.volume_ml, "mL", "volume")))
    drug_written = text[drug.span.start:drug.span.end]
    for name, value, quote in (("start", draft.start_time, draft.start_quote),
                               ("stop", draft.stop_time, draft.stop_quote)):
        if value is not None:
            put(name, fields.check(name, lambda name=name, value=value, quote=quote: _time_span(
                text, _field_span(quote, evidence, where, f"{name} time", drug=drug_written),
                value, f"{name} time")))
    if draft.duration_minutes is not None:
        put("duration_minutes", fields.check("duration", lambda: _duration(
            text, evidence, draft.duration_minutes)))
    unit = (values.get("dose") or values.get("dose_per_kg") or Quantity(value=1, unit="mg")).unit
    for name, amount in (("vial_size", draft.vial_size), ("wasted", draft.wasted)):
        if amount is not None:
            put(name, fields.check(name, lambda name=name, amount=amount: _amount(
                text, evidence, amount, unit, name.replace("_", " "))))
    categories = _checked_categories(draft, text, evidence, drug.span, fields)
    _not_a_dose_given(reading, entry, drug.span, evidence, categories["purpose"], values)
    related = previous_id if categories["concurrent"] and previous_id else None
    fact = DrugAdministration(
        id=fact_id,
        evidence=[evidence],
        field_spans=spans,
        alignment=alignment,
        drug_text=drug_written,
        generic=entry.generic if entry else None,
        product=entry.product if entry else None,
        is_fluid=entry.is_fluid if entry else False,
        found_by=FoundBy.LLM,
        route=draft.route,
        method=categories["method"],
        diluent=draft.diluent,
        purpose=categories["purpose"],
        vial_count=draft.vial_count,
        no_waste_documented=categories["no_waste"],
        relation=Relation.CONCURRENT if related else None,
        related_to=related,
        **values,
    )
    return Checked(fact, fields.failed)


def _dose(draft: AdministrationDraft, evidence: Span, where: Window) -> tuple[Quantity, Span]:
    text = where.text
    within = _field_span(draft.dose_quote, evidence, where, "dose")
    span = _amount_span(text, within, draft.dose, draft.dose_unit, draft.dose_is_per_kg, "dose")
    return Quantity(value=draft.dose, unit=draft.dose_unit or _unit_at(text, span)), span


def _amount(text: str, evidence: Span, value: float, unit: str, what: str
            ) -> tuple[Quantity, Span]:
    return Quantity(value=value, unit=unit), _amount_span(text, evidence, value, unit, False,
                                                          what)


def _duration(text: str, evidence: Span, minutes: int) -> tuple[int, Span]:
    stated = [d for d in find_durations(text[evidence.start:evidence.end]) if d.minutes == minutes]
    if not stated:
        raise Inconsistent(f"its duration ({minutes} min) is not written in its quote",
                           NOT_WRITTEN)
    return minutes, _inside(evidence, stated[0].start, stated[0].end)


_ROUTE_CUES = {Route.IV: cues.ROUTE_IV, Route.SC: cues.ROUTE_SC, Route.IM: cues.ROUTE_IM,
               Route.ORAL: cues.ROUTE_ORAL}
# Words that name a method outright ("over", "bolus" only suggest one: never a contradiction).
_METHOD_CUES = {Method.PUSH: cues.PUSH, Method.INJECTION: cues.INJECTION,
                Method.INFUSION: re.compile(r"\b(?:infus(?:ed|ion|ing)|IVPB|piggyback|drip|"
                                            r"via pump)\b", re.I)}
_PURPOSE_CUES = {Purpose.HYDRATION: cues.HYDRATION, Purpose.VEHICLE: cues.VEHICLE}


def _drug_lines(text: str, evidence: Span, drug: Span) -> str:
    """The evidence and every other line of the note that names the same drug."""
    name = re.escape(text[drug.start:drug.end])
    lines = [line for line in text.splitlines()
             if re.search(rf"(?<!\w){name}(?!\w)", line, re.IGNORECASE)]
    return "\n".join([text[evidence.start:evidence.end], *lines])


def _stated(table: dict, quoted: str) -> set:
    """The categories of `table` whose cue words the quote writes."""
    return {value for value, cue in table.items() if cue.search(quoted)}


def _checked_route(draft: AdministrationDraft, quoted: str) -> None:
    """The route decides the code family, so one the evidence's line contradicts drops the
    fact (a PO dose is never read as IV; a route left out would read as IV)."""
    routes = _stated(_ROUTE_CUES, quoted)
    if Route.ORAL in routes and draft.route != Route.ORAL:
        raise Inconsistent("its quote gives it by mouth (PO), which is never an "
                           "administration service", "by mouth")
    if draft.route is not None and routes and draft.route not in routes:
        raise Inconsistent(f"its route {draft.route.value} contradicts the route written in "
                           "its quote", CONTRADICTED)


def _checked_categories(draft: AdministrationDraft, text: str, evidence: Span, drug: Span,
                        fields: Fields) -> dict:
    """Method, purpose, no-waste and concurrency are the LLM's reading: a category the
    offline cue words do not know is not a reason to drop it (the LLM may beat the rules).
    What the quote itself *contradicts* is left out (a method or purpose other than the
    one written outright, 'no waste' where a waste is written). A 'chemotherapy' purpose
    with no chemotherapy word is read as therapeutic, as the offline extractor reads it:
    the engine decides the chemotherapy family from the drug table."""
    quoted = text[evidence.start:evidence.end]

    def method() -> Method | None:
        methods = _stated(_METHOD_CUES, quoted)
        if draft.method is not None and methods and draft.method not in methods:
            raise Inconsistent(f"its method {draft.method.value} contradicts the method "
                               "written in its quote", CONTRADICTED)
        if draft.method in (Method.PUSH, Method.INJECTION) and Method.INFUSION not in methods:
            span = _written_span_minutes(text, evidence)
            if span is not None and span > _PUSH_MINUTES:
                raise Inconsistent(f"its method {draft.method.value} contradicts the "
                                   f"{span}-minute start-stop written with it", CONTRADICTED)
        return draft.method

    def purpose() -> Purpose | None:
        purposes = _stated(_PURPOSE_CUES, quoted)
        if draft.purpose in _PURPOSE_CUES and purposes and draft.purpose not in purposes:
            raise Inconsistent(f"its purpose {draft.purpose.value} contradicts the purpose "
                               "written in its quote", CONTRADICTED)
        if draft.purpose == Purpose.CHEMOTHERAPY and not cues.CHEMO.search(quoted):
            return Purpose.THERAPEUTIC
        return draft.purpose

    def no_waste() -> bool:
        lines = _drug_lines(text, evidence, drug)
        if draft.no_waste_documented and cues.WASTE.search(lines) \
                and not cues.NO_WASTE.search(lines):
            raise Inconsistent("'no waste' contradicts a waste written where the drug is "
                               "documented", CONTRADICTED)
        return draft.no_waste_documented

    return {"method": fields.check("method", method),
            "purpose": fields.check("purpose", purpose),
            "no_waste": bool(fields.check("no_waste", no_waste)),
            "concurrent": draft.concurrent_with_previous}


_PUSH_MINUTES = 15  # CPT: a push is 15 minutes or less


def _written_span_minutes(text: str, evidence: Span) -> int | None:
    """Minutes between the first and last clock time written on the evidence's line
    ("IV 1300-1320": 20), or None with fewer than two."""
    lo, hi = _line_at(text, evidence)
    clocks = find_clock_times(text[lo:hi])
    if len(clocks) < 2:
        return None
    first, last = clocks[0], clocks[-1]
    return (last.hour * 60 + last.minute - first.hour * 60 - first.minute) % (24 * 60)


def _not_a_dose_given(reading: NoteReading, entry: DrugName | None, drug: Span,
                      evidence: Span, purpose: Purpose | None, values: dict) -> None:
    """Two readings that protect a bill whoever reads the note, in one direction only
    (they never add a fact): where the offline reader reads the same place as a flush,
    lock or carrier (purpose vehicle), a drug reading of it is not billed; and an untimed
    mention of a drug whose timed administration the note documents elsewhere (a dose
    calculation, a vial description, an order line) restates that one administration
    ("one administration unless the note shows two", as the offline reader merges)."""
    def overlaps(fact) -> bool:
        return any((s.start < evidence.end and evidence.start < s.end) or
                   (s.start < drug.end and drug.start < s.end) for s in fact.spans())

    offline = reading.offline.administrations
    if purpose != Purpose.VEHICLE and any(
            a.purpose == Purpose.VEHICLE and overlaps(a) for a in offline):
        raise Inconsistent("the note writes it as a flush, lock or carrier of the line, "
                           "not a drug given", "a flush or lock")
    if entry is None or {"start", "stop", "duration_minutes"} & set(values):
        return
    timed = [a for a in offline if a.generic == entry.generic and a.start is not None
             and not any(s.start < evidence.end and evidence.start < s.end
                         for s in a.evidence)]
    if timed:
        span = timed[0].evidence[0]
        raise Inconsistent(f"it has no time of its own and restates the administration of "
                           f"the same drug documented at {span.start}-{span.end}",
                           "restates another administration")


def _unit_at(text: str, span: Span) -> str:
    found = find_amounts(text[span.start:span.end])
    return found[0].unit if found else "mg"


def diagnosis(draft: DiagnosisDraft, where: Window, reading: NoteReading | None,
              fact_id: str) -> Checked:
    """A diagnosis fact at the quoted condition, whether or not the offline pass found it.

    Found by the offline pass too (a fact at the same place): its reading of the phrase
    (term-index mention, concept) is used and the fact is marked `both`. Found by the LLM
    alone: the quoted condition is read against the ICD-10-CM term index (then the concept
    lexicon) and must name a codable condition; the fact is marked `llm`. Either way the
    assertion must not be more certain than the note's own wording: the LLM may read a
    condition as negated or uncertain where the cue words saw none (never billed), but
    any other difference from the note's reading is dropped (an affirmed reading of text
    worded as negated or historical, a history read into a current condition)."""
    reading = reading or NoteReading(where.text)
    evidence, alignment = _evidence(draft.quote, where, "diagnosis")
    condition = _ground(draft.condition, where, "condition", near=evidence.start)
    assert condition.span is not None
    at = condition.span
    match = next((d for d in reading.offline.diagnoses
                  if any(s.start < at.end and at.start < s.end for s in d.evidence)), None)
    if match is not None:
        concept, mention, noted = match.concept, match.mention, match.assertion
        found_by = FoundBy.BOTH
    else:
        concept, mention = _read_condition(where.text, at)
        noted, found_by = reading.assertion_at(at), FoundBy.LLM
    if noted is not None and noted != draft.assertion and not (
            noted == Assertion.AFFIRMED and draft.assertion in _NEVER_CODED):
        raise Inconsistent(f"the LLM read it as {draft.assertion.value}, the note's wording "
                           f"as {noted.value}", "assertion differs from the note")
    spans = {"text": at}
    fields = Fields()

    def organism() -> str:
        found = _ground(draft.organism, where, "organism", near=evidence.start)
        assert found.span is not None
        named = _organism(where.text[found.span.start:found.span.end])
        if named is None:
            raise Inconsistent(f"the organism '{draft.organism}' is not in the lexicon",
                               "not in the lexicon")
        spans["organism"] = found.span
        return named

    def laterality() -> str:
        quoted = where.text[evidence.start:evidence.end]
        side = next((m for m in _SIDES.finditer(quoted)
                     if _SIDE_NAMES[m.group(1).lower()] == draft.laterality), None)
        if side is None:
            raise Inconsistent(f"its laterality ({draft.laterality}) is not written in its "
                               "quote", NOT_WRITTEN)
        spans["laterality"] = _inside(evidence, side.start(), side.end())
        return draft.laterality

    fact = Diagnosis(
        id=fact_id, evidence=[evidence], field_spans=spans, alignment=alignment,
        text=where.text[at.start:at.end], concept=concept, assertion=draft.assertion,
        organism=fields.check("organism", organism) if draft.organism else None,
        laterality=fields.check("laterality", laterality) if draft.laterality else None,
        mention=mention, found_by=found_by)
    return Checked(fact, fields.failed)


_SIDES = re.compile(r"\b(left|right|bilateral|bilat|lt|rt|L|R)\b", re.IGNORECASE)
_SIDE_NAMES = {"left": "left", "lt": "left", "l": "left", "right": "right", "rt": "right",
               "r": "right", "bilateral": "bilateral", "bilat": "bilateral"}


_NEVER_CODED = (Assertion.NEGATED, Assertion.UNCERTAIN)  # outpatient: neither is coded


def _read_condition(text: str, at: Span):
    """(concept, mention) for a condition the offline pass did not find: the quoted words
    read against the ICD-10-CM term index, as the offline diagnosis reader reads a phrase;
    else the concept lexicon's entry for them; else Inconsistent (nothing to code)."""
    from engine.dx_rules import choices_for
    from extractor.dx_terms import read_phrase

    written = text[at.start:at.end]
    mention = read_phrase(written)
    choices = choices_for(mention) if mention.main_terms else []
    if choices:
        return choices[0].term, mention.model_copy(update={"span": at})
    found = phrase_index().get(written.lower().strip())
    if found and found[0] == "PROBLEM":
        return found[1], None
    raise Inconsistent(f"'{written}' names no condition in the ICD-10-CM index or the "
                       "diagnosis lexicon", "not a codable condition")


def _organism(written: str) -> str | None:
    found = phrase_index().get(written.lower().strip())
    return found[1] if found and found[0] == "ORGANISM" else None


def culture(draft: CultureDraft, where: Window, fact_id: str) -> Checked:
    evidence, alignment = _evidence(draft.quote, where, "culture")
    found = _ground(draft.organism, where, "organism", near=evidence.start)
    assert found.span is not None
    organism = _organism(where.text[found.span.start:found.span.end])
    if organism is None:
        raise Inconsistent(f"the organism '{draft.organism}' is not in the lexicon",
                           "not in the lexicon")
    fields = Fields()

    def specimen() -> str:
        if not re.search(rf"\b{draft.specimen}\b", where.text[evidence.start:evidence.end],
                         re.IGNORECASE):
            raise Inconsistent(f"its specimen ({draft.specimen}) is not written in its quote",
                               NOT_WRITTEN)
        return draft.specimen

    fact = CultureResult(id=fact_id, evidence=[evidence], field_spans={"organism": found.span},
                         alignment=alignment, organism=organism,
                         specimen=fields.check("specimen", specimen) if draft.specimen else None)
    return Checked(fact, fields.failed)


def em_visit(draft: EMDraft, where: Window) -> Checked:
    """E/M documentation; the level and -25 basis are read from the quotes by the same
    patterns as the offline extractor, never taken from the LLM's say-so."""
    text = where.text
    evidence, alignment = _evidence(draft.quote, where, "em_visit")
    quoted = text[evidence.start:evidence.end]
    spans: dict[str, Span] = {}
    fields = Fields()

    def level() -> tuple[int | None, str | None]:
        within = _field_span(draft.level_quote, evidence, where, "E/M level")
        written = text[within.start:within.end]
        if m := EM_CODE.search(written):
            spans["stated_code"] = _inside(within, m.start(), m.end())
            return None, m.group(0)
        if m := EM_LEVEL.search(written):
            spans["stated_level"] = _inside(within, m.start(), m.end())
            return EM_LEVELS[m.group(1).lower()], None
        raise Inconsistent("its E/M level quote states no level or E/M code", NOT_WRITTEN)

    def separate() -> bool:
        m = SEPARATE.search(quoted)
        if m is None:
            raise Inconsistent("it is called separately identifiable, but its quote does not "
                               "say so", NOT_WRITTEN)
        spans["separately_identifiable"] = _inside(evidence, m.start(), m.end())
        return True

    def status() -> str:
        if not re.search(rf"\b{draft.patient_status}\b", quoted, re.IGNORECASE):
            raise Inconsistent(f"the patient status '{draft.patient_status}' is not written "
                               "in its quote", NOT_WRITTEN)
        return draft.patient_status

    stated = (fields.check("level", level) if draft.level_quote else None) or (None, None)
    fact = EMVisit(
        id="E1", evidence=[evidence], field_spans=spans, alignment=alignment,
        separately_identifiable=bool(draft.separately_identifiable
                                     and fields.check("separately_identifiable", separate)),
        stated_level=stated[0], stated_code=stated[1],
        patient_status=fields.check("patient_status", status) if draft.patient_status else None)
    return Checked(fact, fields.failed)


def weight(draft: WeightDraft, where: Window) -> Checked:
    evidence, alignment = _evidence(draft.quote, where, "weight")
    for found in find_weights(where.text[evidence.start:evidence.end]):
        if abs(found.value - draft.value) < 1e-9 and found.unit == draft.unit:
            span = _inside(evidence, found.start, found.end)
            return Checked(PatientWeight(id="W1", evidence=[span], alignment=alignment,
                                         value=draft.value, unit=draft.unit), [])
    raise Inconsistent(f"the weight {draft.value:g} {draft.unit} is not written in its quote",
                       NOT_WRITTEN)


def place(draft: PlaceDraft, where: Window) -> Checked:
    evidence, alignment = _evidence(draft.quote, where, "place")
    return Checked(EncounterPlace(id="P1", evidence=[evidence], alignment=alignment,
                                  place=draft.place), [])


def convert(draft: NoteDraft, where: Window, reading: NoteReading | None = None) -> Converted:
    """Every draft of one chunk as facts. A fact whose grounding or own check fails is
    dropped; a field whose check fails is left out and the rest of its fact stands. Each
    drop has a reason that names the fact's kind, its chunk, the field and the check it
    failed, and is counted by reason. The reasons are output for the reviewer (like the
    facts), never logged."""
    out = Converted()
    reading = reading or NoteReading(where.text)

    def attempt(kind: str, n: int, build):
        where_from = f"LLM {kind} #{n} (chunk at {where.lo})"
        try:
            checked = build()
        except Inconsistent as exc:
            out.dropped.append(f"{where_from} not coded: {exc}.")
            out.dropped_facts[f"{kind}: {exc.kind}"] += 1
            return None
        for name, exc in checked.failed:
            out.dropped.append(f"{where_from}: its {name} left out: {exc}.")
            out.dropped_fields[f"{name}: {exc.kind}"] += 1
        return checked.fact

    previous: str | None = None
    for n, item in enumerate(draft.administrations, start=1):
        fact = attempt("administration", n, lambda item=item, n=n, prev=previous:
                       administration(item, where, prev, f"LA{n}", reading))
        if fact is not None:
            out.administrations.append(fact)
            if not fact.is_fluid:
                previous = fact.id
    for n, item in enumerate(draft.diagnoses, start=1):
        fact = attempt("diagnosis", n, lambda item=item, n=n: diagnosis(item, where, reading,
                                                                         f"LD{n}"))
        if fact is not None:
            out.diagnoses.append(fact)
    for n, item in enumerate(draft.cultures, start=1):
        fact = attempt("culture", n, lambda item=item, n=n: culture(item, where, f"LC{n}"))
        if fact is not None:
            out.cultures.append(fact)
    if draft.em is not None:
        out.em = attempt("E/M", 1, lambda: em_visit(draft.em, where))
    if draft.weight is not None:
        out.weight = attempt("weight", 1, lambda: weight(draft.weight, where))
    if draft.place is not None:
        out.place = attempt("place", 1, lambda: place(draft.place, where))
    return out
