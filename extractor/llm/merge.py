"""Facts of all chunks (and passes) of one note as one set.

Lists are united (an administration, diagnosis or culture seen twice is kept once);
single-valued facts (E/M, weight, place) are chosen by their evidence: the value most
chunks and passes agree on, the better-grounded one on a tie of counts; two values stated
with equal support are a conflict, reported for the reviewer and not coded.
"""

from __future__ import annotations

from extractor.llm.convert import Converted
from notecoder.schema import Alignment, DrugAdministration, Fact


def _overlaps(a: Fact, b: Fact) -> bool:
    return any(x.start < y.end and y.start < x.end for x in a.evidence for y in b.evidence)


def _same_administration(kept: DrugAdministration, new: DrugAdministration,
                         same_chunk: bool) -> bool:
    """Whether `new` is `kept` seen again: the same drug, never two different start times
    or routes; from the same chunk only on the very same evidence (the LLM listed one
    administration twice), from another chunk on overlapping evidence (the overlap of two
    chunks). Two administrations the note documents apart stay two (96375/96376)."""
    if kept.name.lower() != new.name.lower():
        return False
    for name in ("start", "route"):
        a, b = getattr(kept, name), getattr(new, name)
        if a is not None and b is not None and a != b:
            return False
    return kept.evidence == new.evidence if same_chunk else _overlaps(kept, new)


def merge(parts: list[Converted], pass_of: list[int] | None = None
          ) -> tuple[Converted, list[str]]:
    """Facts of all chunks (and passes) as one set: an administration seen twice (see
    `_same_administration`), or a diagnosis / culture of the same concept / organism on
    overlapping evidence, is kept once; ids are renumbered A1.., D1.., C1.. in chunk order
    and references follow them. The E/M, weight and place are chosen by evidence
    (`choose_single`), never as the first chunk's. With `pass_of` (the pass of each part),
    every kept fact says in how many passes it was found (`passes`)."""
    out = Converted()
    warnings: list[str] = []
    renamed: dict[tuple[int, str], str] = {}
    chunk_of: dict[str, int] = {}  # kept administration id -> the chunk it came from
    found_in: dict[str, set[int]] = {}  # kept fact id -> the passes that found it
    singles: dict[str, list[tuple[Fact, int]]] = {"em": [], "weight": [], "place": []}
    for n, part in enumerate(parts):
        seen_in = pass_of[n] if pass_of else 0
        warnings += part.dropped
        out.dropped_facts.update(part.dropped_facts)
        out.dropped_fields.update(part.dropped_fields)
        for admin in part.administrations:
            twin = next((k for k in out.administrations
                         if _same_administration(k, admin, chunk_of[k.id] == n)), None)
            if twin is not None:
                renamed[(id(part), admin.id)] = twin.id
                found_in[twin.id].add(seen_in)
                continue
            new_id = f"A{len(out.administrations) + 1}"
            renamed[(id(part), admin.id)] = new_id
            chunk_of[new_id] = n
            found_in[new_id] = {seen_in}
            related = renamed.get((id(part), admin.related_to)) if admin.related_to else None
            out.administrations.append(admin.model_copy(update={
                "id": new_id, "related_to": related,
                "relation": admin.relation if related else None}))
        for dx in part.diagnoses:
            twin = next((k for k in out.diagnoses
                         if _overlaps(k, dx) and k.concept == dx.concept), None)
            if twin is None:
                twin = dx.model_copy(update={"id": f"D{len(out.diagnoses) + 1}"})
                out.diagnoses.append(twin)
            found_in.setdefault(twin.id, set()).add(seen_in)
        for culture in part.cultures:
            twin = next((k for k in out.cultures if k.organism == culture.organism), None)
            if twin is None:
                twin = culture.model_copy(update={"id": f"C{len(out.cultures) + 1}"})
                out.cultures.append(twin)
            found_in.setdefault(twin.id, set()).add(seen_in)
        for name in ("em", "weight", "place"):
            single = getattr(part, name)
            if single is not None:
                singles[name].append((single, seen_in))
    for name, seen in singles.items():
        chosen, found, conflict = choose_single(name, seen)
        setattr(out, name, chosen)
        if chosen is not None:
            found_in[chosen.id] = found
        if conflict:
            warnings.append(conflict)
    if pass_of:
        def counted(fact):
            return fact.model_copy(update={"passes": len(found_in.get(fact.id, ()))})

        out.administrations = [counted(a) for a in out.administrations]
        out.diagnoses = [counted(d) for d in out.diagnoses]
        out.cultures = [counted(c) for c in out.cultures]
        for name in ("em", "weight", "place"):
            if getattr(out, name) is not None:
                setattr(out, name, counted(getattr(out, name)))
    return out, warnings


_LABELS = {"em": "E/M level", "weight": "weight", "place": "place of service"}
_ALIGNED = {Alignment.EXACT: 2, Alignment.NORMALISED: 1, Alignment.FUZZY: 0}


def _stated(name: str, fact: Fact):
    """What a single-valued fact states, to compare across chunks (None: nothing that can
    conflict, such as an E/M visit with no level written)."""
    if name == "weight":
        return round(fact.kg, 1)  # 80 kg and 176.4 lb agree
    if name == "place":
        return fact.place
    if fact.stated_code is None and fact.stated_level is None:
        return None
    return fact.stated_code or fact.stated_level


def _described(name: str, fact: Fact) -> str:
    span = fact.evidence[0]
    if name == "weight":
        value = f"{fact.value:g} {fact.unit}"
    elif name == "place":
        value = fact.place.value
    else:
        value = fact.stated_code or f"level {fact.stated_level}"
    return f"{value} at {span.start}-{span.end}"


def choose_single(name: str, seen: list[tuple[Fact, int]]
                  ) -> tuple[Fact | None, set[int], str | None]:
    """The one E/M, weight or place of a note from what each chunk and pass found
    (`(fact, pass)` in chunk order): every candidate is grounded already; those stating the
    same value support each other, and the value with the most support wins, then the one
    grounded more exactly. Two values with equal support are a conflict: neither is kept
    and the warning names both (a wrong weight or level is worse than none). Returns the
    fact, the passes that found its value, and the conflict warning, if any."""
    if not seen:
        return None, set(), None
    groups: dict[object, list[tuple[Fact, int]]] = {}
    for fact, seen_in in seen:
        groups.setdefault(_stated(name, fact), []).append((fact, seen_in))
    unstated = groups.pop(None, [])
    if not groups:  # nothing stated a value: the first one found, every pass counted
        return unstated[0][0], {p for _, p in unstated}, None

    def support(members: list[tuple[Fact, int]]) -> tuple[int, int]:
        return len(members), max(_ALIGNED.get(f.alignment, 0) for f, _ in members)

    ranked = sorted(groups.values(), key=support, reverse=True)
    if len(ranked) > 1 and support(ranked[0]) == support(ranked[1]):
        values = "; ".join(_described(name, members[0][0]) for members in ranked)
        return None, set(), (f"LLM chunks disagree on the {_LABELS[name]} ({values}); none is "
                             "coded: coder review.")
    best = ranked[0]
    found = {p for _, p in best} | {p for _, p in unstated}
    conflict = None
    if len(ranked) > 1:
        others = "; ".join(_described(name, members[0][0]) for members in ranked[1:])
        kept = _described(name, best[0][0])
        conflict = (f"LLM chunks disagree on the {_LABELS[name]}: kept {kept} (found "
                    f"{len(best)} times), not {others}.")
    return best[0][0], found, conflict
