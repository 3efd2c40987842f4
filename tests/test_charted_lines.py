"""Flowsheet and preparation lines written the way oncology, infusion and ED charts write
them (styles first met in the independent wild-dev corpus, written here afresh): two drugs
started and stopped on one timed line, "poor PO" beside a fluid, "5-FU" on a timed line, a
dose drawn into its bag with the waste on that line, and a second bag of the same drug."""

from __future__ import annotations

from notecoder.pipeline import code_note
from notecoder.schema import Route, Setting

FOLFIRI = ("Infusion suite 08/04/2026 - C2D1 FOLFIRI, metastatic rectal ca\n"
           "irinotecan 180 mg/m2 = 340 mg; leucovorin 400 mg/m2 = 760 mg\n"
           "1315 irinotecan 340 mg in D5W 500 mL started; leucovorin 760 mg in D5W 250 mL"
           " started together via Y-site\n"
           "1500 irinotecan and leucovorin both done, line flushed\n")

POOR_PO = """ED RN note 08/05/2026
gastroenteritis, vomiting since last night
1400 LR 1000 mL @ 500 mL/hr started for dehydration - poor PO, dry mucosa
1610 LR complete
"""

FIVE_FU = """chemo chair 4   08/06/2026
5-FU bolus 400 mg/m2 = 500 mg; 5-FU infusion 2400 mg/m2 = 3000 mg over 46 h
1000 5-FU 500 mg IV push over 2 min
1010 5-FU 3000 mg via CADD pump started, 46 h
"""

DRAWN_INTO = """GI infusion 08/07/2026, Crohn's disease
Inflectra (infliximab-dyyb) 5 mg/kg x 90 kg = 450 mg
Vials: 5 x 100 mg single-dose; 450 mg drawn into NS 250 mL; 50 mg discarded
0930 infusion started
1140 infusion complete
"""

SECOND_BAG = """ED flowsheet 08/08/2026 - hypomagnesemia
1400 magnesium sulfate 1 g/100 mL IVPB started
1500 bag 1 done; bag 2 magnesium sulfate 1 g/100 mL hung
1605 bag 2 complete
"""


def _lines(result, system: str) -> list[tuple]:
    return sorted((c.code, c.units, tuple(c.modifiers)) for c in result.codes
                  if c.system == system)


def test_two_drugs_started_and_stopped_on_one_line_run_concurrently():
    """"X started; Y started together" and "X and Y both done": leucovorin runs beside the
    irinotecan, the concurrent infusion 96368 (R-ADMIN rules for concurrency)."""
    result = code_note(FOLFIRI, Setting.FACILITY, "official")
    leucovorin = next(a for a in result.facts.administrations if a.generic == "leucovorin")
    assert (leucovorin.start.hour, leucovorin.stop.hour) == (13, 15)
    assert ("96368", 1, ()) in _lines(result, "CPT")


def test_poor_po_beside_a_fluid_is_not_its_route():
    """"poor PO" describes drinking: the LR bolus is IV hydration, 96360 + 96361."""
    result = code_note(POOR_PO, Setting.FACILITY, "official")
    [fluid] = result.facts.administrations
    assert fluid.route != Route.ORAL
    assert _lines(result, "CPT") == [("96360", 1, ()), ("96361", 1, ())]


def test_five_fu_on_timed_lines_is_a_push_and_a_pump():
    """"5-FU" on the timed lines is fluorouracil: the push (96409) and the pump start
    (96416) are two administrations; units count both doses, 3500 mg / 500 mg = 7."""
    result = code_note(FIVE_FU, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96409", 1, ()), ("96416", 1, ())]
    assert _lines(result, "HCPCS") == [("J9190", 7, ())]


def test_dose_drawn_into_its_bag_keeps_the_waste_on_the_drug():
    """"450 mg drawn into NS 250 mL; 50 mg discarded": the saline is the diluent and the
    waste is the infliximab's JW line (R-UNITS-03)."""
    result = code_note(DRAWN_INTO, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("Q5103", 5, ("JW",)), ("Q5103", 45, ())]


def test_second_bag_adds_its_dose_to_the_infusion():
    """"bag 2 magnesium sulfate 1 g hung" continues the infusion (R-ADMIN-09) and adds its
    gram: J3475 per 500 mg, 2 g = 4 units."""
    result = code_note(SECOND_BAG, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96365", 1, ()), ("96366", 1, ())]
    assert _lines(result, "HCPCS") == [("J3475", 4, ())]


TWO_ENTRIES = """ED 08/09/2026 - pyelonephritis, hypotensive, volume depleted
0905 LR 1000 mL bolus for volume depletion
0955 LR bolus complete. 1000 cefepime 2 g/NS 100 mL IVPB started
1035 cefepime complete
"""

VIALS_AFTER_THE_BAG = """Rheum infusion 08/10/2026 - RA
Truxima 500 mg/50 mL SDV x2 = 1000 mg in NS 500 mL, all vials used.
0930 infusion start; 1400 infusion complete
"""


def test_two_timed_entries_on_one_line_are_two_events():
    """"0955 LR bolus complete. 1000 cefepime ... started": the stop is the saline's, the start
    the cefepime's; cefepime 1000-1035 is the initial infusion (96365), the LR 0905-0955 for
    volume depletion secondary hydration (96361)."""
    result = code_note(TWO_ENTRIES, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96361", 1, ()), ("96365", 1, ())]


def test_vials_named_after_the_bag_do_not_make_the_dose_a_vial():
    """"= 1000 mg in NS 500 mL, all vials used": 1000 mg is the dose (Q5115 x100, JZ)."""
    result = code_note(VIALS_AFTER_THE_BAG, Setting.FACILITY, "official")
    assert _lines(result, "HCPCS") == [("Q5115", 100, ("JZ",))]


TITRATION = """Neuro infusion 08/11/2026 - MS
Ocrevus (ocrelizumab) 300 mg in NS 250 mL
Titration per protocol:
0915 30 mL/h | 0945 60 | 1015 90 | 1045 120 mL/h
1200 infusion complete, no reaction
"""


def test_first_rate_charted_starts_the_drug_above():
    """"0915 30 mL/h | 0945 60 ..." under the Ocrevus line: the infusion ran 0915-1200
    (165 min), 96413 + 96415 x2 under the official profile (R-ADMIN-12)."""
    result = code_note(TITRATION, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96413", 1, ()), ("96415", 2, ())]


RANGE_IN_TIME_COLUMN = """HOPD oncology 08/12/2026 - NSCLC C3D1
| time | item | dose | route |
| 09:30 | ondansetron | 16 mg | IV push |
| 09:45-10:20 | cisplatin in NS 500 mL | 75 mg | IV infusion |
"""


def test_a_range_in_a_time_column_is_the_rows_start_and_stop():
    """"| 09:45-10:20 | cisplatin ...": 35 minutes of chemotherapy infusion, 96413, and the
    ondansetron push before it 96375 (facility hierarchy)."""
    result = code_note(RANGE_IN_TIME_COLUMN, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96375", 1, ()), ("96413", 1, ())]


HASH_BAG = """Day unit 08/16/2026 - hyperemesis, dehydration
0900 LR 1000 mL #1 started @ 800 mL/hr for dehydration
1015 bag #1 complete; LR 1000 mL #2 hung immediately
1120 bag #2 complete
"""

AMOUNT_ON_A_STOP_LINE = """IVIG suite 08/17/2026 - CIDP
09:00 Privigen started 0.5 mL/kg/hr
11:30 infusion complete, 40 g infused. No reaction.
"""


def test_a_second_bag_written_hash_two_hung_continues_the_hydration():
    """"LR 1000 mL #2 hung immediately": one hydration 0900-1120 (140 min), 96360 + 96361."""
    result = code_note(HASH_BAG, Setting.FACILITY, "official")
    assert _lines(result, "CPT") == [("96360", 1, ()), ("96361", 1, ())]


def test_amount_on_a_stop_line_is_the_running_drugs():
    """"11:30 infusion complete, 40 g infused" names no drug: the chart says the stop is
    the Privigen's, so is the 40 g (J1459 per 500 mg x80), never an unknown drug's."""
    result = code_note(AMOUNT_ON_A_STOP_LINE, Setting.FACILITY, "official")
    assert [line[:2] for line in _lines(result, "HCPCS")] == [("J1459", 80)]
