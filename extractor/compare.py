"""`--extractor both`: where the offline extractor and the LLM disagree about a fact, a
warning for the reviewer that names the field and both evidence spans.

The offline facts are the ones coded (deterministic, the embedded default); the LLM's
reading is a second opinion that puts each disagreement in front of a person.
"""

from __future__ import annotations

from notecoder.schema import DrugAdministration, Extraction, Fact, Span

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
                     f"at {_at(theirs)} that the rules did not; not coded, coder review.")
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
                     "not coded, coder review.")
    for name in ("weight", "em"):
        ours, theirs = getattr(rules, name), getattr(llm, name)
        if (ours is None) != (theirs is None) or (
                name == "weight" and ours and theirs and abs(ours.kg - theirs.kg) > 0.05):
            found.append(f"Extractors disagree on {name}: rules "
                         f"{'none' if ours is None else 'at ' + _at(ours)}, LLM "
                         f"{'none' if theirs is None else 'at ' + _at(theirs)}.")
    return found
