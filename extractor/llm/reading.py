"""The offline reader's view of a note, against which LLM facts are checked.

This is never a gate on *what* the LLM found: an LLM fact the offline pass missed is
coded (and marked `found_by: llm`). It supplies what protects a bill whoever read the
note: the text that is not a record of a dose given today (home medications, history,
plans, held or refused doses: `extractor.sections`), the past-history sections, the
ConText assertion of any span, and the offline facts, to mark which reader found what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from notecoder.schema import Assertion, Extraction, Span


@dataclass
class NoteReading:
    """One note read once by the offline pipeline, shared by every chunk's checks."""

    text: str
    _offline: Extraction | None = field(default=None, repr=False)

    @cached_property
    def doc(self):
        from extractor.nlp import parse

        return parse(self.text)

    @cached_property
    def sections(self) -> list:
        from extractor.sections import find_sections

        return find_sections(self.text)

    @cached_property
    def not_today(self):
        from extractor.administrations import NotToday

        return NotToday(self.text, self.sections)

    @cached_property
    def historical(self) -> list[Span]:
        from extractor.sections import historical_spans

        return historical_spans(self.text, self.sections)

    @property
    def offline(self) -> Extraction:
        """The offline extractor's facts for the note (to mark agreement, never to gate)."""
        if self._offline is None:
            from extractor.rules import extract

            self._offline = extract(self.text)[0]
        return self._offline

    def assertion_at(self, span: Span) -> Assertion | None:
        """The note's own ConText reading of the text at `span` (its cues, past-history
        sections); None when the span does not fall on token boundaries."""
        from extractor.context import assert_spans
        from extractor.diagnoses import assertion_of

        piece = self.doc.char_span(span.start, span.end, alignment_mode="expand")
        if piece is None:
            return None
        assert_spans(self.doc, [piece])
        found = assertion_of(piece)
        if found == Assertion.AFFIRMED and any(h.start <= span.start < h.end
                                               for h in self.historical):
            return Assertion.HISTORICAL
        return found
