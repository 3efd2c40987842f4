"""The one schema shared by every stage: facts with evidence spans, codes, queries.

Extraction (rules or LLM) produces an `Extraction`; the engine reads it and returns
`CodeLine`s and `Query`s; the CLI and later the evaluator and review app serialise
`CodingResult`. Positions are character offsets into the original note text.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

SCHEMA_VERSION = "1"


class Span(BaseModel):
    """Half-open character interval `[start, end)` into the original note text."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"span end {self.end} must be after start {self.start}")
        return self


class Route(StrEnum):
    IV = "IV"
    SC = "SC"
    IM = "IM"
    INTRA_ARTERIAL = "intra-arterial"
    ORAL = "oral"
    OTHER = "other"  # drops, topical, inhaled, transdermal: no injectable code fits


class Method(StrEnum):
    INFUSION = "infusion"
    PUSH = "push"
    INJECTION = "injection"


class Purpose(StrEnum):
    """Why the substance was given, as documented."""

    THERAPEUTIC = "therapeutic"  # therapeutic, prophylactic or diagnostic
    HYDRATION = "hydration"
    VEHICLE = "vehicle"  # diluent, piggyback carrier, KVO/TKO, flush
    CHEMOTHERAPY = "chemotherapy"  # antineoplastic or complex biologic given as such


class Relation(StrEnum):
    SEQUENTIAL = "sequential"
    CONCURRENT = "concurrent"


class Assertion(StrEnum):
    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"


class Setting(StrEnum):
    FACILITY = "facility"
    PROFESSIONAL = "professional"


class Place(StrEnum):
    """Where the encounter happened, as documented in the note."""

    INFUSION_CENTER = "infusion_center"
    HOSPITAL_OUTPATIENT = "hospital_outpatient"
    EMERGENCY_DEPARTMENT = "emergency_department"
    OFFICE = "office"


class Alignment(StrEnum):
    """How an LLM's evidence quote was found in the note (the grounding step)."""

    EXACT = "exact"
    NORMALISED = "normalised"  # equal after folding whitespace and case
    FUZZY = "fuzzy"  # similar above the threshold; the span is the best window
    NONE = "none"  # not found: the fact is never coded


class FoundBy(StrEnum):
    """Which reader found a fact (`--extractor llm|both`): the offline rules, the LLM, or
    both of them independently. An LLM-only fact is coded and marked, never dropped for
    not matching the rules."""

    RULES = "rules"
    LLM = "llm"
    BOTH = "both"


# Plausibility bounds on numeric facts (issue 13 item 5): no dose, volume or rate reaches a
# billion of its unit (penicillin G runs to tens of millions of units a day), no infusion or
# pause runs longer than a week. A value beyond them is never read into a fact, and a facts
# file holding one is refused; the MUE and dose-range checks of the engine come after.
MAX_AMOUNT = 1e9
MAX_MINUTES = 7 * 24 * 60


class Quantity(BaseModel):
    """A positive amount with a normalised unit (g, mg, mcg, units, mEq, mL, mL/hr)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    value: float = Field(gt=0, le=MAX_AMOUNT)
    unit: str


class Fact(BaseModel):
    """Base of every fact: an id, its evidence spans, and spans per field."""

    id: str
    evidence: list[Span] = Field(min_length=1)
    field_spans: dict[str, Span] = Field(default_factory=dict)
    # Set by grounding on the LLM path; rule-extractor spans are positions by construction.
    alignment: Alignment | None = None
    # Set on the LLM path: whether the offline reader found the same fact too.
    found_by: FoundBy | None = None
    # `llm_passes` > 1: in how many of the LLM's passes the fact was found.
    passes: int | None = Field(default=None, ge=1)

    def spans(self) -> list[Span]:
        """All spans of this fact, evidence first, without duplicates."""
        seen: dict[tuple[int, int], Span] = {}
        for span in [*self.evidence, *self.field_spans.values()]:
            seen.setdefault((span.start, span.end), span)
        return list(seen.values())

    def span_of(self, *fields: str) -> list[Span]:
        """Spans of the named fields that are present (for citing evidence)."""
        return [self.field_spans[f] for f in fields if f in self.field_spans]


class DrugAdministration(Fact):
    """One substance given once (one push, one injection, one infusion episode)."""

    drug_text: str
    generic: str | None = None
    product: str | None = None  # product-specific name, e.g. infliximab-dyyb
    is_fluid: bool = False
    dose: Quantity | None = None
    dose_per_kg: Quantity | None = None  # value per kg, unit of the dose (mg/kg -> mg)
    dose_per_m2: Quantity | None = None  # value per m² of body surface (mg/m2 -> mg)
    route: Route | None = None
    method: Method | None = None
    volume: Quantity | None = None  # mL of the bag or diluent
    diluent: str | None = None
    rate: Quantity | None = None  # mL/hr
    purpose: Purpose | None = None
    start: dt.time | None = None
    stop: dt.time | None = None
    start_date: dt.date | None = None
    stop_date: dt.date | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)  # "over 30 min"
    # Minutes the infusion was paused (interruption then restart): not running time.
    paused_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES)
    # A portable or implanted pump started for a prolonged infusion (96416 / 96425).
    device: Literal["portable_pump", "implanted_pump"] | None = None
    relation: Relation | None = None
    related_to: str | None = None  # id of the administration it follows or runs with
    site: str | None = None
    # Container type as documented ("single-dose vial", "multi-dose vial"): decides JW/JZ when
    # the drug table does not know the product's container (R-UNITS-03).
    container: Literal["single", "multi"] | None = None
    vial_size: Quantity | None = None
    vial_count: int | None = Field(default=None, ge=1)
    wasted: Quantity | None = None
    no_waste_documented: bool = False
    # The note documents the drug as a long-term, recurring therapy ("maintenance vedolizumab
    # q8wk", "every 6 months (dose #5)"): R-DX-07 adds its Z79 status code.
    long_term: bool = False
    indication: str | None = None  # id of the diagnosis it was given for

    @model_validator(mode="after")
    def _stop_not_before_start(self) -> DrugAdministration:
        # Without dates a stop earlier than start is read as crossing midnight;
        # with both dates documented it is a contradiction.
        if self.start and self.stop and self.start_date and self.stop_date:
            begin = dt.datetime.combine(self.start_date, self.start)
            finish = dt.datetime.combine(self.stop_date, self.stop)
            if finish < begin:
                raise ValueError("stop time is before start time on the documented dates")
        return self

    @property
    def name(self) -> str:
        """The normalised generic name, or the drug as written when it has none."""
        return self.generic or self.drug_text

    @property
    def crosses_midnight(self) -> bool:
        """True when the documented stop clock time is earlier than the start."""
        if self.start is None or self.stop is None:
            return False
        if self.start_date and self.stop_date:
            return self.stop_date > self.start_date
        return self.stop < self.start

    @property
    def running_minutes(self) -> int | None:
        """Clock minutes less documented paused minutes (only the drug's running time counts)."""
        minutes = self.clock_minutes
        if minutes is None:
            return None
        return max(0, minutes - (self.paused_minutes or 0))

    @property
    def clock_minutes(self) -> int | None:
        """Whole minutes from start to stop, adding 24 h when crossing midnight."""
        if self.start is None or self.stop is None:
            return None
        begin = self.start.hour * 60 + self.start.minute
        finish = self.stop.hour * 60 + self.stop.minute
        if self.start_date and self.stop_date:
            days = (self.stop_date - self.start_date).days
            return finish - begin + days * 24 * 60
        return finish - begin if finish >= begin else finish + 24 * 60 - begin


class DiagnosisAxes(BaseModel):
    """What a diagnosis phrase says beyond its main term: the axes that choose a code."""

    laterality: Literal["left", "right", "bilateral"] | None = None
    site: list[str] = Field(default_factory=list)  # "lower limb", "upper lobe", "sigmoid"
    acuity: Literal["acute", "chronic", "acute_on_chronic", "subacute"] | None = None
    stage: str | None = None  # CKD "1".."5", "3a", "3b", "esrd"; pressure-ulcer stage
    type: str | None = None  # "type1"/"type2" diabetes; "systolic"/"diastolic"/"combined" HF
    severity: str | None = None  # asthma: "mild intermittent", "moderate persistent", ...
    complications: list[str] = Field(default_factory=list)  # "with X" words
    without: list[str] = Field(default_factory=list)  # "without X", "no X", "not X" words
    intractable: bool | None = None
    organism: str | None = None  # canonical name: "MRSA", "E. coli", ...
    encounter: Literal["initial", "subsequent", "sequela"] | None = None
    behaviour: Literal["primary", "secondary", "in_situ", "benign", "history"] | None = None
    # Completed weeks of gestation a pregnancy phrase states ("IUP at 10 weeks").
    gestation_weeks: int | None = Field(default=None, ge=0, le=50)


class DiagnosisMention(BaseModel):
    """One diagnosis phrase read against the term index (no code chosen yet)."""

    text: str
    main_terms: list[str]  # index main terms the phrase names ("cellulitis", "neoplasm")
    words: list[str]  # stated words, normalised as the index stores them
    soft_words: dict[str, str] = Field(default_factory=dict)  # added word -> stated word
    negated_words: list[str] = Field(default_factory=list)
    # Words stated only in brackets: they may match a title, never block one.
    bracketed_words: list[str] = Field(default_factory=list)
    axes: DiagnosisAxes = Field(default_factory=DiagnosisAxes)
    history: bool = False  # "history of", "h/o": a personal-history code, if any
    family: bool = False  # "family history of": a family-history code, if any
    span: Span | None = None  # where the phrase is in the note (phase 2)


class DiagnosisCodeChoice(BaseModel):
    """One ICD-10-CM code chosen for a mention, and how it was reached."""

    code: str
    description: str  # official tabular title
    term: str  # the main term the code was found under
    words: list[str]  # the phrase words the code accounts for
    rule: str  # guideline rule that chose or added it ("I.B.9 combination code", ...)
    missing_axes: list[str] = Field(default_factory=list)  # axes a more specific code needs
    code_set: str = ""  # release the code was validated against


class Diagnosis(Fact):
    """A condition or sign/symptom mentioned in the note, with its assertion status."""

    text: str
    concept: str  # lexicon concept id, e.g. "pneumonia"
    assertion: Assertion = Assertion.AFFIRMED
    organism: str | None = None
    laterality: Literal["left", "right", "bilateral"] | None = None
    # The phrase as read against the ICD-10-CM term index (main terms and axes); the engine
    # chooses the code from it. None for a fact from the old concept lexicon or an LLM.
    mention: DiagnosisMention | None = None
    # Read from a provider's diagnostic statement (an assessment/diagnosis item), not from
    # the narrative: its symptoms are coded as listed.
    statement: bool = False


class AccessService(Fact):
    """A device or access service with no drug given through it as an administration:
    port/catheter flush, refill of a portable or implanted pump, pump disconnect."""

    text: str
    kind: Literal["port_flush", "pump_refill_portable", "pump_refill_implanted",
                  "pump_disconnect"]


class CurrentMedication(Fact):
    """A drug the note says the patient takes now and goes on taking (a home-medication
    list, "T2DM on metformin", "continue insulin glargine"), not a dose given today: never
    billed; it tells the engine which long-term drug codes (Z79) a condition's
    "use additional code" note asks for."""

    text: str  # the name as written
    name: str  # the name as `notecoder/refdata/curated/dx_long_term_drugs.csv` lists it


class CultureResult(Fact):
    """A positive culture or organism result documented in the note."""

    organism: str
    specimen: str | None = None  # blood, sputum, urine, wound


class EMVisit(Fact):
    """Evaluation and management documentation."""

    separately_identifiable: bool = False
    stated_level: int | None = Field(default=None, ge=1, le=5)
    stated_code: str | None = Field(default=None, pattern=r"^99\d{3}$")
    stated_modifiers: list[str] = Field(default_factory=list)  # as written: "99213-25" -> ["25"]
    patient_status: Literal["new", "established"] | None = None


class PatientWeight(Fact):
    value: float = Field(gt=0)
    unit: Literal["kg", "lb"]

    @property
    def kg(self) -> float:
        """Weight in kilograms (lb / 2.2046)."""
        return self.value if self.unit == "kg" else self.value / 2.2046


class EncounterPlace(Fact):
    place: Place


class LLMRun(BaseModel):
    """What the LLM reader did for one note (`--extractor llm|both`): its cost (HTTP calls,
    tokens in and out as the server counted them, whether the answer came from the cache,
    wall seconds) and what its checks left out, counted by reason ("administration: quote
    not in the note" for a fact dropped, "dose: value not written in its quote" for a field
    left out)."""

    calls: int = Field(default=0, ge=0)
    chunks: int = Field(default=1, ge=1)  # the note's chunks (calls: 1 per chunk per pass)
    cache_hits: int = Field(default=0, ge=0)
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)
    dropped_facts: dict[str, int] = Field(default_factory=dict)
    dropped_fields: dict[str, int] = Field(default_factory=dict)


class Extraction(BaseModel):
    """All facts extracted from one note."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    extractor: str
    prompt_version: str | None = None  # LLM path: the prompts/ version used
    model: str | None = None  # LLM path: the model that answered
    llm: LLMRun | None = None  # LLM path: cost and drops by reason
    note_length: int = Field(ge=0)
    note_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    administrations: list[DrugAdministration] = Field(default_factory=list)
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    cultures: list[CultureResult] = Field(default_factory=list)
    access_services: list[AccessService] = Field(default_factory=list)
    medications: list[CurrentMedication] = Field(default_factory=list)
    em: EMVisit | None = None
    weight: PatientWeight | None = None
    place: EncounterPlace | None = None

    def facts(self) -> list[Fact]:
        """Every fact in the extraction."""
        singles = [f for f in (self.em, self.weight, self.place) if f is not None]
        return [*self.administrations, *self.diagnoses, *self.cultures, *self.access_services,
                *self.medications, *singles]

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Extraction:
        ids = [f.id for f in self.facts()]
        if len(ids) != len(set(ids)):
            raise ValueError("fact ids must be unique")
        known = set(ids)
        for admin in self.administrations:
            for ref in (admin.related_to, admin.indication):
                if ref is not None and ref not in known:
                    raise ValueError(f"fact {admin.id} refers to unknown fact {ref}")
        for fact in self.facts():
            for span in fact.spans():
                if span.end > self.note_length:
                    raise ValueError(
                        f"span {span.start}-{span.end} of fact {fact.id} lies outside "
                        f"the note ({self.note_length} characters)"
                    )
        text = (info.context or {}).get("text") if info is not None else None
        if text is not None and len(text) != self.note_length:
            raise ValueError("facts were extracted from a different note (length differs)")
        return self


System = Literal["CPT", "HCPCS", "ICD-10-CM"]


class CodeLine(BaseModel):
    """One code on the claim, with the rule that produced it and its evidence."""

    system: System
    code: str
    units: int | None = Field(default=None, ge=1)  # None: not computable, see warnings
    modifiers: list[str] = Field(default_factory=list)
    rule: str
    rationale: str
    evidence: list[Span] = Field(min_length=1)
    # `--extractor both|llm`: which reader(s) found every fact the line rests on: "both"
    # (two independent readers agree), "rules" (one of them the offline reader alone), "llm"
    # (one of them the LLM alone). None on the offline path.
    agreement: FoundBy | None = None


class Query(BaseModel):
    """A CDI query suggestion: non-leading, multiple choice, with its evidence."""

    rule: str
    question: str
    options: list[str] = Field(min_length=2)
    evidence: list[Span] = Field(min_length=1)


class CodingResult(BaseModel):
    """The `notecoder code --json` contract (schema_version 1)."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    setting: Setting
    codes: list[CodeLine]
    queries: list[Query]
    facts: Extraction
    warnings: list[str]



# ---- Diagnosis phrases coded from the whole ICD-10-CM code set (issue 12) ---------------


