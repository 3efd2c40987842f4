"""Encounter-level facts: E/M documentation, patient weight, place of service."""

from __future__ import annotations

import re

from spacy.tokens import Doc

from extractor.nlp import doc_text, sentence_of
from extractor.quantities import find_weights
from notecoder.schema import EMVisit, EncounterPlace, PatientWeight, Place, Span

_I = re.IGNORECASE
_EM_CUE = re.compile(
    r"\b(?:E/M|E&M|evaluation and management|office visit|clinic visit|provider visit|"
    r"level [1-5I-V]+ (?:visit|E/M|established|new|office)|99(?:20[2-5]|21[1-5]|28[1-5])|"
    r"(?:ED|emergency|facility)\s+(?:facility\s+)?level\s*:?\s*[1-5])\b", _I)
# Codes a biller or assistant typed on a charge line are not the clinician's documentation
# of the visit (corpus wd-04, wd-09): an E/M comes only from what the note documents.
_CHARGE_LINE = re.compile(r"^\W*(?:charge ticket|charges?|billing(?: per [\w. ]+)?|billed|"
                          r"superbill|encounter form|coding)\b[^\n:]*:", _I | re.M)
_MODIFIER_25 = re.compile(r"\b99\d{3}\s*-\s*25\b|\b(?:modifier|mod\.?)\s*-?\s*25\b|"
                          r"-25 modifier", _I)
# Shared with the LLM path (extractor/llm/convert.py), which reads E/M levels from quotes.
EM_CODE = re.compile(r"\b99(?:20[2-5]|21[1-5]|28[1-5])\b")
EM_LEVEL = re.compile(r"\blevel\s*(?:of\s*)?:?\s*([1-5]|one|two|three|four|five|IV|V|I{1,3})\b", _I)
EM_LEVELS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "one": 1, "two": 2, "three": 3, "four": 4,
              "five": 5, "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
_NEGATED = re.compile(r"\b(?:no|not|without|declined)\b", _I)
_STATUS = re.compile(r"\b(established|new)\s+patient\b", _I)
SEPARATE = re.compile(r"\bseparate(?:ly)?(?: identifiable)?\b|\bsignificant,? separately\b", _I)
_PLACES = [
    (Place.EMERGENCY_DEPARTMENT,
     re.compile(r"\b(?:(?i:emergency department|emergency dep(?:ar)?t\b\.?|emergency room)|ED|ER)"
                r"\b(?!\s*visit level)")),
    (Place.INFUSION_CENTER, re.compile(r"\binfusion (?:center|centre|suite|clinic)\b", _I)),
    (Place.HOSPITAL_OUTPATIENT,
     re.compile(r"\b(?:hospital outpatient|outpatient hospital|HOPD)\b", _I)),
    (Place.OFFICE, re.compile(r"\b(?:physician office|office visit|doctor's office|"
                              r"clinic office)\b", _I)),
]


def extract_em(doc: Doc) -> EMVisit | None:
    """E/M documentation: the cue sentences, stated level or code, patient status."""
    text = doc_text(doc)
    cues = list(_EM_CUE.finditer(text))
    if not cues:
        return None
    evidence: list[Span] = []
    spans: dict[str, Span] = {}
    level = code = status = None
    separate = False
    modifiers: list[str] = []
    for cue in cues:
        sent = sentence_of(doc.char_span(cue.start(), cue.end(), alignment_mode="expand"))
        lo, hi = sent.start_char, sent.end_char
        sentence = text[lo:hi]
        if _NEGATED.search(text[lo:cue.start()]):
            continue  # "No separate E/M today."
        line_start = text.rfind("\n", 0, cue.start()) + 1
        if _CHARGE_LINE.match(text, line_start, cue.start() + 1):
            continue
        span = Span(start=lo, end=hi) if hi > lo else Span(start=cue.start(), end=cue.end())
        if span not in evidence:
            evidence.append(span)
        if code is None and (m := EM_CODE.search(sentence)):
            code = m.group(0)
            spans["stated_code"] = Span(start=lo + m.start(), end=lo + m.end())
        if level is None and (m := EM_LEVEL.search(sentence)):
            level = EM_LEVELS[m.group(1).lower()]
            spans["stated_level"] = Span(start=lo + m.start(), end=lo + m.end())
        if status is None and (m := _STATUS.search(sentence)):
            status = m.group(1).lower()
            spans["patient_status"] = Span(start=lo + m.start(), end=lo + m.end())
        if "25" not in modifiers and (m := _MODIFIER_25.search(sentence)):
            modifiers.append("25")
            spans["stated_modifiers"] = Span(start=lo + m.start(), end=lo + m.end())
        if not separate and (m := SEPARATE.search(sentence)):
            separate = True
            spans["separately_identifiable"] = Span(start=lo + m.start(), end=lo + m.end())
    if not evidence:
        return None
    return EMVisit(id="E1", evidence=evidence, field_spans=spans, separately_identifiable=separate,
                   stated_level=level, stated_code=code, patient_status=status,
                   stated_modifiers=modifiers)


def extract_weight(text: str) -> tuple[PatientWeight | None, list[str]]:
    """The documented patient weight (the first one; differing later weights are flagged)."""
    weights = find_weights(text)
    if not weights:
        return None, []
    first = weights[0]
    warnings = []
    if any(abs(w.kg - first.kg) > 0.5 for w in weights[1:]):
        warnings.append("W1: several different weights documented; the first one is used.")
    span = Span(start=first.start, end=first.end)
    fact = PatientWeight(id="W1", evidence=[span], field_spans={"value": span},
                         value=first.value, unit=first.unit)
    return fact, warnings


_HEADER_LINES = 3
_OFFICE_HEADER = re.compile(r"\b(?:office|clinic|practice|family medicine|primary care|"
                            r"POS 11)\b", _I)
_BARE_ED = re.compile(r"\b(?:ED|ER)\b")
# A bare "ED" that a header field labels as the place ("LOC: ED-14", "ENC: ED OUTPT",
# "Dept: ER") or that names the ED's own facility level ("ED FACILITY LEVEL: 3").
_LABELLED_ED = re.compile(r"(?:\b(?:loc(?:ation)?|enc(?:ounter)?|dept|department|unit|area|"
                          r"pt class|patient class|service|visit type)\s*:\s*)$", re.I)
_ED_LEVEL_AFTER = re.compile(r"\s+(?:facility|visit|e/?m)\s+level\b", re.I)


def extract_place(text: str) -> EncounterPlace | None:
    """Where the encounter took place: from the note's header lines first (a title such as
    "ED NURSE NOTE" or "Family Practice (office)"), else the first full place phrase in the
    text. A bare "ED" in the body ("ED precautions", "prefers office to ED") is not a place."""
    header_end = 0
    for _ in range(_HEADER_LINES):
        nxt = text.find("\n", header_end)
        header_end = len(text) if nxt == -1 else nxt + 1
    first_line_end = text.find("\n")
    first_line_end = len(text) if first_line_end == -1 else first_line_end
    found = []
    for place, pattern in _PLACES:
        for match in pattern.finditer(text, 0, header_end):
            if _BARE_ED.fullmatch(match.group(0)) and match.start() > first_line_end \
                    and not _LABELLED_ED.search(text, max(0, match.start() - 24),
                                                match.start()):
                continue  # a bare "ED" counts only in the title line or as a place field
            found.append((match.start(), match.end(), place))
            break
    office = _OFFICE_HEADER.search(text, 0, header_end)
    if office and not found:
        found.append((office.start(), office.end(), Place.OFFICE))
    if not found:
        for place, pattern in _PLACES:
            for match in pattern.finditer(text):
                if _BARE_ED.fullmatch(match.group(0)) and not _ED_LEVEL_AFTER.match(
                        text, match.end()):
                    continue
                found.append((match.start(), match.end(), place))
                break
    if not found:
        return None
    start, end, place = min(found)
    return EncounterPlace(id="P1", evidence=[Span(start=start, end=end)], place=place)
