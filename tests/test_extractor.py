"""Offline rule extractor: assertion cues, drugs given vs mentioned, fields with spans."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from extractor.rules import extract
from notecoder.schema import Assertion, Method, Purpose, Relation, Route


def facts(text: str):
    return extract(text)[0]


def quoted(text: str, span) -> str:
    return text[span.start:span.end]


@pytest.mark.parametrize("text, concept, assertion", [
    ("Fever; rule out pneumonia.", "pneumonia", Assertion.UNCERTAIN),
    ("Possible pneumonia.", "pneumonia", Assertion.UNCERTAIN),
    ("Suspected UTI.", "uti", Assertion.UNCERTAIN),
    ("Likely dehydration.", "dehydration", Assertion.UNCERTAIN),
    ("Denies fever.", "fever", Assertion.NEGATED),
    ("No evidence of pneumonia.", "pneumonia", Assertion.NEGATED),
    ("Negative for sepsis.", "sepsis", Assertion.NEGATED),
    ("Pneumonia ruled out.", "pneumonia", Assertion.NEGATED),
    ("History of urinary tract infection.", "uti", Assertion.HISTORICAL),
    ("PMH: hypertension.", "hypertension", Assertion.HISTORICAL),
    ("Mother has osteoporosis.", "osteoporosis", Assertion.FAMILY),
    ("Community-acquired pneumonia.", "pneumonia", Assertion.AFFIRMED),
])
def test_assertion_cues(text, concept, assertion):
    word = {"uti": "uti" if "UTI" in text else "urinary"}.get(concept, concept)
    found = [d.assertion for d in facts(text).diagnoses if word in d.text.lower()]
    assert assertion in found and Assertion.AFFIRMED not in set(found) - {assertion}


def test_fever_coded_alongside_uncertain_pneumonia():
    found = {d.text.lower(): d.assertion for d in facts("Fever; rule out pneumonia.").diagnoses}
    assert found["fever"] == Assertion.AFFIRMED
    assert [a for t, a in found.items() if "pneumonia" in t] == [Assertion.UNCERTAIN]


@pytest.mark.parametrize("text", [
    "Allergies: ceftriaxone (rash).",
    "Home meds: ondansetron 4 mg PO PRN.",
    "Ceftriaxone not given, patient refused.",
    "Will start ceftriaxone tomorrow if cultures positive.",
])
def test_drug_mentioned_but_not_given(text):
    assert facts(text).administrations == []


def test_organism_and_combination():
    dx = facts("Assessment: MRSA pneumonia.").diagnoses[0]
    assert (dx.concept, dx.organism) == ("pneumonia", "MRSA")


def test_laterality():
    text = "Left lower leg cellulitis."
    dx = facts(text).diagnoses[0]
    assert dx.laterality == "left" and quoted(text, dx.field_spans["laterality"]) == "Left"


def test_ceftriaxone_fields_and_spans():
    text = "Ceftriaxone 1 g in 50 mL NS IVPB initiated 10:15 AM, completed 10:50 AM."
    [a] = facts(text).administrations
    assert (a.generic, a.dose.value, a.dose.unit) == ("ceftriaxone", 1.0, "g")
    assert a.diluent == "sodium chloride" and a.volume.value == 50
    assert (a.start, a.stop) == (dt.time(10, 15), dt.time(10, 50))
    assert a.route == Route.IV and a.method == Method.INFUSION
    assert quoted(text, a.field_spans["dose"]) == "1 g"
    assert quoted(text, a.field_spans["start"]) == "10:15 AM"
    assert quoted(text, a.field_spans["stop"]) == "10:50 AM"
    assert quoted(text, a.field_spans["drug"]) == "Ceftriaxone"


def test_brand_maps_to_generic_and_biosimilar_product():
    a = facts("Inflectra 5 mg/kg IV infusion 0900-1100.").administrations[0]
    assert (a.generic, a.product, a.dose_per_kg.value) == ("infliximab", "infliximab-dyyb", 5)
    b = facts("Rocephin 2 g IV over 30 minutes.").administrations[0]
    assert (b.generic, b.duration_minutes) == ("ceftriaxone", 30)


def test_times_continue_from_next_sentence():
    text = "Vancomycin 1.25 g IV infusion hung.\nStarted at 2215, completed 0015."
    [a] = facts(text).administrations
    assert (a.start, a.stop) == (dt.time(22, 15), dt.time(0, 15))
    assert a.crosses_midnight and a.clock_minutes == 120


@pytest.mark.parametrize("text, kg", [
    ("Weight: 80 kg. Infliximab 5 mg/kg IV 0900-1100.", 80.0),
    ("Wt 176 lbs. Infliximab 5 mg/kg IV 0900-1100.", 176 / 2.2046),
])
def test_weight_kg_and_lb(text, kg):
    f = facts(text)
    assert f.weight is not None and abs(f.weight.kg - kg) < 0.01
    assert f.administrations[0].dose_per_kg.unit == "mg"


def test_kvo_fluid_is_vehicle_and_bolus_is_hydration():
    f = facts("NS at KVO 10 mL/hr.\nNS 1 L bolus for dehydration 1300-1400.")
    purposes = [a.purpose for a in f.administrations]
    assert purposes == [Purpose.VEHICLE, Purpose.HYDRATION]


def test_concurrent_and_sequential_relations():
    f = facts("Vancomycin IV 0800-0930, followed by magnesium sulfate IV 0935-1020.\n"
              "NS 250 mL maintenance running concurrently.")
    vanc, mag, ns = f.administrations
    assert mag.relation == Relation.SEQUENTIAL and mag.related_to == vanc.id
    assert ns.relation == Relation.CONCURRENT


def test_vial_size_and_waste():
    text = "Infliximab 350 mg IV 0900-1100 from four 100 mg vials; 50 mg wasted."
    [a] = facts(text).administrations
    assert a.dose.value == 350 and a.vial_size.value == 100 and a.vial_count == 4
    assert a.wasted.value == 50
    b = facts("Zoledronic acid 5 mg IV 1300-1320. No waste.").administrations[0]
    assert b.no_waste_documented


def test_push_and_injection_methods():
    f = facts("Ondansetron 4 mg IV push at 1000.\nCeftriaxone 1 g IM at 1010.")
    assert f.administrations[0].method == Method.PUSH
    assert f.administrations[1].route == Route.IM
    assert f.administrations[1].method == Method.INJECTION


def test_em_detection_and_negated_em():
    em = facts("Established patient, level 3 office visit, separately identifiable.").em
    assert em is not None and em.stated_level == 3 and em.separately_identifiable
    assert facts("No separate E/M today. Ceftriaxone 1 g IV 1000-1030.").em is None


def test_indication_links_drug_to_diagnosis():
    f = facts("Magnesium sulfate 2 g IV for hypomagnesemia 0935-1020.")
    [dx] = f.diagnoses
    assert f.administrations[0].indication == dx.id


def test_every_span_lies_inside_the_note_and_quotes_its_value(example_text):
    text = example_text("g3_vancomycin_magnesium.txt")
    f = facts(text)
    for fact in f.facts():
        for span in fact.spans():
            assert 0 <= span.start < span.end <= len(text)
    for dx in f.diagnoses:
        assert quoted(text, dx.field_spans["text"]).lower() == dx.text.lower()


def test_note_text_never_logged_above_debug(caplog, example_text):
    from notecoder.pipeline import code_note
    from notecoder.schema import Setting

    text = example_text("g2_infliximab.txt")
    with caplog.at_level(logging.INFO):
        code_note(text, Setting.FACILITY, "official")
    logged = " ".join(r.getMessage() for r in caplog.records)
    for secret in ("Crohn", "Remicade", "Patel", "5 mg/kg"):
        assert secret not in logged


def test_timed_charting_lines_and_stop_on_a_later_line():
    text = ("1412 NS 1000 mL bolus for dehydration started @ 999 mL/hr.\n"
            "1530 NS bolus complete.\n")
    [ns] = facts(text).administrations
    assert (ns.start, ns.stop) == (dt.time(14, 12), dt.time(15, 30))
    assert ns.purpose == Purpose.HYDRATION and ns.rate.value == 999


def test_unknown_drug_is_flagged_not_glued_to_another():
    text = ("1412 NS 1000 mL bolus for dehydration started.\n"
            "1535 Fakedrugumab 15 mg IV push for pain.\n")
    f, warnings = extract(text)
    [ns] = f.administrations
    assert ns.dose is None and ns.stop is None
    assert any("name no drug in the lexicon" in w for w in warnings)


def test_home_medication_list_is_not_flagged():
    _, warnings = extract("Home meds: lisinopril 10 mg daily, metformin 500 mg BID.\n")
    assert warnings == []


def test_documented_total_dose_is_kept_beside_per_kg_dose():
    a = facts("Infliximab 5 mg/kg IV 0900-1100, dose 400 mg.").administrations[0]
    assert a.dose_per_kg.value == 5 and a.dose.value == 400
    b = facts("Infliximab 5 mg/kg (max 500 mg) IV 0900-1100.").administrations[0]
    assert b.dose is None


def test_heparin_lock_flush_is_vehicle_not_a_drug_given():
    f = facts("1130  port flushed NS 10 mL + heparin 100 units/mL 5 mL; Huber needle removed.")
    assert [(a.name, a.purpose, a.dose) for a in f.administrations] == [
        ("sodium chloride", Purpose.VEHICLE, None), ("heparin", Purpose.VEHICLE, None)]


def test_order_line_and_nursing_line_of_one_drug_are_one_administration():
    f = facts("A/P: Toradol 60 mg IM today.\n"
              "NURSING: ketorolac 60 mg/2 mL single-dose vial, 60 mg IM R gluteal at 1410.")
    [admin] = f.administrations
    assert admin.name == "ketorolac" and admin.dose.value == 60 and admin.start.hour == 14


def test_two_pushes_of_one_drug_at_two_times_stay_two():
    f = facts("0800 morphine 4 mg IVP.\n0900 morphine 4 mg IVP.")
    assert [a.start.hour for a in f.administrations] == [8, 9]


def test_next_bag_of_the_same_drug_extends_the_infusion():
    f = facts("1100  potassium chloride 10 mEq/100 mL IVPB #1 started via pump R FA\n"
              "1200  bag #1 complete; bag #2 KCl 10 mEq/100 mL hung immediately, same line\n"
              "1302  bag #2 complete\n")
    [admin] = [a for a in f.administrations if not a.is_fluid]
    assert (admin.start.hour, admin.stop.hour, admin.stop.minute) == (11, 13, 2)


def test_oral_dose_on_a_line_is_not_given_to_the_next_drug():
    f = facts("0900 Tylenol 650 mg PO; Benadryl 50 mg IVP.")
    doses = {a.name: (a.dose.value, a.route) for a in f.administrations}
    assert doses["diphenhydramine"] == (50, Route.IV)
    assert doses["acetaminophen"] == (650, Route.ORAL)


def test_vial_count_written_after_the_container():
    f = facts("Pharmacy: Remicade 100 mg SDV x 4 reconstituted; 390 mg in NS 250 mL; "
              "10 mg wasted.\n"
              "0915 Remicade infusion started, 1120 infusion complete.")
    [admin] = [a for a in f.administrations if not a.is_fluid]
    assert (admin.vial_size.value, admin.vial_count, admin.wasted.value) == (100, 4, 10)


def test_flowsheet_complete_line_stops_the_drug_not_its_carrier():
    f = facts("Infliximab 5 mg/kg = 400 mg (wt 80 kg)\n"
              "1300 infusion started, 250 mL NS\n"
              "1330 zofran 4 mg IVP given\n"
              "1505 infusion complete\n")
    drugs = {a.name: a for a in f.administrations}
    assert "sodium chloride" not in drugs  # the saline is the diluent
    assert (drugs["infliximab"].start.hour, drugs["infliximab"].stop.hour) == (13, 15)
    assert drugs["ondansetron"].stop is None


def test_paused_and_restarted_fluid_is_one_episode_without_the_pause():
    f = facts("2230  NS 1000 mL @ 500 mL/hr started (dehydration)\n"
              "2320  PIV dislodged - NS stopped (approx 420 mL in)\n"
              "2358  NS restarted, same bag, @ 360 mL/hr\n"
              "0135  NS bag complete\n")
    [ns] = f.administrations
    assert (ns.paused_minutes, ns.running_minutes) == (38, 147)


def test_mar_started_and_completed_rows_are_one_administration():
    f = facts("| Time | Medication | Dose | Route | Action | RN |\n"
              "| 0930 | ceFAZolin | 2 g / NS 100 mL | IVPB | Started | KM |\n"
              "| 1005 | ceFAZolin | | IVPB | Completed | KM |\n")
    [cefazolin] = f.administrations
    assert (cefazolin.dose.value, cefazolin.clock_minutes) == (2, 35)


def test_flowsheet_line_with_start_and_complete_is_one_whole_record():
    f = facts("1840  ceftriaxone 1 g/NS 50 mL IVPB start -> 1910 complete\n")
    [a] = f.administrations
    assert (a.start, a.stop) == (dt.time(18, 40), dt.time(19, 10))


def test_dose_after_pharmacy_rounding_is_the_dose_given():
    f = facts("Actemra 8 mg/kg x 69.9 kg = 559 mg -> 560 mg per pharmacy rounding policy.\n"
              "1000 infusion start L FA\n1102 complete (62 min).")
    [a] = f.administrations
    assert (a.dose.value, a.dose_per_kg.value, a.start.hour, a.stop.minute) == (560, 8, 10, 2)


def test_second_dose_on_a_later_timed_line_stays_a_second_dose():
    f = facts("2338  LORazepam (Ativan) 2 mg IVP\n"
              "0025  CIWA 16, still tremulous - LORazepam 2 mg IV push\n")
    assert [a.start for a in f.administrations] == [dt.time(23, 38), dt.time(0, 25)]


def test_wasted_amount_is_never_the_saline_dose():
    f = facts("560 mg drawn into NS 100 mL; 40 mg (2 mL) wasted - witnessed.")
    assert all(a.dose is None for a in f.administrations if a.is_fluid)


def test_a_dosing_schedule_is_a_home_medication_not_a_dose_given():
    f = facts("40 y/o M with epilepsy on phenytoin 100 mg TID, missed doses.\n"
              "1602  LORazepam 2 mg IV push.\n")
    assert [a.name for a in f.administrations] == ["lorazepam"]


def test_an_order_with_a_schedule_given_today_is_kept():
    f = facts("Ceftriaxone 1 g IM now, then daily x 2 more days.")
    assert [a.name for a in f.administrations] == ["ceftriaxone"]


def test_documented_container_type_is_read():
    f = facts("1000-1020  Monoferric 1000 mg/10 mL single-dose vial in NS 100 mL IV. No waste.\n"
              "triamcinolone (Kenalog-40) 40 mg/mL, 10 mL multi-dose vial - 40 mg IM.\n")
    assert {a.container for a in f.administrations if not a.is_fluid} == {"single", "multi"}


@pytest.mark.parametrize("line", ["Level 4 established visit - bill 99214-25.",
                                  "E/M: 99214 with modifier 25 (new treatment decision).",
                                  "Level of service 99213, modifier 25."])
def test_stated_e_m_modifier_25_is_read(line):
    em = facts(line).em
    assert em is not None and em.stated_modifiers == ["25"]


def test_codes_on_a_charge_line_are_not_e_m_documentation():
    assert facts("Charge ticket (MA): 99211 / 96372 / J3420 x1\n").em is None
    assert facts("Billing per provider: 99212-25, 96372, J1050 x150\n").em is None


def test_place_comes_from_the_header_not_a_bare_ed_in_the_body():
    office = facts("Family Practice (office)   02/11/2026\nVomiting x 36 h.\n"
                   "A/P: IV NS in office (pt prefers office to ED). ED precautions.\n")
    assert office.place.place == "office"
    ed = facts("ED NURSE NOTE   02/22/2026\n30 y/o M, N/V x 1 day.\n")
    assert ed.place.place == "emergency_department"
