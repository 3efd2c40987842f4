"""What a rule returns: codes, queries and warnings, merged in order."""

from __future__ import annotations

from dataclasses import dataclass, field

from notecoder.schema import CodeLine, Query


@dataclass
class Outcome:
    """Output of one rule or of a group of rules."""

    codes: list[CodeLine] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.codes + other.codes,
            self.queries + other.queries,
            self.warnings + other.warnings,
        )

    @staticmethod
    def warn(message: str) -> Outcome:
        """An outcome holding one warning."""
        return Outcome(warnings=[message])
