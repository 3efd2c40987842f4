"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from notecoder.schema import CodingResult

EXAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "examples"


def claim(result: CodingResult) -> list[tuple[str, str, int | None, tuple[str, ...]]]:
    """(system, code, units, modifiers) per line, in output order; ICD units are None."""
    return [(c.system, c.code, c.units, tuple(c.modifiers)) for c in result.codes]


@pytest.fixture
def example_text():
    def read(name: str) -> str:
        return (EXAMPLES / name).read_text(encoding="utf-8")

    return read
