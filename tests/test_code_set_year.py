"""The ICD-10-CM code set is a setting (issue 12 item 5): FY2026 packaged by default, another
fiscal year's generated tables from a folder, and a clear sentence when a year has none."""

from __future__ import annotations

import shutil
from importlib import resources

import pytest

from notecoder.config import get_settings
from notecoder.errors import NotecoderError
from notecoder.pipeline import code_note
from notecoder.schema import Setting

NOTE = "Assessment: cellulitis of left lower leg.\nCefazolin 2 g IV 10:00-10:30.\n"


@pytest.fixture
def settings_env(monkeypatch):
    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"NOTECODER_{name.upper()}", str(value))
        get_settings.cache_clear()
    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


def _icd(result) -> list[str]:
    return [c.code for c in result.codes if c.system == "ICD-10-CM"]


def test_a_year_without_tables_is_one_clear_sentence(settings_env):
    settings_env(icd10cm_code_set="fy2019")
    with pytest.raises(NotecoderError, match="NOTECODER_ICD10CM_CODE_SET"):
        code_note(NOTE, Setting.FACILITY, "official")


def test_another_years_tables_are_read_from_the_folder(settings_env, tmp_path):
    tables = resources.files("engine") / "tables"
    for kind in ("codes", "terms", "drugs"):
        with resources.as_file(tables / f"icd10cm_fy2026_{kind}.tsv.gz") as src:
            shutil.copy(src, tmp_path / f"icd10cm_fy2025_{kind}.tsv.gz")
    settings_env(icd10cm_code_set="fy2025", icd10cm_tables_dir=tmp_path)
    assert _icd(code_note(NOTE, Setting.FACILITY, "official")) == ["L03.116"]
    empty = tmp_path / "empty"
    empty.mkdir()
    settings_env(icd10cm_code_set="fy2025", icd10cm_tables_dir=empty)
    with pytest.raises(NotecoderError, match="No ICD-10-CM table"):
        code_note(NOTE, Setting.FACILITY, "official")
