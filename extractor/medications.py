"""Drugs the patient takes now and goes on taking: a home-medication or reconciliation
list, "T2DM on metformin", "continue insulin glargine". Never an administration (nothing
here is billed); the engine reads them only for the long-term drug codes (Z79) that a coded
condition's "use additional code" note asks for (R-DX-07; ICD-10-CM Official Guidelines
I.C.4.a.3 and I.C.21.c.3).

Names come from `notecoder/refdata/curated/dx_long_term_drugs.csv`, the same list the
engine maps to Z79 codes. A mention is current only when the note says so: inside a
home-medication or reconciliation section, or after a word of ongoing use ("on", "taking",
"continue") in its clause. A stop, hold, start, allergy or refusal word nearer the name
wins ("stopped metformin", "metformin held", "start glipizide", "allergic to insulin"),
and a family-history or allergy section never holds a current drug.
"""

from __future__ import annotations

import re
from functools import cache

from extractor.sections import Section
from notecoder.refdata.long_term_drugs import long_term_drug_rows
from notecoder.schema import CurrentMedication, Span

_I = re.IGNORECASE
_LIST_KINDS = frozenset({"home_medications", "medication_reconciliation"})
_NEVER_KINDS = frozenset({"allergies", "family_history", "not_given", "prior_visit"})
# Short or ambiguous words of the list that are not read from free text ("ASA" is also an
# anaesthesia class; "steroid(s)" names no drug).
_NOT_READ = frozenset({"asa", "steroid", "steroids"})

# The nearest of these before a name in its clause decides: ongoing use, or not.
_ONGOING = r"on|taking|takes|take|continues?|continued|cont|resumes?|resumed|maintained on|" \
           r"uses|using|home"
_NOT_ONGOING = (r"stop|stopped|stopping|discontinue[sd]?|discontinuing|d/c'?d?|dc'?d|held|hold|"
                r"holding|quit|off|no longer|not|never|start|starting|started|begin|begins|"
                r"initiate[sd]?|initiating|add|adding|added|new|consider|considering|"
                r"recommend(?:ed)?|prescribe[sd]?|rx|switch(?:ed)?|change[sd]?|instead of|"
                r"allerg(?:y|ic)(?: to)?|intoleran(?:t|ce)(?: of| to)?|declined?|refused?|"
                r"denies|no|without|prior|previously|formerly|failed|trial of")
_CUE = re.compile(rf"\b(?:(?P<ongoing>{_ONGOING})|(?P<not>{_NOT_ONGOING}))\b", _I)
# A stop or hold written right after the name: "metformin held for contrast",
# "glipizide (stopped 2024)", "insulin - noncompliant".
_NOT_AFTER = re.compile(r"^[^.;\n]{0,30}?\b(?:held|on hold|stopped|discontinued|d/c'?d|dc'?d|"
                        r"not taking|non-?complian(?:t|ce)|intoleran(?:t|ce)|allergy|"
                        r"to (?:start|begin)|will (?:start|begin)|started today|new(?:ly)? "
                        r"(?:started|prescribed)|new rx|prn only|caused|causing|"
                        r"induced|due to|d/t)\b", _I)
_CLAUSE_START = re.compile(r"[.;\n](?!\d)")


@cache
def _names() -> re.Pattern[str]:
    names = sorted({r["drug"].lower() for r in long_term_drug_rows()} - _NOT_READ, key=len,
                   reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", _I)


def _section_of(sections: list[Section], offset: int) -> Section | None:
    inside = [s for s in sections if s.start <= offset < s.end]
    return inside[-1] if inside else None


def _clause_start(text: str, offset: int, floor: int) -> int:
    starts = [m.end() for m in _CLAUSE_START.finditer(text, floor, offset)]
    return starts[-1] if starts else floor


def _current(text: str, start: int, end: int, section: Section | None) -> bool:
    if section is not None and section.kind in _NEVER_KINDS:
        return False
    if _NOT_AFTER.match(text, end):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    # `section` holds `start` (`_section_of`): a clause never reaches back past its header.
    floor = max(line_start, section.header_end) if section is not None else line_start
    lead = text[_clause_start(text, start, floor):start]
    cues = list(_CUE.finditer(lead))
    if cues:
        return cues[-1].group("ongoing") is not None
    return section is not None and section.kind in _LIST_KINDS


def extract_current_medications(text: str, sections: list[Section]) -> list[CurrentMedication]:
    """One fact per drug name (its first current mention), in note order."""
    found: dict[str, CurrentMedication] = {}
    for match in _names().finditer(text):
        name = match.group(0).lower()
        if name in found:
            continue
        start, end = match.start(), match.end()
        if not _current(text, start, end, _section_of(sections, start)):
            continue
        span = Span(start=start, end=end)
        found[name] = CurrentMedication(id=f"M{len(found) + 1}", evidence=[span],
                                        field_spans={"text": span}, text=match.group(0),
                                        name=name)
    return list(found.values())
