"""Database errors a coding job waits out, and what a failed write may tell the coder.

A database that is only busy (SQLite's write lock held by another connection past the busy
timeout, a PostgreSQL lock or serialisation conflict, a dropped connection) will take the
write later: the job waits and tries again. A database that refuses the write for good
(disk full, read-only, I/O error) ends the job failed, with the driver's first line as the
reason: those lines name the condition, never a row's values (PostgreSQL puts values in
its DETAIL line, which is never shown).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLite: "database is locked", "database table is locked", "database schema is locked".
_SQLITE_BUSY = ("locked", "busy")
# PostgreSQL SQLSTATEs worth waiting out: serialisation failure, deadlock, lock not
# available, too many connections, admin shutdown / cannot connect now (a restart).
_POSTGRES_BUSY = {"40001", "40P01", "55P03", "53300", "57P01", "57P03"}
FIRST_WAIT_SECONDS = 0.2
LONGEST_WAIT_SECONDS = 5.0
NOTICE_EVERY_SECONDS = 60.0


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` is a database that will take the write later (locked, busy, reconnecting)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    module = type(orig).__module__
    if module.startswith("sqlite3"):
        return isinstance(exc, OperationalError) and any(
            word in str(orig).lower() for word in _SQLITE_BUSY)
    if module.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        if state in _POSTGRES_BUSY or (state or "").startswith("08"):
            return True
        return state is None and isinstance(exc, OperationalError)  # no server answer at all
    return False


def first_line(exc: BaseException) -> str:
    """The driver's first line for a database error, `[Errno n] text` for an OS error, or
    the type's name: what a failure reason may quote."""
    if isinstance(exc, DBAPIError):
        lines = str(exc.orig if exc.orig is not None else type(exc).__name__).splitlines()
        return (lines[0] if lines else type(exc).__name__)[:160]
    if isinstance(exc, OSError) and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"  # never the file name
    return type(exc).__name__


def while_busy(action: Callable[[], T], what: str,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action` until it gets past a busy database (see `is_busy`); other errors raise.

    Waits 0.2 s, then twice as long each time up to 5 s between attempts, as long as the
    database stays busy; a WARNING says so at the first wait and once a minute after (no
    message of the error: SQLAlchemy's holds the statement's parameters).
    """
    wait, started, noticed = FIRST_WAIT_SECONDS, time.monotonic(), None
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_busy(exc):
                raise
            waited = time.monotonic() - started
            if noticed is None or waited - noticed >= NOTICE_EVERY_SECONDS:
                log.warning("the database is busy (%s); %s waits and tries again "
                            "(%.0f s so far)", type(exc).__name__, what, waited)
                noticed = waited
            sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_SECONDS)
