"""The note's date of service, and the sentences that are dated another day.

"Day 1 (03/03/2026): gemcitabine + cisplatin - GIVEN 03/03" in a note of 03/10/2026, or
"C2 given 02/10" in a note of 02/17, records a dose of another day: no line is billed from
it (R-DOC-01, docs/rules-additions.md: a claim line is per date of service). A later date
in a sentence with a clock time is kept (an infusion running past midnight, a pump started
today with its disconnect date).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# mm/dd/yyyy, mm/dd/yy, yyyy-mm-dd, and mm/dd with a two-digit day (no year).
_DATE = re.compile(
    r"(?<![\w/.])(?:(?P<m>1[0-2]|0?[1-9])/(?P<d>3[01]|[12]\d|0?[1-9])/(?P<y>\d{4}|\d{2})"
    r"|(?P<iy>20\d{2})-(?P<im>1[0-2]|0[1-9])-(?P<id>3[01]|[12]\d|0[1-9])"
    r"|(?P<sm>1[0-2]|0?[1-9])/(?P<sd>3[01]|[12]\d|0[1-9]))(?![\w/]|\.\d|\s*(?:mg|ml|mcg|ns)\b)",
    re.I)
# Ratios that look like a month/day: pain scores, strength, saline fractions, vitals.
_NOT_A_DATE_BEFORE = re.compile(
    r"(?:pain|ha|headache|score|scale|rated|nrs|vas|gcs|strength|motor|power|reflexes|"
    r"bp|d5|dextrose|x|apgar|grade)[ \t:=]*(?:of[ \t]*)?$", re.I)
_SCORE = re.compile(r"\b(?:10|[0-9])/10\b|\bpain\b", re.I)
_SERVICE_LABEL = re.compile(
    r"\b(?:dos|date[ \t]+of[ \t]+service|service[ \t]+date|visit[ \t]+date|encounter[ \t]+date|"
    r"date)\b[ \t]*:?[ \t]*$", re.I)
_BIRTH = re.compile(r"\b(?:dob|d\.o\.b\.|born|birth(?:date)?)\b[ \t]*:?[ \t]*$", re.I)
# A date that says when a vial was opened or a lab was drawn dates that thing, not a dose.
_ATTRIBUTE_DATE = re.compile(
    r"\b(?:opened|exp|expires|expiry|expiration|lot|drawn|collected|resulted|dated|mfg|"
    r"reconstituted|prepared|mixed|bud|since|until|through|signed)\b[ \t:]*(?:on[ \t]*)?$",
    re.I)
_HEADER_LINES = 5  # an unlabelled date of service is the first full date in the first lines
_TIME = re.compile(r"(?<![\d/])(?:[01]?\d|2[0-3]):?[0-5]\d(?![\d/])")
_TODAY = re.compile(r"\b(?:today|this[ \t]+visit|tonight|now)\b", re.I)


@dataclass(frozen=True)
class NoteDate:
    """A date written in the note: month, day, year when written, and its offsets."""

    month: int
    day: int
    year: int | None
    start: int
    end: int

    def same_day(self, other: NoteDate) -> bool:
        if (self.month, self.day) != (other.month, other.day):
            return False
        return self.year is None or other.year is None or self.year == other.year

    def as_date(self, year: int) -> dt.date | None:
        try:
            return dt.date(self.year or year, self.month, self.day)
        except ValueError:
            return None


def _score_out_of_ten(text: str, match: re.Match[str]) -> bool:
    """'4/10 -> 1/10 after ketorolac': a second score out of ten is not January 10."""
    if not match.group(0).endswith("/10"):
        return False
    return bool(_SCORE.search(text, max(0, match.start() - 40), match.start()))


def _year(value: str) -> int:
    number = int(value)
    return number + 2000 if number < 100 else number


def find_dates(text: str) -> list[NoteDate]:
    """Every calendar date written in the note (ratios such as 'pain 6/10' left out)."""
    dates = []
    for match in _DATE.finditer(text):
        before = text[max(0, match.start() - 16):match.start()]
        if _NOT_A_DATE_BEFORE.search(before) or _score_out_of_ten(text, match):
            continue
        if match.group("m"):
            month, day, year = int(match.group("m")), int(match.group("d")), _year(
                match.group("y"))
        elif match.group("iy"):
            month, day, year = int(match.group("im")), int(match.group("id")), int(
                match.group("iy"))
        else:
            month, day, year = int(match.group("sm")), int(match.group("sd")), None
        dates.append(NoteDate(month, day, year, match.start(), match.end()))
    return dates


def service_date(text: str, dates: list[NoteDate] | None = None) -> NoteDate | None:
    """The date of service: a labelled date ("DOS", "Date:"), else the first full date in
    the note's first lines that is not a birth date; None when the note gives none."""
    dates = find_dates(text) if dates is None else dates
    header_end = 0
    for _ in range(_HEADER_LINES):
        nl = text.find("\n", header_end)
        header_end = len(text) if nl < 0 else nl + 1
    first_full = None
    for date in dates:
        line_start = text.rfind("\n", 0, date.start) + 1
        before = text[max(line_start, date.start - 24):date.start]
        if _BIRTH.search(before):
            continue
        if _SERVICE_LABEL.search(before) and date.year is not None:
            return date
        if first_full is None and date.year is not None and date.start < header_end:
            first_full = date
    return first_full


def _sentence(text: str, at: int) -> tuple[int, int]:
    """The sentence (within its line) holding offset `at`."""
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line_end = len(text) if line_end < 0 else line_end
    start = line_start
    for match in re.finditer(r"[.!?](?:\s|$)", text[line_start:at]):
        start = line_start + match.end()
    end_match = re.search(r"[.!?](?:\s|$)", text[at:line_end])
    end = at + end_match.start() + 1 if end_match else line_end
    return start, end


def _clock_hour(sentence: str, at_least: int, below: int = 24) -> bool:
    """A clock time in the sentence with its hour in [at_least, below)."""
    for match in _TIME.finditer(sentence):
        digits = match.group(0).replace(":", "")
        if at_least <= int(digits[:-2] or 0) < below:
            return True
    return False


def _overnight(text: str, dates: list, dos) -> bool:
    """The note charts the date of service with an early-morning clock time (before 06:00):
    a visit that ran past midnight, so the evening before is part of it."""
    for date in dates:
        if date.same_day(dos):
            start, end = _sentence(text, date.start)
            if _clock_hour(text[start:end], 0, 6):
                return True
    return False


def other_day_ranges(text: str) -> list[tuple[int, int]]:
    """Sentences that carry a date other than the date of service (and no 'today')."""
    dates = find_dates(text)
    dos = service_date(text, dates)
    if dos is None or dos.year is None:
        return []
    service = dos.as_date(dos.year)
    ranges = []
    overnight = _overnight(text, dates, dos)
    for date in dates:
        if date.same_day(dos) or _ATTRIBUTE_DATE.search(
                text, max(0, date.start - 16), date.start):
            continue
        start, end = _sentence(text, date.start)
        sentence = text[start:end]
        if _TODAY.search(sentence):
            continue
        when = date.as_date(dos.year)
        if overnight and when is not None and service is not None \
                and when == service - dt.timedelta(days=1) and _clock_hour(sentence, 18):
            # "03/25 23:08 NS bolus start" ... "03/26 00:31 IVPB complete": one visit across
            # midnight, the evening before the date of service, is the same encounter.
            continue
        if when is not None and service is not None and when > service \
                and _TIME.search(sentence):
            # "stopped 03/02 0210" for an infusion started late on 03/01; "pump started
            # 1110; disconnect 03/13": a later date beside a clock time of today.
            continue
        ranges.append((start, end))
    return ranges
