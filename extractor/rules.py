"""The offline rule extractor: note text in, `Extraction` out, no LLM, no network."""

from __future__ import annotations

import hashlib

from extractor import cues
from extractor.access import extract_access_services
from extractor.administrations import NotToday, draft_administrations, freeze
from extractor.budget import check_budget
from extractor.diagnoses import extract_cultures, extract_diagnoses, read_diagnosis_pieces
from extractor.encounter import extract_em, extract_place, extract_weight
from extractor.medications import extract_current_medications
from extractor.nlp import parse
from extractor.sections import find_sections, historical_spans
from notecoder.schema import Extraction

EXTRACTOR_NAME = "rules-1"


def extract(text: str) -> tuple[Extraction, list[str]]:
    """Facts with evidence spans from one note, and extraction warnings."""
    doc = parse(text)
    check_budget()
    sections = find_sections(text)  # read once: diagnoses, past history, not-today text
    diagnoses, dx_at = _diagnoses(doc, sections, historical_spans(text, sections))
    not_today = NotToday(text, sections)  # administrations and access services use it
    drafts, unrecognised = draft_administrations(doc, not_today)
    check_budget()
    long_term = _long_term_generics(doc)
    administrations = []
    warnings_read: list[str] = []  # A3: 'rocefin' read as ceftriaxone (spelling)
    previous_drug: str | None = None
    for n, draft in enumerate(drafts, start=1):
        fact = freeze(draft, f"A{n}", previous_drug)
        lo, hi = draft.window
        indication = _indication(text, lo, hi, dx_at) or _indication_read(text, lo, hi,
                                                                          diagnoses)
        if indication is not None:
            fact = fact.model_copy(update={"indication": indication})
        if fact.generic in long_term:
            fact = fact.model_copy(update={"long_term": True})
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
        medications=extract_current_medications(text, sections),
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


def _indication_read(text: str, lo: int, hi: int, diagnoses: list) -> str | None:
    """The diagnosis fact whose main term the words after 'for' / 'to treat' in the
    administration's window name ("ceftriaxone 1 g IV for CAP": the pneumonia fact)."""
    from extractor.dx_terms import read_phrase

    for match in cues.INDICATION.finditer(text, lo, hi):
        end = min(hi, match.end() + 40)
        for stop in (";", ",", ".", "\n"):
            cut = text.find(stop, match.end(), end)
            end = cut if cut >= 0 else end
        terms = set(read_phrase(text[match.end():end]).main_terms)
        for dx in diagnoses:
            if dx.mention is not None and terms & set(dx.mention.main_terms):
                return dx.id
    return None


def _long_term_generics(doc) -> frozenset[str]:
    """Generics of drugs a sentence of the note names as long-term, recurring therapy
    ("in remission on maintenance vedolizumab q8wk (dose #14)"), given today or not."""
    from extractor.administrations import _entry
    from extractor.nlp import sentence_of

    found = set()
    for ent in doc.ents:
        if ent.label_ != "DRUG":
            continue
        entry = _entry(ent)
        if entry is None or entry.is_fluid:
            continue
        sentence = sentence_of(ent).text
        if cues.LONG_TERM.search(sentence) or (cues.DOSE_IN_SERIES.search(sentence)
                                               and not cues.SHORT_COURSE.search(sentence)):
            found.add(entry.generic)
    return frozenset(found)


def _diagnoses(doc, sections, historical) -> tuple[list, dict[int, str]]:
    """Diagnosis facts: phrases read against the whole ICD-10-CM index, plus the concept
    lexicon's mentions outside those phrases (a symptom or sign in the narrative, e.g. the
    dehydration a hydration needs, coded with the lexicon's map; R-DX-06 drops such
    symptoms beside a definitive diagnosis). Ids renumbered D1.. in that order."""
    read, read_at = read_diagnosis_pieces(doc, sections, historical)
    covered = sorted((s.start, s.end) for d in read for s in d.evidence)
    lexicon, lexicon_at = extract_diagnoses(doc, historical)

    def inside(span) -> bool:
        return any(a <= span.start and span.end <= b for a, b in covered)

    extra = [d for d in lexicon if not any(inside(s) for s in d.evidence)]
    facts, at, n = [], {}, 0
    for group, where in ((read, read_at), (extra, lexicon_at)):
        renamed = {}
        for d in group:
            n += 1
            renamed[d.id] = f"D{n}"
            facts.append(d.model_copy(update={"id": f"D{n}"}))
        at.update({s: renamed[i] for s, i in where.items() if i in renamed})
    return facts, at
