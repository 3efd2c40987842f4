"""Few-shot examples chosen for each chunk from the dev split of the gold set.

The pool (`prompts/<version>/examples.json`) holds dev-split notes with their answers
written from the notes' gold facts (labelled by hand; `build_pool` only re-spells them as
the LLM's answer format). For each chunk the examples are chosen by a cheap, deterministic
similarity (TF-IDF cosine over the note's words and word pairs, digits folded), so a note
like a dev note is shown that note, and the chosen set always covers every fact type the
LLM must report (an administration, hydration, concurrency, a diagnosis, an E/M visit, a
weight, waste), within `llm_examples` examples and `llm_examples_tokens` tokens. The test
split is never in the pool.

    python -m extractor.llm.fewshot          # rewrite the pool from datasets/gold/dev
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

from extractor.llm.drafts import (
    AdministrationDraft,
    CultureDraft,
    DiagnosisDraft,
    EMDraft,
    NoteDraft,
    PlaceDraft,
    WeightDraft,
)
from extractor.llm.tokens import estimate_tokens
from notecoder.schema import Extraction, Purpose, Relation, Span

# The fact types every chosen set shows at least once.
FACT_TYPES = ("administration", "hydration", "concurrency", "diagnosis", "em", "weight",
              "waste")
_DOSE_UNITS = ("g", "mg", "mcg", "units", "mEq", "mL")
_SPECIMENS = ("blood", "sputum", "urine", "wound")
_QUOTE_CHARS = 160  # a longer line is quoted by its sentence or clause


@dataclass(frozen=True)
class Example:
    """One dev note and its answer, as shown to the LLM."""

    source: str  # the gold note id
    note: str
    answer: str  # NoteDraft JSON, defaults left out
    covers: frozenset[str]
    tokens: int  # estimated tokens of note and answer


def covered(draft: NoteDraft) -> frozenset[str]:
    """The fact types an answer shows."""
    admins = draft.administrations
    kinds = {
        "administration": bool(admins),
        "hydration": any(a.purpose == Purpose.HYDRATION for a in admins),
        "concurrency": any(a.concurrent_with_previous for a in admins),
        "diagnosis": bool(draft.diagnoses),
        "em": draft.em is not None,
        "weight": draft.weight is not None,
        "waste": any(a.wasted is not None or a.no_waste_documented for a in admins),
    }
    return frozenset(k for k, v in kinds.items() if v)


# --- the pool: gold facts re-spelt as answers -------------------------------------------

def _quote(text: str, spans: list[Span]) -> str:
    """Verbatim note text holding a fact, as the LLM is asked to quote it: the lines from
    the first to the last of its spans when they are close together, else the line of its
    first span; a long line is narrowed to the sentence or clause around its spans."""
    def lines(lo: int, hi: int) -> tuple[int, int]:
        end = text.find("\n", hi)
        return text.rfind("\n", 0, lo) + 1, len(text) if end == -1 else end

    lo, hi = lines(min(s.start for s in spans), max(s.end for s in spans))
    if hi - lo > 2 * _QUOTE_CHARS:
        lo, hi = lines(spans[0].start, spans[0].end)
    on_line = [s for s in spans if lo <= s.start and s.end <= hi]
    begin, end = min(s.start for s in on_line), max(s.end for s in on_line)
    if hi - lo > _QUOTE_CHARS:
        cuts = [m.end() for m in re.finditer(r"[.;]\s", text[lo:begin])]
        lo = lo + cuts[-1] if cuts else lo
        stop = re.search(r"[.;](\s|$)", text[end:hi])
        hi = end + stop.start() + 1 if stop else hi
    return text[lo:hi].strip()


def _at(text: str, facts_spans: dict[str, Span], *names: str) -> str | None:
    span = next((facts_spans[n] for n in names if n in facts_spans), None)
    return text[span.start:span.end] if span else None


def _hhmm(value) -> str | None:
    return None if value is None else f"{value.hour:02d}:{value.minute:02d}"


def draft_from_gold(text: str, facts: Extraction) -> NoteDraft:
    """A note's gold facts as the answer the LLM is asked for (quotes instead of offsets)."""
    admins = []
    for a in facts.administrations:
        spans = a.field_spans
        dose = a.dose or a.dose_per_kg
        dose_ok = dose is not None and dose.unit in _DOSE_UNITS
        admins.append(AdministrationDraft(
            quote=_quote(text, a.spans()), drug=a.drug_text,
            dose=dose.value if dose_ok else None, dose_unit=dose.unit if dose_ok else None,
            dose_is_per_kg=dose_ok and a.dose is None,
            dose_quote=_at(text, spans, "dose", "dose_per_kg") if dose_ok else None,
            route=a.route, method=a.method,
            volume_ml=a.volume.value if a.volume and a.volume.unit == "mL" else None,
            diluent=a.diluent, purpose=a.purpose,
            start_time=_hhmm(a.start), start_quote=_at(text, spans, "start") if a.start else None,
            stop_time=_hhmm(a.stop), stop_quote=_at(text, spans, "stop") if a.stop else None,
            duration_minutes=a.duration_minutes,
            concurrent_with_previous=a.relation == Relation.CONCURRENT,
            vial_size=a.vial_size.value if a.vial_size else None, vial_count=a.vial_count,
            wasted=a.wasted.value if a.wasted else None,
            no_waste_documented=a.no_waste_documented))
    diagnoses = [DiagnosisDraft(
        quote=_quote(text, d.spans()), condition=d.text, assertion=d.assertion,
        organism=_at(text, d.field_spans, "organism"),
        laterality=d.laterality if "laterality" in d.field_spans else None)
        for d in facts.diagnoses]
    cultures = [CultureDraft(quote=_quote(text, c.spans()),
                             organism=text[c.evidence[0].start:c.evidence[0].end],
                             specimen=c.specimen if c.specimen in _SPECIMENS else None)
                for c in facts.cultures]
    em = facts.em and EMDraft(
        quote=_quote(text, facts.em.spans()),
        separately_identifiable=facts.em.separately_identifiable,
        level_quote=_at(text, facts.em.field_spans, "stated_code", "stated_level"),
        patient_status=facts.em.patient_status)
    weight = facts.weight and WeightDraft(quote=_quote(text, facts.weight.spans()),
                                          value=facts.weight.value, unit=facts.weight.unit)
    place = facts.place and PlaceDraft(quote=_quote(text, facts.place.spans()),
                                       place=facts.place.place)
    return NoteDraft(administrations=admins, diagnoses=diagnoses, cultures=cultures, em=em,
                     weight=weight, place=place)


def answer_json(draft: NoteDraft) -> str:
    """An answer as shown in the prompt: compact, defaults and nulls left out."""
    return draft.model_dump_json(exclude_defaults=True)


def keeps_every_fact(text: str, draft: NoteDraft) -> bool:
    """Whether the LLM path's own checks keep every fact of an answer (a note whose gold
    fact the checker cannot take, such as a condition outside the term index, is not shown
    as a model answer; a field the checker reads elsewhere is shown as the gold says)."""
    from extractor.llm.convert import Window, convert
    from extractor.llm.reading import NoteReading

    return not convert(draft, Window(text, 0, len(text)), NoteReading(text)).dropped_facts


def build_pool(gold_dir: Path) -> list[dict]:
    """Every dev-split note whose gold answer keeps every fact through the checks."""
    from eval.gold import load_dataset

    pool = []
    for gold in load_dataset(gold_dir, "dev"):
        assert gold.note.split == "dev"
        text = gold.note.text
        draft = draft_from_gold(text, gold.facts)
        if keeps_every_fact(text, draft):
            pool.append({"source": f"datasets/gold/dev/{gold.note.id}.json", "note": text,
                         "answer": json.loads(answer_json(draft))})
    return pool


@cache
def load_pool(version: str) -> tuple[Example, ...]:
    """The example pool of a prompt version, each answer validated as a NoteDraft."""
    root = resources.files("prompts") / version
    data = json.loads((root / "examples.json").read_text(encoding="utf-8"))
    examples = []
    for item in data["examples"]:
        draft = NoteDraft.model_validate(item["answer"])
        answer = answer_json(draft)
        examples.append(Example(source=item["source"], note=item["note"], answer=answer,
                                covers=covered(draft),
                                tokens=estimate_tokens(item["note"]) + estimate_tokens(answer)))
    return tuple(examples)


# --- similarity and choice -------------------------------------------------------------

_WORD = re.compile(r"[a-z]+|\d+")


def features(text: str) -> Counter[str]:
    """Words (digits folded to 0: "1 g" is like "2 g") and adjacent word pairs."""
    words = [re.sub(r"\d", "0", w) for w in _WORD.findall(text.lower())]
    return Counter(words + [a + " " + b for a, b in pairwise(words)])


class Similarity:
    """TF-IDF cosine similarity of a text to each example note of a pool."""

    def __init__(self, examples: tuple[Example, ...]) -> None:
        counts = [features(e.note) for e in examples]
        df = Counter(f for c in counts for f in c)
        self.idf = {f: math.log((len(examples) + 1) / (n + 1)) + 1 for f, n in df.items()}
        self.vectors = [self._vector(c) for c in counts]

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vector = {f: (1 + math.log(n)) * self.idf.get(f, 0.0) for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {f: v / norm for f, v in vector.items() if v}

    def scores(self, text: str) -> list[float]:
        query = self._vector(features(text))
        return [sum(w * v.get(f, 0.0) for f, w in query.items()) for v in self.vectors]


@cache
def _similarity(version: str) -> Similarity:
    return Similarity(load_pool(version))


def _cover(pool: tuple[Example, ...], ranked: list[int], chosen: list[int], count: int,
           tokens: int) -> list[int]:
    """Examples added to `chosen` while a fact type is not shown: each time the one that
    shows most of the missing types, the smallest first (so the same few cover most
    notes), within `count` examples and `tokens` estimated tokens in all."""
    added: list[int] = []
    while len(chosen) + len(added) < count:
        missing = set(FACT_TYPES).difference(*(pool[i].covers for i in chosen + added))
        used = sum(pool[i].tokens for i in chosen + added)
        fits = [i for i in ranked if i not in chosen + added and pool[i].covers & missing
                and used + pool[i].tokens <= tokens]
        if not fits:
            break
        added.append(min(fits, key=lambda i: (-len(pool[i].covers & missing),
                                               pool[i].tokens, pool[i].source)))
    return added


def choose(text: str, version: str, count: int, tokens: int) -> tuple[Example, ...]:
    """The examples for one chunk, in prompt order.

    The most similar dev note (within a third of the budget) is chosen first, then the
    examples that show the fact types it does not (`_cover`; when they do not fit beside
    it, the covering set is chosen without it), then the most similar others, up to
    `count` examples and `tokens` estimated tokens. The covering examples come first in
    the prompt (the same prefix for most notes: a server's prompt cache reuses it), then
    the others from least to most similar (the most similar nearest the note).
    Deterministic: ties go to the source name."""
    pool = load_pool(version)
    score = _similarity(version).scores(text)
    ranked = sorted(range(len(pool)), key=lambda i: (-score[i], pool[i].source))
    similar = [next(i for i in ranked if pool[i].tokens <= tokens // 3)][:1]
    covering = _cover(pool, ranked, similar, count, tokens)
    if set(FACT_TYPES) - shown_types(tuple(pool[i] for i in similar + covering)):
        similar, covering = [], _cover(pool, ranked, [], count, tokens)
    for i in ranked:
        used = sum(pool[j].tokens for j in similar + covering)
        if len(similar) + len(covering) >= count:
            break
        if i not in similar + covering and used + pool[i].tokens <= tokens:
            similar.append(i)
    order = sorted(covering, key=lambda i: pool[i].source) + sorted(
        similar, key=lambda i: (score[i], pool[i].source))
    return tuple(pool[i] for i in order)


def shown_types(examples: tuple[Example, ...]) -> frozenset[str]:
    """The fact types a set of examples shows."""
    return frozenset().union(*(e.covers for e in examples))


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    from extractor.llm.prompt import PROMPT_VERSION

    pool = build_pool(root / "datasets" / "gold")
    out = root / "prompts" / PROMPT_VERSION / "examples.json"
    out.write_text(json.dumps({"examples": pool}, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(f"{len(pool)} dev-split examples written to {out}")


if __name__ == "__main__":
    main()
