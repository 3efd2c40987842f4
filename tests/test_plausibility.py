"""Absurd numbers never reach a bill (issue 13 item 5): amounts beyond a billion of their unit
and durations beyond a week are not read from a note (the coder is told why), and a facts
file holding one is refused; MUE checks the rest (R-UNITS-05, R-ADMIN-15)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from notecoder.errors import InvalidFacts
from notecoder.pipeline import code_note, load_facts
from notecoder.schema import MAX_AMOUNT, Quantity, Setting


def _code(text: str):
    return code_note(text, Setting.FACILITY, "official")


def test_an_absurd_dose_is_not_read_and_the_coder_is_told():
    result = _code("Ceftriaxone 99999999999999999999 g IV push at 10:00.")
    [admin] = result.facts.administrations
    assert admin.dose is None
    assert any("beyond any plausible value" in w for w in result.warnings)
    assert all(line.units is None for line in result.codes if line.code == "J0696")


def test_an_absurd_duration_bills_no_time_based_code():
    result = _code("NS 1000 mL IV hydration over 99999999 minutes for dehydration, "
                   "started 10:00.")
    assert not [c for c in result.codes if c.code in ("96360", "96361")]
    assert any("99,999,999 minutes" in w for w in result.warnings)


def test_quantities_beyond_the_bound_or_not_finite_are_invalid():
    Quantity(value=24_000_000, unit="units")  # penicillin G, a day's dose
    for value in (MAX_AMOUNT * 10, float("inf"), float("nan"), 1e308):
        with pytest.raises(ValidationError):
            Quantity(value=value, unit="mg")


def test_a_facts_file_with_an_absurd_dose_is_refused():
    facts = _code("Ceftriaxone 1 g IV push at 10:00.").facts.model_dump(mode="json")
    facts["administrations"][0]["dose"] = {"value": 1e308, "unit": "mg"}
    with pytest.raises(InvalidFacts):
        load_facts(json.dumps(facts))
