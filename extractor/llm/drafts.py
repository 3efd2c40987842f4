"""What the LLM is asked to return: the facts of `notecoder.schema`, each with a verbatim
quote from the note instead of character offsets.

These models are the `response_model` given to instructor. They carry no codes and no
positions: grounding (`extractor.grounding`) finds every quote in the note, and
`extractor.llm.convert` turns grounded drafts into the shared schema's facts. Values
are checked against their quotes there, so a dose or time the quote does not state is
never coded.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from notecoder.schema import Assertion, Method, Place, Purpose, Route

DoseUnit = Literal["g", "mg", "mcg", "units", "mEq", "mL"]


class AdministrationDraft(BaseModel):
    """One substance actually given (not ordered, refused, held or only listed)."""

    quote: str = Field(description="verbatim text of the note that documents this administration")
    drug: str = Field(description="the drug or fluid name exactly as written")
    dose: float | None = Field(default=None, description="amount given, a number")
    dose_unit: DoseUnit | None = None
    dose_is_per_kg: bool = Field(default=False, description="true when written as mg/kg etc.")
    dose_quote: str | None = Field(default=None, description="verbatim dose text, e.g. '1 g'")
    route: Route | None = None
    method: Method | None = None
    volume_ml: float | None = Field(default=None, description="bag or diluent volume in mL")
    diluent: str | None = None
    purpose: Purpose | None = None
    start_time: str | None = Field(default=None, description="24-hour HH:MM when it started")
    start_quote: str | None = Field(default=None, description="verbatim start time text")
    stop_time: str | None = Field(default=None, description="24-hour HH:MM when it stopped")
    stop_quote: str | None = Field(default=None, description="verbatim stop time text")
    duration_minutes: int | None = Field(default=None, ge=0,
                                         description="stated duration, e.g. 'over 30 min'")
    concurrent_with_previous: bool = Field(
        default=False, description="true when it ran at the same time as the one before")
    vial_size: float | None = Field(default=None, description="size of one vial, same unit")
    vial_count: int | None = Field(default=None, ge=1)
    wasted: float | None = Field(default=None, description="amount discarded, same unit")
    no_waste_documented: bool = Field(default=False,
                                      description="true when the note says nothing was wasted")


class DiagnosisDraft(BaseModel):
    """A condition, sign or symptom the note mentions, with its assertion status."""

    quote: str = Field(description="verbatim text of the note that mentions the condition")
    condition: str = Field(description="the condition exactly as written")
    assertion: Assertion = Field(
        default=Assertion.AFFIRMED,
        description="negated if denied/ruled out; uncertain if possible/suspected/?")
    organism: str | None = None
    laterality: Literal["left", "right", "bilateral"] | None = None


class CultureDraft(BaseModel):
    """A positive culture or organism result."""

    quote: str
    organism: str
    specimen: Literal["blood", "sputum", "urine", "wound"] | None = None


class EMDraft(BaseModel):
    """Evaluation and management documentation (a provider visit)."""

    quote: str = Field(description="verbatim text of the note about the visit")
    separately_identifiable: bool = False
    level_quote: str | None = Field(
        default=None, description="verbatim text stating the visit level or E/M code, if any")
    patient_status: Literal["new", "established"] | None = None


class WeightDraft(BaseModel):
    quote: str = Field(description="verbatim text stating the patient's weight")
    value: float = Field(gt=0)
    unit: Literal["kg", "lb"]


class PlaceDraft(BaseModel):
    quote: str = Field(description="verbatim text naming where the encounter happened")
    place: Place


class NoteDraft(BaseModel):
    """Every fact found in one note (or one chunk of a long note)."""

    administrations: list[AdministrationDraft] = Field(default_factory=list)
    diagnoses: list[DiagnosisDraft] = Field(default_factory=list)
    cultures: list[CultureDraft] = Field(default_factory=list)
    em: EMDraft | None = None
    weight: WeightDraft | None = None
    place: PlaceDraft | None = None
