"""The `database_url` fixture: each database test runs once on SQLite and once on PostgreSQL.

- `sqlite`: a fresh database file under the test's own temporary directory.
- `postgresql`: the server at `NOTECODER_TEST_POSTGRES_URL` (`bash .ci/run` starts a
  throwaway one and exports it), with a fresh, empty schema for each test: the URL the test
  gets sets `search_path` to that schema only, so every table, including Alembic's
  `alembic_version`, is created there; the schema is dropped afterwards.

Without `NOTECODER_TEST_POSTGRES_URL` the PostgreSQL case is skipped on a workstation, but
fails when `CI` is set, so CI can never pass without having run on PostgreSQL.

A test asks for `database_url` and gets an empty database; it calls `review.db.upgrade(url)`
itself if it wants the schema. To use the fixture in a test module:

    from tests import db_urls

    database_url = db_urls.database_url  # run this module's database tests on both databases

(An import of the name, `from tests.db_urls import database_url`, works for pytest too, but
ruff then reports each test argument of that name as F811.) Select one database with
`pytest -k sqlite` or `pytest -k postgresql`.

Local PostgreSQL, for example:
`NOTECODER_TEST_POSTGRES_URL=postgresql+psycopg://USER:PASSWORD@127.0.0.1:5432/DB pytest`;
the user needs the right to create schemas in that database (owning it is enough).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import NullPool, create_engine, make_url, text

POSTGRES_URL_ENV = "NOTECODER_TEST_POSTGRES_URL"
DATABASES = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_URL_ENV, "").strip() or None


def with_search_path(url: str, schema: str) -> str:
    """`url` with its connections' `search_path` set to `schema` alone."""
    parsed = make_url(url)
    options = " ".join(filter(None, [parsed.query.get("options"), f"-csearch_path={schema}"]))
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _dispose(url: str) -> None:
    """Close the pooled connections of `review.db`'s cached engine for `url`, if it made one."""
    from review.db import engine_for

    engine_for(url).dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of a fresh, empty database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'review.db'}"
        yield url
        _dispose(url)
        return

    base = postgres_base_url()
    if base is None:
        reason = (f"PostgreSQL not configured: {POSTGRES_URL_ENV} is not set "
                  "(bash .ci/run starts a throwaway server and sets it)")
        if in_ci():
            pytest.fail(f"{reason}; CI must run the database tests on PostgreSQL",
                        pytrace=False)
        pytest.skip(reason)

    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(base, schema)
        try:
            yield url
        finally:
            _dispose(url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
