"""The date of service and sentences dated another day (extractor.service_date, R-DOC-01)."""

from __future__ import annotations

from extractor.rules import extract
from extractor.service_date import find_dates, other_day_ranges, service_date


def _marked(text: str) -> list[str]:
    return [text[a:b] for a, b in other_day_ranges(text)]


def test_labelled_date_of_service_wins_over_a_birth_date():
    text = "Pt: Doe, J  DOB 01/02/1961\nDOS: 04/15/2026\n"
    found = service_date(text)
    assert (found.month, found.day, found.year) == (4, 15, 2026)


def test_unlabelled_first_full_date_in_the_header_is_the_date_of_service():
    found = service_date("CLINIC NOTE   2026-03-09\nseen today\n")
    assert (found.month, found.day) == (3, 9)


def test_no_date_of_service_marks_nothing():
    assert _marked("Cycle 2 given 02/10. Ceftriaxone 1 g IV today.") == []


def test_a_sentence_dated_another_day_is_marked_and_its_drug_not_given():
    text = "Visit date: 05/19/2026\nCycle 1 cisplatin 70 mg/m2 given 05/12. No cisplatin today.\n"
    assert _marked(text) == ["Cycle 1 cisplatin 70 mg/m2 given 05/12."]
    assert extract(text)[0].administrations == []


def test_a_sentence_ending_in_its_date_is_still_dated():
    assert _marked("Date: 02/17/2026\nC2 given 02/10.\n") == ["C2 given 02/10."]


def test_a_later_date_beside_a_clock_time_of_today_is_kept():
    text = "DOS 03/11/2026\n1110 5-FU 4824 mg via ambulatory pump started; disconnect 03/13\n"
    assert _marked(text) == []


def test_a_later_date_without_a_time_is_a_plan():
    assert _marked("DOS 03/11/2026\nNext dose 04/08/2026.\n") == ["Next dose 04/08/2026."]


def test_scores_ratios_and_attribute_dates_are_not_dose_dates():
    assert find_dates("pain 6/10, HA 7/10, BP 120/80, D5 1/2 NS") == []
    assert [(d.month, d.day) for d in find_dates("pain 4/10 -> 1/10 after ketorolac")] == []
    text = "DOS 03/25/2026\ntestosterone 200 mg IM at 16:05 from a vial opened 03/11/2026.\n"
    assert _marked(text) == []


def test_a_same_day_date_in_a_flowsheet_row_is_today():
    text = "ED flowsheet 03/12/2026\n03/12/26 10:10 | ketorolac 15 mg IV push |\n"
    assert _marked(text) == []
    [admin] = extract(text)[0].administrations
    assert admin.generic == "ketorolac"
