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

    def __iadd__(self, other: Outcome) -> Outcome:
        # In place: a rule loop accumulating thousands of lines stays linear.
        self.codes.extend(other.codes)
        self.queries.extend(other.queries)
        self.warnings.extend(other.warnings)
        return self

    @staticmethod
    def warn(message: str) -> Outcome:
        """An outcome holding one warning."""
        return Outcome(warnings=[message])
