"""Run an evaluation: extract and code every gold note, score, attribute errors, write files.

The engine also runs on the gold facts, so extraction errors and engine errors are
measured apart: a gold code the pipeline missed but the engine finds from gold
facts is an extraction error; one the engine misses even from gold facts is an
engine error.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.gold import ResolvedGold
from eval.score import (
    CodeScore,
    ExtractionScore,
    Ratio,
    Tally,
    claim_key,
    score_codes,
    score_extraction,
)
from notecoder.errors import NotecoderError
from notecoder.pipeline import code_extraction, extract_note
from notecoder.schema import CodeLine, CodingResult, Setting


@dataclass
class LLMTotals:
    """The LLM reader's cost and drops summed over the notes it read (facts.llm)."""

    notes: int = 0
    calls: int = 0
    chunks: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    dropped_facts: Counter = field(default_factory=Counter)
    dropped_fields: Counter = field(default_factory=Counter)
    # Claim lines by agreement ("both", "rules", "llm"): [correct, predicted].
    agreement: dict[str, list[int]] = field(default_factory=dict)

    def add_lines(self, lines: list[CodeLine], gold: set[tuple[str, str]]) -> None:
        """Count each predicted line under its agreement, and whether the gold has it."""
        for line in lines:
            if line.agreement is not None:
                tally = self.agreement.setdefault(line.agreement.value, [0, 0])
                tally[0] += (line.system, line.code) in gold
                tally[1] += 1

    def add(self, run) -> None:
        self.notes += 1
        self.calls += run.calls
        self.chunks += run.chunks
        self.cache_hits += run.cache_hits
        self.prompt_tokens += run.prompt_tokens
        self.completion_tokens += run.completion_tokens
        self.seconds += run.seconds
        self.dropped_facts.update(run.dropped_facts)
        self.dropped_fields.update(run.dropped_fields)

    def as_dict(self) -> dict:
        per = max(self.notes, 1)
        return {"notes": self.notes, "calls": self.calls, "cache_hits": self.cache_hits,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "calls_per_note": round(self.calls / per, 3),
                "chunks_per_note": round(self.chunks / per, 3),
                "prompt_tokens_per_note": round(self.prompt_tokens / per, 1),
                "completion_tokens_per_note": round(self.completion_tokens / per, 1),
                "prompt_tokens_per_call": round(self.prompt_tokens / max(self.calls, 1), 1),
                "seconds_per_note": round(self.seconds / per, 3),
                "dropped_facts": dict(self.dropped_facts.most_common()),
                "dropped_fields": dict(self.dropped_fields.most_common()),
                # Precision of claim lines both readers agree on, against the rest.
                "agreement_precision": {
                    k: {"lines": n, "precision": round(ok / n, 4) if n else None}
                    for k, (ok, n) in sorted(self.agreement.items())}}


@dataclass
class EvalTotals:
    """Sums over notes."""

    extraction: ExtractionScore = field(default_factory=ExtractionScore)
    pipeline: CodeScore = field(default_factory=CodeScore)
    engine_on_gold: CodeScore = field(default_factory=CodeScore)
    failed_notes: int = 0
    attribution: dict[str, int] = field(default_factory=lambda: {"extraction": 0, "engine": 0})
    llm: LLMTotals = field(default_factory=LLMTotals)



def _add_tallies(target: dict[str, Tally], source: dict[str, Tally]) -> None:
    for key, tally in source.items():
        target.setdefault(key, Tally()).add(tally)


def _add_ratio(target: Ratio, source: Ratio) -> None:
    target.correct += source.correct
    target.total += source.total


def _add_codes(target: CodeScore, source: CodeScore) -> None:
    _add_tallies(target.systems, source.systems)
    _add_tallies(target.codes, source.codes)
    for name in ("units", "modifiers", "first_listed", "claim_exact", "services_exact"):
        _add_ratio(getattr(target, name), getattr(source, name))
    target.queries.add(source.queries)
    target.over_billed.add(source.over_billed)


def _add_extraction(target: ExtractionScore, source: ExtractionScore) -> None:
    for name in ("facts", "fields", "spans_exact", "spans_overlap"):
        _add_tallies(getattr(target, name), getattr(source, name))


def _key(line) -> tuple[str, str]:
    return (line.system, line.code)


def _attribute(gold: ResolvedGold, pred: list[CodeLine], on_gold: list[CodeLine]) -> list[dict]:
    """Each code difference, and whether extraction or the engine caused it."""
    gold_keys = [(c.system, c.code) for c in gold.note.codes]
    pred_keys = [_key(c) for c in pred]
    engine_keys = [_key(c) for c in on_gold]
    errors = []
    for key in gold_keys:
        if key not in pred_keys:
            cause = "extraction" if key in engine_keys else "engine"
            errors.append({"kind": "missing", "code": " ".join(key), "cause": cause})
    for line in pred:
        if _key(line) not in gold_keys:
            cause = "engine" if _key(line) in engine_keys else "extraction"
            errors.append({"kind": "extra", "code": f"{line.system} {line.code}",
                           "cause": cause, "rule": line.rule,
                           "evidence": [s.model_dump() for s in line.evidence]})
    errors += _line_differences(gold, pred, on_gold)
    return errors


def _lines(codes) -> list[tuple]:
    return sorted(claim_key(c.system, c.code, c.units, c.modifiers) for c in codes)


def _line_differences(gold: ResolvedGold, pred: list[CodeLine],
                      on_gold: list[CodeLine]) -> list[dict]:
    """Codes present on both sides whose units or modifiers differ."""
    expected = _lines(gold.note.codes)
    got = _lines(pred)
    engine = _lines(on_gold)
    both = {(s, c) for s, c, _, _ in expected} & {(s, c) for s, c, _, _ in got}
    errors = []
    for system, code in sorted(both):
        want = [x[2:] for x in expected if x[:2] == (system, code)]
        have = [x[2:] for x in got if x[:2] == (system, code)]
        if want != have:
            from_gold = [x[2:] for x in engine if x[:2] == (system, code)]
            errors.append({"kind": "units/modifiers", "code": f"{system} {code}",
                           "expected": want, "got": have,
                           "cause": "extraction" if from_gold == want else "engine"})
    return errors


def _codes(result: CodingResult | None) -> list[CodeLine]:
    return result.codes if result is not None else []


def evaluate_note(gold: ResolvedGold, extractor: str, setting: Setting | None,
                  totals: EvalTotals) -> dict:
    """Score one note into `totals`; return its diff record."""
    note = gold.note
    chosen = setting or note.setting
    pred: CodingResult | None = None
    error = None
    try:
        facts, warnings = extract_note(note.text, extractor)
        if facts.llm is not None:
            totals.llm.add(facts.llm)
        pred = code_extraction(facts, chosen, note.profile, warnings)
        totals.llm.add_lines(pred.codes, {(c.system, c.code) for c in note.codes})
    except NotecoderError as exc:
        error = str(exc)
        totals.failed_notes += 1
    on_gold = code_extraction(gold.facts, chosen, note.profile)
    if pred is not None:
        _add_extraction(totals.extraction, score_extraction(gold.facts, pred.facts))
    pred_queries = [q.rule for q in pred.queries] if pred else []
    _add_codes(totals.pipeline, score_codes(note.codes, _codes(pred), note.queries,
                                            pred_queries))
    _add_codes(totals.engine_on_gold, score_codes(note.codes, on_gold.codes, note.queries,
                                                  [q.rule for q in on_gold.queries]))
    differences = _attribute(gold, _codes(pred), on_gold.codes)
    for diff in differences:
        totals.attribution[diff["cause"]] += 1
    return {
        "id": note.id,
        "expected": [c.model_dump() for c in note.codes],
        "got": [{"system": c.system, "code": c.code, "units": c.units,
                 "modifiers": c.modifiers, "rule": c.rule} for c in _codes(pred)],
        "differences": differences,
        "queries_expected": note.queries,
        "queries_got": pred_queries,
        "error": error,
    }


def headline(totals: EvalTotals, notes: int) -> dict[str, float]:
    """The figures the nightly gate watches."""
    all_codes = Tally()
    for tally in totals.pipeline.systems.values():
        all_codes.add(tally)
    engine_codes = Tally()
    for tally in totals.engine_on_gold.systems.values():
        engine_codes.add(tally)
    figures = {
        "notes": notes,
        "code_f1": all_codes.f1,
        "units_accuracy": totals.pipeline.units.value,
        "modifier_accuracy": totals.pipeline.modifiers.value,
        "first_listed_accuracy": totals.pipeline.first_listed.value,
        "claim_exact_match": totals.pipeline.claim_exact.value,
        # The drug and administration part of the claim alone (no E/M, no diagnoses).
        "claim_exact_match[CPT+HCPCS]": totals.pipeline.services_exact.value,
        "query_f1": totals.pipeline.queries.f1,
        # Wrong bills: drug/administration lines or units beyond the gold claim (target 0).
        "over_billed_lines": totals.pipeline.over_billed.lines
        + totals.pipeline.over_billed.unit_lines,
        "over_billed_units": totals.pipeline.over_billed.units,
        "over_billed_notes": totals.pipeline.over_billed.notes,
        "engine_on_gold_code_f1": engine_codes.f1,
        "engine_on_gold_claim_exact_match": totals.engine_on_gold.claim_exact.value,
    }
    for system, tally in sorted(totals.pipeline.systems.items()):
        figures[f"code_f1[{system}]"] = tally.f1
    for fact, tally in sorted(totals.extraction.facts.items()):
        figures[f"extraction_f1[{fact}]"] = tally.f1
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}


def metrics_document(totals: EvalTotals, notes: int, meta: dict) -> dict:
    """Everything measured, for metrics.json."""
    def tallies(table: dict[str, Tally]) -> dict:
        return {k: v.as_dict() for k, v in sorted(table.items())}

    def codes(score: CodeScore) -> dict:
        return {"systems": tallies(score.systems), "codes": tallies(score.codes),
                "units": score.units.as_dict(), "modifiers": score.modifiers.as_dict(),
                "first_listed": score.first_listed.as_dict(),
                "claim_exact": score.claim_exact.as_dict(), "queries": score.queries.as_dict(),
                "over_billed": score.over_billed.as_dict()}

    return {
        "meta": meta,
        "headline": headline(totals, notes),
        "extraction": {"facts": tallies(totals.extraction.facts),
                       "fields": tallies(totals.extraction.fields),
                       "spans_exact": tallies(totals.extraction.spans_exact),
                       "spans_overlap": tallies(totals.extraction.spans_overlap)},
        "codes": codes(totals.pipeline),
        "engine_on_gold": codes(totals.engine_on_gold),
        "attribution": totals.attribution,
        "failed_notes": totals.failed_notes,
        "llm": totals.llm.as_dict() if totals.llm.notes else None,
    }


def write_outputs(out_dir: Path, document: dict, diffs: list[dict]) -> None:
    """metrics.json and diffs.jsonl (one line per note)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(document, indent=2) + "\n")
    with (out_dir / "diffs.jsonl").open("w") as handle:
        for diff in diffs:
            handle.write(json.dumps(diff) + "\n")
