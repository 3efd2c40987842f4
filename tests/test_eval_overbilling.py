"""Over-billing: wrong bills are counted apart from misses, and any rise fails the gate."""

from __future__ import annotations

import json

from eval.corpus import load_corpus, services_match, summarise
from eval.gate import regressions
from eval.gold import GoldCode
from eval.score import over_billing, score_codes
from notecoder.schema import CodeLine, Span

_EV = [Span(start=0, end=1)]


def _line(system: str, code: str, units: int | None, modifiers=()) -> CodeLine:
    return CodeLine(system=system, code=code, units=units, modifiers=list(modifiers),
                    rule="R-TEST", rationale="test", evidence=_EV)


def test_a_drug_line_the_gold_lacks_is_over_billing():
    gold = [GoldCode(system="CPT", code="96372", units=1)]
    pred = [_line("CPT", "96372", 1), _line("HCPCS", "J2405", 1000)]
    out = over_billing(gold, pred)
    assert (out.lines, out.units, out.notes) == (1, 0, 1)


def test_more_units_than_gold_is_over_billing_and_fewer_is_not():
    gold = [GoldCode(system="HCPCS", code="J0696", units=4)]
    assert over_billing(gold, [_line("HCPCS", "J0696", 8)]).units == 4
    assert over_billing(gold, [_line("HCPCS", "J0696", 2)]).notes == 0


def test_lines_left_without_units_and_diagnoses_and_em_are_not_bills():
    pred = [_line("HCPCS", "J3490", None), _line("ICD-10-CM", "J18.9", None),
            _line("CPT", "99213", 1, ["25"])]
    assert over_billing([], pred).notes == 0


def test_claim_with_and_without_units_for_one_code_sorts():
    gold = [GoldCode(system="HCPCS", code="J1745", units=None),
            GoldCode(system="HCPCS", code="J1745", units=2, modifiers=["JW"])]
    score = score_codes(gold, [_line("HCPCS", "J1745", 38)], [], [])
    assert score.claim_exact.correct == 0


def test_gate_fails_on_any_rise_in_wrong_bills():
    assert regressions({"over_billed_lines": 1}, {"over_billed_lines": 0}, 0.5)
    assert not regressions({"over_billed_lines": 0}, {"over_billed_lines": 2}, 0.0)


def test_corpus_cases_load_and_solution_lines_are_ignored(tmp_path):
    case = {"id": "x-1", "setting": "facility", "policy": "complex-biologic-chemo",
            "note": "Ceftriaxone 1 g IM given.",
            "expected": {"cpt": [{"code": "96372", "units": 1, "modifiers": []}],
                         "hcpcs": [{"code": "J0696", "units": 4, "modifiers": []},
                                   {"code": "J7050", "units": 1, "modifiers": []}],
                         "icd10": ["N39.0"], "em": [{"code": "99283", "modifiers": ["25"]}]},
            "must_not_code": []}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    [loaded] = load_corpus(path)
    assert loaded.profile == "official"
    assert [c.code for c in loaded.codes] == ["96372", "J0696", "99283", "N39.0"]


def test_services_match_ignores_diagnoses_and_em(tmp_path):
    from eval.corpus import CaseResult, CorpusCase

    case = CorpusCase(id="x", setting="facility", profile="official", note="n",
                      codes=[GoldCode(system="CPT", code="96372", units=1),
                             GoldCode(system="ICD-10-CM", code="N39.0")])
    got = [_line("CPT", "96372", 1), _line("ICD-10-CM", "R30.0", None)]
    result = CaseResult(case, score_codes(case.codes, got, [], []), got)
    assert services_match(result)
    assert summarise([result])["claim_exact_match"] == 0.0
