"""Failed-login backoff per account and per client address, kept in the database so every
web process (and every machine on one PostgreSQL) sees the same counts.

Each key counts failures; a failure more than `window` after the previous one starts the
count again. From `limit` failures on, the key is locked for 1 minute, doubling with each
further failure up to 15 minutes. A locked key's attempts are refused without checking the
password and are not counted. A successful login clears its account's count (an address's
count only decays), as do `notecoder user enable` and `reset-password`. Account keys are
the SHA-256 of the name tried, so the table holds no typed user names (or passwords typed
into the name field).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from review.db import LoginThrottle, utcnow

FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(minutes=15)


def account_key(username: str) -> str:
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
    return f"user:{digest}"


def keys(username: str, address: str | None) -> dict[str, str]:
    """The throttle keys of one attempt: {"account": ..., "address": ...} (no address:
    the account only)."""
    found = {"account": account_key(username)}
    if address:
        found["address"] = f"addr:{address[:70]}"
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def retry_after(db: Session, lock_keys: Iterable[str]) -> int:
    """Seconds until every one of `lock_keys` is unlocked (0: none is locked)."""
    now = utcnow()
    until = db.scalars(select(LoginThrottle.locked_until).where(
        LoginThrottle.key.in_(list(lock_keys)), LoginThrottle.locked_until.is_not(None)))
    waits = [(_aware(moment) - now).total_seconds() for moment in until]
    return max([0, *(int(w) + 1 for w in waits if w > 0)])


def lock_length(failures: int, limit: int) -> dt.timedelta | None:
    """How long a key with `failures` is locked: None below `limit`, then 1, 2, 4 ... 15 min."""
    if failures < limit:
        return None
    return min(FIRST_LOCK * 2 ** min(failures - limit, 10), LONGEST_LOCK)


def record_failure(db: Session, key: str, limit: int, window: dt.timedelta) -> None:
    """Count one failed login of `key` and lock it when it reaches `limit` (no commit)."""
    now = utcnow()
    count = update(LoginThrottle).where(LoginThrottle.key == key).values(
        failures=case((LoginThrottle.last_failure_at < now - window, 1),
                      else_=LoginThrottle.failures + 1),
        last_failure_at=now)
    if db.execute(count).rowcount == 0:
        try:
            with db.begin_nested():
                db.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        except IntegrityError:  # another process inserted it first: count on its row
            db.execute(count)
    failures = db.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key)) or 0
    locked = lock_length(failures, limit)
    db.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(
        locked_until=now + locked if locked else None))
    # Old keys go: nothing is locked and nothing counts after the window.
    db.execute(delete(LoginThrottle).where(
        LoginThrottle.last_failure_at < now - max(window, LONGEST_LOCK)))


def clear(db: Session, key: str) -> None:
    """Forget the failures of `key` (no commit)."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
