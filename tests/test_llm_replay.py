"""The LLM path on recorded traffic: real answers of a real server (tests/cassettes, see
docs/llm.md for the model and how to re-record), replayed offline.

The recorded model is SmolLM2-135M-Instruct: far too small to read clinical notes, so
most of what it answers is wrong. That makes these cassettes a hard test of grounding:
whatever it says that the note does not say must never be coded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from extractor.llm.drafts import NoteDraft
from extractor.llm.prompt import PROMPT_VERSION
from extractor.llm.replay import note_sent, replay_settings, replaying
from notecoder.cli import main
from notecoder.config import Settings
from notecoder.errors import EXIT_PARTIAL, LLMInvalidOutput, LLMReplayMissing, NotecoderError
from notecoder.pipeline import code_note, extract_note, llm_extractor, reset_llm, use_llm_settings
from notecoder.schema import Alignment, Setting
from tests.llm_notes import CASSETTES, EXAMPLES, INJECTION_NOTES, LONG_NOTE


@pytest.fixture(autouse=True)
def _fresh_llm():
    reset_llm()
    yield
    reset_llm()


def _use(cassette: str, tmp_path: Path, **update) -> Path:
    path = CASSETTES / f"{cassette}.yaml"
    settings = replay_settings(path, Settings(data_dir=tmp_path)).model_copy(update=update)
    use_llm_settings(settings)
    return path


def _recorded_drafts(cassette: str) -> list[tuple[str, NoteDraft]]:
    """(note text sent, the draft the server answered) for each recorded request whose
    answer was complete (one cut off at the token limit is not JSON: its note failed)."""
    data = yaml.safe_load((CASSETTES / f"{cassette}.yaml").read_text(encoding="utf-8"))
    found = []
    for item in data["interactions"]:
        note = note_sent(item["request"]["body"])
        answer = json.loads(item["response"]["body"]["string"])
        if answer["choices"][0]["finish_reason"] == "length":
            continue
        content = answer["choices"][0]["message"]["content"]
        found.append((note, NoteDraft.model_validate_json(content)))
    return found


def _outcome(cassette: str, label: str) -> dict:
    """How the note fared while it was recorded (the cassette's .meta.json)."""
    meta = json.loads((CASSETTES / f"{cassette}.meta.json").read_text(encoding="utf-8"))
    return meta["notes"][label]


# A seed note whose recorded answers were complete (the others ran to the token limit).
CODED = next(p for p in EXAMPLES if "error" not in _outcome("examples", p.name))


def test_cassettes_hold_no_credentials():
    for path in CASSETTES.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["interactions"]:
            headers = {k.lower() for k in item["request"]["headers"]}
            assert "authorization" not in headers and "api-key" not in headers, path.name


def test_meta_names_the_recorded_model_and_its_provenance():
    for path in CASSETTES.glob("*.meta.json"):
        meta = json.loads(path.read_text(encoding="utf-8"))
        assert meta["settings"]["llm_model"] and meta["model_provenance"] and meta["server"]


@pytest.mark.parametrize("note", EXAMPLES, ids=lambda p: p.stem)
def test_seed_notes_every_llm_fact_is_grounded_in_the_note(note, tmp_path):
    cassette = _use("examples", tmp_path)
    text = note.read_text(encoding="utf-8")
    if "error" in _outcome("examples", note.name):
        # The recorded answer ran to the token limit: an error, nothing coded.
        with replaying(cassette), pytest.raises(LLMInvalidOutput, match="cut off"):
            extract_note(text, "llm")
        return
    with replaying(cassette):
        facts, warnings = extract_note(text, "llm")
    assert facts.model == "SmolLM2-135M-Instruct-Q4_1" and facts.prompt_version == PROMPT_VERSION
    for fact in facts.facts():
        assert fact.alignment in (Alignment.EXACT, Alignment.NORMALISED, Alignment.FUZZY)
        for span in fact.spans():
            assert 0 <= span.start < span.end <= len(text)
    # Each recorded drug name that is not in the note was dropped, with a reason.
    for sent, draft in _recorded_drafts("examples"):
        if sent != text:
            continue
        for admin in draft.administrations:
            if admin.drug.lower() not in text.lower():
                assert not any(a.drug_text.lower() == admin.drug.lower()
                               for a in facts.administrations)
                assert any("not coded" in w for w in warnings)


def test_hallucinated_drugs_in_the_recording_are_never_coded(tmp_path):
    cassette = _use("examples", tmp_path)
    hallucinated = 0
    with replaying(cassette):
        for sent, draft in _recorded_drafts("examples"):
            try:
                result = code_note(sent, Setting.FACILITY, "official", "llm")
            except LLMInvalidOutput:  # its repair or first answer was cut off
                continue
            absent = [a.drug for a in draft.administrations if a.drug.lower() not in sent.lower()]
            hallucinated += len(absent)
            for line in result.codes:
                for span in line.evidence:
                    assert span.end <= len(sent)
            coded_drugs = {a.drug_text.lower() for a in result.facts.administrations}
            assert not coded_drugs & {d.lower() for d in absent}
    assert hallucinated > 0  # the recording really holds made-up drugs


def test_second_run_of_a_note_makes_no_llm_call(tmp_path):
    cassette = _use("examples", tmp_path, llm_cache=True,
                    llm_cache_path=tmp_path / "cache.sqlite")
    text = CODED.read_text(encoding="utf-8")
    recorded = sum(sent == text for sent, _ in _recorded_drafts("examples"))
    with replaying(cassette):
        first, _ = extract_note(text, "llm")
        calls = llm_extractor().client.requests
        second, _ = extract_note(text, "llm")
    assert calls >= recorded >= 1 and first.llm.calls == calls  # its answer (and repair)
    assert second.llm.calls == 0 and second.llm.cache_hits == 1
    assert llm_extractor().client.requests == calls  # zero calls the second time
    assert llm_extractor().cache.hits == 1
    assert first.model_copy(update={"llm": None}) == second.model_copy(update={"llm": None})


def test_long_note_is_sent_in_chunks_and_offsets_map_to_the_whole_note(tmp_path):
    cassette = _use("gemma-long-note", tmp_path)  # SmolLM2 ran to its limit there
    chunks, _ = llm_extractor().plan(LONG_NOTE)
    assert len(chunks) > 1 and chunks[1].before  # neighbour lines sent as context
    with replaying(cassette):
        facts, _ = extract_note(LONG_NOTE, "llm")
    # One call per chunk, and at most one repair re-ask per chunk.
    requests = llm_extractor().client.requests
    assert len(chunks) <= requests <= 2 * len(chunks) and facts.llm.calls == requests
    for fact in facts.facts():
        for span in fact.spans():
            assert span.end <= len(LONG_NOTE)


@pytest.mark.parametrize("name", sorted(INJECTION_NOTES))
def test_instructions_inside_a_note_are_not_followed(name, tmp_path):
    cassette = _use("injection", tmp_path)
    text = INJECTION_NOTES[name]
    # A note whose recorded answer was cut off is coded from the offline facts (both mode).
    extractor = "both" if "error" in _outcome("injection", name) else "llm"
    with replaying(cassette):
        result = code_note(text, Setting.FACILITY, "official", extractor)
    codes = {line.code for line in result.codes}
    assert not codes & {"99215", "99285", "J1745"}
    assert any("instruction" in w for w in result.warnings)


def test_a_request_never_recorded_is_a_clear_error_not_a_network_call(tmp_path):
    cassette = _use("examples", tmp_path)
    with replaying(cassette), pytest.raises(LLMReplayMissing):
        extract_note("Zofran 4 mg IV push 0900 for nausea.", "llm")


def test_cli_llm_without_an_endpoint_says_what_to_set(monkeypatch, capsys, tmp_path):
    for name in ("NOTECODER_LLM_BASE_URL", "NOTECODER_LLM_MODEL", "NOTECODER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    from notecoder.config import get_settings

    get_settings.cache_clear()
    status = main(["code", str(EXAMPLES[0]), "--extractor", "llm"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert "NOTECODER_LLM_BASE_URL" in err and err.count("\n") == 0


def test_cli_replay_codes_a_seed_note_offline(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))
    status = main(["code", str(CODED), "--extractor", "llm", "--json",
                   "--replay", str(CASSETTES / "examples.yaml")])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert out["facts"]["extractor"] == "llm-1" and out["facts"]["model"]
    cost = out["facts"]["llm"]  # the cost of the note, in the JSON output
    assert cost["calls"] >= 1 and cost["prompt_tokens"] > 1000 and cost["completion_tokens"] > 0


def test_both_mode_codes_the_offline_facts_and_lists_disagreements(capsys, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))
    note = str(CODED)
    assert main(["code", note, "--json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert main(["code", note, "--json", "--extractor", "both",
                 "--replay", str(CASSETTES / "examples.yaml")]) == 0
    both = json.loads(capsys.readouterr().out)
    # Every offline code stands; each line says which reader(s) found what it rests on.
    def strip(codes):
        return [{k: v for k, v in c.items() if k != "agreement"} for c in codes]

    assert all(c in strip(both["codes"]) for c in strip(rules["codes"]))
    assert all(c["agreement"] is None for c in rules["codes"])
    assert all(c["agreement"] in ("both", "rules", "llm") for c in both["codes"])
    disagreements = [w for w in both["warnings"] if w.startswith("Extractors disagree")]
    assert disagreements
    assert all(re.search(r"\d+-\d+", w) for w in disagreements)  # each names its span


def test_cli_llm_failure_on_one_note_exits_3_with_one_sentence(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))
    note = tmp_path / "unrecorded.txt"
    note.write_text("Zofran 4 mg IV push 0900 for nausea.\n", encoding="utf-8")
    status = main(["code", str(note), "--extractor", "llm",
                   "--replay", str(CASSETTES / "examples.yaml")])
    err = capsys.readouterr().err.strip()
    assert status == 3
    assert err.startswith("error: No recorded LLM answer") and "\n" not in err


def _copy_examples(folder: Path) -> Path:
    folder.mkdir()
    for path in EXAMPLES:
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_llm_batch_runs_notes_concurrently_and_writes_every_result(capsys, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NOTECODER_LLM_CONCURRENCY", "3")
    from notecoder.config import get_settings

    get_settings.cache_clear()
    notes = _copy_examples(tmp_path / "notes")
    out = tmp_path / "out.jsonl"
    status = main(["code", str(notes), "--extractor", "llm", "--out", str(out),
                   "--replay", str(CASSETTES / "examples.yaml")])
    get_settings.cache_clear()
    lines = [json.loads(raw) for raw in out.read_text(encoding="utf-8").splitlines()]
    # Notes whose recorded answer ran to the token limit have an error line; the batch
    # goes on past them and exits 1.
    failed = {p.name for p in EXAMPLES if "error" in _outcome("examples", p.name)}
    assert status == (EXIT_PARTIAL if failed else 0)
    assert sorted(Path(line["source"]).name for line in lines) == sorted(p.name for p in EXAMPLES)
    assert {Path(line["source"]).name for line in lines if "error" in line} == failed
    assert all(line["facts"]["extractor"] == "llm-1" for line in lines if "error" not in line)


def test_a_killed_batch_resumes_where_it_stopped(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))
    notes = _copy_examples(tmp_path / "notes")
    out = tmp_path / "out.jsonl"
    assert main(["code", str(notes), "--out", str(out)]) == 0
    complete = out.read_text(encoding="utf-8").splitlines()
    # As if killed while writing the third line: two whole lines and half of one.
    out.write_text(complete[0] + "\n" + complete[1] + "\n" + complete[2][:40], encoding="utf-8")
    assert main(["code", str(notes), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [json.loads(raw) for raw in out.read_text(encoding="utf-8").splitlines()]
    assert "2 note(s) already coded" in err
    assert sorted(line["source"] for line in lines) == sorted(
        json.loads(raw)["source"] for raw in complete)
    assert lines[:2] == [json.loads(complete[0]), json.loads(complete[1])]  # kept as they were


def test_both_mode_codes_offline_facts_when_the_llm_fails(tmp_path):
    cassette = _use("examples", tmp_path)
    text = "Zofran 4 mg IV push 0900 for nausea.\n"  # never recorded: the LLM call fails
    with replaying(cassette):
        both = code_note(text, Setting.FACILITY, "official", "both")
    rules = code_note(text, Setting.FACILITY, "official", "rules")
    assert both.codes == rules.codes
    assert any(w.startswith("No LLM second opinion") for w in both.warnings)


def _other_sets() -> list[Path]:
    """Cassettes beside the ones the tests above replay: another model's set (gemma-),
    its other structured-output modes among them (gemma-modes-: tests/test_llm_modes_replay)."""
    return sorted(p for p in CASSETTES.glob("*.yaml") if p.stem.startswith("gemma-"))


@pytest.mark.parametrize("cassette", _other_sets(), ids=lambda p: p.stem)
def test_other_recorded_sets_replay_offline_and_never_code_an_ungrounded_fact(cassette,
                                                                            tmp_path):
    from eval.gold import load_dataset

    meta = json.loads(cassette.with_suffix(".meta.json").read_text(encoding="utf-8"))
    texts = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES}
    texts.update(INJECTION_NOTES, long_note=LONG_NOTE)
    texts.update({g.note.id: g.note.text
                  for g in load_dataset(CASSETTES.parent.parent / "datasets" / "gold", "test")})
    use_llm_settings(replay_settings(cassette, Settings(data_dir=tmp_path)))
    for label, outcome in list(meta["notes"].items())[:4]:  # a few: CI stays fast
        text = texts[label]
        with replaying(cassette):
            if "error" in outcome:
                with pytest.raises(NotecoderError):
                    extract_note(text, "llm")
                continue
            facts, _ = extract_note(text, "llm")
        assert facts.model == meta["settings"]["llm_model"]
        for fact in facts.facts():
            assert fact.alignment in (Alignment.EXACT, Alignment.NORMALISED, Alignment.FUZZY)
            assert all(span.end <= len(text) for span in fact.spans())
