"""Charting styles first met in the independent fresh-dev corpus (datasets/corpus), written
here afresh: an Epic-style MAR report with an "Action Time" column and "injection" orders
given by the intravenous route, an ED level written "Level: 3", a bolus that runs on at a
maintenance rate, and a brand named by one half of a shared HCPCS product name."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Setting

EPIC_MAR = """ST. LUKE ED - MAR REPORT  06/02/26
Medication | Dose | Route | Frequency | Action | Action Time | User
metoclopramide (REGLAN) injection 10 mg | 10 mg | Intravenous | Once | Given | 06/02/26 14:05 | AB
famotidine (PEPCID) injection 20 mg | 20 mg | Intravenous | Once | Given | 06/02/26 14:09 | AB
metoclopramide (REGLAN) injection 10 mg | 10 mg | Intravenous | PRN | Given | 06/02/26 15:20 | AB
Clinical impression: gastritis
ED Facility Level: 3
"""

RUNS_ON = """ED RN 06/03/2026 - vomiting, dehydrated, unable to tolerate PO
1410 NS 1 L bolus started for dehydration
1500 NS bolus done -> NS 125 mL/hr continued per MD
1715 NS stopped, tolerating crackers
"""

SHARED_PRODUCT = """Neuro infusion 06/04/2026, CIDP, wt 70 kg
Gamunex-C 70 g IV: 1000 start, 1400 complete. No waste, all bottles used.
"""


def _lines(result, system: str) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == system)


def test_epic_mar_rows_with_action_time_and_iv_injection_are_pushes():
    """"Action Time" is the time column; an IV "injection" order given at one time is a
    push (R-ADMIN-01): 96374, 96375 for the second drug, 96376 for the repeat after 71
    minutes (facility); the level written "Level: 3" is 99283 with -25."""
    result = code_note(EPIC_MAR, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96374", 1, ()), ("96375", 1, ()), ("96376", 1, ()),
                                     ("99283", 1, ("25",))]


def test_bolus_that_runs_on_at_a_new_rate_is_one_hydration():
    """"bolus done -> NS 125 mL/hr continued": the saline runs 1410-1715 (185 min), one
    hydration: 96360 + 96361 x2 (R-ADMIN-09: the same fluid running on is one service)."""
    result = code_note(RUNS_ON, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96360", 1, ()), ("96361", 2, ())]


def test_brand_named_by_half_of_a_shared_product_name():
    """HCPCS J1561 names "gamunex-c/gammaked": "Gamunex-C" is that product (per 500 mg,
    70 g = 140 units), not the not-otherwise-specified immune globulin code."""
    result = code_note(SHARED_PRODUCT, Setting.FACILITY, "official")
    assert [line[:2] for line in _lines(result, "HCPCS")] == [("J1561", 140)]


OPENED_TOTAL = """Infusion suite 06/05/2026 - SLE, wt 60 kg
Benlysta 400 mg SDV x1 + 120 mg SDV x2 opened (640 mg); 600 mg prepared in NS 250 mL,
40 mg discarded.
0915 infusion started L FA 22g
1020 infusion complete
"""

PAUSED_IN_ANOTHER_CLAUSE = """IVIG day unit 06/06/2026 - CIDP
Privigen 40 g/400 mL x1 + 10 g/100 mL x1 opened; 50 g infused, no waste.
0900 IVIG start 60 mL/h -> 0930 120 mL/h
1000 chills, BP up - INFUSION STOPPED. NS 250 mL bolus 1000-1010.
1030 IVIG resumed 120 mL/h
1230 IVIG complete
"""


def test_opened_total_in_brackets_and_a_gauge_are_no_dose():
    """"SDV x2 opened (640 mg)" is what the vials held and "22g" a catheter gauge; the
    dose is the 600 mg prepared: J0490 x60 and JW x4 (R-UNITS-01, R-UNITS-03)."""
    result = code_note(OPENED_TOTAL, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("J0490", 4, ("JW",)), ("J0490", 60, ())]


def test_a_stop_written_before_the_drugs_of_its_line_is_the_running_infusion():
    """"INFUSION STOPPED. NS 250 mL bolus": the stop pauses the IVIG, not the saline, and
    "-> 0930 120 mL/h" is a rate change, not a stop: 0900-1000 + 1030-1230 = 180 minutes
    running, 96365 + 96366 x2 (R-ADMIN-09: paused time removed)."""
    result = code_note(PAUSED_IN_ANOTHER_CLAUSE, Setting.FACILITY, "official")
    assert [line for line in _lines(result, "CPT") if line[0].startswith("9636")] == [
        ("96365", 1, ()), ("96366", 2, ())]
    assert [line[:2] for line in _lines(result, "HCPCS")] == [("J1459", 100)]


DICTATED = """ED attending dictation 06/07/2026. Migraine, vomiting.
At half past nine metoclopramide 10 mg in 50 mL NS was hung and it finished at five to ten.
At ten o'clock diphenhydramine 25 mg was given by IV push. The headache eased over five to
ten minutes.
"""

PUMP_LOG = """INFUSION PUMP LOG ch A  06/08/2026 - iron deficiency anemia
Order: ferric carboxymaltose 750 mg in NS 250 mL IV
13:01:15  START  ferric carboxymaltose 750 mg/250 mL  rate 500 mL/h
13:32:40  INFUSION COMPLETE  VI 250 mL
"""


def test_times_written_in_words_are_clock_times():
    """"half past nine" to "five to ten" is 25 minutes: an infusion (96365), then a push of
    another drug (96375); "five to ten minutes" is a count, not a time."""
    result = code_note(DICTATED, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96365", 1, ()), ("96375", 1, ())]


def test_pump_log_times_with_seconds():
    """"13:01:15 START ... 13:32:40 INFUSION COMPLETE": 31 minutes, 96365 (R-ADMIN-01)."""
    result = code_note(PUMP_LOG, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96365", 1, ())]


IO_AND_RANGE_FIRST = """Office infusion 07/10/2026, breast ca, C1 AC
INTAKE: PO water 240 mL; juice 120 mL
9:05 am - 9:35 am  fosaprepitant (Emend for injection) 150 mg/NS 150 mL; 150 mg SDV, all used
9:40 am  doxorubicin 100 mg slow IV push
"""


def test_range_leading_the_line_and_a_drink_of_water():
    """"9:05 am - 9:35 am  fosaprepitant ...": the whole range is the infusion's; "Emend
    for injection" is fosaprepitant (J1453, JZ: the single-dose vial all used); "PO water
    240 mL" is no drug (a misspelling is read only within its edit distance)."""
    result = code_note(IO_AND_RANGE_FIRST, Setting.PROFESSIONAL, "official")
    assert [a.generic for a in result.facts.administrations] == ["fosaprepitant",
                                                                 "doxorubicin"]
    fosaprepitant = result.facts.administrations[0]
    assert (fosaprepitant.start.minute, fosaprepitant.stop.minute) == (5, 35)
    assert ("J1453", 150, ("JZ",)) in _lines(result, "HCPCS")


CERNER_EXPORT = ("MEDICATION ADMINISTRATION HISTORY  Encntr: ED\n"
                 "Admin Date/Time\tStatus\tMedication\tDose\tRoute\tPerformed By\n"
                 "08/14/2026 09:02:00\tAdmin\tmetoclopramide inj\t10 mg\tIV Push\tLEE RN\n"
                 "08/14/2026 09:10:00\tAdmin\tlactated ringers bolus\t1,000 mL\tIV\t"
                 "LEE RN [Begin Bag]\n"
                 "08/14/2026 10:25:00\tAdmin\tlactated ringers bolus\t1,000 mL\tIV\t"
                 "LEE RN [End Bag - infused 1,000 mL]\n"
                 "MDM: LR bolus for dehydration from vomiting.\n")

MAR_BAGS = """ED MAR 08/15/2026 - hypokalemia
drug | dose | route | start | stop | note
potassium chloride 10 mEq/100 mL | 10 mEq | IV | 09:00 | 10:00 | bag 1
potassium chloride 10 mEq/100 mL | 10 mEq | IV | 10:00 | 11:05 | bag 2, same line
"""


def test_export_times_with_seconds_and_bag_markers():
    """"08/14/2026 09:10:00 ... [Begin Bag]" to "10:25:00 ... [End Bag]": the LR ran 75
    minutes for documented dehydration after the push, secondary hydration 96361."""
    result = code_note(CERNER_EXPORT, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96361", 1, ()), ("96374", 1, ())]


def test_consecutive_mar_bags_add_their_doses():
    """Bag 2 hung as bag 1 ends continues the infusion (R-ADMIN-09) and adds its 10 mEq:
    J3480 per 2 mEq, 20 mEq = 10 units; 09:00-11:05 is 96365 + 96366."""
    result = code_note(MAR_BAGS, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96365", 1, ()), ("96366", 1, ())]
    assert _lines(result, "HCPCS") == [("J3480", 10, ())]
