"""What the ten fresh5 notes read in the fourth session showed the reader and the engine
getting wrong, each written here afresh in another wording (none is a copy of a corpus note):
a lock charted after a bolus ended, eye drops beside an injectable of the same drug, a
"Time:" line above its "Event:" line, half-strength saline written "1/2NS", a vital sign read
as a condition, HbSC disease, a diluent and a waste line written between an order and its
given line under a home-medication list, joints listed without brackets beside a bracketed
lab value, an "Indication on today's order" label, and a few phrases. RULES.md: nothing is
billed from text that is not a record of what was given today; units and codes follow
CPT/CMS."""

from __future__ import annotations

from notecoder.schema import Setting
from tests.test_fresh45_reader import _lines

LOCKED_AFTER_THE_BOLUS = """URGENT CARE IV LOG 06/11/2026 (hospital-based urgent care)
Pt 52 F, vomiting since last night, orthostatic, dry mucosa: dehydration per Dr. Varga.
0905 promethazine 12.5 mg IV push over 5 min via 20g R AC
0910 LR 1000 mL bolus started wide open for dehydration
1025 LR bolus done, 1000 mL infused 0910-1025, then hep-locked
1030 d/c'd home, tolerating sips
"""


def test_a_lock_charted_after_the_bolus_ended_is_no_purpose_of_the_bolus():
    lines = _lines(LOCKED_AFTER_THE_BOLUS)
    # 75 minutes of hydration after an initial push: 96361 x1 (over 30 minutes past the
    # first hour is not needed for the first unit of the add-on hour).
    assert "96374x1" in lines and "96361x1" in lines


EYE_DROPS = """EYE CLINIC TREATMENT ROOM 06/12/2026 - physician office
08:40  ketorolac 0.5% ophthalmic solution 1 gtt OS, tetracaine 1 gtt OS (office stock)
08:45  ketorolac 15 mg IV push over 1 min, R hand, for severe post-op headache (Dr. Imre)
Assessment: postoperative headache.
"""


def test_eye_drops_are_never_billed_on_the_injectable_code_of_the_same_drug():
    lines = _lines(EYE_DROPS, Setting.PROFESSIONAL)
    # J1885 is ketorolac per 15 mg by injection: the 15 mg push is one unit; the drop is none.
    assert [x for x in lines if x.startswith("J1885")] == ["J1885x1"]
    assert "96374x1" in lines


TIME_LINE_ABOVE_EVENT = """DAY INFUSION UNIT - event chart 06/13/2026 (hospital outpatient)
Pt 31 M, migraine cocktail per Dr. Osei, dehydrated after 2 days of vomiting.

Time: 1410
Event: PIV 22g L hand placed.
Time: 1415
Event: metoclopramide 10 mg IV push.
Time: 1420
Event: D5 1/2 NS 1000 mL IV started at 250 mL/h for dehydration.
Time: 1500
Event: diphenhydramine 25 mg IV push.
Time: 1620
Event: D5 1/2 NS stopped, 800 mL in.
"""


def test_a_time_line_times_the_event_under_it_and_half_strength_saline_is_a_fluid():
    lines = _lines(TIME_LINE_ABOVE_EVENT)
    # The first push is the initial service; the second drug's push 96375; the dextrose-
    # half-saline ran 14:20-16:20 (120 min) for dehydration after another initial
    # service: 96361 x2 (the second unit needs more than 30 minutes past the first hour).
    assert "96374x1" in lines and "96375x1" in lines
    assert "96361x2" in lines


def test_a_vital_sign_on_room_air_is_no_rheumatoid_arthritis():
    note = ("ED triage 06/14/2026: 44 y/o M, T 37.9, HR 112, BP 101/60, SpO2 95% RA. "
            "Ondansetron 4 mg IV push at 11:20 for vomiting.\n")
    lines = _lines(note)
    assert not any(x.startswith(("M05", "M06")) for x in lines)


HBSC = """HEMATOLOGY DAY UNIT 06/15/2026   19 y/o F   HbSC disease
Nursing: 0830 morphine 4 mg IV push for pain. 0930 morphine 4 mg IV push.
Provider diagnoses: 1. HbSC disease with crisis 2. Dehydration
"""


def test_hbsc_disease_with_crisis_and_the_header_that_names_the_disease_alone():
    lines = _lines(HBSC)
    # D57.219 (Sickle-cell/Hb-C disease with crisis); the header's "HbSC disease" would be
    # D57.20 "without crisis" alone, a default the other mention states otherwise.
    assert "D57.219" in lines and "D57.20" not in lines


ORDER_THEN_HOME_MEDS = """GI INFUSION SUITE 06/16/2026 - hospital outpatient
Standing order: Remicade (infliximab) 5 mg/kg IV every 8 weeks, Crohn's disease of ileum.
Home meds: mesalamine 1.2 g PO BID; vitamin D 1000 IU PO daily.
Weight 70 kg: 5 mg/kg = 350 mg.
Pharmacy: four 100 mg single-dose vials reconstituted (400 mg).
Drawn: 35 mL (350 mg) into NS 250 mL.
Waste: 5 mL = 50 mg, discarded per policy.
10:00  infliximab 350 mg IV started via pump
12:05  infliximab complete, no reaction
"""


def test_a_diluent_and_waste_written_between_the_order_and_the_given_line_are_the_drugs():
    lines = _lines(ORDER_THEN_HOME_MEDS)
    # J1745 is infliximab per 10 mg: 350 mg given = 35 units; 50 mg documented waste from
    # single-dose vials = a JW line of 5. The saline the dose went into is no fluid of its own.
    assert "J1745x35" in lines and "J1745x5-JW" in lines
    assert not any(x.startswith(("96360", "96361")) for x in lines)


def test_an_indication_on_todays_order_label_in_a_nurse_note():
    note = ("NURSE VISIT 06/17/2026 - physician office\n"
            "Indication on today's order: vitamin B12 deficiency anemia (B12 140).\n"
            "10:15  cyanocobalamin 1000 mcg IM R deltoid, tolerated.\n")
    lines = _lines(note, Setting.PROFESSIONAL)
    assert "D51.9" in lines and "96372x1" in lines


def test_phrases_the_fresh5_notes_wrote():
    from eval.dx_phrases import code_phrase

    # The Index's "Attack" names no condition alone; G40.109's inclusion term needs its
    # "without alteration of consciousness".
    assert code_phrase("acute attack") == []
    # A bracketed word naming the condition again takes no unspecified-side sibling.
    assert code_phrase("Acute angle-closure glaucoma, left eye (acute attack)") == ["H40.212"]
    # Joints listed after a bracketed lab value: the multiple-site code.
    assert code_phrase("seropositive RA (RF 120, CCP positive) of both hands, wrists and "
                       "knees, without organ involvement") == ["M05.79"]
    assert code_phrase("rotavirus gastroenteritis") == ["A08.0"]
    assert code_phrase("HbSS disease with crisis") == ["D57.00"]
    assert code_phrase("HbSC disease with vaso-occlusive pain") == ["D57.219"]


PHARMACY_CHECK_WITH_WASTE = """INFUSION HAND-OFF 06/18/2026 - hospital outpatient infusion unit
Situation: 45 y/o F for scheduled Inflectra (infliximab-dyyb), ulcerative pancolitis.
Home meds: mesalamine 2.4 g PO daily.
Pharmacist check (J. Marek PharmD): 5 mg/kg x 64 kg = 320 mg. Four 100 mg single-dose
vials reconstituted (400 mg); 320 mg added to NS 250 mL; remaining 80 mg wasted, witnessed.
Infusion: Inflectra 320 mg IV started 09:40, completed 11:50, no reaction.
"""


def test_a_waste_clause_in_a_pharmacist_check_is_the_ordered_doses_waste():
    lines = _lines(PHARMACY_CHECK_WITH_WASTE)
    # Q5103 is infliximab-dyyb per 10 mg: 320 mg = 32 units, 80 mg wasted = JW x8. The
    # check's dose calculation is no dose of its own.
    assert "Q5103x32" in lines and "Q5103x8-JW" in lines


def test_two_conditions_linked_by_a_cause_word_are_each_coded():
    note = ("NURSE VISIT 06/19/2026 - hospital outpatient infusion\n"
            "Indication: iron deficiency anemia due to chronic blood loss (Hgb 8.1, ferritin "
            "6) from angiodysplasia of the duodenum with slow bleeding, s/p APC 05/2026.\n"
            "10:00 iron sucrose 200 mg IV push over 5 min, tolerated.\n")
    lines = _lines(note)
    assert "D50.0" in lines and "K31.811" in lines
