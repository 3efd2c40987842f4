"""Whether the words around a drug write it as a dose given or as an order or a medication
the patient takes: the sentence-level check both readers (offline and LLM) apply before a
drug is billed."""

from __future__ import annotations

import re

from extractor import cues
from extractor.quantities import find_amounts, find_clock_times


def written_as_not_given(sentence: str, clause: str) -> str | None:
    """Why a drug named in `clause` of `sentence` is written as an order or a medication
    the patient takes rather than a dose given ("will give ...", "on phenytoin 100 mg
    TID", "insulin glargine 20 units nightly"), or None. A clock time in the sentence, or
    a given-now word in the clause beside a schedule word, keeps it a dose given. Both
    readers use it (the LLM path on the quote's line)."""
    has_time = bool(find_clock_times(sentence))
    if cues.FUTURE.search(sentence) and not has_time:
        return "written as a plan or order (a future word and no time given)"
    if cues.SCHEDULE.search(clause) and not has_time and not cues.GIVEN_NOW.search(clause):
        return "written as a dosing schedule the patient takes, not a dose given"
    if cues.STOPPED_BEFORE.search(clause) or (cues.STOPPED_YEAR.search(clause)
                                              and not find_amounts(clause)):
        return "written as a medication stopped or a course ended before today"
    return None


def clause_around(text: str, start: int, end: int, lo: int, hi: int) -> str:
    """The clause (between ; , and the bounds lo..hi) holding text[start:end]."""
    left = max(text.rfind(";", lo, start), text.rfind(",", lo, start), lo - 1) + 1
    ends = [i for i in (text.find(";", end, hi), text.find(",", end, hi)) if i != -1]
    return text[left:min(ends) if ends else hi]


def named_not_given(text: str, start: int, end: int, lo: int) -> str | None:
    """Why a drug named at text[start:end] (its sentence or line starts at `lo`) is no dose
    given, from the words around the name, or None: a culture's susceptibility list or an
    intolerance ("resistant to oxacillin and clindamycin"), a home medication ("on home IV
    cefepime"), a drug level ("vancomycin trough 17.2"), a drug-screen result or a consent
    talk. Both readers use it (RULES.md: only a record of a dose given today is billed)."""
    near = max(lo, start - 60)
    if cues.SUSCEPTIBILITY_BEFORE.search(text, lo, start):
        return "named in a culture's susceptibility or an intolerance"
    if cues.HOME_BEFORE.search(text, max(lo, start - 40), start):
        return "named as a home medication"
    if cues.LEVEL_AFTER.match(text, end):
        return "named as a drug level (a laboratory result)"
    if cues.SCREEN_BEFORE.search(text, near, start):
        return "named in a drug-screen result"
    if cues.CONSENT_BEFORE.search(text, near, start):
        return "named in a consent or risk discussion"
    if names_a_reference(text, start, end, lo):
        return "named as what a finding followed, not a dose of its own"
    return None


def names_a_reference(text: str, start: int, end: int, lo: int) -> bool:
    """A drug named at text[start:end] as what a finding followed or answered ("pain still
    8/10 after ketorolac", "no relief from Toradol"), with no dose, route or given word of
    its own after the name: a dose charted elsewhere, never a second one (RULES.md: only a
    record of a dose given today is billed)."""
    if cues.CAUSE_BEFORE.search(text, max(lo, start - 40), start):
        clause_end = _CAUSE_CLAUSE_END.search(text, end)
        after = text[end:clause_end.start() if clause_end else len(text)]
        return not cues.CAUSE_DOSE_AFTER.match(after)
    return bool(cues.REFERENCE_BEFORE.search(text, max(lo, start - 40), start)
                and not cues.REFERENCE_DOSE_AFTER.match(text, end))


# "... due to cetuximab - give magnesium sulfate 4 g": the cause's clause ends at the dash.
_CAUSE_CLAUSE_END = re.compile(r"\s[-–—]\s|[.;,\n]")
