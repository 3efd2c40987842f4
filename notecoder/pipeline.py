"""The whole pipeline in one place: read -> extract -> code -> result.

Each stage is swappable by name: extractors are looked up in `EXTRACTORS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine import code_facts, load_profile
from notecoder.errors import InvalidFacts, NotecoderError
from notecoder.schema import CodingResult, Extraction, Setting

log = logging.getLogger(__name__)

Extractor = Callable[[str], tuple[Extraction, list[str]]]


def _rules_extractor(text: str) -> tuple[Extraction, list[str]]:
    from extractor.rules import extract

    return extract(text)


EXTRACTORS: dict[str, Extractor] = {"rules": _rules_extractor}


def extract_note(text: str, extractor: str = "rules") -> tuple[Extraction, list[str]]:
    """Facts from a note with the named extractor, checked against the note."""
    try:
        run = EXTRACTORS[extractor]
    except KeyError:
        raise NotecoderError(
            f"Unknown extractor '{extractor}'; available: {', '.join(EXTRACTORS)}."
        ) from None
    facts, warnings = run(text)
    # Facts whose evidence is not in this note are never coded.
    facts = Extraction.model_validate(facts.model_dump(), context={"text": text})
    log.debug("extracted %d administrations, %d diagnoses",
              len(facts.administrations), len(facts.diagnoses))
    return facts, warnings


def code_extraction(
    facts: Extraction, setting: Setting, profile: str, warnings: list[str] | None = None
) -> CodingResult:
    """Run the engine on facts and wrap the result in the output contract."""
    outcome = code_facts(facts, setting, load_profile(profile))
    return CodingResult(
        setting=setting,
        codes=outcome.codes,
        queries=outcome.queries,
        facts=facts,
        warnings=[*(warnings or []), *outcome.warnings],
    )


def code_note(text: str, setting: Setting, profile: str, extractor: str = "rules") -> CodingResult:
    """Note text in, coding result out."""
    load_profile(profile)  # fail on a bad profile name before the slow extraction
    facts, warnings = extract_note(text, extractor)
    return code_extraction(facts, setting, profile, warnings)


def load_facts(raw: str) -> Extraction:
    """Parse a facts file (an Extraction, or a whole coding result holding one)."""
    import json

    from pydantic import ValidationError

    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidFacts(f"The facts file is not valid JSON (line {exc.lineno}).") from None
    if isinstance(data, dict) and "facts" in data and "codes" in data:
        data = data["facts"]
    try:
        return Extraction.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise InvalidFacts(
            f"The facts file does not match schema version 1: {where}: {first['msg']} "
            f"({exc.error_count()} error(s))."
        ) from None
