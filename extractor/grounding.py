"""Grounding: find an LLM's verbatim evidence quote in the note and say how it matched.

The LLM is never trusted for positions. Each quote is aligned to the note text in
three steps, and the first that succeeds wins:

1. exact: the quote occurs character for character;
2. normalised: it occurs once whitespace runs are folded to one space and case is
   ignored (the span still covers the original characters);
3. fuzzy: the best window of the note scores at least `FUZZY_THRESHOLD` (rapidfuzz
   partial ratio, 0-100) against the quote.

Otherwise the alignment is `none` and the fact is never coded. Model: google/langextract
`resolver.py` (exact, then fuzzy, with an alignment status per extraction).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from notecoder.schema import Alignment, Span

FUZZY_THRESHOLD = 90.0
_MIN_FUZZY_CHARS = 8  # shorter quotes must match exactly or normalised
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Grounded:
    """Where a quote lies in the note, how it was matched, and the match score (0-100)."""

    span: Span | None
    alignment: Alignment
    score: float


def _fold(text: str) -> tuple[str, list[int]]:
    """Lower-cased text with whitespace runs folded to one space, and for each folded
    character the index of the original character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    previous_space = False
    for index, ch in enumerate(text):
        if ch.isspace():
            if previous_space:
                continue
            chars.append(" ")
            previous_space = True
            origin.append(index)
            continue
        # Some characters lower-case to two ("İ" -> "i̇"): one origin entry per folded char.
        for folded in ch.lower():
            chars.append(folded)
            origin.append(index)
        previous_space = False
    return "".join(chars), origin


def _nearest(positions: list[int], near: int | None, occurrence: int = 0) -> int:
    """The match closest to `near`; without it, the `occurrence`-th in reading order (the
    last one when there are fewer)."""
    if near is None:
        return positions[min(occurrence, len(positions) - 1)]
    return min(positions, key=lambda p: abs(p - near))


def _all_at(haystack: str, needle: str) -> list[int]:
    found, at = [], haystack.find(needle)
    while at != -1:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def ground_quote(quote: str, text: str, lo: int = 0, hi: int | None = None,
                 near: int | None = None, occurrence: int = 0) -> Grounded:
    """Align `quote` to `text[lo:hi]`; offsets are into the whole `text`.

    `near` prefers, among several equal matches, the one closest to that offset
    (a field quote near its fact's evidence). Without it, `occurrence` picks among them
    in reading order: the n-th draft quoting the same text is grounded to its n-th
    occurrence (two identical "Ondansetron 4 mg IV push" lines are two administrations),
    as google/langextract's resolver aligns repeated extractions in order.
    """
    hi = len(text) if hi is None else hi
    quote = quote.strip()
    if not quote:
        return Grounded(None, Alignment.NONE, 0.0)
    window = text[lo:hi]
    exact = _all_at(window, quote)
    if exact:
        at = _nearest([lo + p for p in exact], near, occurrence)
        return Grounded(Span(start=at, end=at + len(quote)), Alignment.EXACT, 100.0)
    folded, origin = _fold(window)
    folded_quote, _ = _fold(quote)
    folded_quote = folded_quote.strip()
    hits = _all_at(folded, folded_quote) if folded_quote else []
    if hits:
        starts = [lo + origin[p] for p in hits]
        start = _nearest(starts, near, occurrence)
        first = starts.index(start)
        end = lo + origin[hits[first] + len(folded_quote) - 1] + 1
        return Grounded(Span(start=start, end=end), Alignment.NORMALISED, 100.0)
    if len(folded_quote) < _MIN_FUZZY_CHARS or len(folded_quote) > len(folded):
        # A quote longer than the text searched would be aligned the other way round
        # (the whole text inside the quote) and "match" while adding claims to it.
        return Grounded(None, Alignment.NONE, 0.0)
    match = fuzz.partial_ratio_alignment(folded_quote, folded, score_cutoff=FUZZY_THRESHOLD)
    if match is None:
        return Grounded(None, Alignment.NONE, 0.0)
    start = lo + origin[match.dest_start]
    end = lo + origin[max(match.dest_end - 1, match.dest_start)] + 1
    start, end = _trim(text, start, end)
    if end <= start:
        return Grounded(None, Alignment.NONE, 0.0)
    return Grounded(Span(start=start, end=end), Alignment.FUZZY, round(match.score, 1))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip whitespace at both ends of a fuzzy window."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
