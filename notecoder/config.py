"""Settings from environment variables (NOTECODER_*), then a TOML config file, then defaults.

The config file is `$NOTECODER_CONFIG` when set, else `notecoder.toml` in the working
directory, else `~/.config/notecoder/config.toml`; keys are the setting names below
without the prefix (`llm_base_url = "http://127.0.0.1:8080/v1"`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from notecoder.errors import ConfigNotFound
from notecoder.schema import Setting

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Runtime settings; every one can be set as NOTECODER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="NOTECODER_")

    max_note_bytes: int = Field(default=1_000_000, ge=1)
    # Review app uploads: one request of note files and zip archives, as sent; per zip
    # archive, the notes it may hold and their size once unpacked (each note also within
    # max_note_bytes).
    max_upload_bytes: int = Field(default=25_000_000, ge=1)
    max_zip_notes: int = Field(default=1000, ge=1)
    max_unzipped_bytes: int = Field(default=50_000_000, ge=1)
    # ICD-10-CM code set a claim is coded and checked against (issue 12): the packaged
    # FY2026 tables, or tables generated for another fiscal year into a folder
    # (python -m notecoder.refdata.build_icd_index --out DIR, files named icd10cm_fyYYYY_*).
    icd10cm_code_set: str = Field(default="fy2026", pattern=r"^fy\d{4}$")
    icd10cm_tables_dir: Path | None = None
    # Seconds the offline reader may spend on one note before the note fails with a reason.
    note_time_budget_seconds: float = Field(default=120.0, gt=0)
    setting: Setting = Setting.FACILITY
    profile: str = "official"
    extractor: str = "rules"
    log_level: str = "WARNING"  # DEBUG, INFO, WARNING, ERROR or CRITICAL
    data_dir: Path = Field(default_factory=lambda: _default_data_dir())
    # One database for the product (evaluation history now, the review queue later):
    # SQLite in the data directory by default, PostgreSQL by URL.
    database_url: str | None = None

    # Review web app: mark session cookies Secure (set true behind HTTPS).
    cookie_secure: bool = False
    # Signs login-form tokens; the same value on every machine of one deployment. Unset: a
    # random key kept in `secret.key` in the data directory (0600).
    secret_key: SecretStr | None = None
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_lifetime_hours: float = Field(default=12, gt=0, le=24 * 30)
    # Failed logins within the window before backoff: per account, per client address.
    login_failures_per_account: int = Field(default=5, ge=1, le=1000)
    login_failures_per_address: int = Field(default=20, ge=1, le=100_000)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Password checks (argon2id, 64 MiB each) running at once per process; more get 429.
    login_concurrency: int = Field(default=2, ge=1, le=64)
    # A plain API reference page at /docs (made from /openapi.json, nothing from a CDN): off.
    api_docs: bool = False
    # PostgreSQL schema of the job queue's own tables (one per deployment sharing a database).
    jobs_schema: str = Field(default="dbos", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Fault injection for durability tests: a worker waits this long before coding a note.
    job_delay_seconds: float = Field(default=0.0, ge=0, le=600)
    # How often a worker looks for notes left queued with no live job (review.stranded_jobs).
    job_sweep_seconds: float = Field(default=30.0, gt=0, le=3600)

    # LLM extraction path (`--extractor llm|both`): any OpenAI-compatible endpoint.
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:8765/v1 (llama.cpp, vLLM, Ollama)
    llm_model: str | None = None
    llm_api_key_env: str = "OPENAI_API_KEY"  # the NAME of the variable holding the key
    llm_timeout: float = Field(default=120.0, gt=0)  # seconds per call, at most
    # A call waits llm_timeout_floor + its answer limit / llm_min_tokens_per_second (capped
    # by llm_timeout): a short answer does not wait two minutes for a runaway generation.
    llm_timeout_floor: float = Field(default=30.0, gt=0)
    llm_min_tokens_per_second: float = Field(default=10.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)  # per call, with backoff
    llm_concurrency: int = Field(default=2, ge=1, le=64)  # notes in flight in a batch
    # json_schema: OpenAI structured outputs (vLLM, Ollama, hosted); json_object_schema:
    # response_format json_object with a "schema" key (llama.cpp's llama-cpp-python server);
    # tools: function calling; json: plain JSON mode with the schema in the prompt.
    llm_mode: Literal["json_schema", "json_object_schema", "tools", "json"] = "json_schema"
    # Strict structured output (json_schema mode): unset = on for an endpoint that is not on
    # this machine (hosted models), off for a local server (its grammar takes the schema).
    llm_strict: bool | None = None
    llm_seed: int | None = 0
    llm_max_tokens: int = Field(default=2048, ge=64)
    # Tokens the server's context holds (llama.cpp n_ctx, a hosted model's window): a note is
    # split into chunks that fit it beside the instructions, examples and the answer limit.
    llm_context_window: int = Field(default=8192, ge=1024)
    # Note tokens per chunk; unset = sized from llm_context_window (extractor.llm.chunks).
    llm_chunk_tokens: int | None = Field(default=None, ge=64)
    # Lines before and after each chunk sent as context only (facts there are the
    # neighbouring chunk's); chunks of one note in flight at once.
    llm_context_lines: int = Field(default=2, ge=0, le=20)
    llm_chunk_concurrency: int = Field(default=2, ge=1, le=16)
    # Few-shot examples per call, chosen from the dev split by similarity to the chunk
    # (extractor.llm.fewshot): at most this many, within this many (estimated) tokens.
    llm_examples: int = Field(default=6, ge=3, le=6)
    llm_examples_tokens: int = Field(default=2400, ge=256)
    # One re-ask per chunk whose answer had facts or fields dropped, sending the checker's
    # own reasons back (prompts/<version>/repair.md); the answer with fewer drops is kept.
    llm_repair: bool = True
    # Passes per chunk: the first at temperature 0, each further one sampled at
    # llm_pass_temperature with its own seed; grounded facts are united across passes and
    # each says in how many it was found (`passes`).
    llm_passes: int = Field(default=1, ge=1, le=5)
    llm_pass_temperature: float = Field(default=0.7, ge=0, le=2)
    # Tokens (prompt + answer, as the server counts them) one run may spend; past it no
    # further call is made and the note fails with a clear error (both mode: offline facts).
    llm_token_budget: int | None = Field(default=None, ge=1)
    llm_cache: bool = True
    llm_cache_path: Path | None = None  # default: llm-cache.sqlite in the data directory

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment variables, then the config file."""
        sources = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def resolved_llm_cache_path(self) -> Path:
        return self.llm_cache_path or self.data_dir / "llm-cache.sqlite"

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'notecoder.db'}"


def config_file() -> Path | None:
    """The TOML config file in use, if any (see the module docstring)."""
    named = os.environ.get("NOTECODER_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigNotFound(f"NOTECODER_CONFIG names '{named}', which is not a file.")
        return Path(named)
    for candidate in (Path("notecoder.toml"), Path.home() / ".config" / "notecoder" /
                      "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "notecoder"


@cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
