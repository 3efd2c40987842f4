"""Quantity grammar: every time, dose and weight format in issue 3, with exact spans."""

from __future__ import annotations

import pytest

from extractor.quantities import (
    find_amounts,
    find_clock_times,
    find_durations,
    find_time_ranges,
    find_weights,
)


def _check_spans(text, found):
    for f in found:
        assert text[f.start:f.end] == f.text


@pytest.mark.parametrize("text, expected", [
    ("started 10:15", [("10:15", 10, 15)]),
    ("started at 1015", [("1015", 10, 15)]),
    ("initiated 10:15 AM", [("10:15 AM", 10, 15)]),
    ("completed 10:50 PM.", [("10:50 PM", 22, 50)]),
    ("given 10:15 a.m.", [("10:15 a.m.", 10, 15)]),
    ("hung at 2215", [("2215", 22, 15)]),
    ("start 0000", [("0000", 0, 0)]),
    ("@0930 pushed", [("0930", 9, 30)]),
    ("1015 hrs", [("1015 hrs", 10, 15)]),
    ("12:10 AM", [("12:10 AM", 0, 10)]),
    ("12:30 PM", [("12:30 PM", 12, 30)]),
    ("at 9am", [("9am", 9, 0)]),
    ("10:15a", [("10:15a", 10, 15)]),
])
def test_clock_time_formats(text, expected):
    found = find_clock_times(text)
    _check_spans(text, found)
    assert [(t.text, t.hour, t.minute) for t in found] == expected


@pytest.mark.parametrize("text", [
    "Weight 2024 noted", "NS 1000 mL", "Dose 1500 mg", "DOB 11/24/2024", "on 2024-11-24",
    "call 555-1234", "ratio 1:1000", "in 2024",
])
def test_not_clock_times(text):
    assert find_clock_times(text) == []


@pytest.mark.parametrize("text, first, second", [
    ("10:15-10:50", (10, 15), (10, 50)),
    ("0800-0930", (8, 0), (9, 30)),
    ("0800 to 0930", (8, 0), (9, 30)),
    ("from 9:00 AM to 11:15 AM", (9, 0), (11, 15)),
    ("8:00 AM–9:30 AM", (8, 0), (9, 30)),
    ("9:00-11:15 AM", (9, 0), (11, 15)),
    ("11:30-1:15 PM", (11, 30), (13, 15)),
    ("2300-0200", (23, 0), (2, 0)),  # across midnight: kept as written
])
def test_time_range_formats(text, first, second):
    [r] = find_time_ranges(text)
    assert (r.first.hour, r.first.minute) == first
    assert (r.second.hour, r.second.minute) == second
    assert text[r.start:r.end] == r.text


@pytest.mark.parametrize("text, minutes", [
    ("over 30 minutes", 30), ("over 30 min", 30), ("infused over 1 hr", 60),
    ("over 1.5 hours", 90), ("x 45 min", 45), ("x45min", 45), ("for 45 minutes", 45),
    ("2 hours 15 minutes", 135), ("2 h 10 min", 130), ("over 2 hrs", 120),
    ("15-minute infusion", 15), ("over one hour", 60), ("over an hour", 60),
])
def test_duration_formats(text, minutes):
    [d] = find_durations(text)
    assert d.minutes == minutes and text[d.start:d.end] == d.text


@pytest.mark.parametrize("text", ["q8h", "every 8 hours", "125 mL/hr", "per hour"])
def test_not_durations(text):
    assert find_durations(text) == []


@pytest.mark.parametrize("text, value, unit, kind, per_kg, span", [
    ("1 g", 1.0, "g", "dose", False, "1 g"),
    ("1g IV", 1.0, "g", "dose", False, "1g"),
    ("2 grams", 2.0, "g", "dose", False, "2 grams"),
    ("1.25 g", 1.25, "g", "dose", False, "1.25 g"),
    ("500 mg", 500.0, "mg", "dose", False, "500 mg"),
    ("0.25 mg", 0.25, "mg", "dose", False, "0.25 mg"),
    ("25 mcg", 25.0, "mcg", "dose", False, "25 mcg"),
    ("4,000 units", 4000.0, "units", "dose", False, "4,000 units"),
    ("40 mEq", 40.0, "mEq", "dose", False, "40 mEq"),
    ("5 mg/kg", 5.0, "mg", "dose", True, "5 mg/kg"),
    ("10 mg per kg", 10.0, "mg", "dose", True, "10 mg per kg"),
    ("50 mL", 50.0, "mL", "volume", False, "50 mL"),
    ("100 cc", 100.0, "mL", "volume", False, "100 cc"),
    ("1 L", 1000.0, "mL", "volume", False, "1 L"),
    ("125 mL/hr", 125.0, "mL/hr", "rate", False, "125 mL/hr"),
    ("999 ml/h", 999.0, "mL/hr", "rate", False, "999 ml/h"),
])
def test_amount_formats(text, value, unit, kind, per_kg, span):
    [a] = find_amounts(text)
    assert (a.value, a.unit, a.kind, a.per_kg, a.text) == (value, unit, kind, per_kg, span)
    assert text[a.start:a.end] == a.text


def test_concentration_gives_dose_and_volume():
    found = find_amounts("zoledronic acid 5 mg/100 mL")
    assert [(a.text, a.kind) for a in found] == [("5 mg", "dose"), ("100 mL", "volume")]


def test_percent_is_not_an_amount():
    assert find_amounts("0.9% sodium chloride") == []


@pytest.mark.parametrize("text, value, unit, kg", [
    ("Weight: 80 kg", 80.0, "kg", 80.0),
    ("Wt 72.5kg", 72.5, "kg", 72.5),
    ("weighs 176 lbs", 176.0, "lb", 176 / 2.2046),
    ("176 pounds", 176.0, "lb", 176 / 2.2046),
])
def test_weight_formats(text, value, unit, kg):
    [w] = find_weights(text)
    assert (w.value, w.unit) == (value, unit) and abs(w.kg - kg) < 1e-9
    assert text[w.start:w.end] == w.text


def test_mg_per_kg_is_not_a_weight():
    assert find_weights("infliximab 5 mg/kg") == []


@pytest.mark.parametrize("text", ["22g PIV placed", "PIV 20g L AC placed", "18 g angiocath"])
def test_iv_gauge_is_not_a_dose(text):
    assert find_amounts(text) == []


def test_timed_charting_line():
    text = "1410 Zofran 4 mg IVP given.\n1530 NS bolus complete."
    assert [(t.hour, t.minute) for t in find_clock_times(text)] == [(14, 10), (15, 30)]


def test_strength_per_ml_is_not_a_dose():
    found = find_amounts("heparin 100 units/mL 5 mL; Kenalog 40 mg/mL")
    assert [(a.text, a.kind) for a in found] == [
        ("100 units/mL", "concentration"), ("5 mL", "volume"), ("40 mg/mL", "concentration")]


def test_dosing_rate_and_dose_per_m2_are_not_doses():
    found = find_amounts("start 50 mg/h; oxaliplatin 85 mg/m2 = 160 mg")
    assert [(a.text, a.kind, a.per_m2) for a in found] == [
        ("50 mg/h", "dose_rate", False), ("85 mg/m2", "dose", True), ("160 mg", "dose", False)]
