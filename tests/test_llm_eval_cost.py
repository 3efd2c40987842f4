"""The LLM reader's cost (tokens in and out, calls, cache hits, seconds per note) goes into
the evaluation's metrics, its stored run history and its report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from eval.history import list_runs, record_run
from extractor.llm.drafts import AdministrationDraft, NoteDraft
from notecoder.cli import main
from notecoder.config import get_settings
from notecoder.pipeline import reset_llm
from tests.llm_stub import use_scripted_llm

GOLD = Path(__file__).resolve().parent.parent / "datasets" / "gold"
NOTES = ["g1_ceftriaxone", "a01_infusion_16_min", "e11_waste_jw"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")  # the history table on one line per run
    get_settings.cache_clear()
    reset_llm()
    yield tmp_path
    reset_llm()
    get_settings.cache_clear()


def small_dataset(folder: Path) -> Path:
    (folder / "test").mkdir(parents=True)
    for name in NOTES:
        shutil.copy(GOLD / "test" / f"{name}.json", folder / "test" / f"{name}.json")
    return folder


def test_eval_stores_and_reports_the_llm_readers_cost(data_dir, capsys):
    dataset = small_dataset(data_dir / "gold")
    extractor = use_scripted_llm(lambda _t, repair=None: NoteDraft(administrations=[
        AdministrationDraft(quote="not in any note", drug="Ceftriaxone")]), data_dir,
        llm_repair=False)
    extractor.client.usage = (1200, 80)
    out = data_dir / "out"
    assert main(["eval", "--dataset", str(dataset), "--split", "test", "--extractor", "llm",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1200.0 prompt + 80.0 answer tokens" in printed
    cost = json.loads((out / "metrics.json").read_text())["llm"]
    assert (cost["notes"], cost["calls"], cost["prompt_tokens"], cost["completion_tokens"]) \
        == (3, 3, 3600, 240)
    assert cost["calls_per_note"] == cost["chunks_per_note"] == 1.0
    assert cost["dropped_facts"] == {"administration: quote not in the note": 3}
    (run,) = list_runs(get_settings().resolved_database_url())
    assert run["llm"]["prompt_tokens_per_note"] == 1200.0
    assert run["llm"]["seconds_per_note"] == cost["seconds_per_note"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "LLM reader cost" in report and "3600 / 240" in report
    assert "administration: quote not in the note" in report
    assert main(["eval", "--history"]) == 0
    assert "1,200 / 80" in capsys.readouterr().out


def test_the_offline_path_stores_no_llm_cost(data_dir):
    dataset = small_dataset(data_dir / "gold")
    assert main(["eval", "--dataset", str(dataset), "--split", "test",
                 "--out", str(data_dir / "out")]) == 0
    (run,) = list_runs(get_settings().resolved_database_url())
    assert run["llm"] is None
    assert "LLM reader cost" not in (data_dir / "out" / "report.html").read_text()


def test_a_history_made_before_the_cost_column_keeps_its_runs_and_gains_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with create_engine(url).begin() as conn:
        conn.execute(text(
            "CREATE TABLE eval_runs (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, "
            "git_commit VARCHAR(64) NOT NULL, prompt_version VARCHAR(64), model VARCHAR(200),"
            " dataset_hash VARCHAR(64) NOT NULL, split VARCHAR(16) NOT NULL, "
            "extractor VARCHAR(32) NOT NULL, headline JSON NOT NULL)"))
        conn.execute(text(
            "INSERT INTO eval_runs (created_at, git_commit, dataset_hash, split, extractor, "
            "headline) VALUES ('2026-11-01 00:00:00', 'abc', 'h', 'test', 'rules', "
            "'{\"code_f1\": 0.9}')"))
    meta = {"git_commit": "def", "dataset_hash": "h", "split": "test", "extractor": "llm"}
    record_run(url, meta, {"code_f1": 0.1}, dt.datetime.now(dt.UTC), {"calls_per_note": 1.0})
    new, old = list_runs(url)
    assert old["headline"] == {"code_f1": 0.9} and old["llm"] is None
    assert new["llm"] == {"calls_per_note": 1.0}


def test_a_run_on_the_first_notes_of_a_split_is_stored_under_its_own_name(data_dir):
    dataset = small_dataset(data_dir / "gold")
    out = data_dir / "out"
    assert main(["eval", "--dataset", str(dataset), "--split", "test", "--first", "2",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["headline"]["notes"] == 2
    (run,) = list_runs(get_settings().resolved_database_url())
    assert run["split"] == "test[:2]"
