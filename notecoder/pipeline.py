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
    from extractor.budget import time_budget
    from extractor.rules import extract
    from notecoder.config import get_settings

    with time_budget(get_settings().note_time_budget_seconds):
        return extract(text)


_llm: dict[str, object] = {}


def llm_extractor():
    """The LLM extractor of this process: one client and cache shared by all its notes,
    built from the settings on first use (or given by `use_llm_settings`)."""
    if "extractor" not in _llm:
        from notecoder.config import get_settings

        use_llm_settings(get_settings())
    return _llm["extractor"]


def use_llm_settings(settings) -> None:
    """Use these settings for the LLM extractor from now on (replay, tests)."""
    from extractor.llm.extract import LLMExtractor

    _llm["extractor"] = LLMExtractor(settings)


def reset_llm() -> None:
    """Forget the LLM extractor; the next use builds one from the current settings."""
    _llm.clear()


def _llm_extractor(text: str) -> tuple[Extraction, list[str]]:
    return llm_extractor()(text)


def _both_extractors(text: str) -> tuple[Extraction, list[str]]:
    """The offline facts and every fact only the LLM found are coded, each marked with the
    reader(s) that found it; every disagreement is a warning. When the LLM fails, the note
    is still coded from the offline facts, with a warning."""
    from extractor.compare import disagreements, union
    from notecoder.errors import LLMError

    facts, warnings = _rules_extractor(text)
    try:
        llm_facts, llm_warnings = _llm_extractor(text)
    except LLMError as exc:  # the offline facts still stand; say the check is missing
        return facts, [*warnings, f"No LLM second opinion for this note: {exc}"]
    found = disagreements(facts, llm_facts)
    facts = union(facts, llm_facts).model_copy(update={
        "extractor": f"{facts.extractor}+{llm_facts.extractor}",
        "prompt_version": llm_facts.prompt_version, "model": llm_facts.model,
        "llm": llm_facts.llm})
    return facts, [*warnings, *llm_warnings, *found]


EXTRACTORS: dict[str, Extractor] = {"rules": _rules_extractor, "llm": _llm_extractor,
                                    "both": _both_extractors}


def drop_instruction_facts(facts: Extraction, text: str) -> tuple[Extraction, list[str]]:
    """Facts whose evidence lies in a line that reads as an instruction to the software
    are removed (never coded), each with a warning; references to them are cleared."""
    from extractor.injection import instruction_lines

    lines = instruction_lines(text)
    if not lines:
        return facts, []
    warnings = [f"Characters {s.start}-{s.end} read as an instruction to the software, not "
                "documentation; ignored." for s in lines]

    def inside(fact) -> bool:
        return any(s.start < line.end and line.start < s.end
                   for s in fact.spans() for line in lines)

    gone = {f.id for f in facts.facts() if inside(f)}
    if not gone:
        return facts, warnings
    warnings += [f"{fid}: its evidence lies in that text; not coded." for fid in sorted(gone)]
    admins = [a.model_copy(update={
        "related_to": None if a.related_to in gone else a.related_to,
        "relation": None if a.related_to in gone else a.relation,
        "indication": None if a.indication in gone else a.indication})
        for a in facts.administrations if a.id not in gone]
    update = {"administrations": admins,
              "diagnoses": [d for d in facts.diagnoses if d.id not in gone],
              "cultures": [c for c in facts.cultures if c.id not in gone]}
    for name in ("em", "weight", "place"):
        single = getattr(facts, name)
        if single is not None and single.id in gone:
            update[name] = None
    return facts.model_copy(update=update), warnings


def extract_note(text: str, extractor: str = "rules") -> tuple[Extraction, list[str]]:
    """Facts from a note with the named extractor, checked against the note."""
    try:
        run = EXTRACTORS[extractor]
    except KeyError:
        raise NotecoderError(
            f"Unknown extractor '{extractor}'; available: {', '.join(EXTRACTORS)}."
        ) from None
    facts, warnings = run(text)
    facts, guarded = drop_instruction_facts(facts, text)
    # Facts whose evidence is not in this note are never coded.
    facts = Extraction.model_validate(facts.model_dump(), context={"text": text})
    warnings = [*warnings, *guarded]
    log.debug("extracted %d administrations, %d diagnoses",
              len(facts.administrations), len(facts.diagnoses))
    return facts, warnings


def code_extraction(
    facts: Extraction, setting: Setting, profile: str, warnings: list[str] | None = None
) -> CodingResult:
    """Run the engine on facts and wrap the result in the output contract."""
    from engine.icd10cm import UnknownCodeSet
    from notecoder.config import get_settings

    settings = get_settings()
    folder = str(settings.icd10cm_tables_dir) if settings.icd10cm_tables_dir else None
    try:
        outcome = code_facts(facts, setting, load_profile(profile),
                             (settings.icd10cm_code_set, folder))
    except UnknownCodeSet as exc:
        raise NotecoderError(f"{exc} (settings NOTECODER_ICD10CM_CODE_SET, "
                             "NOTECODER_ICD10CM_TABLES_DIR)") from None
    codes = outcome.codes
    if any(f.found_by is not None for f in facts.facts()):
        from extractor.compare import line_agreement

        codes = [c.model_copy(update={"agreement": line_agreement(c, facts)}) for c in codes]
    return CodingResult(
        setting=setting,
        codes=codes,
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
