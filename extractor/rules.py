"""The offline rule extractor: note text in, `Extraction` out, no LLM, no network."""

from __future__ import annotations

import hashlib

from extractor import cues
from extractor.access import extract_access_services
from extractor.administrations import NotToday, draft_administrations, freeze
from extractor.budget import check_budget
from extractor.diagnoses import extract_cultures, extract_diagnoses
from extractor.encounter import extract_em, extract_place, extract_weight
from extractor.nlp import parse
from extractor.sections import historical_spans
from notecoder.schema import Extraction

EXTRACTOR_NAME = "rules-1"


def extract(text: str) -> tuple[Extraction, list[str]]:
    """Facts with evidence spans from one note, and extraction warnings."""
    doc = parse(text)
    check_budget()
    diagnoses, dx_at = extract_diagnoses(doc, historical_spans(text))
    not_today = NotToday(text)  # read once: administrations and access services use it
    drafts, unrecognised = draft_administrations(doc, not_today)
    check_budget()
    administrations = []
    warnings_read: list[str] = []  # A3: 'rocefin' read as ceftriaxone (spelling)
    previous_drug: str | None = None
    for n, draft in enumerate(drafts, start=1):
        fact = freeze(draft, f"A{n}", previous_drug)
        lo, hi = draft.window
        indication = _indication(text, lo, hi, dx_at)
        if indication is not None:
            fact = fact.model_copy(update={"indication": indication})
        administrations.append(fact)
        for what in dict.fromkeys(draft.implausible):
            warnings_read.append(f"{fact.id}: {what} is beyond any plausible value; not read, "
                                 "so nothing is billed from it (coder review).")
        if getattr(draft.mention._, "spelling_of", None):
            warnings_read.append(f"{fact.id}: '{draft.mention.text}' read as {fact.generic} "
                                 "(spelling); confirm the drug.")
        if not fact.is_fluid:
            previous_drug = fact.id
    weight, warnings = extract_weight(text)
    warnings += warnings_read
    warnings += [
        f"Characters {s.start}-{s.end} look like a drug given, but name no drug in the "
        "lexicon; coder review." for s in unrecognised
    ]
    facts = Extraction(
        extractor=EXTRACTOR_NAME,
        note_length=len(text),
        note_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        administrations=administrations,
        diagnoses=diagnoses,
        cultures=extract_cultures(doc),
        access_services=extract_access_services(text, not_today.spans),
        em=extract_em(doc),
        weight=weight,
        place=extract_place(text),
    )
    return facts, warnings


def _indication(text: str, lo: int, hi: int, dx_at: dict[int, str]) -> str | None:
    """The diagnosis named after 'for' / 'to treat' in the administration's window."""
    for match in cues.INDICATION.finditer(text, lo, hi):
        following = [s for s in dx_at if match.end() <= s < min(hi, match.end() + 40)]
        if following:
            return dx_at[min(following)]
    return None
