"""Claim-level corpora written outside the project (`shared/corpus/wild-dev.jsonl` format):
each line a note with its setting, policy and the claim an independent coder would submit.

No facts are needed: the pipeline codes each note and the claim is scored as a whole
(exact match, per-system F1) and for wrong bills (over-billing), the figures a coder
trusts. IV solution lines (J7xxx) are out of the corpus's scope and ignored on both sides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import GoldCode
from eval.score import CodeScore, Tally, score_codes
from notecoder.errors import NotecoderError
from notecoder.pipeline import code_note
from notecoder.schema import CodeLine, Setting

# The corpus's policy names -> our profiles. Complex biologics use the chemotherapy family
# under the default profile (R-ADMIN-12), which is the corpus's `complex-biologic-chemo`.
POLICY_PROFILES = {"official": "official", "complex-biologic-chemo": "official"}


class InvalidCorpus(NotecoderError):
    """A corpus file that is not in the documented claim-level format."""


@dataclass
class CorpusCase:
    id: str
    setting: Setting
    profile: str
    note: str
    codes: list[GoldCode]
    must_not_code: list[str] = field(default_factory=list)


def _is_solution(code: str) -> bool:
    return code.startswith("J7") and code[2:].isdigit() and int(code[1:]) < 7200


def load_corpus(path: Path) -> list[CorpusCase]:
    """Every case of a claim-level JSONL corpus."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidCorpus(f"{path}: not a readable UTF-8 file ({exc.__class__.__name__}).") \
            from None
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            expected = raw["expected"]
            codes = [GoldCode(system="CPT", **c) for c in expected["cpt"]]
            codes += [GoldCode(system="HCPCS", **c) for c in expected["hcpcs"]
                      if not _is_solution(c["code"])]
            codes += [GoldCode(system="CPT", code=c["code"], units=1,
                               modifiers=c.get("modifiers", [])) for c in expected["em"]]
            codes += [GoldCode(system="ICD-10-CM", code=c) for c in expected["icd10"]]
            cases.append(CorpusCase(
                id=raw["id"], setting=Setting(raw["setting"]),
                profile=POLICY_PROFILES[raw.get("policy", "official")], note=raw["note"],
                codes=codes, must_not_code=list(raw.get("must_not_code", []))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCorpus(f"{path}: line {number} is not a corpus case ({exc}).") from None
    return cases


@dataclass
class CaseResult:
    case: CorpusCase
    score: CodeScore
    got: list[CodeLine]
    error: str | None = None


def score_case(case: CorpusCase, extractor: str = "rules") -> CaseResult:
    """Code one case's note and score its claim."""
    try:
        result = code_note(case.note, case.setting, case.profile, extractor)
    except NotecoderError as exc:
        return CaseResult(case, score_codes(case.codes, [], [], []), [], str(exc))
    got = [c for c in result.codes if not (c.system == "HCPCS" and _is_solution(c.code))]
    return CaseResult(case, score_codes(case.codes, got, [], []), got)


def services_match(result: CaseResult) -> bool:
    """True when the drug and administration lines (codes, units, modifiers) match exactly."""
    return result.score.services_exact.correct == 1


def summarise(results: list[CaseResult]) -> dict:
    """Claim exact match, per-system F1 and over-billing over all cases."""
    systems: dict[str, Tally] = {}
    total = Tally()
    exact = sum(r.score.claim_exact.correct for r in results)
    lines = units = unit_lines = notes = 0
    services_exact = sum(services_match(r) for r in results)
    for r in results:
        for name, tally in r.score.systems.items():
            systems.setdefault(name, Tally()).add(tally)
            total.add(tally)
        lines += r.score.over_billed.lines
        units += r.score.over_billed.units
        unit_lines += r.score.over_billed.unit_lines
        notes += r.score.over_billed.notes
    return {
        "cases": len(results),
        "claim_exact_match": round(exact / len(results), 4) if results else 0.0,
        # The drug and administration part of the claim alone (no E/M, no diagnoses).
        "claim_exact_match[CPT+HCPCS]": round(services_exact / len(results), 4)
        if results else 0.0,
        "code_f1": round(total.f1, 4),
        **{f"code_f1[{k}]": round(v.f1, 4) for k, v in sorted(systems.items())},
        "over_billed_lines": lines + unit_lines,
        "over_billed_units": units,
        "over_billed_notes": notes,
        "failed": sum(r.error is not None for r in results),
    }
