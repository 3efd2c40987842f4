"""Two readers of one note: which facts both found, and where they disagree.

`--extractor both` codes the union: every offline fact (its values win where the two
readers differ) plus each fact only the LLM found, every fact marked `found_by` (rules,
llm, both). Each disagreement is a warning for the reviewer naming the field and both
evidence spans. On `--extractor llm` the LLM facts are marked the same way.
"""

from __future__ import annotations

from notecoder.schema import (
    CultureResult,
    Diagnosis,
    DrugAdministration,
    Extraction,
    Fact,
    FoundBy,
    Span,
)

_ADMIN_FIELDS = ("dose", "dose_per_kg", "route", "method", "start", "stop", "volume",
                 "duration_minutes", "vial_size", "wasted")


def _at(fact: Fact, name: str | None = None) -> str:
    span: Span = fact.field_spans.get(name, fact.evidence[0]) if name else fact.evidence[0]
    return f"{span.start}-{span.end}"


def _shown(value) -> str:
    if value is None:
        return "none"
    if hasattr(value, "value") and hasattr(value, "unit"):
        return f"{value.value:g} {value.unit}"
    return str(getattr(value, "value", value))


def _same_admin(a: DrugAdministration, b: DrugAdministration) -> bool:
    overlap = any(x.start < y.end and y.start < x.end for x in a.spans() for y in b.spans())
    return overlap and a.name.lower() == b.name.lower()


def _same_dx(a: Diagnosis, b: Diagnosis) -> bool:
    overlap = any(x.start < y.end and y.start < x.end for x in a.evidence for y in b.evidence)
    return overlap or a.concept == b.concept


def _twin(fact: Fact, others: list) -> Fact | None:
    """The fact of the other reader that is the same as `fact`, if any."""
    if isinstance(fact, DrugAdministration):
        return next((o for o in others if _same_admin(fact, o)), None)
    if isinstance(fact, Diagnosis):
        return next((o for o in others if _same_dx(fact, o)), None)
    if isinstance(fact, CultureResult):
        return next((o for o in others if o.organism == fact.organism), None)
    return others[0] if others else None


def _marked(fact, others: list, alone: FoundBy):
    found = FoundBy.BOTH if _twin(fact, others) is not None else alone
    return fact.model_copy(update={"found_by": found})


def mark_found_by(llm: Extraction, offline: Extraction) -> Extraction:
    """The LLM's facts, each marked `both` when the offline reader found it too, else
    `llm` (a diagnosis keeps the mark its check gave it)."""
    update: dict = {
        "administrations": [_marked(a, offline.administrations, FoundBy.LLM)
                            for a in llm.administrations],
        "diagnoses": [d if d.found_by else _marked(d, offline.diagnoses, FoundBy.LLM)
                      for d in llm.diagnoses],
        "cultures": [_marked(c, offline.cultures, FoundBy.LLM) for c in llm.cultures]}
    for name in ("em", "weight", "place"):
        single = getattr(llm, name)
        if single is not None:
            other = getattr(offline, name)
            update[name] = _marked(single, [other] if other else [], FoundBy.LLM)
    return llm.model_copy(update=update)


def union(rules: Extraction, llm: Extraction) -> Extraction:
    """The offline facts, each marked `both` or `rules`, and after them every fact only
    the LLM found, marked `llm`, with fresh ids (A.., D.., C.. after the offline ones);
    an LLM fact's reference to one the offline reader found too points at that one."""
    mapped: dict[str, str] = {}
    admins = [_marked(a, llm.administrations, FoundBy.RULES) for a in rules.administrations]
    added: list[DrugAdministration] = []
    for theirs in llm.administrations:
        ours = _twin(theirs, rules.administrations)
        if ours is not None:
            mapped[theirs.id] = ours.id
            continue
        mapped[theirs.id] = f"A{len(admins) + len(added) + 1}"
        added.append(theirs)
    admins += [a.model_copy(update={
        "id": mapped[a.id], "found_by": FoundBy.LLM, "indication": None,
        "related_to": mapped.get(a.related_to) if a.related_to else None,
        "relation": a.relation if a.related_to in mapped else None}) for a in added]
    diagnoses = [_marked(d, llm.diagnoses, FoundBy.RULES) for d in rules.diagnoses]
    diagnoses += [d.model_copy(update={"id": f"D{len(diagnoses) + n}", "found_by": FoundBy.LLM})
                  for n, d in enumerate([d for d in llm.diagnoses
                                         if _twin(d, rules.diagnoses) is None], start=1)]
    cultures = [_marked(c, llm.cultures, FoundBy.RULES) for c in rules.cultures]
    cultures += [c.model_copy(update={"id": f"C{len(cultures) + n}", "found_by": FoundBy.LLM})
                 for n, c in enumerate([c for c in llm.cultures
                                        if _twin(c, rules.cultures) is None], start=1)]
    update: dict = {"administrations": admins, "diagnoses": diagnoses, "cultures": cultures}
    for name in ("em", "weight", "place"):
        ours, theirs = getattr(rules, name), getattr(llm, name)
        if ours is not None:
            update[name] = _marked(ours, [theirs] if theirs else [], FoundBy.RULES)
        elif theirs is not None:
            update[name] = theirs.model_copy(update={"found_by": FoundBy.LLM})
    return rules.model_copy(update=update)


def disagreements(rules: Extraction, llm: Extraction) -> list[str]:
    """One warning per fact or field on which the two extractions differ."""
    found: list[str] = []
    unmatched = list(llm.administrations)
    for ours in rules.administrations:
        theirs = next((t for t in unmatched if _same_admin(ours, t)), None)
        if theirs is None:
            found.append(f"Extractors disagree: {ours.id} ({ours.name}, rules at {_at(ours)}) "
                         "was not found by the LLM.")
            continue
        unmatched.remove(theirs)
        for name in _ADMIN_FIELDS:
            a, b = getattr(ours, name), getattr(theirs, name)
            if a != b:
                found.append(f"Extractors disagree on {name} of {ours.id} ({ours.name}): rules "
                             f"{_shown(a)} at {_at(ours, name)}, LLM {_shown(b)} at "
                             f"{_at(theirs, name)}.")
    for theirs in unmatched:
        found.append(f"Extractors disagree: the LLM found an administration of {theirs.name} "
                     f"at {_at(theirs)} that the rules did not; coded as found by the LLM "
                     "alone (found_by llm), coder review.")
    llm_dx = {d.concept: d for d in llm.diagnoses}
    for ours in rules.diagnoses:
        theirs = llm_dx.pop(ours.concept, None)
        if theirs is None:
            found.append(f"Extractors disagree: diagnosis {ours.concept} (rules at {_at(ours)}) "
                         "was not found by the LLM.")
        elif theirs.assertion != ours.assertion:
            found.append(f"Extractors disagree on the assertion of {ours.concept}: rules "
                         f"{ours.assertion.value} at {_at(ours)}, LLM "
                         f"{theirs.assertion.value} at {_at(theirs)}.")
    for theirs in llm_dx.values():
        found.append(f"Extractors disagree: the LLM found diagnosis {theirs.concept} "
                     f"({theirs.assertion.value}) at {_at(theirs)} that the rules did not; "
                     "coded as found by the LLM alone (found_by llm), coder review.")
    for name in ("weight", "em"):
        ours, theirs = getattr(rules, name), getattr(llm, name)
        if (ours is None) != (theirs is None) or (
                name == "weight" and ours and theirs and abs(ours.kg - theirs.kg) > 0.05):
            found.append(f"Extractors disagree on {name}: rules "
                         f"{'none' if ours is None else 'at ' + _at(ours)}, LLM "
                         f"{'none' if theirs is None else 'at ' + _at(theirs)}.")
    return found


def line_agreement(line, facts: Extraction) -> FoundBy | None:
    """Which reader(s) found the facts a claim line rests on (those its evidence lies in):
    `llm` if any was found by the LLM alone, else `rules` if any by the offline reader
    alone, else `both`; None when no fact is marked (the offline path)."""
    marks = {f.found_by for f in facts.facts() if f.found_by is not None and any(
        s.start < e.end and e.start < s.end for s in f.spans() for e in line.evidence)}
    for mark in (FoundBy.LLM, FoundBy.RULES, FoundBy.BOTH):
        if mark in marks:
            return mark
    return None
