"""Drug header lines with their administration details indented under them (issue 11 item
2: a drug header line and its administration line are one administration)."""

from __future__ import annotations

import datetime as dt

from extractor.rules import extract
from notecoder.schema import Method, Route

NOTE = (
    "INFUSION RECORD\n"
    "FAMOTIDINE 20 mg\n"
    "   20 mg in 50 mL NS IVPB started 0815, completed 0832\n"
    "LORAZEPAM 1 mg\n"
    "   1 mg IV push 0840\n"
    "DIPHENHYDRAMINE 25 mg\n"
    "   25 mg PO 0800\n"
    "Observation until 0930.\n"
)


def _by_drug():
    return {a.generic: a for a in extract(NOTE)[0].administrations}


def test_indented_lines_belong_to_the_header_drug():
    found = _by_drug()
    famotidine = found["famotidine"]
    assert (famotidine.start, famotidine.stop) == (dt.time(8, 15), dt.time(8, 32))
    assert famotidine.route == Route.IV and famotidine.diluent == "sodium chloride"
    assert found["lorazepam"].method == Method.PUSH
    assert found["lorazepam"].start == dt.time(8, 40)
    assert found["lorazepam"].stop is None  # "Observation until 0930" ends no drug


def test_a_fluid_named_as_the_diluent_under_a_header_is_not_a_drug_of_its_own():
    assert "sodium chloride" not in _by_drug()


def test_an_oral_dose_under_its_header_is_oral():
    assert _by_drug()["diphenhydramine"].route == Route.ORAL


def test_no_unknown_drug_warning_for_the_header_block():
    _, warnings = extract(NOTE)
    assert not any("name no drug" in w for w in warnings)
