"""Property-based checks of the engine over random valid fact sets (hypothesis).

Invariants (issue 4): no code without evidence; drug-line units are at least 1 when
computable (null units always come with a warning); at most one initial
administration code per encounter; 96368 at most once; the engine never raises.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import code_facts, load_profile, profile_names
from engine.tables import diagnosis_concepts, drug_codes
from notecoder.schema import (
    Assertion,
    Diagnosis,
    DrugAdministration,
    Extraction,
    Method,
    PatientWeight,
    Purpose,
    Quantity,
    Relation,
    Route,
    Setting,
    Span,
)

NOTE_LENGTH = 5000
INITIAL_CODES = {"96360", "96365", "96369", "96374", "96409", "96413"}
GENERICS = [*sorted(drug_codes()), "unlisted-drug"]
CONCEPTS = sorted(diagnosis_concepts())

spans = st.builds(lambda s, n: Span(start=s, end=s + n),
                  st.integers(0, NOTE_LENGTH - 50), st.integers(1, 40))
times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))
quantities = st.builds(Quantity, value=st.floats(0.01, 5000, allow_nan=False),
                       unit=st.sampled_from(["g", "mg", "mcg", "units", "mL"]))


@st.composite
def administrations(draw, index: int) -> DrugAdministration:
    generic = draw(st.sampled_from(GENERICS))
    is_fluid = generic == "sodium chloride"
    drug_span = draw(spans)
    field_spans = {"drug": drug_span}
    start = draw(st.none() | times)
    stop = draw(st.none() | times)
    if start:
        field_spans["start"] = draw(spans)
    if stop:
        field_spans["stop"] = draw(spans)
    return DrugAdministration(
        id=f"A{index}",
        evidence=[drug_span],
        field_spans=field_spans,
        drug_text=generic,
        generic=generic,
        is_fluid=is_fluid,
        dose=draw(st.none() | quantities),
        dose_per_kg=draw(st.none() | st.builds(Quantity, value=st.floats(0.1, 20),
                                               unit=st.just("mg"))),
        route=draw(st.none() | st.sampled_from(list(Route))),
        method=draw(st.none() | st.sampled_from(list(Method))),
        purpose=draw(st.none() | st.sampled_from(list(Purpose))),
        start=start,
        stop=stop,
        duration_minutes=draw(st.none() | st.integers(0, 600)),
        relation=draw(st.none() | st.sampled_from(list(Relation))),
        vial_size=draw(st.none() | quantities),
        vial_count=draw(st.none() | st.integers(1, 6)),
        wasted=draw(st.none() | quantities),
        no_waste_documented=draw(st.booleans()),
    )


@st.composite
def fact_sets(draw) -> Extraction:
    count = draw(st.integers(0, 6))
    admins = [draw(administrations(i + 1)) for i in range(count)]
    dxs = [
        Diagnosis(id=f"D{i + 1}", evidence=[draw(spans)], text="x",
                  concept=draw(st.sampled_from(CONCEPTS)),
                  assertion=draw(st.sampled_from(list(Assertion))),
                  organism=draw(st.none() | st.sampled_from(["MRSA", "MSSA", "E. coli"])))
        for i in range(draw(st.integers(0, 4)))
    ]
    weight = draw(st.none() | st.builds(
        PatientWeight, id=st.just("W1"), evidence=st.lists(spans, min_size=1, max_size=1),
        value=st.floats(1, 300), unit=st.sampled_from(["kg", "lb"])))
    return Extraction(extractor="hypothesis", note_length=NOTE_LENGTH,
                      note_sha256=hashlib.sha256(b"x").hexdigest(), administrations=admins,
                      diagnoses=dxs, weight=weight)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact_sets(), st.sampled_from(list(Setting)), st.sampled_from(profile_names()))
def test_engine_invariants(f, setting, profile_name):
    out = code_facts(f, setting, load_profile(profile_name))  # never raises
    codes = [c.code for c in out.codes]
    assert all(c.evidence for c in out.codes)
    assert all(q.evidence and len(q.options) >= 3 for q in out.queries)
    assert sum(c in INITIAL_CODES for c in codes) <= 1
    assert codes.count("96368") <= 1
    for line in out.codes:
        if line.system == "HCPCS":
            assert line.units is None or line.units >= 1
            if line.units is None:
                assert out.warnings
        if line.system == "ICD-10-CM":
            assert "." in line.code or len(line.code) == 3
    if setting == Setting.PROFESSIONAL:
        assert "96376" not in codes
