"""The response cache key: any change to what is asked, or how it is answered, is a new key
(a stale answer is never reused); the same request is the same key."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from extractor.llm.cache import cache_key
from extractor.llm.prompt import PROMPT_VERSION, files_digest, prompts_digest
from notecoder.config import Settings

SHA = "0" * 64
BASE = Settings(llm_base_url="http://127.0.0.1:8765/v1", llm_model="m")


def key(settings: Settings = BASE, digest: str | None = None) -> str:
    return cache_key(SHA, settings, digest or prompts_digest(PROMPT_VERSION))


def test_the_same_request_is_the_same_key():
    assert key() == key(BASE.model_copy())


@pytest.mark.parametrize("change", [
    {"llm_mode": "json_object_schema"}, {"llm_mode": "tools"},
    {"llm_base_url": "http://127.0.0.1:8080/v1"}, {"llm_model": "other"},
    {"llm_seed": 1}, {"llm_seed": None}, {"llm_max_tokens": 1024}, {"llm_strict": True},
    {"llm_repair": False}, {"llm_context_window": 4096}, {"llm_chunk_tokens": 300},
    {"llm_context_lines": 0}, {"llm_examples": 3}, {"llm_examples_tokens": 1000},
    {"llm_passes": 2}, {"llm_pass_temperature": 0.3},
], ids=lambda c: next(iter(c)))
def test_any_setting_that_shapes_the_answer_changes_the_key(change):
    assert key(BASE.model_copy(update=change)) != key()


def test_settings_that_do_not_shape_the_answer_keep_the_key():
    assert key(BASE.model_copy(update={"llm_timeout": 5, "llm_concurrency": 8})) == key()


def test_the_key_changes_when_any_prompt_file_changes(tmp_path: Path):
    folder = tmp_path / PROMPT_VERSION
    shutil.copytree(Path(str(resources.files("prompts") / PROMPT_VERSION)), folder)
    original = files_digest(folder)
    assert original == prompts_digest(PROMPT_VERSION)
    names = sorted(p.name for p in folder.iterdir())
    assert {"system.md", "fields.md", "examples.json", "repair.md"} <= set(names)
    for name in names:
        path = folder / name
        before = path.read_bytes()
        path.write_bytes(before + b" ")
        assert key(digest=files_digest(folder)) != key(), name
        path.write_bytes(before)
    assert files_digest(folder) == original


def test_the_key_changes_when_another_example_is_chosen():
    chosen = [["datasets/gold/dev/a.json", "datasets/gold/dev/b.json"]]
    other = [["datasets/gold/dev/a.json", "datasets/gold/dev/c.json"]]
    digest = prompts_digest(PROMPT_VERSION)
    assert cache_key(SHA, BASE, digest, chosen=chosen) == cache_key(SHA, BASE, digest,
                                                                    chosen=chosen)
    assert cache_key(SHA, BASE, digest, chosen=chosen) != cache_key(SHA, BASE, digest,
                                                                    chosen=other)


def test_the_key_changes_when_the_answer_form_or_forced_tool_call_changes(monkeypatch):
    # Same settings, but the examples' answers written another way (or the tool call no
    # longer forced) is another request: a cached answer to the old one is never reused.
    import extractor.llm.client as client
    from extractor.llm.prompt import AnswerForm

    tools = BASE.model_copy(update={"llm_mode": "tools"})
    before = key(tools)
    monkeypatch.setattr(client, "answer_form", lambda s: AnswerForm(every_field=True))
    assert key(tools) != before
    monkeypatch.undo()
    monkeypatch.setattr(client, "tool_call_fields", lambda s: {})
    assert key(tools) != before
