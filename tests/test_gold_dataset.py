"""Gold dataset checks: every gold file is valid and its spans quote the note; a bad gold
file fails with a clear message; `notecoder eval` writes its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import InvalidGold, load_dataset, load_gold_file, locate
from notecoder.cli import main

DATASET = Path(__file__).resolve().parent.parent / "datasets" / "gold"


def test_every_gold_file_is_valid_and_spans_quote_the_note():
    notes = load_dataset(DATASET)
    assert len(notes) >= 80
    for gold in notes:
        text = gold.note.text
        for fact in gold.facts.facts():
            for span in fact.spans():
                assert 0 <= span.start < span.end <= len(text)
        for admin in gold.facts.administrations:
            quoted = text[admin.field_spans["drug"].start:admin.field_spans["drug"].end]
            assert quoted == admin.drug_text
            if admin.dose is not None and "dose" in admin.field_spans:
                dose_text = text[admin.field_spans["dose"].start:admin.field_spans["dose"].end]
                written = dose_text.replace(",", "")
                assert f"{admin.dose.value:g}" in written or (
                    "million" in written and f"{admin.dose.value / 1e6:g}" in written)
        assert {g.note.split for g in notes} == {"dev", "test"}


def test_locate_matches_whole_tokens_only():
    text = "Infliximab 350 mg IV via PIV; 50 mg wasted."
    assert text[locate(text, "50 mg").start:].startswith("50 mg wasted")
    span = locate(text, "IV")
    assert text[span.start - 3:span.end] == "mg IV"
    with pytest.raises(InvalidGold, match="not in the note"):
        locate(text, "ceftriaxone")


def _write(tmp_path: Path, mutate) -> Path:
    raw = json.loads((DATASET / "test" / "g1_ceftriaxone.json").read_text())
    mutate(raw)
    path = tmp_path / f"{raw['id']}.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.pop("codes"), "codes: Field required"),
    (lambda r: r.update(split="train"), "split"),
    (lambda r: r["facts"]["administrations"][1]["dose"].update(quote="2 g"),
     "quote '2 g' is not in the note"),
    (lambda r: r["facts"]["administrations"][1].update(dose={"quote": "1 g",
                                                             "value": {"value": -1, "unit": "g"}}),
     "greater than 0"),
    (lambda r: r["codes"].append({"system": "CPT4", "code": "96365"}), "codes.3.system"),
])
def test_bad_gold_file_fails_with_a_clear_message(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(InvalidGold) as err:
        load_gold_file(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_eval_check_and_run_write_outputs(tmp_path, capsys, monkeypatch):
    from notecoder.config import get_settings

    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    assert main(["eval", "--dataset", str(DATASET), "--check", "--split", "all"]) == 0
    assert "valid" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["eval", "--dataset", str(DATASET), "--split", "test", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["headline"]["notes"] == len(load_dataset(DATASET, "test"))
    assert set(metrics) >= {"headline", "extraction", "codes", "engine_on_gold", "attribution"}
    diffs = (out / "diffs.jsonl").read_text().splitlines()
    assert len(diffs) == metrics["headline"]["notes"]
    assert (tmp_path / "data" / "notecoder.db").is_file()
    html = (out / "report.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "Per-code F1" in html
    assert "http://" not in html and "https://" not in html  # opens from disk, no network
    assert "INFUSION CENTER" not in html  # note text stays out of the report
    get_settings.cache_clear()


def test_eval_bad_dataset_is_one_sentence(tmp_path, capsys):
    (tmp_path / "broken.json").write_text("{not json")
    assert main(["eval", "--dataset", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable JSON file" in err
