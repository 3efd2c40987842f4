"""Build hand-written fact sets for engine tests (spans point into a 1,000-char note)."""

from __future__ import annotations

import datetime as dt
import hashlib

from notecoder.schema import (
    Diagnosis,
    DrugAdministration,
    Extraction,
    Method,
    Purpose,
    Quantity,
    Span,
)

NOTE_LENGTH = 1000
_counter = iter(range(10_000))


def span() -> Span:
    """A fresh evidence span (distinct positions so tests can tell citations apart)."""
    n = next(_counter) % 90
    return Span(start=n * 10, end=n * 10 + 5)


def hm(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


def admin(fid: str, generic: str, start: str | None = None, stop: str | None = None,
          **fields) -> DrugAdministration:
    spans = {"drug": span()}
    if start:
        spans["start"] = span()
    if stop:
        spans["stop"] = span()
    if "dose" in fields and isinstance(fields["dose"], tuple):
        fields["dose"] = Quantity(value=fields["dose"][0], unit=fields["dose"][1])
        spans["dose"] = span()
    fields.setdefault("purpose", Purpose.HYDRATION if fields.get("is_fluid") else
                      Purpose.THERAPEUTIC)
    fields.setdefault("method", Method.INFUSION)
    return DrugAdministration(
        id=fid, evidence=[spans["drug"]], field_spans=spans, drug_text=generic, generic=generic,
        start=hm(start) if start else None, stop=hm(stop) if stop else None, **fields)


def dx(fid: str, concept: str, **fields) -> Diagnosis:
    s = span()
    return Diagnosis(id=fid, evidence=[s], field_spans={"text": s}, text=concept,
                     concept=concept, **fields)


def facts(*items, **single) -> Extraction:
    return Extraction(
        extractor="test",
        note_length=NOTE_LENGTH,
        note_sha256=hashlib.sha256(b"test").hexdigest(),
        administrations=[i for i in items if isinstance(i, DrugAdministration)],
        diagnoses=[i for i in items if isinstance(i, Diagnosis)],
        **single,
    )
