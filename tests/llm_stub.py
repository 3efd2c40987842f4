"""An LLM extractor whose client answers scripted drafts (no server, no network): for
tests of what the path does with an answer, whatever a model would say."""

from __future__ import annotations

import threading
from collections.abc import Callable

from extractor.llm.client import ThreadMeters
from extractor.llm.drafts import NoteDraft
from extractor.llm.extract import LLMExtractor
from notecoder import pipeline
from notecoder.config import Settings


class ScriptedClient(ThreadMeters):
    """Stands in for `LLMClient`: `answer(text)` gives the draft for each note or chunk."""

    def __init__(self, answer: Callable[..., NoteDraft], model: str = "scripted") -> None:
        self.answer = answer
        self.model = model
        self.requests = 0
        self.repairs: list[list[str]] = []  # the reasons sent back with each re-ask
        self.samplings: list = []  # (temperature, seed) of each call; None: the first pass
        self.asked: list[dict] = []  # the text, examples and context of each call
        self.usage = (0, 0)  # prompt and answer tokens each call reports
        self._lock = threading.Lock()
        self._meters = threading.local()

    def extract(self, text: str, prompts, repair=None, sampling=None, examples=(),
                context=("", "")) -> NoteDraft:
        with self._lock:  # chunks of one note are read on several threads
            self.requests += 1
            meter = self.meter()
            meter.calls += 1
            meter.prompt_tokens += self.usage[0]
            meter.completion_tokens += self.usage[1]
            self.samplings.append(sampling)
            self.asked.append({"text": text, "examples": examples, "context": context})
        if repair is None:
            return self.answer(text)
        with self._lock:
            self.repairs.append(repair[1])
        return self.answer(text, repair)


def use_scripted_llm(answer: Callable[[str], NoteDraft], tmp_path, **settings) -> LLMExtractor:
    """Make `answer` the LLM of this process (reset with `pipeline.reset_llm()`)."""
    config = Settings(data_dir=tmp_path, llm_base_url="http://127.0.0.1:9/v1",
                      llm_model="scripted", llm_cache=False, **settings)
    extractor = LLMExtractor(config)
    extractor.client = ScriptedClient(answer)
    pipeline._llm["extractor"] = extractor
    return extractor
