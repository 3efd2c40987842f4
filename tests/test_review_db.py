"""The review queue's database (review/db.py and its Alembic migrations), on SQLite and
PostgreSQL alike: each test runs once per database through the `database_url` fixture."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import review.db
from review.db import (
    AuditEvent,
    Base,
    CodeLineRow,
    LoginSession,
    Note,
    QueryRow,
    User,
    engine_for,
    session_factory,
    upgrade,
)
from tests import db_urls

database_url = db_urls.database_url  # the fixture: every test here runs on both databases

MIGRATIONS = Path(review.db.__file__).parent / "migrations"
# Not UTC on purpose: an aware datetime must come back aware and denote the same instant.
WHEN = dt.datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def table_names(url: str) -> set[str]:
    return set(inspect(engine_for(url)).get_table_names())


def stored_revision(url: str) -> list[str]:
    with engine_for(url).connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


@pytest.fixture
def db(database_url) -> sessionmaker[Session]:
    """Sessions on a database brought to the newest migration."""
    upgrade(database_url)
    return session_factory(database_url)


def add_user(db: sessionmaker[Session], username: str = "coder1") -> int:
    with db() as s:
        user = User(username=username, password_hash="x", role="coder")
        s.add(user)
        s.commit()
        return user.id


def add_note(db: sessionmaker[Session], user_id: int) -> int:
    with db() as s:
        note = Note(text="Ceftriaxone 1 g IV.", setting="facility", profile="default",
                    submitted_by=user_id)
        s.add(note)
        s.commit()
        return note.id


def add_audit_event(db: sessionmaker[Session]) -> int:
    user_id = add_user(db)
    with db() as s:
        event = AuditEvent(user_id=user_id, action="line.accept", target="line 1",
                           before={"status": "suggested"}, after={"status": "accepted"})
        s.add(event)
        s.commit()
        return event.id


def test_fixture_gives_an_empty_database(database_url):
    assert table_names(database_url) == set()


def test_upgrade_creates_every_model_table(database_url):
    upgrade(database_url)

    assert table_names(database_url) == set(Base.metadata.tables) | {"alembic_version"}
    assert stored_revision(database_url) == [head_revision()]


def test_upgrade_twice_is_a_no_op(database_url):
    upgrade(database_url)
    tables = table_names(database_url)

    upgrade(database_url)

    assert table_names(database_url) == tables
    assert stored_revision(database_url) == [head_revision()]


def test_migrations_match_the_models(db, database_url):
    with engine_for(database_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    assert diff == []


def test_rows_round_trip_with_json_columns(db):
    user_id = add_user(db)
    result = {"schema_version": "1", "codes": [{"code": "J0696", "units": 4, "modifiers": []}],
              "warnings": ["weight not documented — dose unchecked"], "score": 0.5, "x": None}
    with db() as s:
        note = Note(text="Ceftriaxone 1 g IV.", setting="facility", profile="default",
                    submitted_by=user_id, result=result)
        s.add(note)
        s.flush()
        s.add_all([
            CodeLineRow(note_id=note.id, version=1, position=0, system="HCPCS", code="J0696",
                        units=4, modifiers=["JZ"], rule="R-HCPCS-01",
                        evidence=[{"start": 0, "end": 11}]),
            QueryRow(note_id=note.id, version=1, position=0, rule="R-CDI-01",
                     question="Stop time?", options=["10:15", "unknown"]),
            AuditEvent(user_id=user_id, note_id=note.id, action="note.submit",
                       after={"label": "", "extractor": "rules"}),
        ])
        s.commit()
        note_id = note.id

    with db() as s:
        note = s.get(Note, note_id)
        line, query = note.lines[0], note.queries[0]
        event = s.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id)).one()

        assert note.submitter.username == "coder1"
        assert note.result == result
        assert (line.code, line.units, line.modifiers) == ("J0696", 4, ["JZ"])
        assert line.evidence == [{"start": 0, "end": 11}]
        assert query.options == ["10:15", "unknown"]
        assert (event.action, event.before, event.after) == (
            "note.submit", None, {"label": "", "extractor": "rules"})


def test_datetimes_come_back_aware_and_unchanged(db):
    user_id = add_user(db)
    with db() as s:
        note = Note(text="n", setting="facility", profile="default", submitted_by=user_id,
                    coded_at=WHEN)
        s.add(note)
        s.flush()
        s.add_all([
            LoginSession(id="s" * 64, user_id=user_id, csrf_token="c" * 64, expires_at=WHEN),
            CodeLineRow(note_id=note.id, version=1, position=0, system="CPT", code="96374",
                        rule="R-CPT-01", decided_at=WHEN),
            QueryRow(note_id=note.id, version=1, position=0, rule="R-CDI-01", question="?",
                     sent_at=WHEN),
            AuditEvent(user_id=user_id, note_id=note.id, action="note.submit"),
        ])
        s.commit()
        note_id = note.id

    with db() as s:
        note = s.get(Note, note_id)
        given = [note.coded_at, note.lines[0].decided_at, note.queries[0].sent_at,
                 s.scalars(select(LoginSession)).one().expires_at]
        defaulted = [note.submitted_at, note.submitter.created_at,  # review.db.utcnow
                     s.scalars(select(AuditEvent)).one().at]

    assert [value.utcoffset() is not None for value in given + defaulted] == [True] * 7
    assert given == [WHEN] * 4


def test_username_is_unique(db):
    add_user(db, "coder1")

    with pytest.raises(IntegrityError):
        add_user(db, "coder1")


def test_code_line_position_is_unique_per_note_version(db):
    note_id = add_note(db, add_user(db))

    def add_line(version: int, position: int) -> None:
        with db() as s:
            s.add(CodeLineRow(note_id=note_id, version=version, position=position,
                              system="CPT", code="96374", rule="R-CPT-01"))
            s.commit()

    add_line(1, 0)
    add_line(2, 0)  # the same position in the next version is another line
    with pytest.raises(IntegrityError):
        add_line(1, 0)


def test_audit_event_cannot_be_updated(db):
    event_id = add_audit_event(db)

    with db() as s:
        s.get(AuditEvent, event_id).action = "line.reject"
        with pytest.raises(PermissionError, match="append-only"):
            s.commit()

    with db() as s:
        assert s.get(AuditEvent, event_id).action == "line.accept"


def test_audit_event_cannot_be_deleted(db):
    event_id = add_audit_event(db)

    with db() as s:
        s.delete(s.get(AuditEvent, event_id))
        with pytest.raises(PermissionError, match="append-only"):
            s.commit()

    with db() as s:
        assert s.get(AuditEvent, event_id) is not None


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'line.reject'",
    "DELETE FROM audit_events",
])
def test_the_database_itself_refuses_to_change_the_audit_trail(db, database_url, statement):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from review.db import engine_for

    event_id = add_audit_event(db)
    with pytest.raises(DBAPIError, match="append-only"), engine_for(database_url).begin() as c:
        c.execute(text(statement))  # plain SQL, around the ORM

    with db() as s:
        assert s.get(AuditEvent, event_id).action == "line.accept"
