"""One note never stalls coding (issue 13 item 3): a per-note time budget, a pipeline per
thread instead of a process-wide parse lock, and reading cost linear in note length."""

from __future__ import annotations

import threading

import pytest

from extractor.budget import check_budget, time_budget
from extractor.nlp import _thread_pipeline, parse
from notecoder.config import get_settings
from notecoder.errors import NotecoderError, NoteTimeBudgetExceeded
from notecoder.pipeline import code_note
from notecoder.schema import Setting

NOTE = "ED 03/09/2026\n1010 ondansetron 4 mg IV push.\n1020 NS 1000 mL bolus started.\n"


def test_a_note_past_its_budget_fails_with_a_clear_reason(monkeypatch):
    monkeypatch.setenv("NOTECODER_NOTE_TIME_BUDGET_SECONDS", "0.000001")
    get_settings.cache_clear()
    with pytest.raises(NoteTimeBudgetExceeded) as raised:
        code_note(NOTE * 200, Setting.FACILITY, "official")
    assert isinstance(raised.value, NotecoderError)  # a job ends failed with this sentence
    assert "time budget" in str(raised.value) and "ondansetron" not in str(raised.value)
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_budget_is_per_note_and_ends_with_it():
    with time_budget(None):
        check_budget()  # no budget: never raises
    with time_budget(3600):
        check_budget()
    check_budget()  # outside any note: never raises


def test_each_thread_parses_with_its_own_pipeline_and_gets_the_same_facts():
    main_pipeline = _thread_pipeline()
    results, pipelines = {}, {}

    def work(name: str) -> None:
        pipelines[name] = _thread_pipeline()
        results[name] = [(e.text, e.label_, e._.is_negated) for e in parse(NOTE).ents]

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    serial = [(e.text, e.label_, e._.is_negated) for e in parse(NOTE).ents]
    assert all(found == serial for found in results.values())
    assert len({id(p) for p in pipelines.values()} | {id(main_pipeline)}) == 4
