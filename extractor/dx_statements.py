"""Where a note states its diagnoses: the pieces of text a diagnosis phrase is read from.

A coder codes from the provider's diagnostic statements: the items of an assessment,
impression, diagnosis or assessment-and-plan section ("1. Acute pyelonephritis  2.
Dehydration"), and, in a note without such a section, the clauses of its narrative ("49 y/o
F, triple-negative invasive ductal carcinoma, upper-outer quadrant L breast, s/p
lumpectomy."). This module only cuts the note into pieces with their offsets; which pieces
name a diagnosis, and with which axes, is for the phrase reader (`extractor.dx_terms`).

Cuts: items at line breaks, list markers ("1.", "2)", "#3") and semicolons; within an item,
the plan that follows a dash or an arrow ("Cellulitis L leg - cefazolin IV, then PO"),
every sentence, and commas outside brackets ("Cellulitis of left lower leg, no abscess":
the negation is its own piece). A piece that names no codable condition is joined back to
the phrase before it by the reader. Texts that are not a
record of the patient's current conditions (family and social history, allergies,
medication lists, past history, prior visits, discharge instructions) give no pieces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.sections import Section

# Sections whose items are the provider's diagnostic statements.
STATEMENT_KINDS = frozenset({"assessment"})
# Plan headers that also carry the assessment ("A/P:", "Assessment and plan:").
_ASSESSMENT_PLAN = re.compile(r"\b(?:a\s*/\s*p|a\s*&\s*p|assessment|impression)\b", re.I)
# Sections that hold no current condition of the patient (their mentions are not coded).
SKIPPED_KINDS = frozenset({"family_history", "social_history", "allergies", "home_medications",
                           "medication_reconciliation", "past_history", "prior_visit",
                           "discharge", "not_given"})

_ITEM_BREAK = re.compile(r"\n|;|(?:(?<=\s)|^)(?:#\s?\d{1,2}[.):]?|\d{1,2}[.)])(?=\s)")
# A dash before a qualifier of the condition that ends the clause ("CLL - in remission,
# observation only") does not start the plan: the qualifier is the item's. "MM in relapse -
# relapsed 10/2025 on lenalidomide" still cuts (more follows the word).
QUALIFIER_AFTER_DASH = (r"(?!\s*(?:in\s+(?:partial\s+|complete\s+)?remission|not\s+in\s+remission|"
                         r"in\s+relapse|relapsed|refractory|recurrent|\d(?:st|nd|rd|th)\s+recurrence|"
                         r"initial\s+encounter|subsequent\s+encounter|sequela)\s*(?:[,;.)]|$))")
_PLAN_CUT = re.compile(r"\s[-–—]+\s" + QUALIFIER_AFTER_DASH + r"|\s?->|→|=>|:\s|\s[-–—]+$")
# "?" ends a sentence after a word ("Pain worse?"), not before one ("Abd pain, ? appendicitis").
# Not the period of a title before a name ("Dr. Haas: hypomagnesemia due to cetuximab").
_SENTENCE_END = re.compile(r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)[.!](?=\s|$)|"
                           r"(?<=\w)\?(?=\s|$)")
# A clinician's name opening a narrative clause ("Dr. Haas: ...", "Okafor, MD: ..."): who
# said it, no condition of its own.
_SPEAKER = re.compile(r"(?:dr\.?\s+[a-z'-]+|[a-z'-]+,?\s+(?:md|do|np|pa(?:-c)?))\s*:\s*",
                      re.I)
_COMMA = re.compile(r"[,;]")
# Narrative clause breaks beside commas: a column gap ("02/25/2026   61 y/o M   Adenocarcinoma
# of sigmoid colon") and the patient's age and sex ("44 y/o F relapsing-remitting MS").
# A quotation mark (a provider's words quoted in a nursing note), a dash between words and
# "on <treatment>" also end a clause ("Pt 36 M - ulcerative
# pancolitis, in remission on maintenance vedolizumab"), and so does the indication of a
# drug line ("Vancomycin 1 g IV 1000-1100 for cellulitis of right forearm"); a clause
# naming no condition is joined back to the one before it by the reader ("A-fib on
# apixaban" keeps its Z79.01).
_NARRATIVE_BREAK = re.compile(r"[,;\"“”]| {3,}|\t|\s[-–—]\s|(?<!dx)(?<!indication)\s(?=on\s)|"
                              r"\s(?:for|to treat)\s|"
                              r"\b\d{1,3}\s*(?:y/?o|yo|-year-old|year old)?\s*"
                              r"(?:[MF]|male|female|man|woman)\b:?(?=\s|$)", re.I)
# "Order dx:", "Dx on standing order:", "Dx per referral:" (the order's diagnosis, as a
# nursing note copies it) and "MD:" (the physician's impression written into a nursing
# note) label a statement too.
_LABEL = re.compile(r"(?:(?:md |provider |primary |secondary |principal |additional |order )?"
                    r"(?:dx|diagnos[ie]s|indication)(?:\s+(?:on|per|from)\s+(?:the\s+)?"
                    r"(?:today'?s\s+|standing\s+)?(?:order|"
                    r"referral|referring\s+(?:provider|physician|md)|consult))?|"
                    r"impression|assessment|reason(?: for visit)?|"
                    r"primary|secondary|principal|additional|md)\s*:\s*", re.I)


@dataclass(frozen=True)
class Piece:
    """A stretch of the note a diagnosis phrase may be read from."""

    start: int
    end: int
    statement: bool  # an item of an assessment-type section (not narrative)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "-•*·>#.:)"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ".,;:-"):
        end -= 1
    return start, end


def _depths(text: str, start: int, end: int) -> list[int]:
    """Bracket depth at each offset of text[start:end] ("(RF neg, anti-CCP neg)" is one)."""
    depth, out = 0, []
    for ch in text[start:end]:
        if ch in "([":
            depth += 1
        out.append(depth)
        if ch in ")]" and depth:
            depth -= 1
    return out


def _cuts(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut at each match of `pattern` outside brackets."""
    depths = _depths(text, start, end)
    out, pos = [], start
    for match in pattern.finditer(text, start, end):
        if match.start() > start and depths[match.start() - start]:
            continue
        out.append((pos, match.start()))
        pos = match.end()
    out.append((pos, end))
    return out


def _statement_pieces(text: str, start: int, end: int) -> list[Piece]:
    pieces = []
    for item_start, item_end in _cuts(_ITEM_BREAK, text, start, end):
        # The diagnosis is the item's first sentence, before any plan after a dash/arrow.
        sentences = _cuts(_SENTENCE_END, text, item_start, item_end)
        for n, (s_start, s_end) in enumerate(sentences):
            cut = _PLAN_CUT.search(text, s_start, s_end) if n == 0 else None
            parts = _cuts(_COMMA, text, s_start, cut.start() if cut else s_end)
            for c_start, c_end in _join_spread(text, parts):
                a, b = _trim(text, c_start, c_end)
                if b > a:
                    pieces.append(Piece(a, b, statement=True))
    return pieces


_METASTATIC_LEAD = re.compile(r"\s*(?:(?:dx|diagnos[ie]s|impression|assessment)\s*:\s*)?"
                              r"metastatic\s+(?!to\b|in\b|disease\b)", re.I)
_SITE_METS_LEAD = re.compile(r"\s*(?:[a-z]+\s+){1,3}(?:mets|metastas[ie]s)\b", re.I)


def _join_spread(text: str, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """"Metastatic adenocarcinoma of the sigmoid colon, liver metastases" is one statement
    of a primary and where it spread (ICD-G I.C.2): the part naming the metastatic cancer
    and the part right after it naming the secondary site stay one piece, so the coder reads
    the first as the primary (engine.dx_codes.r_primary_and_secondary)."""
    out: list[tuple[int, int]] = []
    for a, b in parts:
        if out and _METASTATIC_LEAD.match(text, out[-1][0], out[-1][1]) and \
                _SITE_METS_LEAD.match(text, a, b):
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


# "Dr. Kowalczyk: 1. Dehydration  2. Nausea with vomiting  3. Diarrhea": a numbered list of
# diagnoses on one line is the provider's diagnostic statement wherever it stands.
_NUMBERED_LIST = re.compile(r"(?:^|[\s:])1[.)]\s+\S.*?\s2[.)]\s+\S")


# A line break, unless prose wraps on to a line that goes on in lower case ("... for
# rheumatoid\narthritis."): a hard-wrapped sentence is one sentence.
_LINE_BREAK = re.compile(r"\n(?![ \t]*[a-z])")


def _narrative_pieces(text: str, start: int, end: int) -> list[Piece]:
    pieces = []
    for line_start, line_end in _cuts(_LINE_BREAK, text, start, end):
        listed = _NUMBERED_LIST.search(text, line_start, line_end)
        if listed:
            first = text.index("1", listed.start(), line_end)
            pieces += _statement_pieces(text, first, line_end)
            continue
        for s_start, s_end in _cuts(_SENTENCE_END, text, line_start, line_end):
            for c_start, c_end in _join_spread(text, _cuts(_NARRATIVE_BREAK, text, s_start,
                                                            s_end)):
                a, b = _trim(text, c_start, c_end)
                speaker = _SPEAKER.match(text, a, b)
                if speaker:
                    a, b = _trim(text, speaker.end(), b)
                label = _LABEL.match(text, a, b)
                if label:  # "Dx: seronegative rheumatoid arthritis": the label is no phrase
                    a, b = _trim(text, label.end(), b)
                if b > a:
                    pieces.append(Piece(a, b, statement=bool(label)))
    return pieces


# A line that a diagnosis label opens ("Dx on order: multiple myeloma in relapse",
# "Indication: pemphigus vulgaris"): the provider's statement of the diagnosis, even outside
# the assessment section.
_DX_LABEL_LINE = re.compile(r"^[ \t]*(?:[-*•]|\[x\])?[ \t]*(?=[^\n]{0,40}?\b(?:dx|diagnos[ie]s|"
                            r"indication)\b[^\n:]{0,30}:)", re.I | re.M)
_DX_LABEL_WORD = re.compile(r"dx|diagnos|indication", re.I)  # not "Impression:", "MD:"


def _labelled_lines(text: str, sections: list[Section], statements: list[Section]
                    ) -> list[Piece]:
    """Pieces of diagnosis-labelled lines outside the statement sections and the sections
    that are never coded from (history, home medications, ...)."""
    passed = [(s.start, s.end) for s in sections if s in statements or s.kind in SKIPPED_KINDS]
    out = []
    for line in _DX_LABEL_LINE.finditer(text):
        if any(a <= line.start() < b for a, b in passed):
            continue
        label = _LABEL.match(text, line.end())
        if label is None or not _DX_LABEL_WORD.search(label.group(0)):
            continue
        end = text.find("\n", label.end())
        end = len(text) if end < 0 else end
        out += _statement_pieces(text, label.end(), end)
    return out


def _is_statement_section(text: str, section: Section) -> bool:
    if section.kind in STATEMENT_KINDS:
        return True
    return section.kind == "plan" and bool(
        _ASSESSMENT_PLAN.search(text, section.start, section.header_end))


def diagnosis_pieces(text: str, sections: list[Section]) -> list[Piece]:
    """Statement pieces when the note has an assessment-type section, else narrative
    clauses outside the skipped sections; in note order."""
    statements = [s for s in sections if _is_statement_section(text, s)]
    if statements:
        out = []
        for section in statements:
            out += _statement_pieces(text, section.header_end, section.end)
        return sorted(out + _labelled_lines(text, sections, statements),
                      key=lambda p: p.start)
    skipped = sorted((s.start, s.end) for s in sections if s.kind in SKIPPED_KINDS)
    out, pos = [], 0
    for s_start, s_end in [*skipped, (len(text), len(text))]:
        if s_start > pos:
            out += _narrative_pieces(text, pos, s_start)
        pos = max(pos, s_end)
    return out
