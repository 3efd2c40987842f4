"""Regression gate and run history: a real drop fails, noise within tolerance does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gate import regressions
from notecoder.cli import main
from notecoder.config import get_settings

DATASET = str(Path(__file__).resolve().parent.parent / "datasets" / "gold")


def test_gate_fires_on_a_real_drop_and_names_the_metric():
    base = {"notes": 10, "code_f1": 0.95, "units_accuracy": 0.90, "query_f1": 0.80}
    now = {"notes": 12, "code_f1": 0.90, "units_accuracy": 0.895, "query_f1": 0.85}
    assert regressions(now, base, 0.01) == ["code_f1: 0.950 -> 0.900 (-0.050)"]


def test_gate_ignores_noise_within_tolerance_and_counts():
    base = {"notes": 10, "code_f1": 0.95}
    assert regressions({"notes": 3, "code_f1": 0.945}, base, 0.01) == []


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_history_and_baseline_gate_end_to_end(data_dir, capsys):
    out = data_dir / "run1"
    assert main(["eval", "--dataset", DATASET, "--split", "dev", "--out", str(out)]) == 0
    assert main(["eval", "--dataset", DATASET, "--split", "dev", "--out", str(data_dir / "r2"),
                 "--baseline", "last"]) == 0
    assert "no headline metric dropped" in capsys.readouterr().out
    # A baseline better than anything reachable must fail the gate with exit 4.
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["headline"]["claim_exact_match"] = 1.5
    better = data_dir / "better.json"
    better.write_text(json.dumps(metrics))
    code = main(["eval", "--dataset", DATASET, "--split", "dev", "--out", str(data_dir / "r3"),
                 "--baseline", str(better)])
    err = capsys.readouterr().err
    assert code == 4 and "claim_exact_match: 1.500 ->" in err
    assert main(["eval", "--history"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("dev") >= 3
