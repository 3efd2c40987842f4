"""The review queue's tables (SQLAlchemy 2) and how to reach them.

SQLite file in the data directory by default, PostgreSQL by `NOTECODER_DATABASE_URL`.
The schema is created and changed only by Alembic migrations (`review/migrations/`);
`upgrade()` brings a database to the current revision and is run by `notecoder serve`,
`notecoder worker` and `notecoder db upgrade`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from notecoder.private_files import private_sqlite_file, sqlite_path


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Role(StrEnum):
    CODER = "coder"
    CDI = "cdi"
    ADMIN = "admin"


class NoteStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    CODED = "coded"  # suggestions ready for the coder
    FINAL = "final"  # claim finalised by a coder
    # A finalised claim re-coded after new documentation (a CDI answer, an addendum): the
    # coder's decisions are kept where the lines did not change; it must be finalised again.
    REREVIEW = "needs-re-review"
    FAILED = "failed"  # the pipeline could not code it (error kept)


class LineStatus(StrEnum):
    SUGGESTED = "suggested"
    ACCEPTED = "accepted"
    EDITED = "edited"
    REJECTED = "rejected"
    ADDED = "added"  # entered by hand by the coder


class LineChange(StrEnum):
    """How a line of a re-coding differs from the coding before it (None: unchanged)."""

    NEW = "new"  # the re-coding suggests a code the previous coding did not
    CHANGED = "changed"  # same code, other units or modifiers than before
    REMOVED = "removed"  # the coder had kept it; the re-coding no longer suggests it


class QueryStatus(StrEnum):
    SUGGESTED = "suggested"  # written by the engine, not yet sent
    SENT = "sent"  # sent to the provider by a CDI specialist
    ANSWERED = "answered"  # the provider's answer is recorded; the note is re-coded
    WITHDRAWN = "withdrawn"


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, _dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware datetimes only")
        return value.astimezone(dt.UTC)  # SQLite keeps no offset: store every instant in UTC

    def process_result_value(self, value, _dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dt.datetime: UTCDateTime(), dict: JSON, list: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A server-side session. The cookie holds a random token; the row only its SHA-256
    (`id`), so a copy of the table cannot be used as a cookie."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) in hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # the absolute lifetime
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # for the idle timeout

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins of one account or one client address (`key`), for backoff."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime]
    locked_until: Mapped[dt.datetime | None]


class Note(Base):
    """A submitted note and its current coding version (bumped by each re-coding)."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=NoteStatus.QUEUED, index=True)
    setting: Mapped[str] = mapped_column(String(16))
    profile: Mapped[str] = mapped_column(String(64))
    extractor: Mapped[str] = mapped_column(String(16), default="rules")
    version: Mapped[int] = mapped_column(default=1)
    # Bumped by every coder decision on the claim; a decision made on an older revision
    # (a stale page) is refused (service.claim_change).
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    # Readings of the current version started by a worker (committed before each reading):
    # a note whose reading keeps killing its worker is failed, not read forever
    # (service.MAX_READINGS); reset when the version changes.
    reading_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    coded_at: Mapped[dt.datetime | None]
    result: Mapped[dict | None]  # the CodingResult JSON of the current version
    error: Mapped[str | None] = mapped_column(String(500))
    finalised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When the claim was last finalised; kept through a re-coding, so the worker knows a
    # re-coded claim had been final (it becomes needs-re-review, not coded).
    finalised_at: Mapped[dt.datetime | None]
    # The coder who took the note ("Assign to me" on the queue; audited).
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[CodeLineRow]] = relationship(back_populates="note",
                                                     order_by="CodeLineRow.position")
    queries: Mapped[list[QueryRow]] = relationship(back_populates="note", order_by="QueryRow.id")
    submitter: Mapped[User] = relationship(foreign_keys=[submitted_by])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assigned_to])


class CodeLineRow(Base):
    """One code line of a note's claim: the engine's suggestion and the coder's decision."""

    __tablename__ = "code_lines"
    __table_args__ = (UniqueConstraint("note_id", "version", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    version: Mapped[int]
    position: Mapped[int]
    system: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16))
    units: Mapped[int | None]
    modifiers: Mapped[list] = mapped_column(default=list)
    rule: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list] = mapped_column(default=list)  # [{"start":..,"end":..}]
    status: Mapped[str] = mapped_column(String(16), default=LineStatus.SUGGESTED)
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None]
    # The engine's own line ({"code", "units", "modifiers"}) as it suggested it: the coder's
    # edits change code/units/modifiers, never this (None: a line added by hand).
    suggested: Mapped[dict | None]
    change: Mapped[str | None] = mapped_column(String(16))  # LineChange since the last coding
    previous: Mapped[dict | None]  # a changed line: what the claim had there before
    flag: Mapped[str | None] = mapped_column(String(300))  # a code the validator did not know
    # `--extractor both|llm`: which reader(s) found the facts the line rests on ("both",
    # "rules": the offline reader alone, "llm": the LLM alone; notecoder.schema.FoundBy).
    # None on the offline path, for a line added by hand and for lines coded before 0008.
    agreement: Mapped[str | None] = mapped_column(String(8))

    note: Mapped[Note] = relationship(back_populates="lines")


class QueryRow(Base):
    """A CDI query: the engine's suggestion, the specialist's wording, the answer."""

    __tablename__ = "cdi_queries"
    __table_args__ = (UniqueConstraint("note_id", "version", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    version: Mapped[int]
    position: Mapped[int]
    rule: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(default=list)
    evidence: Mapped[list] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=QueryStatus.SUGGESTED, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[dt.datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime | None]

    note: Mapped[Note] = relationship(back_populates="queries")


class WorkerHeartbeat(Base):
    """When each coding worker last said it is running (`notecoder worker`)."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the worker id
    seen_at: Mapped[dt.datetime]


class AuditEvent(Base):
    """Append-only record of every action: who, when, what, before and after."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64), default="")  # e.g. "line 3", "query 2"
    before: Mapped[dict | None]
    after: Mapped[dict | None]

    user: Mapped[User | None] = relationship()


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _append_only(_mapper, _connection, _target) -> None:
    raise PermissionError("the audit trail is append-only")


def audit(db: Session, user_id: int | None, action: str, *, note_id: int | None = None,
          target: str = "", before: dict | None = None, after: dict | None = None) -> None:
    """Append one audit event to the session (committed with the change it records)."""
    db.add(AuditEvent(user_id=user_id, note_id=note_id, action=action, target=target,
                      before=before, after=after))


def _prepare(url: str) -> str:
    """Create a missing SQLite file private (0600, its directory 0700) before SQLite does."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        private_sqlite_file(path)
    return url


@cache
def engine_for(url: str) -> Engine:
    """One engine per database URL; SQLite gets WAL and a busy timeout for many readers."""
    url = _prepare(url)
    if url.startswith("sqlite"):
        # Enough pooled connections for a busy web process (readers never block in WAL mode).
        # A `?timeout=` in the URL sets the busy timeout (tests use a short one).
        connect_args = {"check_same_thread": False}
        if "timeout" not in make_url(url).query:
            connect_args["timeout"] = 30
        engine = create_engine(url, connect_args=connect_args, pool_size=20, max_overflow=40)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record) -> None:
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@cache
def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def alembic_config(url: str):
    """The Alembic configuration of this package's migrations for the database at `url`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest migration (Alembic `upgrade head`)."""
    from alembic import command

    command.upgrade(alembic_config(_prepare(url)), "head")
