"""The two corpora written apart from the code (`datasets/corpus/`): well formed, every code
real, and no drug or administration line billed beyond their answers (over-billing 0), nor
from their must-not-code passages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import simple_icd_10_cm as icd

from eval.corpus import load_corpus, score_case

CORPUS = Path(__file__).resolve().parent.parent / "datasets" / "corpus"
FILES = ["fresh-dev.jsonl", "fresh-test.jsonl"]


@pytest.mark.parametrize("name", FILES)
def test_corpus_is_well_formed(name):
    raw = [json.loads(line) for line in (CORPUS / name).read_text(encoding="utf-8").splitlines()
           if line.strip()]
    ids = [case["id"] for case in raw]
    assert len(ids) == len(set(ids)) >= 20
    for case in raw:
        missing = [p for p in case["must_not_code"] if p not in case["note"]]
        assert not missing, f"{case['id']}: {missing}"
        for code in case["expected"]["icd10"]:
            assert icd.is_valid_item(code) and icd.is_leaf(code), f"{case['id']}: {code}"


@pytest.mark.parametrize("name", FILES)
def test_no_line_is_over_billed_or_billed_from_must_not_code_text(name):
    for case in load_corpus(CORPUS / name):
        result = score_case(case)
        assert result.error is None, case.id
        assert not result.score.over_billed.lines and not result.score.over_billed.units, case.id
        spans = [(case.note.index(p), case.note.index(p) + len(p)) for p in case.must_not_code]
        for line in result.got:
            if line.system not in ("CPT", "HCPCS") or line.code.startswith("992"):
                continue
            for ev in line.evidence:
                inside = [p for p in spans if p[0] <= ev.start and ev.end <= p[1]]
                assert not (inside and all(
                    any(a <= e.start and e.end <= b for a, b in spans) for e in line.evidence)
                ), f"{case.id}: {line.code} rests only on must-not-code text"
