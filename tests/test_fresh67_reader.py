"""What fresh6's unread notes and fresh7's first score showed the reader missing (issue 11),
each mended in general form and written here afresh in another wording: a drug prepared in
a later prose sentence, symptom and observation minutes that are no infusion time, a drug
named as the cause of a finding, a drug "avoided", topical products, a container run whole
on a change line, dotted European clock times, a brand in brackets after the diluent, an
infusion stopped part-way, a phone order above the flowsheet, and a chain of bags charted
on drugless lines."""

from __future__ import annotations

from extractor.quantities import find_clock_times, find_durations
from notecoder.pipeline import extract_note
from notecoder.schema import Setting
from tests.test_fresh45_reader import _lines

PROSE_PREPARATION = """RHEUMATOLOGY INFUSION - VISIT SUMMARY
Date of service: 04/14/2026

Ms. R.T. came in for her monthly Actemra, the IV form of tocilizumab, for rheumatoid
arthritis. She says her hand pain lasts about 40 minutes after waking. No fever or cough.

Her weight today was 70 kg, so the pharmacist mixed 8 mg/kg, that is 560 mg, into 100 mL of
normal saline. Three 200 mg single-dose vials were opened. The leftover 40 mg was discarded
and the waste was witnessed.

The infusion ran through a left forearm IV from 13:05 to 14:10, vital signs checked at 15
minutes and at the end. She stayed for 30 minutes of observation.
"""


def test_a_drug_prepared_in_a_later_prose_sentence_takes_that_dose_and_its_times():
    lines = _lines(PROSE_PREPARATION)
    # Tocilizumab J3262 per 1 mg: 560 given, 40 wasted (single-dose vials); 65 minutes of
    # infusion, never the saline's, never the 40 symptom minutes or the observation.
    assert "J3262x560" in lines and "J3262x40-JW" in lines
    # "for rheumatoid\narthritis" wraps on to the next line: one phrase, M06.9, never the
    # osteoarthritis default of "arthritis" alone.
    assert "M06.9" in lines and "M19.90" not in lines
    facts = extract_note(PROSE_PREPARATION)[0]
    drug = next(a for a in facts.administrations if a.generic == "tocilizumab")
    assert (str(drug.start)[:5], str(drug.stop)[:5]) == ("13:05", "14:10")
    assert drug.duration_minutes is None
    assert not any(a.generic == "sodium chloride" and a.start for a in facts.administrations)


def test_a_time_point_in_minutes_is_no_duration():
    assert find_durations("vitals at 15 minutes and at the end") == []
    assert [d.minutes for d in find_durations("infused over 15 minutes")] == [15]


CAUSE_AND_AVOIDED = """ED NOTE 04/20/2026
Dx: neutropenia due to carboplatin - give filgrastim 300 mcg SC now.
1105 Filgrastim 300 mcg SC L abdomen, prefilled syringe, entire dose given.
1110 Metoprolol IV avoided (BP 92/50). Lidocaine 4% cream applied to the port site.
Impression: 1. Neutropenia due to carboplatin
"""


def test_a_drug_named_as_a_cause_or_avoided_or_topical_bills_nothing():
    lines = _lines(CAUSE_AND_AVOIDED)
    assert "96372x1" in lines and any(x.startswith("J1442") for x in lines)
    # Carboplatin is the neutropenia's cause, metoprolol was avoided, lidocaine is a cream.
    assert not any(x.startswith(("J9045", "J2001", "J2003")) for x in lines)
    facts = extract_note(CAUSE_AND_AVOIDED)[0]
    assert {a.generic for a in facts.administrations} == {"filgrastim"}


WHOLE_BAG_ON_A_CHANGE_LINE = """OFFICE INFUSION (POS 11) 05/04/2026
Dx: osteoporosis, age-related, no fracture.
Drug: Zometa (zoledronic acid) 4 mg/100 mL single-dose bag.
1000  Zometa started R hand PIV.
1008  Pump occlusion alarm, line kinked - Zometa paused.
1012  Zometa resumed.
1030  Zometa complete - whole bag infused.
"""


def test_a_container_run_whole_on_a_change_line_gives_dose_and_jz():
    lines = _lines(WHOLE_BAG_ON_A_CHANGE_LINE, Setting.PROFESSIONAL)
    assert "J3489x4-JZ" in lines


def test_dotted_european_clock_times_are_read_only_as_times():
    assert [t.text for t in find_clock_times("Infusion from 14.05 until 15.20.")] == [
        "14.05", "15.20"]
    assert [t.text for t in find_clock_times("Beginn 09.10 - 10.41")] == []
    for text in ("weight 70.25 kg", "Date 22.02.2026", "rate 12.50 mL/h", "Hb 11.40"):
        assert find_clock_times(text) == [], text


DOTTED_NOTE = """Tagesklinik - infusion record 03.03.2026
Dx: MRSA bacteremia.
Vancomycin 1 g in NaCl 0,9 % 250 ml IV via PICC.
Start 14.05 - End 15.20. Tolerated.
"""


def test_a_dotted_time_range_times_the_infusion():
    lines = _lines(DOTTED_NOTE)
    assert "96365x1" in lines and "J3373x100" in lines  # vancomycin per 10 mg


BRAND_AFTER_DILUENT_AND_STOPPED_EARLY = """ED COURSE 05/11/2026
0910  Ceftriaxone 1 g/50 mL D5W IVPB (from Rocephin vial) started, L AC.
0935  Ceftriaxone complete.
1000  Vancomycin 1 g/200 mL NS IVPB started on pump.
1030  Flushing and itching - vancomycin STOPPED. Pump: 100 mL of 200 mL infused.
1032  Diphenhydramine 25 mg IV push.
Impression: Cellulitis of right lower leg.
"""


def test_a_brand_after_the_diluent_keeps_the_dose_and_a_stopped_bag_bills_what_ran():
    lines = _lines(BRAND_AFTER_DILUENT_AND_STOPPED_EARLY)
    assert "J0696x4" in lines  # 1 g ceftriaxone, per 250 mg
    assert "J3373x50" in lines  # half the 1 g bag ran: 500 mg, per 10 mg
    assert not any(x.startswith("J3373x100") for x in lines)


PHONE_ORDER_AND_BAG_CHAIN = """ONCOLOGY INFUSION (HOPD) 06/02/2026
Labs 08:30: Mg 1.0.
Dr. Lee (phone 08:40): hypomagnesemia -> magnesium sulfate 2 g IV as 2 x 1 g/100 mL, each over 1 h.
08:55  Magnesium sulfate 1 g/100 mL bag 1 START (pump).
09:55  Bag 1 COMPLETE.  09:57 Bag 2 START.
10:57  Bag 2 COMPLETE.
Dx: Hypomagnesemia.
"""


def test_a_phone_order_bills_nothing_and_drugless_bag_lines_extend_the_infusion():
    lines = _lines(PHONE_ORDER_AND_BAG_CHAIN)
    # One infusion 08:55-10:57 (122 min): 96365 + 96366; 2 g = 4 units of J3475 (per 500 mg).
    assert sorted(x for x in lines if x.startswith("96")) == ["96365x1", "96366x1"]
    assert "J3475x4" in lines
