"""The scorer on tiny hand-computed cases: known TP/FP/FN -> known P/R/F1."""

from __future__ import annotations

import pytest

from eval.gold import GoldCode
from eval.score import Tally, normalise, score_codes, score_extraction
from notecoder.schema import CodeLine, Quantity, Span
from tests.facts import admin, dx, facts


def line(system, code, units=None, modifiers=()):
    return CodeLine(system=system, code=code, units=units, modifiers=list(modifiers),
                    rule="R-TEST", rationale="test", evidence=[Span(start=0, end=1)])


def test_tally_precision_recall_f1_hand_computed():
    t = Tally(tp=3, fp=1, fn=2)
    assert t.precision == pytest.approx(0.75)
    assert t.recall == pytest.approx(0.6)
    assert t.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)


def test_code_scores_hand_computed():
    gold = [GoldCode(system="ICD-10-CM", code="J18.9"),
            GoldCode(system="CPT", code="96365", units=1),
            GoldCode(system="CPT", code="96366", units=1),
            GoldCode(system="HCPCS", code="J0696", units=4, modifiers=["JZ"])]
    pred = [line("ICD-10-CM", "R50.9"), line("ICD-10-CM", "J18.9"),
            line("CPT", "96365", 1), line("HCPCS", "J0696", 3)]
    s = score_codes(gold, pred, ["R-CDI-01", "R-CDI-02"], ["R-CDI-02", "R-CDI-09"])
    # ICD: TP J18.9, FP R50.9; CPT: TP 96365, FN 96366; HCPCS: TP J0696.
    assert (s.systems["ICD-10-CM"].tp, s.systems["ICD-10-CM"].fp) == (1, 1)
    assert (s.systems["CPT"].tp, s.systems["CPT"].fn) == (1, 1)
    assert s.codes["CPT 96366"].recall == 0.0
    assert (s.units.correct, s.units.total) == (1, 2)        # 96365 right, J0696 3 != 4
    assert (s.modifiers.correct, s.modifiers.total) == (2, 3)  # JZ missing on J0696
    assert s.first_listed.value == 0.0                        # R50.9 listed before J18.9
    assert s.claim_exact.value == 0.0
    assert (s.queries.tp, s.queries.fp, s.queries.fn) == (1, 1, 1)


def test_exact_claim_match():
    gold = [GoldCode(system="CPT", code="96365", units=1)]
    assert score_codes(gold, [line("CPT", "96365", 1)], [], []).claim_exact.value == 1.0


def test_unit_normalisation_one_gram_equals_1000_mg():
    assert normalise(Quantity(value=1, unit="g")) == normalise(Quantity(value=1000, unit="mg"))
    assert normalise(Quantity(value=250, unit="mcg")) == normalise(Quantity(value=0.25, unit="mg"))
    assert normalise(Quantity(value=1, unit="g")) != normalise(Quantity(value=1, unit="mg"))


def test_extraction_field_scores_hand_computed():
    gold = facts(admin("A1", "ceftriaxone", "10:15", "10:50", dose=(1, "g")),
                 dx("D1", "pneumonia"))
    pred = facts(admin("A1", "ceftriaxone", "10:15", "10:55", dose=(1000, "mg")),
                 admin("A2", "ondansetron", None, None), dx("D1", "pneumonia"),
                 dx("D2", "fever"))
    s = score_extraction(gold, pred)
    assert (s.facts["administration"].tp, s.facts["administration"].fp) == (1, 1)
    assert s.fields["administration.dose"].tp == 1          # 1 g == 1000 mg
    assert s.fields["administration.start"].tp == 1
    stop = s.fields["administration.stop"]
    assert (stop.tp, stop.fp, stop.fn) == (0, 1, 1)          # wrong value: FP and FN
    assert (s.facts["diagnosis"].tp, s.facts["diagnosis"].fp) == (1, 1)
