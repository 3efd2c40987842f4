"""Scoring: extraction per fact type and field, codes per system and code, queries.

Pure functions over gold and predicted objects; counts are kept so metrics can be
summed over notes and recomputed exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from notecoder.schema import CodeLine, DrugAdministration, Extraction, Quantity, Span

_MASS = {"g": 1000.0, "mg": 1.0, "mcg": 0.001}


@dataclass
class Tally:
    """True positives, false positives and false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Tally) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Ratio:
    """Correct out of total (units accuracy, exact match...)."""

    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.correct += int(ok)
        self.total += 1

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {"correct": self.correct, "total": self.total, "accuracy": round(self.value, 4)}


def normalise(value: Any) -> Any:
    """Comparable form of a fact value: masses in mg, volumes in mL, times as HH:MM."""
    if isinstance(value, Quantity):
        if value.unit in _MASS:
            return ("mass", round(value.value * _MASS[value.unit], 6))
        return (value.unit, round(value.value, 6))
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M") if hasattr(value, "hour") else value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value  # enums
    return value


ADMIN_FIELDS = ["generic", "product", "dose", "dose_per_kg", "route", "method", "purpose",
                "start", "stop", "duration_minutes", "relation", "volume", "rate",
                "vial_size", "wasted", "no_waste_documented"]


def overlaps(a: Span | None, b: Span | None) -> bool:
    return a is not None and b is not None and a.start < b.end and b.start < a.end


def _pair_administrations(gold: list[DrugAdministration], pred: list[DrugAdministration]):
    """Greedy pairing by generic, then by nearest drug span."""
    pairs, unused = [], list(pred)
    for g in gold:
        same = [p for p in unused if p.generic == g.generic]
        if not same:
            pairs.append((g, None))
            continue
        g_at = g.field_spans.get("drug", g.evidence[0]).start
        best = min(same, key=lambda p: abs(p.field_spans.get("drug", p.evidence[0]).start - g_at))
        unused.remove(best)
        pairs.append((g, best))
    return pairs, unused


@dataclass
class ExtractionScore:
    """Per fact type and per field tallies, exact-span and overlap-lenient."""

    facts: dict[str, Tally] = field(default_factory=dict)
    fields: dict[str, Tally] = field(default_factory=dict)
    spans_exact: dict[str, Tally] = field(default_factory=dict)
    spans_overlap: dict[str, Tally] = field(default_factory=dict)

    def tally(self, table: dict[str, Tally], key: str) -> Tally:
        return table.setdefault(key, Tally())


def score_extraction(gold: Extraction, pred: Extraction) -> ExtractionScore:
    """Compare predicted facts with gold facts of one note."""
    score = ExtractionScore()
    pairs, extra = _pair_administrations(gold.administrations, pred.administrations)
    admin_tally = score.tally(score.facts, "administration")
    admin_tally.fp += len(extra)
    for g, p in pairs:
        if p is None:
            admin_tally.fn += 1
        else:
            admin_tally.tp += 1
        for name in ADMIN_FIELDS:
            gv = normalise(getattr(g, name))
            pv = normalise(getattr(p, name)) if p is not None else None
            if name == "no_waste_documented":
                gv, pv = gv or None, pv or None
            key = f"administration.{name}"
            _compare(score.tally(score.fields, key), gv, pv)
            if name in g.field_spans:
                gs = g.field_spans[name]
                ps = p.field_spans.get(name) if p is not None else None
                _compare(score.tally(score.spans_exact, key), gs, ps)
                lenient = score.tally(score.spans_overlap, key)
                if overlaps(gs, ps):
                    lenient.tp += 1
                else:
                    lenient.fn += 1
                    lenient.fp += ps is not None
    for p in extra:
        for name in ADMIN_FIELDS:
            if getattr(p, name) not in (None, False):
                score.tally(score.fields, f"administration.{name}").fp += 1
    gold_dx = Counter((d.concept, d.assertion.value) for d in gold.diagnoses)
    pred_dx = Counter((d.concept, d.assertion.value) for d in pred.diagnoses)
    _compare_counters(score.tally(score.facts, "diagnosis"), gold_dx, pred_dx)
    gold_org = Counter(d.organism for d in gold.diagnoses if d.organism)
    pred_org = Counter(d.organism for d in pred.diagnoses if d.organism)
    _compare_counters(score.tally(score.fields, "diagnosis.organism"), gold_org, pred_org)
    gw = round(gold.weight.kg, 1) if gold.weight else None
    pw = round(pred.weight.kg, 1) if pred.weight else None
    _compare(score.tally(score.facts, "weight"), gw, pw)
    g_em = (gold.em.stated_level, gold.em.separately_identifiable) if gold.em else None
    p_em = (pred.em.stated_level, pred.em.separately_identifiable) if pred.em else None
    _compare(score.tally(score.facts, "em"), g_em, p_em)
    return score


def _compare(tally: Tally, gold: Any, pred: Any) -> None:
    """One field: right value = TP; wrong value = FP and FN; missing = FN; extra = FP."""
    if gold is None and pred is None:
        return
    if gold == pred:
        tally.tp += 1
        return
    tally.fn += gold is not None
    tally.fp += pred is not None


def _compare_counters(tally: Tally, gold: Counter, pred: Counter) -> None:
    common = sum((gold & pred).values())
    tally.tp += common
    tally.fn += sum(gold.values()) - common
    tally.fp += sum(pred.values()) - common


@dataclass
class CodeScore:
    """Code tallies per system and per code, with units/modifier/first-listed accuracy."""

    systems: dict[str, Tally] = field(default_factory=dict)
    codes: dict[str, Tally] = field(default_factory=dict)
    units: Ratio = field(default_factory=Ratio)
    modifiers: Ratio = field(default_factory=Ratio)
    first_listed: Ratio = field(default_factory=Ratio)
    claim_exact: Ratio = field(default_factory=Ratio)
    services_exact: Ratio = field(default_factory=Ratio)  # CPT + HCPCS lines only
    queries: Tally = field(default_factory=Tally)
    over_billed: OverBilling = field(default_factory=lambda: OverBilling())


@dataclass
class OverBilling:
    """Drug and administration lines (CPT, HCPCS) billed that the gold does not have, or
    billed with more units than the gold: the wrong bills, counted apart from misses."""

    lines: int = 0  # billed lines with no gold line of that code and modifiers
    units: int = 0  # units beyond gold on matched lines
    unit_lines: int = 0  # matched lines billed with more units than gold
    notes: int = 0  # notes with any over-billing
    total_notes: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, other: OverBilling) -> None:
        self.lines += other.lines
        self.units += other.units
        self.unit_lines += other.unit_lines
        self.notes += other.notes
        self.total_notes += other.total_notes

    def as_dict(self) -> dict[str, int]:
        return {"lines": self.lines + self.unit_lines, "extra_lines": self.lines,
                "lines_with_extra_units": self.unit_lines, "units_over": self.units,
                "notes": self.notes,
                "total_notes": self.total_notes}


def is_billed_service(system: str, code: str) -> bool:
    """Drug and drug-administration lines: HCPCS, and CPT outside the E/M range."""
    return system == "HCPCS" or (system == "CPT" and not code.startswith("99"))


def over_billing(gold_codes: list, pred_codes: list[CodeLine]) -> OverBilling:
    """Billed drug/administration lines and units beyond the gold claim (lines with no
    units, left for the coder, are never counted as billed)."""
    out = OverBilling(total_notes=1)
    gold = [g for g in gold_codes if is_billed_service(g.system, g.code)]
    for pred in pred_codes:
        if not is_billed_service(pred.system, pred.code) or pred.units is None:
            continue
        # A line billed without (or with another) JZ is a modifier error, not a bill the gold
        # lacks; a JW line (discarded drug billed) must match a gold JW line.
        waste = "JW" in pred.modifiers
        same = [g for g in gold if (g.system, g.code) == (pred.system, pred.code)
                and ("JW" in g.modifiers) == waste]
        match = next((g for g in same if sorted(g.modifiers) == sorted(pred.modifiers)),
                     same[0] if same else None)
        if match is None:
            out.lines += 1
            out.examples.append(f"{pred.code}x{pred.units}")
            continue
        gold.remove(match)
        if match.units is not None and pred.units > match.units:
            out.units += pred.units - match.units
            out.unit_lines += 1
            out.examples.append(f"{pred.code}x{pred.units} (gold {match.units})")
    out.notes = int(bool(out.lines or out.units))
    return out


def claim_key(system: str, code: str, units: int | None, modifiers: list[str]) -> tuple:
    # -1 stands for "no units" so claims with and without units sort together.
    billed = units if system != "ICD-10-CM" and units is not None else -1
    return (system, code, billed, tuple(sorted(modifiers)))


def score_codes(gold_codes: list, pred_codes: list[CodeLine], gold_queries: list[str],
                pred_queries: list[str]) -> CodeScore:
    """Compare one note's predicted codes and queries with gold (gold codes have
    system, code, units, modifiers)."""
    score = CodeScore()
    gold_c = Counter((c.system, c.code) for c in gold_codes)
    pred_c = Counter((c.system, c.code) for c in pred_codes)
    for system in {s for s, _ in gold_c} | {s for s, _ in pred_c}:
        _compare_counters(score.systems.setdefault(system, Tally()),
                          Counter({k: v for k, v in gold_c.items() if k[0] == system}),
                          Counter({k: v for k, v in pred_c.items() if k[0] == system}))
    for key in set(gold_c) | set(pred_c):
        _compare_counters(score.codes.setdefault(f"{key[0]} {key[1]}", Tally()),
                          Counter({key: gold_c[key]}), Counter({key: pred_c[key]}))
    remaining = list(pred_codes)
    for g in gold_codes:
        match = next((p for p in remaining if (p.system, p.code) == (g.system, g.code)
                      and sorted(p.modifiers) == sorted(g.modifiers)), None)
        match = match or next((p for p in remaining
                               if (p.system, p.code) == (g.system, g.code)), None)
        if match is None:
            continue
        remaining.remove(match)
        if g.system != "ICD-10-CM":
            score.units.add(match.units == g.units)
        score.modifiers.add(sorted(match.modifiers) == sorted(g.modifiers))
    gold_icd = [c.code for c in gold_codes if c.system == "ICD-10-CM"]
    pred_icd = [c.code for c in pred_codes if c.system == "ICD-10-CM"]
    if gold_icd:
        score.first_listed.add(bool(pred_icd) and pred_icd[0] == gold_icd[0])
    gold_claim = sorted(claim_key(c.system, c.code, c.units, c.modifiers) for c in gold_codes)
    pred_claim = sorted(claim_key(c.system, c.code, c.units, c.modifiers) for c in pred_codes)
    score.claim_exact.add(gold_claim == pred_claim)
    score.services_exact.add(
        [k for k in gold_claim if is_billed_service(k[0], k[1])]
        == [k for k in pred_claim if is_billed_service(k[0], k[1])])
    _compare_counters(score.queries, Counter(gold_queries), Counter(pred_queries))
    score.over_billed = over_billing(gold_codes, pred_codes)
    return score
