"""What protects a bill holds for the LLM reader too: an LLM that claims every passage of
the never-billed corpus (home medications, allergies, history, plans, held or refused
doses, PO doses, other days...) as a drug given IV today still bills none of them, on
`--extractor llm` and on `--extractor both`. The LLM here is scripted (tests/llm_stub.py):
the worst answer a model could give, not a recording."""

from __future__ import annotations

import re
import typing

import pytest

from extractor.lexicon import drug_names
from extractor.llm.drafts import AdministrationDraft, DoseUnit, NoteDraft
from extractor.quantities import find_amounts
from notecoder.pipeline import code_note, reset_llm
from notecoder.schema import Setting
from tests.llm_stub import use_scripted_llm
from tests.test_never_billed import CASES, forbidden_ranges

UNITS = set(typing.get_args(DoseUnit))


def claim_everything(case: dict) -> NoteDraft:
    """One 'given IV push' administration per drug named in each must-not-bill passage,
    with the passage as its quote and its first amount as the dose."""
    drafts = []
    for passage in case["must_not_bill"]:
        for surface in sorted(drug_names(), key=len, reverse=True):
            found = re.search(rf"(?<![\w-]){re.escape(surface)}(?![\w-])", passage, re.I)
            if found is None:
                continue
            amounts = [a for a in find_amounts(passage) if a.unit in UNITS and not a.per_kg]
            drafts.append(AdministrationDraft(
                quote=passage, drug=found.group(0), route="IV", method="push",
                dose=amounts[0].value if amounts else None,
                dose_unit=amounts[0].unit if amounts else None))
            break
    return NoteDraft(administrations=drafts)


CLAIMED = [c for c in CASES if claim_everything(c).administrations]


def test_the_scripted_llm_claims_drugs_in_most_cases():
    assert len(CLAIMED) >= 30  # the test below means something


@pytest.fixture(autouse=True)
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


@pytest.mark.parametrize("extractor", ["llm", "both"])
@pytest.mark.parametrize("case", CLAIMED, ids=[c["id"] for c in CLAIMED])
def test_an_llm_claiming_never_billed_text_bills_none_of_it(case, extractor, tmp_path):
    text = case["text"]
    use_scripted_llm(lambda _chunk, _repair=None: claim_everything(case), tmp_path)
    result = code_note(text, Setting(case["setting"]), "official", extractor)
    forbidden = forbidden_ranges(case)
    problems = [f"{line.system} {line.code}: evidence {text[s.start:s.end]!r}"
                for line in result.codes if line.system in {"CPT", "HCPCS"}
                for s in line.evidence
                if any(s.start < end and start < s.end for start, end, _ in forbidden)]
    assert not problems, f"{case['id']} ({case['why']}):\n" + "\n".join(problems)
