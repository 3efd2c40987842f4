"""Timestamped flowsheet lines: event kinds, and which infusion each event belongs to."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.flowsheet import attribute_events, flowsheet_events
from tests.test_mar_tables import lookup


def _events(text: str):
    events = flowsheet_events(text, lookup)
    for event in events:
        a, b = event.line
        assert 0 <= a <= b <= len(text)
        assert a <= event.time[2] < event.time[3] <= b
        for _, s, e in event.drugs:
            assert a <= s < e <= b
    return events


def _pairs(text: str) -> list[tuple[str, str, str | None]]:
    return [(text[e.time[2]:e.time[3]], e.kind, g) for e, g in attribute_events(_events(text))]


def test_leading_time_forms_and_kinds():
    text = ("1300  NS 1000 mL bolus started via pump\n"
            "1305  zofran 4mg IVP\n"
            "1405  NS bolus complete - 1000 mL in (1300-1405)\n"
            "02/14 2310 vancomycin 1 g IVPB started\n"
            "@1415 Zofran given\n"
            "14:15 - infusion paused\n"
            "2:30 PM restarted at 50 mL/hr\n"
            "1500 rate increased to 200 mL/hr\n"
            "1510 pump disconnected\n"
            "1515 ondansetron not given - pt refused\n"
            "1520 VS stable\n")
    events = _events(text)
    assert [(text[e.time[2]:e.time[3]], e.time[:2], e.kind) for e in events] == [
        ("1300", (13, 0), "start"), ("1305", (13, 5), "given"), ("1405", (14, 5), "stop"),
        ("2310", (23, 10), "start"), ("1415", (14, 15), "given"), ("14:15", (14, 15), "pause"),
        ("2:30 PM", (14, 30), "restart"), ("1500", (15, 0), "rate_change"),
        ("1510", (15, 10), "disconnect"), ("1515", (15, 15), "not_given"),
        ("1520", (15, 20), "other")]
    dated = events[3]
    assert dated.date is not None and dated.date[:2] == (2, 14)
    assert text[dated.date[2]:dated.date[3]] == "02/14"
    assert events[0].bolus and events[0].pump and events[0].volume_ml == 1000


def test_lines_that_only_start_with_a_number_are_not_events():
    text = "1000 mL NS hung\n2024-11-24 visit\n1. Pt seen\n0930\n"
    assert _events(text) == []


def test_drugs_and_generic_infusion_flags():
    text = "1300 infliximab 400 mg in 250 mL NS infusion started\n1505 infusion complete\n"
    start, stop = _events(text)
    assert [(g, text[a:b]) for g, a, b in start.drugs] == [("infliximab", "infliximab"),
                                                          ("sodium chloride", "NS")]
    assert not start.generic_infusion and stop.generic_infusion and stop.drugs == []


def test_infusion_complete_belongs_to_the_drug_not_its_carrier_fluid():
    text = ("1300 infliximab 400 mg in 250 mL NS infusion started\n"
            "1505 infusion complete\n")
    assert _pairs(text) == [("1300", "start", "infliximab"), ("1505", "stop", "infliximab")]


def test_fluid_on_a_start_line_is_the_diluent_of_the_drug_named_above():
    text = ("Infliximab 5 mg/kg = 400 mg\n"
            "1300 infusion started, 250 mL NS\n"
            "1505 infusion complete\n")
    assert _pairs(text) == [("1300", "start", "infliximab"), ("1505", "stop", "infliximab")]
    assert [g for g, _, _ in _events(text)[0].context_drugs] == ["infliximab"]


def test_fluid_bolus_under_a_drug_line_stays_a_fluid():
    text = ("Infliximab 5 mg/kg = 400 mg\n"
            "1200 NS 1000 mL bolus started\n")
    assert _pairs(text) == [("1200", "start", "sodium chloride")]


def test_context_does_not_cross_a_blank_line():
    text = "Infliximab 5 mg/kg = 400 mg\n\n1300 infusion started, 250 mL NS\n"
    assert _pairs(text) == [("1300", "start", "sodium chloride")]


def test_push_between_start_and_complete_is_not_the_target():
    text = ("1300 infliximab 400 mg in 250 mL NS infusion started\n"
            "1330 Zofran 4 mg IVP\n"
            "1505 infusion complete\n")
    assert _pairs(text) == [("1300", "start", "infliximab"), ("1330", "given", "ondansetron"),
                            ("1505", "stop", "infliximab")]


def test_pause_restart_rate_and_disconnect_follow_the_running_infusion():
    text = ("1300 infliximab 400 mg in 250 mL NS infusion started via pump\n"
            "1330 rate increased to 125 mL/hr\n"
            "1420 infusion paused - pt c/o chest tightness\n"
            "1425 ondansetron 4 mg IVP given\n"
            "1440 restarted at 50 mL/hr\n"
            "1505 infusion complete\n"
            "1510 pump disconnected\n")
    assert [g for _, _, g in _pairs(text)] == ["infliximab", "infliximab", "infliximab",
                                               "ondansetron", "infliximab", "infliximab",
                                               "infliximab"]


def test_bolus_complete_belongs_to_the_running_bolus():
    text = ("1300  NS 1000 mL bolus started via pump\n"
            "1310  vancomycin 1 g IVPB started\n"
            "1405  bolus complete - 1000 mL in\n"
            "1410  infusion complete\n")
    assert [g for _, _, g in _pairs(text)] == ["sodium chloride", "vancomycin",
                                               "sodium chloride", "vancomycin"]


def test_named_fluid_stop_belongs_to_the_fluid():
    text = ("1300  NS 1000 mL bolus started via pump\n"
            "1305  zofran 4mg IVP\n"
            "1405  NS bolus complete - 1000 mL in (1300-1405)\n")
    assert _pairs(text) == [("1300", "start", "sodium chloride"),
                            ("1305", "given", "ondansetron"),
                            ("1405", "stop", "sodium chloride")]


def test_stopped_then_restarted_is_a_pause():
    text = ("2330 vancomycin 1 g IVPB started\n"
            "2350 infusion stopped - hives\n"
            "0010 infusion restarted\n"
            "0030 infusion complete\n")
    assert [(k, g) for _, k, g in _pairs(text)] == [
        ("start", "vancomycin"), ("pause", "vancomycin"), ("restart", "vancomycin"),
        ("stop", "vancomycin")]


def test_stopped_and_not_restarted_is_a_stop():
    text = "1300 vancomycin 1 g IVPB started\n1320 infusion stopped - rash\n"
    assert [k for _, k, _ in _pairs(text)] == ["start", "stop"]


def test_unnamed_stop_with_nothing_running_has_no_drug():
    assert _pairs("1505 infusion complete\n") == [("1505", "stop", None)]


def test_skip_spans_leave_table_lines_out():
    text = "0900  vancomycin  1 g  IVPB  Started\n1000 infusion complete\n"
    events = flowsheet_events(text, lookup, skip=[(0, text.index("\n"))])
    assert [e.kind for e in events] == ["stop"]


_PIECES = st.sampled_from(["\n", "1300 ", "@", "14:15 - ", "02/14 ", "infusion ", "started ",
                           "complete ", "paused ", "restarted ", "NS ", "infliximab ",
                           "250 mL ", "bolus ", "pump disconnected", "stopped ", "é", "\r\n"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_PIECES, max_size=60).map("".join)))
def test_arbitrary_text_never_raises_and_offsets_stay_in_bounds(text):
    events = _events(text)
    assert len(attribute_events(events)) == len(events)


def test_large_input_finishes():
    lines = []
    for i in range(5000):
        lines += ["Infliximab 5 mg/kg = 400 mg", f"{i % 24:02d}00 infusion started, 250 mL NS",
                  f"{i % 24:02d}30 Zofran 4 mg IVP", f"{i % 24:02d}45 infusion complete"]
    text = "\n".join(lines)
    pairs = attribute_events(flowsheet_events(text, lookup))
    assert len(pairs) == 15000
    assert {g for _, g in pairs} == {"infliximab", "ondansetron"}
