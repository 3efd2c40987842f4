"""The LLM extractor: note text in, grounded `Extraction` out.

cache -> split long notes -> one structured call per chunk -> ground and check every
fact against the note -> merge facts from overlapping chunks by span. A note whose
calls fail raises one typed error and yields no facts at all.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from extractor.llm.cache import DraftCache, cache_key
from extractor.llm.chunks import Chunk, split_note
from extractor.llm.client import LLMClient
from extractor.llm.convert import Converted, Window, convert
from extractor.llm.drafts import NoteDraft
from extractor.llm.prompt import PROMPT_VERSION, load_prompts, prompts_digest
from extractor.llm.reading import NoteReading
from notecoder.config import Settings
from notecoder.schema import DrugAdministration, Extraction, Fact, LLMRun

log = logging.getLogger(__name__)

EXTRACTOR_NAME = "llm-1"


@dataclass
class LLMExtractor:
    """One configured client and cache, shared by every note of a run (thread-safe)."""

    settings: Settings
    client: LLMClient = field(init=False)
    cache: DraftCache | None = field(init=False)

    def __post_init__(self) -> None:
        self.client = LLMClient(self.settings)
        self.cache = (DraftCache(self.settings.resolved_llm_cache_path())
                      if self.settings.llm_cache else None)

    def drafts(self, reading: NoteReading, note_sha256: str
               ) -> tuple[list[Chunk], list[NoteDraft]]:
        """The note's chunks and the LLM's draft for each chunk in each pass (pass by pass:
        `llm_passes` x chunks), from the cache when present."""
        size, overlap = self.settings.llm_chunk_chars, self.settings.llm_chunk_overlap
        chunks = split_note(reading.text, size, overlap)
        key = cache_key(note_sha256, self.settings, prompts_digest(PROMPT_VERSION))
        cached = self.cache.get(key) if self.cache else None
        if cached is not None and len(cached) == len(chunks) * self.settings.llm_passes:
            return chunks, cached
        prompts = load_prompts(PROMPT_VERSION)
        drafts = [self._answer(chunk, prompts, reading, n)
                  for n in range(self.settings.llm_passes) for chunk in chunks]
        if self.cache:
            self.cache.put(key, drafts)
        return chunks, drafts

    def _answer(self, chunk: Chunk, prompts, reading: NoteReading, n: int = 0) -> NoteDraft:
        """The LLM's draft for one chunk in pass `n`. The first pass is at temperature 0;
        when checks drop something from it (and `llm_repair` is on), it is asked once more
        with the checker's own reasons, and the answer that keeps more facts, then drops
        fewer, is used (a failed re-ask keeps the first answer). Each further pass is one
        call sampled at `llm_pass_temperature` with its own seed, never repaired."""
        from notecoder.errors import LLMError

        if n > 0:
            seed = None if self.settings.llm_seed is None else self.settings.llm_seed + n
            return self.client.extract(chunk.text, prompts,
                                       sampling=(self.settings.llm_pass_temperature, seed))
        draft = self.client.extract(chunk.text, prompts)
        if not self.settings.llm_repair or not prompts.repair:
            return draft
        first = convert(draft, Window(reading.text, chunk.start, chunk.end), reading)
        if not first.dropped:
            return draft
        try:
            again = self.client.extract(chunk.text, prompts, repair=(draft, first.dropped))
        except LLMError as exc:
            log.debug("repair re-ask failed: %s", exc)
            return draft
        second = convert(again, Window(reading.text, chunk.start, chunk.end), reading)
        return again if _score(second) > _score(first) else draft

    def __call__(self, text: str) -> tuple[Extraction, list[str]]:
        from extractor.compare import mark_found_by

        started = time.perf_counter()
        meter = self.client.start_meter()
        hits = self.cache.hits if self.cache else 0
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        # The offline reading of the note: not-today text, assertions, and which facts the
        # offline pass found too (to mark them; never to gate the LLM's).
        reading = NoteReading(text)
        chunks, drafts = self.drafts(reading, sha)
        passes = self.settings.llm_passes
        parts = [convert(draft, Window(text, chunk.start, chunk.end), reading)
                 for chunk, draft in zip(chunks * passes, drafts, strict=True)]
        # Drops are reported and counted for the first pass; later passes only add facts.
        for part in parts[len(chunks):]:
            part.dropped, part.dropped_facts, part.dropped_fields = [], Counter(), Counter()
        merged, warnings = merge(parts, [n // len(chunks) for n in range(len(parts))]
                                 if passes > 1 else None)
        log.debug("LLM facts: %d administrations, %d diagnoses, %d dropped",
                  len(merged.administrations), len(merged.diagnoses), len(warnings))
        facts = Extraction(
            extractor=EXTRACTOR_NAME, prompt_version=PROMPT_VERSION, model=self.client.model,
            note_length=len(text), note_sha256=sha,
            administrations=merged.administrations, diagnoses=merged.diagnoses,
            cultures=merged.cultures, em=merged.em, weight=merged.weight, place=merged.place,
            llm=LLMRun(
                calls=meter.calls, cache_hits=(self.cache.hits - hits) if self.cache else 0,
                prompt_tokens=meter.prompt_tokens, completion_tokens=meter.completion_tokens,
                seconds=round(time.perf_counter() - started, 3),
                dropped_facts=dict(sorted(merged.dropped_facts.items())),
                dropped_fields=dict(sorted(merged.dropped_fields.items()))))
        return mark_found_by(facts, reading.offline), warnings


def _score(part: Converted) -> tuple[int, int]:
    """Facts kept, then fewer drops: which of two answers for a chunk to use."""
    kept = len(part.administrations) + len(part.diagnoses) + len(part.cultures) + sum(
        f is not None for f in (part.em, part.weight, part.place))
    return kept, -len(part.dropped)


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
    and references follow them. With `pass_of` (the pass of each part), every kept fact
    says in how many passes it was found (`passes`)."""
    out = Converted()
    warnings: list[str] = []
    renamed: dict[tuple[int, str], str] = {}
    chunk_of: dict[str, int] = {}  # kept administration id -> the chunk it came from
    found_in: dict[str, set[int]] = {}  # kept fact id -> the passes that found it
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
                found_in.setdefault(single.id, set()).add(seen_in)
                setattr(out, name, getattr(out, name) or single)
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
