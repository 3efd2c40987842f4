"""Text that looks like a drug given but is not (home medications, allergies, history,
copied-forward visits, dose calculations, orders, held or refused doses, prescriptions,
oral doses, line flushes) is never the evidence of a billed CPT or HCPCS line.

Each case in `never_billed/` is a small invented note with the literal passages that
must not be billed (`must_not_bill`), and, when something was given, the codes that may
be billed for it (`may_bill`, for the reader; not asserted here).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notecoder.pipeline import code_note
from notecoder.schema import Setting

CASES_DIR = Path(__file__).resolve().parent / "never_billed"
CASES = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(CASES_DIR.glob("*.json"))]


def occurrences(text: str, passage: str) -> list[tuple[int, int]]:
    """Every [start, end) at which `passage` occurs in `text`."""
    found, at = [], text.find(passage)
    while at >= 0:
        found.append((at, at + len(passage)))
        at = text.find(passage, at + 1)
    return found


def forbidden_ranges(case: dict) -> list[tuple[int, int, str]]:
    return [(start, end, passage) for passage in case["must_not_bill"]
            for start, end in occurrences(case["text"], passage)]


def test_corpus_is_well_formed():
    assert len(CASES) >= 36
    ids = [case["id"] for case in CASES]
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert case["setting"] in {"facility", "professional"}, case["id"]
        assert case["must_not_bill"], case["id"]
        assert case["why"].strip(), case["id"]
        for code in case.get("may_bill", []):
            assert code["system"] in {"CPT", "HCPCS"}, case["id"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_every_must_not_bill_passage_is_in_the_note(case):
    missing = [p for p in case["must_not_bill"] if p not in case["text"]]
    assert not missing, f"{case['id']}: not in the note: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_text_that_is_not_a_dose_given_today_is_never_billed(case):
    text = case["text"]
    result = code_note(text, Setting(case["setting"]), "official")
    forbidden = forbidden_ranges(case)
    problems = []
    for line in result.codes:
        if line.system not in {"CPT", "HCPCS"}:
            continue
        for span in line.evidence:
            for start, end, passage in forbidden:
                if span.start < end and start < span.end:
                    problems.append(f"{line.system} {line.code}: evidence "
                                    f"{text[span.start:span.end]!r} lies in {passage!r}")
    # A drug line must rest only on text outside the passages: a HCPCS code whose every
    # evidence span sits in must-not-bill text is a drug that was never given today.
    for line in result.codes:
        if line.system == "HCPCS" and all(
                any(s.start < end and start < s.end for start, end, _ in forbidden)
                for s in line.evidence):
            problems.append(f"HCPCS {line.code} rests only on must-not-bill text")
    assert not problems, f"{case['id']} ({case['why']}):\n" + "\n".join(problems)
