"""Evaluation run history in the product database (SQLAlchemy; SQLite by default)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)

metadata = MetaData()

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("git_commit", String(64), nullable=False),
    Column("prompt_version", String(64)),
    Column("model", String(200)),
    Column("dataset_hash", String(64), nullable=False),
    Column("split", String(16), nullable=False),
    Column("extractor", String(32), nullable=False),
    Column("headline", JSON, nullable=False),
    # The LLM reader's cost over the run (tokens in/out, calls, cache hits, seconds per
    # note, drops by reason, agreement precision); null on the offline path.
    Column("llm", JSON),
)


def _engine(url: str):
    from notecoder.private_files import private_sqlite_file, sqlite_path

    path = sqlite_path(url)
    if path is not None:
        private_sqlite_file(path)  # the same file as the review queue's PHI
    engine = create_engine(url)
    metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine) -> None:
    """A history table made before a column existed gets it (added empty): the runs stored
    before keep their figures."""
    from sqlalchemy import inspect, text

    present = {c["name"] for c in inspect(engine).get_columns("eval_runs")}
    with engine.begin() as conn:
        for column in eval_runs.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(text(f"ALTER TABLE eval_runs ADD COLUMN {column.name} {kind}"))


def record_run(url: str, meta: dict, headline: dict, now: dt.datetime,
               llm: dict | None = None) -> int:
    """Store one run (with the LLM reader's cost, when it ran); returns its id."""
    with _engine(url).begin() as conn:
        result = conn.execute(eval_runs.insert().values(
            created_at=now, git_commit=meta["git_commit"], prompt_version=meta.get(
                "prompt_version"), model=meta.get("model"), dataset_hash=meta["dataset_hash"],
            split=meta["split"], extractor=meta["extractor"], headline=headline, llm=llm))
        return int(result.inserted_primary_key[0])


def list_runs(url: str, limit: int = 20) -> list[dict]:
    """The most recent runs, newest first."""
    with _engine(url).connect() as conn:
        rows = conn.execute(select(eval_runs).order_by(eval_runs.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]


def last_run(url: str, split: str, extractor: str) -> dict | None:
    """The newest stored run of the same split and extractor (the 'last' baseline)."""
    with _engine(url).connect() as conn:
        row = conn.execute(select(eval_runs).where(eval_runs.c.split == split,
                                                   eval_runs.c.extractor == extractor)
                           .order_by(eval_runs.c.id.desc()).limit(1)).first()
        return dict(row._mapping) if row else None


def load_baseline_file(path) -> dict:
    """Headline figures from a metrics.json file."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["headline"])
