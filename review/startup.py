"""What `serve` and `worker` make sure of before they start: the data directory and the
SQLite files private, the database migrated and writable, the server secret present.

Permissions: files and directories that hold PHI and are open to other users are made
private (directories 0700, files 0600) with a notice, and the start is refused
(`UnsafePermissions`, one sentence, exit 2) when that cannot be done or when the database
lives outside the data directory in a directory others can read (notecoder does not
change the mode of a directory it did not make).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from notecoder.config import Settings
from notecoder.errors import NotecoderError
from notecoder.private_files import (
    PRIVATE_DIR,
    UnsafePermissions,
    mode_of,
    private_dir,
    private_file,
    private_sqlite_file,
    tighten,
    tighten_sqlite,
)
from review.db import sqlite_path, upgrade

SECRET_FILE = "secret.key"
MIN_SECRET_CHARS = 32


class DatabaseNotReady(NotecoderError):
    """The database cannot be written (read-only, locked, unreachable): nothing starts."""


def check_storage(settings: Settings) -> list[str]:
    """Make the data directory and the SQLite files private; the notices of what changed.

    Raises `UnsafePermissions` when something holding PHI cannot be made private.
    """
    from review.jobs import jobs_database_url

    data_dir = settings.data_dir.resolve()
    private_dir(data_dir)
    notices = [n for n in [tighten(data_dir, PRIVATE_DIR)] if n]
    files = [settings.resolved_llm_cache_path(), data_dir / SECRET_FILE]
    for url in (settings.resolved_database_url(), jobs_database_url(settings)):
        path = sqlite_path(url)
        if path is not None:
            files.append(path)
            notices += _check_database_dir(path.resolve().parent, data_dir)
    for path in files:
        notices += tighten_sqlite(path)
    return notices


def _check_database_dir(directory: Path, data_dir: Path) -> list[str]:
    if directory == data_dir or not directory.exists():
        return []
    if data_dir in directory.parents:
        return [n for n in [tighten(directory, PRIVATE_DIR)] if n]
    if mode_of(directory) & 0o077:
        raise UnsafePermissions(
            f"The database directory '{directory}' is open to other users (mode "
            f"{mode_of(directory):04o}); run `chmod 700 {directory}` or keep the database "
            "in a directory of its own.")
    return []


def check_writable(url: str, what: str = "database") -> None:
    """Raise `DatabaseNotReady` unless the database at `url` takes a write (a table made
    and dropped again in a transaction that is rolled back)."""
    path = sqlite_path(url)
    if path is not None:
        private_sqlite_file(path)
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, poolclass=NullPool,
                           connect_args={"timeout": 5} if sqlite else {})
    probe = "CREATE TABLE notecoder_write_probe (x INTEGER)"
    try:
        with engine.connect() as conn:
            if sqlite:  # pysqlite runs DDL outside transactions unless told otherwise
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    conn.exec_driver_sql(probe)
                finally:
                    conn.exec_driver_sql("ROLLBACK")
            else:
                conn.execute(text(probe))
                conn.rollback()
    except SQLAlchemyError as exc:
        raise DatabaseNotReady(_why(what, url, exc)) from None
    finally:
        engine.dispose()


def _why(what: str, url: str, exc: SQLAlchemyError) -> str:
    # Only the driver's first line: later lines (PostgreSQL DETAIL) may hold row values.
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:200]
    path = sqlite_path(url)
    where = f" '{path}'" if path else ""
    return f"The {what}{where} cannot be written ({reason}); notecoder will not start."


def prepare_database(settings: Settings) -> list[str]:
    """Everything `serve` and `worker` need before they start; the permission notices.

    Raises `UnsafePermissions` or `DatabaseNotReady` (one sentence each).
    """
    from review.jobs import jobs_database_url, prepare

    notices = check_storage(settings)
    url = settings.resolved_database_url()
    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        raise DatabaseNotReady(_why("database", url, exc)) from None
    check_writable(url)
    jobs_url = jobs_database_url(settings)
    if jobs_url != url.replace("postgresql+psycopg://", "postgresql://"):
        check_writable(jobs_url, "job queue database")
    try:
        prepare(settings)
    except Exception as exc:  # DBOS's own migrations: any failure is a refusal to start
        raise DatabaseNotReady(f"The job queue database cannot be prepared "
                               f"({type(exc).__name__}); notecoder will not start.") from None
    return notices


def server_secret(settings: Settings) -> bytes:
    """The key that signs login-form tokens: `NOTECODER_SECRET_KEY`, else a random key kept
    in `secret.key` in the data directory (made once, 0600, shared by the processes of one
    machine). Several machines need the same NOTECODER_SECRET_KEY."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < MIN_SECRET_CHARS:
            raise NotecoderError(f"NOTECODER_SECRET_KEY must be at least {MIN_SECRET_CHARS} "
                                 "characters long.")
        return value.encode()
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        temporary = private_file(path.with_name(f".{SECRET_FILE}.{secrets.token_hex(8)}"))
        temporary.write_text(secrets.token_urlsafe(48), encoding="ascii")
        try:
            os.link(temporary, path)  # atomic: a second process starting now keeps the first
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text(encoding="ascii").strip().encode()
