"""Engine rules on hand-written facts: one test per threshold edge, named for its rule.

Expected values come from shared/domain/RULES.md (R-ADMIN-01..08, R-UNITS-01..03).
"""

from __future__ import annotations

import pytest

from engine import code_facts, load_profile
from engine.admin_rules import additional_hour_units
from notecoder.schema import (
    Method,
    PatientWeight,
    Purpose,
    Quantity,
    Relation,
    Route,
    Setting,
    Span,
)
from tests.facts import admin, dx, facts

OFFICIAL = load_profile("official")
SEED = load_profile("seed-documents")


def cpt(f, profile=OFFICIAL, setting=Setting.FACILITY):
    out = code_facts(f, setting, profile)
    return [(c.code, c.units) for c in out.codes if c.system == "CPT"]


@pytest.mark.parametrize("stop, expected", [
    ("10:15", [("96374", 1)]),   # 15 min: push (R-ADMIN-01)
    ("10:16", [("96365", 1)]),   # 16 min: infusion (R-ADMIN-02)
])
def test_r_admin_01_push_boundary_15_16(stop, expected):
    assert cpt(facts(admin("A1", "ceftriaxone", "10:00", stop))) == expected


@pytest.mark.parametrize("minutes, units", [
    (16, 0), (90, 0), (91, 1), (150, 1), (151, 2), (210, 2), (211, 3),
])
def test_r_admin_03_additional_hour_units(minutes, units):
    assert additional_hour_units(minutes, 91) == units


@pytest.mark.parametrize("stop, expected", [
    ("11:30", [("96365", 1)]),                 # 90 min
    ("11:31", [("96365", 1), ("96366", 1)]),   # 91 min
    ("12:30", [("96365", 1), ("96366", 1)]),   # 150 min
    ("12:31", [("96365", 1), ("96366", 2)]),   # 151 min
])
def test_r_admin_03_additional_hour_edges(stop, expected):
    assert cpt(facts(admin("A1", "ceftriaxone", "10:00", stop))) == expected


def test_r_admin_03_seed_profile_counts_90_minutes():
    assert cpt(facts(admin("A1", "ceftriaxone", "10:00", "11:30")), SEED) == [
        ("96365", 1), ("96366", 1)]


@pytest.mark.parametrize("stop, expected", [
    ("13:25", []),
    ("13:30", []),                                 # 30 min: not hydration
    ("13:31", [("96360", 1)]),                     # 31 min
    ("15:01", [("96360", 1), ("96361", 1)]),       # 121 min
])
def test_r_admin_04_hydration_edges(stop, expected):
    ns = admin("A1", "sodium chloride", "13:00", stop, is_fluid=True)
    assert cpt(facts(ns)) == expected


def test_r_admin_04_hydration_across_midnight():
    ns = admin("A1", "sodium chloride", "23:00", "02:00", is_fluid=True)
    assert cpt(facts(ns)) == [("96360", 1), ("96361", 2)]


@pytest.mark.parametrize("stop, units", [("11:15", 1), ("12:55", 3)])  # 75 and 175 min
def test_r_admin_04_secondary_hydration_after_push(stop, units):
    push = admin("A1", "ondansetron", "09:50", None, method=Method.PUSH)
    ns = admin("A2", "sodium chloride", "10:00", stop, is_fluid=True)
    assert cpt(facts(push, ns)) == [("96374", 1), ("96361", units)]


def test_r_admin_05_kvo_fluid_not_reported():
    kvo = admin("A1", "sodium chloride", "10:00", "12:00", is_fluid=True, purpose=Purpose.VEHICLE)
    drug = admin("A2", "ceftriaxone", "10:00", "10:40")
    assert cpt(facts(kvo, drug)) == [("96365", 1)]


def test_r_admin_05_concurrent_hydration_not_reported_officially():
    drug = admin("A1", "ceftriaxone", "10:00", "11:00")
    ns = admin("A2", "sodium chloride", "10:00", "11:00", is_fluid=True)
    assert cpt(facts(drug, ns)) == [("96365", 1)]
    assert cpt(facts(drug, ns), SEED) == [("96365", 1), ("96368", 1)]


def test_r_admin_06_facility_hierarchy_ignores_order():
    ns = admin("A1", "sodium chloride", "08:00", "09:00", is_fluid=True)
    drug = admin("A2", "ceftriaxone", "09:05", "09:45")
    assert cpt(facts(ns, drug)) == [("96365", 1), ("96361", 1)]


def test_r_admin_07_sequential_new_drug():
    first = admin("A1", "vancomycin", "08:00", "09:30")
    second = admin("A2", "magnesium sulfate", "09:35", "10:20", relation=Relation.SEQUENTIAL,
                   related_to="A1")
    assert cpt(facts(first, second)) == [("96365", 1), ("96367", 1)]


def test_r_admin_08_concurrent_drug_once_per_encounter():
    a = admin("A1", "ceftriaxone", "10:00", "11:00")
    b = admin("A2", "magnesium sulfate", "10:10", "10:50")
    c = admin("A3", "ondansetron", "10:20", "10:45")
    assert cpt(facts(a, b, c)) == [("96365", 1), ("96368", 1)]


def test_r_admin_11_no_stop_time_no_code_and_query():
    out = code_facts(facts(admin("A1", "ceftriaxone", "10:00", None), dx("D1", "pneumonia")),
                     Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == []
    assert [q.rule for q in out.queries] == ["R-CDI-01"]
    assert ("HCPCS", "J0696") in [(c.system, c.code) for c in out.codes]


def test_r_admin_01_same_drug_push_96376_facility_only():
    a = admin("A1", "ondansetron", "10:00", None, method=Method.PUSH)
    b = admin("A2", "ondansetron", "10:45", None, method=Method.PUSH)
    assert cpt(facts(a, b)) == [("96374", 1), ("96376", 1)]
    assert cpt(facts(a, b), setting=Setting.PROFESSIONAL) == [("96374", 1)]


@pytest.mark.parametrize("dose, unit, units", [
    (1, "g", 4), (600, "mg", 3), (250, "mg", 1), (251, "mg", 2),
])
def test_r_units_01_round_up(dose, unit, units):
    out = code_facts(facts(admin("A1", "ceftriaxone", "10:00", "10:40", dose=(dose, unit))),
                     Setting.FACILITY, OFFICIAL)
    assert [(c.code, c.units) for c in out.codes if c.system == "HCPCS"] == [("J0696", units)]


def test_r_units_02_weight_based_dose():
    drug = admin("A1", "infliximab", "09:00", "11:00",
                 dose_per_kg=Quantity(value=5, unit="mg"))
    weight = PatientWeight(id="W1", evidence=[Span(start=900, end=905)], value=80, unit="kg")
    out = code_facts(facts(drug, dx("D1", "crohns_disease"), weight=weight), Setting.FACILITY,
                     OFFICIAL)
    assert [(c.code, c.units) for c in out.codes if c.system == "HCPCS"] == [("J1745", 40)]
    assert out.queries == []


def test_r_units_03_jw_line_for_documented_waste_from_single_dose_vials():
    drug = admin("A1", "infliximab", "09:00", "11:00", dose=(350, "mg"),
                 vial_size=Quantity(value=100, unit="mg"), vial_count=4,
                 wasted=Quantity(value=50, unit="mg"))
    out = code_facts(facts(drug), Setting.FACILITY, OFFICIAL)
    lines = [(c.code, c.units, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"]
    assert lines == [("J1745", 35, ()), ("J1745", 5, ("JW",))]


def test_r_units_03_no_jw_line_when_waste_is_not_documented():
    """RULES.md R-UNITS-03: waste must be documented, else R-CDI-09 and no JW line."""
    drug = admin("A1", "infliximab", "09:00", "11:00", dose=(350, "mg"),
                 vial_size=Quantity(value=100, unit="mg"), vial_count=4)
    out = code_facts(facts(drug), Setting.FACILITY, OFFICIAL)
    lines = [(c.code, c.units, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"]
    assert lines == [("J1745", 35, ())]
    assert "R-CDI-09" in [q.rule for q in out.queries]


def test_r_units_03_jz_when_no_waste_documented():
    drug = admin("A1", "zoledronic acid", "13:00", "13:20", dose=(5, "mg"),
                 no_waste_documented=True)
    out = code_facts(facts(drug), Setting.PROFESSIONAL, OFFICIAL)
    assert [(c.code, c.units, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"] == [
        ("J3489", 5, ("JZ",))]


def test_r_units_03_packaged_opps_drug_takes_no_jz_on_a_facility_claim():
    """Generic zoledronic acid 5 mg costs a few dollars (ASP Oct 2025): packaged under OPPS,
    so no JZ on the facility claim; infliximab 400 mg is separately payable and keeps it."""
    cheap = admin("A1", "zoledronic acid", "13:00", "13:20", dose=(5, "mg"),
                  no_waste_documented=True)
    out = code_facts(facts(cheap), Setting.FACILITY, OFFICIAL)
    assert [(c.code, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"] == [
        ("J3489", ())]
    assert any("packaging threshold" in w for w in out.warnings)
    dear = admin("A1", "infliximab", "09:00", "11:00", dose=(400, "mg"),
                 no_waste_documented=True)
    out = code_facts(facts(dear), Setting.FACILITY, OFFICIAL)
    assert [(c.code, tuple(c.modifiers)) for c in out.codes if c.system == "HCPCS"] == [
        ("J1745", ("JZ",))]


def test_r_dx_02_uncertain_not_coded_symptom_coded():
    f = facts(dx("D1", "fever"), dx("D2", "pneumonia", assertion="uncertain"))
    out = code_facts(f, Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes] == ["R50.9"]


def test_r_dx_06_pneumonia_with_organism_combination_code():
    out = code_facts(facts(dx("D1", "pneumonia", organism="MRSA")), Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes] == ["J15.212"]


def test_every_engine_code_has_evidence():
    f = facts(admin("A1", "ceftriaxone", "10:00", "10:40", dose=(1, "g")), dx("D1", "pneumonia"))
    for line in code_facts(f, Setting.FACILITY, OFFICIAL).codes:
        assert line.evidence


def test_r_admin_10_chemotherapy_family_and_encounter_code():
    chemo = admin("A1", "paclitaxel", "09:00", "12:05", dose=(175, "mg"))
    second = admin("A2", "carboplatin", "12:10", "12:45", dose=(450, "mg"))
    premed = admin("A3", "ondansetron", "08:40", None, method=Method.PUSH)
    out = code_facts(facts(premed, chemo, second, dx("D1", "breast_cancer")),
                     Setting.FACILITY, OFFICIAL)
    cpt_codes = [(c.code, c.units) for c in out.codes if c.system == "CPT"]
    # 185 min of paclitaxel: 96413 + 96415 x2; carboplatin sequential 96417; push 96375.
    assert cpt_codes == [("96413", 1), ("96415", 2), ("96375", 1), ("96417", 1)]
    icd = [c.code for c in out.codes if c.system == "ICD-10-CM"]
    assert icd == ["Z51.11", "C50.919"]


def test_r_dx_codes_name_the_code_set_year():
    out = code_facts(facts(dx("D1", "pneumonia")), Setting.FACILITY, OFFICIAL)
    assert "ICD-10-CM FY2026" in out.codes[0].rationale


def test_r_admin_09_sc_infusion_initial_additional_hour_and_new_site():
    first = admin("A1", "immune globulin", "09:00", "10:45", route=Route.SC)
    second = admin("A2", "immune globulin", "09:05", "10:00", route=Route.SC)
    assert cpt(facts(first)) == [("96369", 1), ("96370", 1)]  # 105 min
    assert cpt(facts(first, second)) == [("96369", 1), ("96370", 1), ("96371", 1)]


def test_r_admin_09_intra_arterial_injection():
    drug = admin("A1", "ceftriaxone", None, None, route=Route.INTRA_ARTERIAL,
                 method=Method.INJECTION)
    assert cpt(facts(drug)) == [("96373", 1)]


def test_r_admin_09_each_sc_im_injection_reported_as_units_of_one_line():
    a = admin("A1", "ceftriaxone", None, None, route=Route.IM, method=Method.INJECTION)
    b = admin("A2", "ondansetron", None, None, route=Route.IM, method=Method.INJECTION)
    assert cpt(facts(a, b)) == [("96372", 2)]


def test_r_admin_12_sc_biologic_injection_stays_therapeutic():
    a = admin("A1", "denosumab", None, None, route=Route.SC, method=Method.INJECTION)
    assert cpt(facts(a)) == [("96372", 1)]


def test_r_admin_11_hormonal_antineoplastic_injection():
    """96402 for leuprolide given for a cancer; for endometriosis it is a therapeutic
    injection (Noridian JF via AAPC; corpus wd-17)."""
    lupron = admin("A1", "leuprolide", None, None, route=Route.IM, method=Method.INJECTION)
    assert cpt(facts(lupron, dx("D1", "prostate_cancer"))) == [("96402", 1)]
    assert cpt(facts(lupron, dx("D1", "endometriosis"))) == [("96372", 1)]


def test_r_admin_16_pump_started_for_more_than_8_hours():
    pump = admin("A1", "fluorouracil", "11:20", None, device="portable_pump",
                 duration_minutes=2760)
    assert cpt(facts(pump)) == [("96416", 1)]
    short = admin("A1", "fluorouracil", "11:20", "19:20", device="portable_pump")
    assert cpt(facts(short)) == [("96413", 1), ("96415", 7)]


def test_r_admin_17_port_flush_alone_and_with_other_service():
    from notecoder.schema import AccessService
    flush = AccessService(id="S1", evidence=[Span(start=0, end=5)], text="port flushed",
                          kind="port_flush")
    assert cpt(facts(access_services=[flush])) == [("96523", 1)]
    drug = admin("A1", "ceftriaxone", "10:00", "10:40")
    assert cpt(facts(drug, access_services=[flush])) == [("96365", 1)]


def test_r_admin_15_units_above_the_mue_are_not_billed():
    drug = admin("A1", "ceftriaxone", "00:00", "11:50")  # 710 min: 96366 x10, MUE 8
    out = code_facts(facts(drug), Setting.FACILITY, OFFICIAL)
    lines = {c.code: c.units for c in out.codes if c.system == "CPT"}
    assert lines == {"96365": 1, "96366": None}
    assert any("R-ADMIN-15" in w for w in out.warnings)
    assert "R-CDI-01" in [q.rule for q in out.queries]
    ok = admin("A1", "ceftriaxone", "00:00", "09:00")  # 540 min: 96366 x8
    assert cpt(facts(ok)) == [("96365", 1), ("96366", 8)]


def test_r_admin_06_separate_sites_warn_never_auto_code():
    a = admin("A1", "ceftriaxone", "10:00", "11:00", site="L forearm")
    b = admin("A2", "vancomycin", "10:10", "11:30", site="R hand")
    out = code_facts(facts(a, b), Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == ["96365", "96368"]
    assert any("R-MOD-03" in w for w in out.warnings)
    assert not any(c.modifiers for c in out.codes if c.system == "CPT")


@pytest.mark.parametrize("setting", list(Setting))
def test_r_admin_06_hierarchy_in_both_settings(setting):
    """Facility: hierarchy. Professional: same pick, with a warning when the note does not
    state the primary reason (RULES.md R-ADMIN-06)."""
    push = admin("A1", "ondansetron", "08:00", None, method=Method.PUSH)
    drug = admin("A2", "ceftriaxone", "08:30", "09:10")
    out = code_facts(facts(push, drug, dx("D1", "pneumonia")), setting, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == ["96365", "96375"]
    warned = any("Primary reason" in w for w in out.warnings)
    assert warned == (setting == Setting.PROFESSIONAL)


def test_r_admin_08_professional_claim_for_ed_note_bills_no_administration():
    from notecoder.schema import EncounterPlace, Place

    place = EncounterPlace(id="P1", evidence=[Span(start=0, end=2)],
                           place=Place.EMERGENCY_DEPARTMENT)
    out = code_facts(facts(admin("A1", "ceftriaxone", "10:00", "10:40"), place=place),
                     Setting.PROFESSIONAL, OFFICIAL)
    assert [c for c in out.codes if c.system != "ICD-10-CM"] == []
    assert any("R-ADMIN-08" in w for w in out.warnings)


@pytest.mark.parametrize("profile, units", [("official", 4), ("seed-documents", 3)])
def test_r_units_01_d3_rounding_by_profile(profile, units):
    """175 mg of a 50 mg unit is 3.5: official rounds up (4), the seed rounds down (3)."""
    drug = admin("A1", "carboplatin", "10:00", "10:40", dose=(175, "mg"))
    out = code_facts(facts(drug), Setting.FACILITY, load_profile(profile))
    assert [c.units for c in out.codes if c.code == "J9045"] == [units]


def test_r_units_04_biosimilar_product_code():
    drug = admin("A1", "infliximab", "09:00", "11:00", dose=(400, "mg"),
                 product="infliximab-dyyb")
    out = code_facts(facts(drug), Setting.FACILITY, OFFICIAL)
    assert [(c.code, c.units) for c in out.codes if c.system == "HCPCS"] == [("Q5103", 40)]


def test_r_units_04_unknown_drug_is_unclassified_for_review():
    drug = admin("A1", "unlisted-drug", "09:00", "09:40", dose=(10, "mg"))
    out = code_facts(facts(drug), Setting.FACILITY, OFFICIAL)
    [line] = [c for c in out.codes if c.system == "HCPCS"]
    assert line.code == "J3490" and line.units is None
    assert any("J3490" in w for w in out.warnings)


def test_r_mod_01_modifier_25_only_when_separately_identifiable():
    from notecoder.schema import EMVisit

    drug = admin("A1", "ceftriaxone", "10:00", "10:40")
    em = EMVisit(id="E1", evidence=[Span(start=0, end=9)], stated_level=4,
                 patient_status="established", separately_identifiable=True)
    out = code_facts(facts(drug, em=em), Setting.FACILITY, OFFICIAL)
    assert [(c.code, tuple(c.modifiers)) for c in out.codes if c.system == "CPT"] == [
        ("99214", ("25",)), ("96365", ())]
    plain = em.model_copy(update={"separately_identifiable": False})
    out = code_facts(facts(drug, em=plain), Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == ["96365"]
    assert any("R-MOD-01" in w for w in out.warnings)


def test_r_admin_12_complex_biologic_is_chemotherapy_family_by_default():
    """R-ADMIN-12 (CMS Pub 100-04 ch. 12 §30.5, CR 13468): a monoclonal antibody IV takes
    chemotherapy codes for cancer and, under the default profile, for RA too; the payer
    profile therapeutic-biologics keeps the non-cancer use on therapeutic codes."""
    cancer = dx("D1", "breast_cancer")
    for_cancer = admin("A1", "rituximab", "09:00", "10:30", indication="D1")
    assert cpt(facts(for_cancer, cancer)) == [("96413", 1)]
    ra = dx("D1", "rheumatoid_arthritis")
    for_ra = admin("A1", "rituximab", "09:00", "10:30", indication="D1")
    assert cpt(facts(for_ra, ra)) == [("96413", 1)]
    therapeutic = load_profile("therapeutic-biologics")
    out = code_facts(facts(for_ra, ra), Setting.FACILITY, therapeutic)
    assert [(c.code, c.units) for c in out.codes if c.system == "CPT"] == [("96365", 1)]
    out = code_facts(facts(for_cancer, cancer), Setting.FACILITY, therapeutic)
    assert [(c.code, c.units) for c in out.codes if c.system == "CPT"] == [("96413", 1)]


def test_every_hcpcs_row_is_checked_against_the_cms_release():
    drug = admin("A1", "rituximab", "09:00", "10:30", dose=(500, "mg"), product="rituximab-pvvr")
    out = code_facts(facts(drug, dx("D1", "rheumatoid_arthritis")), Setting.FACILITY, OFFICIAL)
    assert ("Q5119", 50) in [(c.code, c.units) for c in out.codes]
    assert not any("not yet checked" in w for w in out.warnings)


def test_r_admin_11_stop_before_start_is_a_query_not_23_hours():
    typo = admin("A1", "ceftriaxone", "10:15", "10:05")
    out = code_facts(facts(typo, dx("D1", "pneumonia")), Setting.FACILITY, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == []
    assert [q.rule for q in out.queries] == ["R-CDI-01"]


@pytest.mark.parametrize("second, expected", [
    ("10:30", [("96374", 1)]),                # 30 min after: not more than 30
    ("10:31", [("96374", 1), ("96376", 1)]),  # 31 min after
])
def test_r_admin_01_same_drug_push_30_31(second, expected):
    a = admin("A1", "ondansetron", "10:00", None, method=Method.PUSH)
    b = admin("A2", "ondansetron", second, None, method=Method.PUSH)
    assert cpt(facts(a, b)) == expected


def test_r_mod_01_99211_never_with_drug_administration():
    from notecoder.schema import EMVisit
    drug = admin("A1", "ceftriaxone", None, None, route=Route.IM, method=Method.INJECTION)
    em = EMVisit(id="E1", evidence=[Span(start=0, end=9)], stated_code="99211",
                 separately_identifiable=True)
    out = code_facts(facts(drug, em=em), Setting.PROFESSIONAL, OFFICIAL)
    assert [c.code for c in out.codes if c.system == "CPT"] == ["96372"]


def test_r_mod_01_stated_modifier_25_and_ed_facility_level():
    from notecoder.schema import EMVisit, EncounterPlace, Place
    drug = admin("A1", "ondansetron", "10:00", None, method=Method.PUSH)
    stated = EMVisit(id="E1", evidence=[Span(start=0, end=9)], stated_code="99214",
                     stated_modifiers=["25"])
    out = code_facts(facts(drug, em=stated), Setting.PROFESSIONAL, OFFICIAL)
    assert ("99214", ["25"]) in [(c.code, c.modifiers) for c in out.codes]
    level = EMVisit(id="E1", evidence=[Span(start=0, end=9)], stated_level=3)
    ed = EncounterPlace(id="P1", evidence=[Span(start=0, end=2)],
                        place=Place.EMERGENCY_DEPARTMENT)
    out = code_facts(facts(drug, em=level, place=ed), Setting.FACILITY, OFFICIAL)
    assert ("99283", ["25"]) in [(c.code, c.modifiers) for c in out.codes]


def test_r_admin_08_physician_claim_in_a_hospital_outpatient_department():
    """The physician's professional claim for an ED/HOPD encounter carries no drug
    administration and no drug line (the facility's service): E/M without -25 only."""
    from notecoder.schema import EMVisit, EncounterPlace, Place
    drug = admin("A1", "ceftriaxone", "10:00", "10:40", dose=(1, "g"))
    em = EMVisit(id="E1", evidence=[Span(start=0, end=9)], stated_code="99214",
                 separately_identifiable=True)
    hopd = EncounterPlace(id="P1", evidence=[Span(start=0, end=4)],
                          place=Place.HOSPITAL_OUTPATIENT)
    out = code_facts(facts(drug, em=em, place=hopd), Setting.PROFESSIONAL, OFFICIAL)
    assert [(c.code, c.modifiers) for c in out.codes if c.system != "ICD-10-CM"] == [
        ("99214", [])]
    assert any("R-ADMIN-08" in w for w in out.warnings)


def test_r_admin_17_pump_refill_is_not_a_new_pump_start():
    from notecoder.schema import AccessService
    refill = AccessService(id="S1", evidence=[Span(start=0, end=5)], text="pump refilled",
                           kind="pump_refill_portable")
    pump = admin("A1", "fluorouracil", "10:00", None, device="portable_pump",
                 duration_minutes=7 * 24 * 60)
    assert cpt(facts(pump, access_services=[refill])) == [("96521", 1)]


def test_r_dx_05_no_chemotherapy_encounter_code_for_a_non_neoplastic_indication():
    """ICD-G I.C.2.e.2: Z51.11 is the encounter for chemotherapy for a neoplasm; the same
    cyclophosphamide given for lupus nephritis takes no Z51.1-, and the coder is told."""
    lupus = admin("A1", "cyclophosphamide", "10:00", "11:00", dose=(750, "mg"), indication="D1")
    out = code_facts(facts(lupus, dx("D1", "pneumonia")), Setting.FACILITY, OFFICIAL)
    assert "Z51.11" not in [c.code for c in out.codes]
    assert any("not a neoplasm" in w for w in out.warnings)
    cancer = admin("A1", "cyclophosphamide", "10:00", "11:00", dose=(750, "mg"),
                   indication="D1")
    out = code_facts(facts(cancer, dx("D1", "breast_cancer")), Setting.FACILITY, OFFICIAL)
    assert next(c.code for c in out.codes if c.system == "ICD-10-CM") == "Z51.11"
