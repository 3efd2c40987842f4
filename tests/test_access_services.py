"""Access and device services read from a note (port flush, pump refill, pump disconnect)."""

from __future__ import annotations

from extractor.access import extract_access_services
from extractor.rules import extract


def kinds(text: str) -> list[str]:
    return [s.kind for s in extract_access_services(text, [])]


def test_port_flush_pump_refill_and_disconnect_are_read():
    assert kinds("Port flushed with NS 10 mL and heparin 500 units.") == ["port_flush"]
    assert kinds("CADD pump reservoir refilled, 5-FU 2400 mg.") == ["pump_refill_portable"]
    assert kinds("SynchroMed implanted pump refill, baclofen.") == ["pump_refill_implanted"]
    assert kinds("0905 CADD pump alarm - pump disconnected from port needle.") == [
        "pump_disconnect"]


def test_a_scheduled_disconnect_is_not_a_service_today():
    assert kinds("Discharged with pump running; disconnect scheduled 02/27/2026.") == []


def test_pump_started_for_home_marks_the_administration_portable_pump():
    text = ("1120  fluorouracil 4800 mg via CADD ambulatory pump, 46 h continuous infusion "
            "started.\n")
    [admin] = extract(text)[0].administrations
    assert admin.device == "portable_pump"


def test_a_copied_forward_pump_disconnect_is_not_a_service_today():
    text = ('[Copied from C3D3 note 03/06/2026: "0905 CADD pump disconnected from port needle."]\n'
            "1000  NS 1000 mL started for dehydration.\n")
    assert extract(text)[0].access_services == []


def test_a_cassette_exchange_on_a_running_pump_is_a_refill():
    assert kinds("0835 new cassette: fluorouracil 2772 mg in 110 mL connected.") == [
        "pump_refill_portable"]
    assert kinds("Weekly CADD cassette exchanged at 0830.") == ["pump_refill_portable"]


def test_a_pump_refill_is_not_read_as_a_prescription_refill():
    text = "1000  CADD pump reservoir refilled, fluorouracil 2400 mg.\n"
    assert [s.kind for s in extract(text)[0].access_services] == ["pump_refill_portable"]
