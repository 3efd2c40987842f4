"""The CLI contract: JSON shape, batch JSON Lines, --facts, and bad input handled cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from notecoder.cli import main
from tests.conftest import EXAMPLES

G1 = str(EXAMPLES / "g1_ceftriaxone.txt")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_shape(capsys):
    code, out, _ = run(capsys, "code", G1, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"schema_version", "setting", "codes", "queries", "facts", "warnings"}
    assert data["schema_version"] == "1" and data["setting"] == "facility"
    for line in data["codes"]:
        assert set(line) == {"system", "code", "units", "modifiers", "rule", "rationale",
                             "evidence", "agreement"}
        assert line["agreement"] is None  # the offline path: no second reader
        assert line["rule"].startswith("R-") and line["evidence"]
        assert all(set(s) == {"start", "end"} for s in line["evidence"])
    systems = [c["system"] for c in data["codes"]]
    assert systems == sorted(systems, key=["ICD-10-CM", "CPT", "HCPCS"].index)
    assert "J18.9" in [c["code"] for c in data["codes"]]  # ICD-10-CM with the dot


def test_modifiers_have_no_dash(capsys):
    _, out, _ = run(capsys, "code", str(EXAMPLES / "g2_infliximab.txt"), "--json")
    em = [c for c in json.loads(out)["codes"] if c["code"] == "99214"]
    assert em and em[0]["modifiers"] == ["25"]


def test_table_output_quotes_evidence(capsys):
    code, out, _ = run(capsys, "code", G1)
    assert code == 0
    assert "96365" in out and "J0696" in out and "Ceftriaxone" in out


def test_stdin(capsys, monkeypatch):
    import io

    data = Path(G1).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, "code", "-", "--json")
    assert code == 0 and "J0696" in out


def test_facts_round_trip_engine_alone(capsys, tmp_path):
    _, out, _ = run(capsys, "extract", G1)
    facts = tmp_path / "facts.json"
    facts.write_text(out)
    code, engine_out, _ = run(capsys, "code", "--facts", str(facts), "--json")
    assert code == 0
    _, note_out, _ = run(capsys, "code", G1, "--json")
    assert json.loads(engine_out)["codes"] == json.loads(note_out)["codes"]


def test_professional_setting_and_profile_flags(capsys):
    code, out, _ = run(capsys, "code", str(EXAMPLES / "g2_infliximab.txt"), "--json",
                       "--setting", "professional", "--profile", "seed-documents")
    data = json.loads(out)
    assert code == 0 and data["setting"] == "professional"
    assert "96368" in [c["code"] for c in data["codes"]]


def test_profiles_lists_differences(capsys):
    code, out, _ = run(capsys, "profiles")
    assert code == 0
    assert out.splitlines()[0].startswith("official:")
    assert "additional_hour_min_minutes = 90" in out


def test_batch_writes_json_lines_and_reports_a_bad_note(capsys, tmp_path):
    (tmp_path / "a.txt").write_text(Path(G1).read_text())
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe bad bytes \xff")
    (tmp_path / "c.txt").write_text("   \n")
    (tmp_path / "d.txt").write_text((EXAMPLES / "g4_reclast.txt").read_text())
    code, out, err = run(capsys, "code", str(tmp_path), "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    assert [Path(x["source"]).name for x in lines] == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert "codes" in lines[0] and "codes" in lines[3]
    assert "UTF-8" in lines[1]["error"] and "empty" in lines[2]["error"]  # b: not UTF-16 either
    assert code == 1 and "2 of 4" in err


def test_glob_input(capsys):
    code, out, _ = run(capsys, "code", str(EXAMPLES / "g[14]_*.txt"), "--json")
    assert code == 0 and len(out.splitlines()) == 2


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"  \n\t \n", "empty"),
    (b"Ceftriaxone \xe9 1 g", "not valid UTF-8"),
    (b"\x00\x01\x02binary\x00", "binary"),
    (bytes(range(1, 9)) * 50, "binary"),
])
def test_bad_note_gives_one_sentence_and_exit_2(capsys, tmp_path, content, message):
    note = tmp_path / "note.txt"
    note.write_bytes(content)
    code, out, err = run(capsys, "code", str(note))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_note_over_size_limit(capsys, tmp_path, monkeypatch):
    from notecoder.config import get_settings

    monkeypatch.setenv("NOTECODER_MAX_NOTE_BYTES", "100")
    get_settings.cache_clear()
    try:
        note = tmp_path / "big.txt"
        note.write_text("Ceftriaxone 1 g IV. " * 10)
        code, _, err = run(capsys, "code", str(note))
    finally:
        get_settings.cache_clear()
    assert code == 2 and "over the limit of 100 bytes" in err


def test_missing_file_and_bad_profile(capsys):
    assert run(capsys, "code", "/no/such/note.txt")[0] == 2
    code, _, err = run(capsys, "code", G1, "--profile", "nope")
    assert code == 2 and "No policy profile named 'nope'" in err and "official" in err


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"extractor": "x", "note_length": 10, "note_sha256": "' + "0" * 64 + '", '
     '"administrations": [{"id": "A1", "evidence": [{"start": 5, "end": 50}], '
     '"drug_text": "x"}]}', "outside the note"),
    ('{"extractor": "x", "note_length": 100, "note_sha256": "' + "0" * 64 + '", '
     '"administrations": [{"id": "A1", "evidence": [{"start": 5, "end": 9}], '
     '"drug_text": "x", "dose": {"value": -1, "unit": "mg"}}]}', "schema version 1"),
])
def test_bad_facts_file(capsys, tmp_path, content, message):
    facts = tmp_path / "facts.json"
    facts.write_text(content)
    code, out, err = run(capsys, "code", "--facts", str(facts))
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_console_script_runs_end_to_end():
    """The installed `notecoder` entry point (a real subprocess, no network needed)."""
    exe = Path(sys.executable).with_name("notecoder")
    result = subprocess.run([str(exe), "code", G1, "--json"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["codes"][0]["code"] == "J18.9"


def test_a_utf16_note_with_its_byte_order_mark_is_read(capsys, tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes("Ceftriaxone 1 g IM at 10:00.".encode("utf-16"))
    assert main(["code", str(path), "--json"]) == 0
    assert "J0696" in capsys.readouterr().out


def test_batch_json_lines_go_to_stdout_while_the_progress_display_is_on_a_terminal(tmp_path):
    """Issue 14: `notecoder code DIR --json > out.jsonl` in a terminal wrote 0 lines (the
    progress display took stdout). Here stderr is a terminal and stdout a file."""
    import os
    import pty

    for name in ("g1_ceftriaxone.txt", "g4_reclast.txt"):
        (tmp_path / name).write_text((EXAMPLES / name).read_text())
    out = tmp_path / "out.jsonl"
    controller, terminal = pty.openpty()
    try:
        with out.open("w") as stdout:
            done = subprocess.run([sys.executable, "-m", "notecoder.cli", "code",
                                   str(tmp_path / "g*.txt"), "--json"], stdout=stdout,
                                  stderr=terminal, stdin=subprocess.DEVNULL, timeout=300,
                                  env={**os.environ, "TERM": "xterm", "COLUMNS": "100"})
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(Path(x["source"]).name for x in lines) == ["g1_ceftriaxone.txt",
                                                            "g4_reclast.txt"]
    assert all("codes" in x for x in lines)


def test_a_directory_batch_codes_note_files_only_and_names_what_it_skipped(capsys, tmp_path):
    """Issue 14: `notecoder code datasets/` coded README.md and every .json file as notes.
    Only .txt files are notes in a directory or a glob; the others are skipped, said on
    stderr."""
    (tmp_path / "a.txt").write_text(Path(G1).read_text())
    (tmp_path / "README.md").write_text("# Notes\nCeftriaxone 1 g IV.\n")
    (tmp_path / "gold").mkdir()
    (tmp_path / "gold" / "g1.json").write_text('{"text": "Ceftriaxone 1 g IV"}')
    (tmp_path / "gold" / "b.TXT").write_text((EXAMPLES / "g4_reclast.txt").read_text())
    code, out, err = run(capsys, "code", str(tmp_path), "--json")
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0
    assert sorted(Path(x["source"]).name for x in lines) == ["a.txt", "b.TXT"]
    assert "skipped 2 file(s) that are not note files (.txt)" in err
    assert "README.md" in err and "g1.json" in err
    code, out, err = run(capsys, "code", str(tmp_path / "*"), "--json")
    assert code == 0 and [Path(json.loads(x)["source"]).name for x in out.splitlines()] == [
        "a.txt"] and "README.md" in err


def test_a_directory_without_note_files_is_one_sentence(capsys, tmp_path):
    (tmp_path / "README.md").write_text("# Notes\n")
    code, out, err = run(capsys, "code", str(tmp_path), "--json")
    assert code == 2 and out == ""
    assert "No note files (.txt)" in err and "README.md" in err


def test_a_named_file_is_coded_whatever_its_extension(capsys, tmp_path):
    note = tmp_path / "visit.note"
    note.write_text(Path(G1).read_text())
    code, out, _ = run(capsys, "code", str(note), "--json")
    assert code == 0 and "J0696" in out
