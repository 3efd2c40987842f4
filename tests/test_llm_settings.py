"""LLM settings: environment variables over the TOML config file over defaults."""

from __future__ import annotations

import pytest

from notecoder.cli import main
from notecoder.config import Settings, get_settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    for name in ("NOTECODER_LLM_BASE_URL", "NOTECODER_LLM_MODEL", "NOTECODER_LLM_TIMEOUT",
                 "NOTECODER_CONFIG", "NOTECODER_LLM_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_config_file_sets_the_endpoint(tmp_path, monkeypatch):
    config = tmp_path / "team.toml"
    config.write_text('llm_base_url = "http://127.0.0.1:9/v1"\nllm_model = "m"\n'
                      'llm_timeout = 7.5\nllm_mode = "tools"\n', encoding="utf-8")
    monkeypatch.setenv("NOTECODER_CONFIG", str(config))
    settings = Settings()
    assert (settings.llm_base_url, settings.llm_model, settings.llm_timeout,
            settings.llm_mode) == ("http://127.0.0.1:9/v1", "m", 7.5, "tools")


def test_environment_overrides_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "notecoder.toml").write_text('llm_model = "from-file"\n', encoding="utf-8")
    assert Settings().llm_model == "from-file"  # found in the working directory
    monkeypatch.setenv("NOTECODER_LLM_MODEL", "from-env")
    assert Settings().llm_model == "from-env"


def test_a_missing_config_file_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NOTECODER_CONFIG", str(tmp_path / "absent.toml"))
    assert main(["profiles"]) == 2
    err = capsys.readouterr().err.strip()
    assert "NOTECODER_CONFIG" in err and "\n" not in err


def test_a_bad_setting_value_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("NOTECODER_LLM_MODE", "telepathy")
    assert main(["profiles"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: invalid setting") and "\n" not in err
