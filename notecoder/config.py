"""Settings from environment variables (NOTECODER_*) with safe defaults."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from notecoder.schema import Setting


class Settings(BaseSettings):
    """Runtime settings; every one can be set as NOTECODER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="NOTECODER_")

    max_note_bytes: int = Field(default=1_000_000, ge=1)
    setting: Setting = Setting.FACILITY
    profile: str = "official"
    extractor: str = "rules"
    log_level: str = "WARNING"
    data_dir: Path = Field(default_factory=lambda: _default_data_dir())
    # One database for the product (evaluation history now, the review queue later):
    # SQLite in the data directory by default, PostgreSQL by URL.
    database_url: str | None = None

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'notecoder.db'}"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "notecoder"


@cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
