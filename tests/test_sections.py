"""Sectionizer: which parts of a note are not a record of a drug given today."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.sections import find_sections, historical_spans, not_given_spans


def not_today(text: str) -> list[str]:
    return [text[s.start:s.end] for s in not_given_spans(text)]


def is_marked(text: str, phrase: str) -> bool:
    """Every character of `phrase` (first occurrence) lies in a not-given span."""
    at = text.index(phrase)
    return all(any(s.start <= i < s.end for s in not_given_spans(text))
               for i in range(at, at + len(phrase)))


def is_clear(text: str, phrase: str) -> bool:
    """No character of `phrase` (first occurrence) lies in a not-given span."""
    at = text.index(phrase)
    return not any(s.start < at + len(phrase) and at < s.end for s in not_given_spans(text))


def kinds(text: str) -> list[str]:
    return [s.kind for s in find_sections(text)]


# --- section kinds, one per header form ----------------------------------------------------

@pytest.mark.parametrize("text, kind", [
    ("HOME MEDS:\n- metFORMIN 1000 mg PO BID\n", "home_medications"),
    ("Home medications - lisinopril 10 mg PO daily\n", "home_medications"),
    ("Current Outpatient Medications\nondansetron 4 mg ODT q8h PRN nausea\n", "home_medications"),
    ("MEDICATIONS PRIOR TO ADMISSION\n1. apixaban 5 mg PO BID\n", "home_medications"),
    ("Med Rec:\n| lisinopril | 10 mg | PO | continue |\n", "medication_reconciliation"),
    ("Allergies: PCN (rash)\n", "allergies"),
    ("PMH: HTN, DM2\n", "past_history"),
    ("PSH: appendectomy 2009\n", "past_history"),
    ("Past Medical History\n- CKD stage 3\n", "past_history"),
    ("Hx: asthma\n", "past_history"),
    ("## Prior visit ##\nceftriaxone 1 g IM given for UTI\n", "prior_visit"),
    ("Prior visit 03/02: ceftriaxone 1 g IM given for UTI.\n", "prior_visit"),
    ("Previous note:\nvancomycin 1 g IV given\n", "prior_visit"),
    ("Last infusion 02/10: infliximab 5 mg/kg IV\n", "prior_visit"),
    ("Plan/Recommendations\nceftriaxone 1 g IV daily x 3 more doses\n", "plan"),
    ("A/P: UTI - ceftriaxone 1 g IM daily\n", "plan"),
    ("Discharge Instructions\nTake ondansetron 4 mg ODT q8h PRN\n", "discharge"),
    ("Rx: ondansetron 4 mg ODT #12\n", "discharge"),
    ("Discharge meds:\n- cephalexin 500 mg PO QID\n", "discharge"),
    ("Medications not given:\n- metoprolol 25 mg PO (HR 52)\n", "not_given"),
    ("MAR:\n0915 ondansetron 4 mg IV push\n", "administration"),
    ("Medication Administration\nondansetron 4 mg IV push 0915\n", "administration"),
    ("Meds given: ketorolac 30 mg IM\n", "administration"),
    ("ED course:\nNS 1 L bolus\n", "administration"),
    ("Infusion record\ninfliximab 400 mg IV 0900-1100\n", "administration"),
    ("Treatment today: Kenalog 40 mg IM\n", "administration"),
    ("Procedure: joint injection, triamcinolone 40 mg\n", "administration"),
    ("Assessment: community-acquired pneumonia\n", "assessment"),
])
def test_header_opens_section_of_its_kind(text, kind):
    assert kinds(text)[0] == kind


def test_underlined_header_is_a_header():
    text = "Home Medications\n----------------\nlisinopril 10 mg daily\n\nceftriaxone 1 g IM given"
    section = find_sections(text)[0]
    assert section.kind == "home_medications"
    assert text[section.start:section.header_end].endswith("-" * 16)
    assert is_marked(text, "lisinopril 10 mg daily")
    assert is_clear(text, "ceftriaxone 1 g IM given")


def test_flowsheet_time_lines_are_an_administration_section():
    text = "Allergies: NKDA\n1305 ondansetron 4 mg IVP\n1350 metoclopramide 10 mg IVP\n"
    assert kinds(text) == ["allergies", "administration"]
    assert is_clear(text, "1305 ondansetron 4 mg IVP\n1350 metoclopramide 10 mg IVP")


def test_section_offsets_include_header():
    text = "Note\n\nPMH: HTN, DM2\nVitals stable"
    pmh = next(s for s in find_sections(text) if s.kind == "past_history")
    assert text[pmh.start:pmh.header_end] == "PMH:"
    assert text[pmh.start:pmh.end] == "PMH: HTN, DM2"
    assert not pmh.records_today


# --- where sections end --------------------------------------------------------------------

def test_allergies_nkda_then_mar_records_today():
    text = "Allergies: NKDA\nMAR:\n| 0915 | ondansetron 4 mg | IV push | given |\n"
    assert is_marked(text, "Allergies: NKDA")
    assert is_clear(text, "ondansetron 4 mg")


def test_home_meds_list_ended_by_blank_line_then_ed_course_is_today():
    text = ("Home meds:\nondansetron 4 mg ODT q8h PRN nausea\nmetFORMIN 1000 mg PO BID\n\n"
            "ED course:\nondansetron 4 mg IV push at 1030\nNS 1 L bolus over 1 h\n")
    assert is_marked(text, "metFORMIN 1000 mg PO BID")
    assert is_clear(text, "ondansetron 4 mg IV push at 1030")
    assert is_clear(text, "NS 1 L bolus over 1 h")


def test_bulleted_list_ends_where_the_bullets_end():
    text = ("HOME MEDS:\n- lisinopril 10 mg daily\n- aspirin 81 mg daily\n"
            "Ketorolac 30 mg IM given 1015.")
    assert is_marked(text, "- aspirin 81 mg daily")
    assert is_clear(text, "Ketorolac 30 mg IM given 1015.")


def test_inline_header_reaches_end_of_line_only():
    text = "Allergies: sulfa\nCeftriaxone 1 g IM given L glute 1010."
    assert is_clear(text, "Ceftriaxone 1 g IM given")


def test_header_after_sentence_end_mid_line():
    text = "Home meds: lisinopril 10 mg daily.  Allergies: NKDA.  Meds given: Toradol 30 mg IM."
    assert kinds(text) == ["home_medications", "allergies", "administration"]
    assert is_clear(text, "Toradol 30 mg IM")


def test_med_list_item_with_colon_does_not_end_home_meds():
    text = "Home medications:\nLisinopril: 10 mg daily\nMetformin: 500 mg BID\n"
    assert is_marked(text, "Metformin: 500 mg BID")


def test_today_marker_ends_inline_prior_visit():
    text = "Prior visit 03/02: ceftriaxone 1 g IM given. Today ceftriaxone 1 g IM given R glute."
    assert is_marked(text, "ceftriaxone 1 g IM given.")
    assert is_clear(text, "Today ceftriaxone 1 g IM given R glute.")


def test_plan_clause_recording_a_dose_given_now_is_today():
    text = "Plan: Kenalog 40 mg IM today; hydroxyzine 25 mg PO qhs prn itch; return if eye sx."
    assert is_clear(text, "Kenalog 40 mg IM today")
    assert is_marked(text, "hydroxyzine 25 mg PO qhs prn itch")


def test_plan_without_a_today_record_is_not_today():
    text = "Plan: ceftriaxone 1 g IV daily x 3 more doses."
    assert is_marked(text, "ceftriaxone 1 g IV daily x 3 more doses")


# --- line and clause cues ------------------------------------------------------------------

def test_copied_forward_bracket():
    text = ("C4D1 oxaliplatin 85 mg/m2 IV given 0930-1130.\n"
            "[Copied from C3D1 note 03/04/2026: oxaliplatin 85 mg/m2 IV, leucovorin IV]\n")
    assert is_marked(text, text.splitlines()[1])
    assert is_clear(text, "C4D1 oxaliplatin 85 mg/m2 IV given 0930-1130.")


def test_prior_visit_sentence_mid_line():
    text = "Seen for UTI. At last visit ceftriaxone 1 g IM was given. Afebrile today."
    assert is_marked(text, "At last visit ceftriaxone 1 g IM was given.")
    assert is_clear(text, "Afebrile today.")


def test_given_clause_kept_before_will_recheck():
    text = "NS 1 L bolus started 1300, will give 2nd liter if BP stays low. Will recheck BP."
    assert is_clear(text, "NS 1 L bolus started 1300")
    assert is_marked(text, "will give 2nd liter if BP stays low.")


def test_given_sentence_kept_before_will_give_second_dose():
    text = "Toradol 30 mg IM given. Will give second dose if needed."
    assert is_clear(text, "Toradol 30 mg IM given.")
    assert is_marked(text, "Will give second dose if needed.")


@pytest.mark.parametrize("phrase", ["to start", "consider", "next dose", "return in"])
def test_plan_cues(phrase):
    text = {"to start": "Vancomycin 1 g IV to start at 1400.",
            "consider": "Consider iron sucrose 200 mg IV if Hgb < 10.",
            "next dose": "Next dose denosumab 60 mg SC in 6 months.",
            "return in": "Return in 8 weeks for dose 2 of Reclast 5 mg IV."}[phrase]
    assert not_today(text) and is_marked(text, text.split(" ", 2)[-1].rstrip("."))


def test_hold_is_not_given():
    text = "NS 1 L bolus started 1300, metoprolol 25 mg PO held for HR 52."
    assert is_clear(text, "NS 1 L bolus started 1300")
    assert is_marked(text, "metoprolol 25 mg PO held for HR 52")


def test_held_then_restarted_is_a_pause_not_not_given():
    text = "Rituximab held for rigors at 1010, restarted 1035 at 50 mL/hr."
    assert not_today(text) == []


@pytest.mark.parametrize("text, phrase", [
    ("Ondansetron 4 mg IV, not given - pt asleep.", "Ondansetron 4 mg IV, not given"),
    ("Patient refused IV Zofran.", "Patient refused IV Zofran"),
    ("Flu vaccine offered, patient declined.", "Flu vaccine offered, patient declined"),
    ("Morphine 4 mg IV PRN pain - not needed during visit.", "Morphine 4 mg IV PRN pain"),
])
def test_not_given_cues(text, phrase):
    assert is_marked(text, phrase)


def test_refusal_after_semicolon_negates_the_offer():
    text = "Offered Toradol 30 mg IM for pain; patient refused. Tylenol 650 mg PO given."
    assert is_marked(text, "Offered Toradol 30 mg IM for pain")
    assert is_clear(text, "Tylenol 650 mg PO given.")


def test_pending_negates_the_drug_before_it():
    text = "Ceftriaxone 2 g IV given 0400. Meropenem 1 g IV ordered, pending pharmacy."
    assert is_marked(text, "Meropenem 1 g IV ordered, pending pharmacy")
    assert is_clear(text, "Ceftriaxone 2 g IV given 0400.")


def test_ordered_header_is_a_plan():
    text = "Ordered: morphine 4 mg IV.\nPt left AMA before medications were given."
    assert kinds(text)[0] == "plan"
    assert is_marked(text, "morphine 4 mg IV")


def test_blood_pressure_declined_is_not_a_refusal():
    assert not_today("BP declined to 88/50 after the bolus.") == []


def test_not_given_in_a_table_row_marks_the_row():
    text = ("| 1015 | ondansetron 4 mg | IV | Not given - pt refused |\n"
            "| 1020 | NS 1 L | IV | given |")
    assert is_marked(text, "| 1015 | ondansetron 4 mg |")
    assert is_clear(text, "| 1020 | NS 1 L | IV | given |")


@pytest.mark.parametrize("text", [
    "Sent home with ondansetron 4 mg ODT q8h PRN nausea.",
    "Prescribed cephalexin 500 mg PO QID x 7 days.",
    "Cefdinir 300 mg PO BID e-prescribed to CVS.",
])
def test_discharge_cues(text):
    assert is_marked(text, text.rstrip("."))


def test_historical_spans_are_past_history_sections():
    text = "PMH: pneumonia 2019, HTN\nAssessment: community-acquired pneumonia\n"
    spans = historical_spans(text)
    assert [text[s.start:s.end] for s in spans] == ["PMH: pneumonia 2019, HTN"]


# --- robustness ----------------------------------------------------------------------------

def test_twenty_thousand_line_note_finishes():
    block = ("HOME MEDS:\n- lisinopril 10 mg daily\n\nED course:\n1030 ondansetron 4 mg IV\n"
             "Toradol 30 mg IM given. Will give second dose if needed.\n"
             "Rituximab held for rigors at 1010, restarted 1035.\n\n")
    text = block * (20_000 // block.count("\n"))
    assert text.count("\n") >= 19_000
    spans = not_given_spans(text)
    assert spans and spans[-1].end <= len(text)


@pytest.mark.parametrize("text", [
    "Plan" + " " * 50_000 + "x", "1" * 50_000, "a:" * 25_000, "[copied " * 5_000,
    "x, " + "held " * 20_000, "\n" * 50_000, "held", "", " ", "|\t|\t|held",
])
def test_adversarial_inputs_finish(text):
    spans = not_given_spans(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    [*"ab Hh:-|\t\n.;,[]#*=10", "held", "Plan", "PMH", "Home meds", "not given", "will give",
     "restarted", "Allergies", "today", "MAR", "\r\n", " - ", "0915 "]), max_size=120).map("".join)
       | st.text(max_size=200))
def test_never_raises_and_spans_are_ordered_within_bounds(text):
    for spans in (not_given_spans(text), historical_spans(text)):
        assert all(0 <= s.start < s.end <= len(text) for s in spans)
        assert all(a.end < b.start for a, b in pairwise(spans))
    sections = find_sections(text)
    assert all(0 <= s.start <= s.header_end <= s.end <= len(text) for s in sections)
    assert all(a.end <= b.start for a, b in pairwise(sections))


def test_a_diagnosis_in_past_history_is_historical_unless_current_elsewhere():
    from extractor.rules import extract
    from notecoder.schema import Assertion

    text = ("PAST MEDICAL HISTORY\n"
            "- asthma\n"
            "- hypertension\n"
            "\n"
            "Assessment: hypertension, on lisinopril. Cellulitis of the leg.\n")
    found = {(d.concept, d.assertion) for d in extract(text)[0].diagnoses}
    assert ("asthma", Assertion.HISTORICAL) in found
    assert ("hypertension", Assertion.AFFIRMED) in found
    assert ("asthma", Assertion.AFFIRMED) not in found


def test_dispensed_bag_is_not_given_but_dispensed_then_given_is():
    assert is_marked("Iron sucrose 200 mg in NS 100 mL dispensed 0930.",
                     "Iron sucrose 200 mg in NS 100 mL dispensed 0930")
    text = "Zofran 4 mg IV dispensed and given at 1300 R AC."
    assert not_today(text) == []


@pytest.mark.parametrize("text, phrase", [
    ("[ ] ondansetron 4 mg IV push x1", "ondansetron 4 mg IV push x1"),
    ("Entry 'ketorolac 30 mg IV given 0915' documented in error.", "ketorolac 30 mg IV given 0915"),
    ("I gave myself the Humira 40 mg shot in my thigh.", "Humira 40 mg shot"),
    ("Took sumatriptan 6 mg SC last night.", "sumatriptan 6 mg SC"),
    ("Samples dispensed: cetirizine 10 mg #7.", "cetirizine 10 mg #7"),
])
def test_unticked_boxes_errors_self_doses_and_samples_are_not_today(text, phrase):
    assert is_marked(text, phrase)


@pytest.mark.parametrize("text", [
    "PHARMACY VERIFICATION\nvancomycin 1250 mg IV q12h, first dose at 2200.\n",
    "Order verified: vancomycin 1250 mg IV q12h, first dose at 2200.\n",
    "ED NAUSEA ORDER SET (printed)\nondansetron 4 mg IV push x1\n",
    "Patient portal message 11/30: Humira 40 mg shot went fine.\n",
])
def test_pharmacy_verification_order_sets_and_portal_messages_are_not_today(text):
    assert is_marked(text, text.rstrip("\n").rsplit("\n", 1)[-1].split(": ", 1)[-1])


def test_header_after_a_sentence_on_a_line_that_opens_no_section():
    text = "Consent obtained. Plan: propofol 1 mg/kg IV bolus and fentanyl 50 mcg IV."
    assert kinds(text) == ["plan"]
    assert is_marked(text, "fentanyl 50 mcg IV")


@pytest.mark.parametrize("text, phrase", [
    ("She takes insulin glargine 20 units nightly.", "insulin glargine 20 units"),
    ("Reaction after ceftriaxone 1 g IV in 2019.", "ceftriaxone 1 g IV"),
    ("Facility MAR: vancomycin 1 g IV, last given 0400 at facility.", "vancomycin 1 g IV"),
    ("Ocrevus 600 mg IV scheduled today; infusion cancelled.", "Ocrevus 600 mg IV"),
])
def test_narrative_med_lists_other_years_other_facilities_and_schedules_are_not_today(
        text, phrase):
    assert is_marked(text, phrase)


@pytest.mark.parametrize("text, phrase", [
    ("Sliding scale: if BG 201-250 give insulin regular 4 units SC.", "insulin regular 4 units SC"),
    ("Given his CKD, ceftriaxone 1 g IV would be preferred if antibiotics become necessary.",
     "ceftriaxone 1 g IV"),
])
def test_conditional_orders_are_not_today(text, phrase):
    assert is_marked(text, phrase)


def test_a_dose_given_keeps_its_clause_before_may_repeat_if_needed():
    text = "Zofran 4 mg IV given at 1300, may repeat if needed."
    assert is_clear(text, "Zofran 4 mg IV given at 1300")


def test_a_status_cell_negates_its_whole_csv_row():
    text = "Time,Medication,Dose,Route,Status\n0900,ceftriaxone,1 g,IV,Not Given - pt off unit\n"
    assert is_marked(text, "0900,ceftriaxone,1 g,IV,Not Given")
