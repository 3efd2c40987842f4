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

from notecoder.schema import MAX_MINUTES, Assertion, Method, Place, Purpose, Route

DoseUnit = Literal["g", "mg", "mcg", "units", "mEq", "mL"]

# Constraints a decoding grammar enforces (llama.cpp turns minLength, integer bounds and
# patterns into grammar rules; hosted strict mode keeps patterns and bounds). They are put
# in the schema only, not validated by pydantic: a server that ignores them gets its answer
# checked field by field (`extractor.llm.convert`) instead of a whole-answer re-ask.
_QUOTE = {"minLength": 1}
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _hhmm_in_string_branch(schema: dict) -> None:
    """The clock pattern on the string branch of `str | None` (where grammars read it)."""
    for branch in schema.get("anyOf", []):
        if branch.get("type") == "string":
            branch["pattern"] = _HHMM


def _quote(description: str | None = None, **kwargs):
    return Field(description=description, json_schema_extra=_QUOTE, **kwargs)


def _clock(description: str):
    return Field(default=None, description=description, json_schema_extra=_hhmm_in_string_branch)


class AdministrationDraft(BaseModel):
    """One substance actually given (not ordered, refused, held or only listed)."""

    quote: str = _quote("verbatim text of the note that documents this administration")
    drug: str = _quote("the drug or fluid name exactly as written")
    dose: float | None = Field(default=None, description="amount given, a number")
    dose_unit: DoseUnit | None = None
    dose_is_per_kg: bool = Field(default=False, description="true when written as mg/kg etc.")
    dose_quote: str | None = Field(default=None, description="verbatim dose text, e.g. '1 g'")
    route: Route | None = None
    method: Method | None = None
    volume_ml: float | None = Field(default=None, description="bag or diluent volume in mL")
    diluent: str | None = None
    purpose: Purpose | None = None
    start_time: str | None = _clock("24-hour HH:MM when it started")
    start_quote: str | None = Field(default=None, description="verbatim start time text")
    stop_time: str | None = _clock("24-hour HH:MM when it stopped")
    stop_quote: str | None = Field(default=None, description="verbatim stop time text")
    duration_minutes: int | None = Field(default=None, ge=0, le=MAX_MINUTES,
                                         description="stated duration, e.g. 'over 30 min'")
    concurrent_with_previous: bool = Field(
        default=False, description="true when it ran at the same time as the one before")
    vial_size: float | None = Field(default=None, description="size of one vial, same unit")
    vial_count: int | None = Field(default=None, ge=1, le=1000)
    wasted: float | None = Field(default=None, description="amount discarded, same unit")
    no_waste_documented: bool = Field(default=False,
                                      description="true when the note says nothing was wasted")


class DiagnosisDraft(BaseModel):
    """A condition, sign or symptom the note mentions, with its assertion status."""

    quote: str = _quote("verbatim text of the note that mentions the condition")
    condition: str = _quote("the condition exactly as written")
    assertion: Assertion = Field(
        default=Assertion.AFFIRMED,
        description="negated if denied/ruled out; uncertain if possible/suspected/?")
    organism: str | None = None
    laterality: Literal["left", "right", "bilateral"] | None = None


class CultureDraft(BaseModel):
    """A positive culture or organism result."""

    quote: str = _quote()
    organism: str = _quote()
    specimen: Literal["blood", "sputum", "urine", "wound"] | None = None


class EMDraft(BaseModel):
    """Evaluation and management documentation (a provider visit)."""

    quote: str = _quote("verbatim text of the note about the visit")
    separately_identifiable: bool = False
    level_quote: str | None = Field(
        default=None, description="verbatim text stating the visit level or E/M code, if any")
    patient_status: Literal["new", "established"] | None = None


class WeightDraft(BaseModel):
    quote: str = _quote("verbatim text stating the patient's weight")
    value: float  # checked against the quote: a value not written there is dropped
    unit: Literal["kg", "lb"]


class PlaceDraft(BaseModel):
    quote: str = _quote("verbatim text naming where the encounter happened")
    place: Place


class NoteDraft(BaseModel):
    """Every fact found in one note (or one chunk of a long note)."""

    administrations: list[AdministrationDraft] = Field(default_factory=list)
    diagnoses: list[DiagnosisDraft] = Field(default_factory=list)
    cultures: list[CultureDraft] = Field(default_factory=list)
    em: EMDraft | None = None
    weight: WeightDraft | None = None
    place: PlaceDraft | None = None


# Keywords hosted strict structured outputs refuse (OpenAI's subset of JSON Schema).
_NOT_STRICT = ("default", "minLength", "title")


def response_schema(strict: bool = False) -> dict:
    """The JSON schema of `NoteDraft` as sent to the server, once per request.

    With `strict`, the strict-mode subset hosted models require: every object closed
    (`additionalProperties: false`) with every property required (an optional field is
    already a union with null), no defaults and no minLength."""
    schema = NoteDraft.model_json_schema()
    if not strict:
        return schema

    def close(node):
        if isinstance(node, dict):
            node = {k: close(v) for k, v in node.items() if k not in _NOT_STRICT
                    or (k == "title" and not isinstance(v, str))}
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            return node
        if isinstance(node, list):
            return [close(item) for item in node]
        return node

    return close(schema)
