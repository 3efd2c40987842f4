"""Gold notes: the documented dataset format, its schema check and span check.

A gold file is one JSON object per note (`datasets/gold/<split>/<id>.json`). Facts
are written with the shared schema's field names; a field whose evidence matters
is written `{"value": ..., "quote": "text in the note", "occurrence": 1}` and the
quote is located in the note here, so gold offsets are never typed by hand and
never produced by the code under test. After resolution the facts are a schema
`Extraction`, validated by the same module every stage uses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from notecoder.errors import NotecoderError
from notecoder.schema import Extraction, Setting, Span


class InvalidGold(NotecoderError):
    """A gold file fails the schema or span check."""


class Provenance(BaseModel):
    author: str
    source: str  # the seed document, rule-book section or scenario it was written from
    rules: list[str] = Field(default_factory=list)  # rule ids the note exercises


class GoldCode(BaseModel):
    system: Literal["CPT", "HCPCS", "ICD-10-CM"]
    code: str
    units: int | None = None
    modifiers: list[str] = Field(default_factory=list)


class GoldNote(BaseModel):
    """One gold-labelled note, as written in the dataset."""

    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    split: Literal["dev", "test"]
    setting: Setting = Setting.FACILITY
    profile: str = "official"
    provenance: Provenance
    text: str = Field(min_length=1)
    facts: dict[str, Any]
    codes: list[GoldCode]
    queries: list[str] = Field(default_factory=list)  # CDI rule ids expected


class ResolvedGold(BaseModel):
    """A gold note with its facts resolved to a schema Extraction (offsets located)."""

    note: GoldNote
    facts: Extraction
    path: str


def locate(text: str, quote: str, occurrence: int = 1) -> Span:
    """The span of the n-th occurrence of `quote`; a quote found several times needs
    an explicit occurrence, so a gold span is never ambiguous."""
    positions = []
    start = text.find(quote)
    while start != -1:
        # Whole tokens only: "50 mg" must not match inside "350 mg", "IV" inside "PIV".
        before = text[start - 1] if start > 0 else " "
        after = text[start + len(quote)] if start + len(quote) < len(text) else " "
        if not (quote[0].isalnum() and before.isalnum()) and not (
                quote[-1].isalnum() and after.isalnum()):
            positions.append(start)
        start = text.find(quote, start + 1)
    if not positions:
        raise InvalidGold(f"quote {quote!r} is not in the note")
    if len(positions) > 1 and occurrence == 0:
        raise InvalidGold(f"quote {quote!r} occurs {len(positions)} times; give 'occurrence'")
    if occurrence > len(positions):
        raise InvalidGold(f"quote {quote!r} occurs {len(positions)} times, not {occurrence}")
    begin = positions[max(occurrence, 1) - 1]
    return Span(start=begin, end=begin + len(quote))


def _resolve_fact(text: str, fact: dict[str, Any], anchor: str) -> dict[str, Any]:
    """Replace {"value", "quote"} fields by values plus field spans; the anchor field's
    span is the fact's evidence."""
    values: dict[str, Any] = {}
    spans: dict[str, Span] = {}
    for name, field in fact.items():
        if isinstance(field, dict) and "quote" in field:
            spans[name] = locate(text, field["quote"], int(field.get("occurrence", 0)))
            values[name] = field["value"] if "value" in field else field["quote"]
        else:
            values[name] = field
    if anchor not in spans:
        raise InvalidGold(f"fact {fact.get('id')} needs a quoted '{anchor}' as its evidence")
    values["field_spans"] = spans
    values["evidence"] = [spans[anchor]]
    return values


_ANCHORS = {"administrations": "drug", "diagnoses": "text", "cultures": "organism",
            "access_services": "text", "em": "em", "weight": "value", "place": "place"}


def resolve_facts(note: GoldNote) -> Extraction:
    """The gold facts as a schema Extraction, spans located in the note text."""
    raw = note.facts
    data: dict[str, Any] = {
        "extractor": "gold",
        "note_length": len(note.text),
        "note_sha256": hashlib.sha256(note.text.encode("utf-8")).hexdigest(),
    }
    for key, anchor in _ANCHORS.items():
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            data[key] = [_resolve_fact(note.text, item, anchor) for item in value]
        else:
            data[key] = _resolve_fact(note.text, value, anchor)
    if key_errors := set(raw) - set(_ANCHORS):
        raise InvalidGold(f"unknown fact types: {', '.join(sorted(key_errors))}")
    for admin in data.get("administrations", []):
        admin.setdefault("drug_text", note.text[admin["field_spans"]["drug"].start:
                                                admin["field_spans"]["drug"].end])
        admin["field_spans"].setdefault("drug", admin["evidence"][0])
    for dx in data.get("diagnoses", []):
        dx.setdefault("text", note.text[dx["evidence"][0].start:dx["evidence"][0].end])
    em = data.get("em")
    if em is not None:
        em.pop("em", None)
    return Extraction.model_validate(data, context={"text": note.text})


def load_gold_file(path: Path) -> ResolvedGold:
    """Load and check one gold file; any problem is one InvalidGold naming file and field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidGold(f"{path}: not a readable JSON file ({exc.__class__.__name__}).") from None
    try:
        note = GoldNote.model_validate(raw)
        facts = resolve_facts(note)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise InvalidGold(f"{path}: {where}: {first['msg']}.") from None
    except InvalidGold as exc:
        raise InvalidGold(f"{path}: {exc}.") from None
    if path.stem != note.id:
        raise InvalidGold(f"{path}: file name must be the note id '{note.id}'.")
    return ResolvedGold(note=note, facts=facts, path=str(path))


def load_dataset(root: Path, split: str | None = None) -> list[ResolvedGold]:
    """Every gold note under `root` (optionally one split), sorted by id."""
    if not root.is_dir():
        raise InvalidGold(f"No dataset directory at '{root}'.")
    notes = [load_gold_file(p) for p in sorted(root.rglob("*.json"))]
    ids = [g.note.id for g in notes]
    if len(ids) != len(set(ids)):
        raise InvalidGold("Duplicate note ids in the dataset.")
    return [g for g in notes if split is None or g.note.split == split]


def dataset_hash(notes: list[ResolvedGold]) -> str:
    """A short hash of the dataset content, recorded with every evaluation run."""
    digest = hashlib.sha256()
    for gold in notes:
        digest.update(gold.note.model_dump_json().encode("utf-8"))
    return digest.hexdigest()[:16]
