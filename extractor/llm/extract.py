"""The LLM extractor: note text in, grounded `Extraction` out.

cache -> split the note into chunks sized in tokens (with neighbour context) -> choose
few-shot examples per chunk from the dev split -> one structured call per chunk, chunks
in parallel -> ground and check every fact against the note -> merge the chunks' facts
(extractor.llm.merge). A note whose calls fail raises one typed error and yields no facts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from extractor.llm.cache import DraftCache, cache_key
from extractor.llm.chunks import TEMPLATE_TOKENS, Chunk, chunk_tokens, split_note
from extractor.llm.client import LLMClient
from extractor.llm.convert import Converted, Window, convert
from extractor.llm.drafts import NoteDraft
from extractor.llm.fewshot import Example, choose
from extractor.llm.merge import merge
from extractor.llm.prompt import PROMPT_VERSION, PromptSet, load_prompts, prompts_digest
from extractor.llm.reading import NoteReading
from extractor.llm.tokens import estimate_tokens
from notecoder.config import Settings
from notecoder.schema import Extraction, LLMRun

log = logging.getLogger(__name__)

EXTRACTOR_NAME = "llm-1"


def window(text: str, chunk: Chunk) -> Window:
    """Where a chunk's drafts are grounded: the chunk and the context sent around it."""
    return Window(text, chunk.start, chunk.end, context_lo=chunk.context_start,
                  context_hi=chunk.context_end)


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

    def plan(self, text: str) -> tuple[list[Chunk], list[tuple[Example, ...]]]:
        """The note's chunks (sized to the context window) and each chunk's examples."""
        prompts = load_prompts(PROMPT_VERSION)
        instructions = estimate_tokens(prompts.system + prompts.fields)
        chunks = split_note(text, chunk_tokens(self.settings, instructions),
                            self.settings.llm_context_lines)
        examples = [choose(c.text, PROMPT_VERSION, self.settings.llm_examples,
                           self.settings.llm_examples_tokens) for c in chunks]
        return chunks, examples

    def drafts(self, reading: NoteReading, note_sha256: str
               ) -> tuple[list[Chunk], list[NoteDraft]]:
        """The note's chunks and the LLM's draft for each chunk in each pass (pass by pass:
        `llm_passes` x chunks), from the cache when present. Chunks are read
        `llm_chunk_concurrency` at a time, each on its own thread counting on the note's
        meter."""
        chunks, examples = self.plan(reading.text)
        key = cache_key(note_sha256, self.settings, prompts_digest(PROMPT_VERSION),
                        chosen=[[e.source for e in chosen] for chosen in examples])
        cached = self.cache.get(key) if self.cache else None
        if cached is not None and len(cached) == len(chunks) * self.settings.llm_passes:
            return chunks, cached
        prompts = load_prompts(PROMPT_VERSION)
        meter = self.client.meter()
        jobs = [(n, i) for n in range(self.settings.llm_passes) for i in range(len(chunks))]

        def read(job: tuple[int, int]) -> NoteDraft:
            n, i = job
            if meter is not None:
                self.client.use_meter(meter)
            return self._answer(chunks[i], examples[i], prompts, reading, n)

        if len(jobs) == 1:
            drafts = [read(jobs[0])]
        else:
            with ThreadPoolExecutor(self.settings.llm_chunk_concurrency) as pool:
                drafts = list(pool.map(read, jobs))
        if self.cache:
            self.cache.put(key, drafts)
        return chunks, drafts

    def _answer(self, chunk: Chunk, examples: tuple[Example, ...], prompts: PromptSet,
                reading: NoteReading, n: int = 0) -> NoteDraft:
        """The LLM's draft for one chunk in pass `n`. The first pass is at temperature 0;
        when checks drop something from it (and `llm_repair` is on), it is asked once more
        with the checker's own reasons, and the answer that keeps more facts, then drops
        fewer, is used (a failed re-ask keeps the first answer). Each further pass is one
        call sampled at `llm_pass_temperature` with its own seed, never repaired."""
        from notecoder.errors import LLMError

        ask = {"examples": examples, "context": (chunk.before, chunk.after)}
        if n > 0:
            seed = None if self.settings.llm_seed is None else self.settings.llm_seed + n
            return self.client.extract(chunk.text, prompts,
                                       sampling=(self.settings.llm_pass_temperature, seed),
                                       **ask)
        draft = self.client.extract(chunk.text, prompts, **ask)
        if not self.settings.llm_repair or not prompts.repair:
            return draft
        first = convert(draft, window(reading.text, chunk), reading)
        if not first.dropped or not self._repair_fits(chunk, examples, prompts, draft):
            return draft
        try:
            again = self.client.extract(chunk.text, prompts, repair=(draft, first.dropped),
                                        **ask)
        except LLMError as exc:
            log.debug("repair re-ask failed: %s", exc)
            return draft
        second = convert(again, window(reading.text, chunk), reading)
        return again if _score(second) > _score(first) else draft

    def _repair_fits(self, chunk: Chunk, examples: tuple[Example, ...], prompts: PromptSet,
                     first: NoteDraft) -> bool:
        """Whether the re-ask (the first answer and the reasons added to the prompt, and a
        second answer) fits the context window; a chunk sized to the window may leave no
        room for it, and then the first answer stands."""
        from extractor.llm.client import answer_tokens

        used = (estimate_tokens(prompts.system + prompts.fields + prompts.repair)
                + sum(e.tokens for e in examples)
                + estimate_tokens(chunk.before + chunk.text + chunk.after)
                + estimate_tokens(first.model_dump_json(exclude_none=True))
                + answer_tokens(chunk.text, self.settings) + TEMPLATE_TOKENS)
        return used <= self.settings.llm_context_window

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
        parts = [convert(draft, window(text, chunk), reading)
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
            # Drugs in ongoing use are never billed: read by the offline reader on both paths.
            medications=reading.offline.medications,
            llm=LLMRun(
                calls=meter.calls, cache_hits=(self.cache.hits - hits) if self.cache else 0,
                prompt_tokens=meter.prompt_tokens, completion_tokens=meter.completion_tokens,
                chunks=len(chunks), seconds=round(time.perf_counter() - started, 3),
                dropped_facts=dict(sorted(merged.dropped_facts.items())),
                dropped_fields=dict(sorted(merged.dropped_fields.items()))))
        return mark_found_by(facts, reading.offline), warnings


def _score(part: Converted) -> tuple[int, int]:
    """Facts kept, then fewer drops: which of two answers for a chunk to use."""
    kept = len(part.administrations) + len(part.diagnoses) + len(part.cultures) + sum(
        f is not None for f in (part.em, part.weight, part.place))
    return kept, -len(part.dropped)


