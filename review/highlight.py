"""The note text cut into segments, each with the code lines and queries whose evidence
covers it, so a page can highlight a line's evidence (overlapping spans included)."""

from __future__ import annotations

from itertools import pairwise


def segments(text: str, marks: list[tuple[str, list[dict]]]) -> list[tuple[str, list[str]]]:
    """[(segment text, keys of the marks covering it)] in note order; spans outside the
    text are clipped."""
    cuts = {0, len(text)}
    spans = []
    for key, evidence in marks:
        for span in evidence:
            start, end = max(0, int(span["start"])), min(len(text), int(span["end"]))
            if start < end:
                spans.append((start, end, key))
                cuts.update((start, end))
    points = sorted(cuts)
    out = []
    for start, end in pairwise(points):
        keys = sorted({key for lo, hi, key in spans if lo <= start and end <= hi})
        out.append((text[start:end], keys))
    return out
