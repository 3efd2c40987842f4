"""What coders and CDI specialists do, as functions on a database session.

Every change writes an audit event (who, what, before, after) in the same transaction.
Note text is never logged and never put in an audit event.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, selectinload

from notecoder.errors import NotecoderError
from notecoder.schema import FoundBy, Setting
from review import claim_check, explain, recode
from review.codes import (
    DEFAULT_CODE_SET,
    MAX_UNITS,
    CodeSetKey,
    InvalidCode,
    check_code,
    check_units,
)
from review.db import (
    AuditEvent,
    CodeLineRow,
    LineStatus,
    Note,
    NoteStatus,
    QueryRow,
    QueryStatus,
    User,
    WorkerHeartbeat,
    audit,
    session_factory,
    utcnow,
)
from review.db_errors import first_line, while_busy

log = logging.getLogger(__name__)

MAX_INTEGER = MAX_UNITS  # the largest id or unit count an INTEGER column holds everywhere
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FINAL_LINE = (LineStatus.ACCEPTED, LineStatus.EDITED, LineStatus.ADDED)
HEARTBEAT_SECONDS = 5  # how often a worker says it is running
WORKER_STALE_SECONDS = 30  # no word for this long: no worker is running
# A claim the coder can decide on: freshly coded, or re-coded after it had been final.
EDITABLE = (NoteStatus.CODED, NoteStatus.REREVIEW)
# The queue's agreement filter (`--extractor both|llm`): the line marks a note must have at
# least one of; "any" filters nothing.
AGREEMENT_FILTERS: dict[str, tuple[str, ...]] = {
    "any": (),
    "single": (FoundBy.RULES.value, FoundBy.LLM.value),  # found by one reader only
    "llm": (FoundBy.LLM.value,),
    "rules": (FoundBy.RULES.value,),
}


class ReviewError(NotecoderError):
    """An action that the note's state does not allow (one sentence for the user)."""


class StaleClaim(ReviewError):
    """The claim changed since the decision's page was loaded, or it was finalised."""


class NotFound(ReviewError):
    """No such note, line or query."""


_line_view = recode.line_view


def _query_view(query: QueryRow) -> dict:
    return {"question": query.question, "options": list(query.options),
            "status": query.status, "answer_given": query.answer is not None}


# --- submitting and coding ------------------------------------------------------------


def submit_note(db: Session, user: User, text: str, label: str, setting: str, profile: str,
                max_bytes: int, extractor: str = "rules") -> Note:
    """Store a pasted or uploaded note as queued; the caller enqueues its coding job."""
    from engine import load_profile
    from notecoder.notes import decode_note

    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        from notecoder.errors import NotText

        raise NotText("The note is not valid Unicode (it holds a lone surrogate); "
                      "nothing was saved.") from None
    text = decode_note(data, max_bytes)  # same limits as the CLI
    load_profile(profile)
    if setting not in ("facility", "professional"):
        raise ReviewError(f"Unknown claim setting '{setting}'.")
    note = Note(text=text, label=label[:200], setting=setting, profile=profile,
                extractor=extractor, submitted_by=user.id)
    db.add(note)
    db.flush()
    audit(db, user.id, "note.submit", note_id=note.id,
          after={"label": note.label, "characters": len(text), "setting": setting,
                 "profile": profile})
    return note


# A note whose reading was started this many times without finishing (each time its worker
# died: a crash, the OOM killer) is failed with a reason instead of being read again.
MAX_READINGS = 3


def _alone(_alone: bool) -> AbstractContextManager:
    return nullcontext()


def code_queued_note(db_url: str, note_id: int, version: int, worker: str = "",
                     guard: Callable[[bool], AbstractContextManager] = _alone) -> str:
    """The job: code one version of a note and store its suggestions, once; every job ends
    coded or failed with its reason (issue 13 item 4), never queued forever.

    Idempotent: a version that already has results (a job re-run after a crash), or a
    note that moved on to a newer version, is left as it is. A database that is only busy
    (locked by another connection, a lock conflict, a reconnect) is waited out: the job
    tries again until the write lands (`review.db_errors.while_busy`). Any other failure
    that is not a `NotecoderError` (an unexpected bug, a full disk or a read-only database
    while writing the results) rolls the coding back and marks the note failed in a
    transaction of its own, with the error's type (and, for a database or OS error, the
    driver's first line, which names the condition and no data); the coder can retry it.
    When even that cannot be written, the error is raised: the job ends in error and the
    worker's sweep (`review.stranded_jobs`) fails the note once the database takes writes.

    Each reading is counted (committed) before it starts. A note read before without
    finishing (its worker died) is read under `guard(True)`, which the worker makes
    exclusive: alone in its process, so that a note that kills its worker takes no other
    note with it; after `MAX_READINGS` such starts it is failed instead.
    """
    try:
        return _code_queued_note(db_url, note_id, version, worker, guard)
    except Exception as exc:
        log.error("coding note %s v%s failed: %s (message withheld)", note_id, version,
                  type(exc).__name__)
        reason = failure_reason(exc)
        return while_busy(lambda: mark_failed(db_url, note_id, version, worker, reason),
                          f"coding of note {note_id} v{version}")


def failure_reason(exc: BaseException) -> str:
    """The sentence a coder sees for a job that failed with `exc` (not a NotecoderError)."""
    detail = type(exc).__name__
    if isinstance(exc, (DBAPIError, OSError)) and first_line(exc) != detail:
        detail = f"{detail}: {first_line(exc)}"
    return (f"Internal error while coding the note ({detail}); nothing was coded. Retry it, "
            "or report it if it happens again.")


def _queued(note: Note | None, version: int) -> bool:
    return note is not None and note.version == version and note.status == NoteStatus.QUEUED


def mark_failed(db_url: str, note_id: int, version: int, worker: str, reason: str) -> str:
    """Mark one queued note version failed with `reason` (audited); "skipped" when the note
    is no longer that queued version."""
    with session_factory(db_url)() as db, db.begin():
        note = db.get(Note, note_id, with_for_update=True)
        if not _queued(note, version):
            return "skipped"
        note.status, note.error = NoteStatus.FAILED, reason[:500]
        audit(db, None, "note.failed", note_id=note.id,
              after={"error": note.error, "worker": worker})
    return "failed"


def _code_queued_note(db_url: str, note_id: int, version: int, worker: str,
                      guard: Callable[[bool], AbstractContextManager]) -> str:
    """Each database step on its own, each waiting out a busy database by itself: a busy
    store is tried again without reading the note again or counting another reading."""
    from notecoder.pipeline import code_note

    what = f"coding of note {note_id} v{version}"
    started = while_busy(lambda: _readings_started(db_url, note_id, version), what)
    if started is None:
        return "skipped"
    if started >= MAX_READINGS:
        reason = (f"The worker stopped while coding this note {started} times (a crash, or "
                  "the process was killed); nothing was coded. Retry it, or report it if it "
                  "happens again.")
        return while_busy(lambda: mark_failed(db_url, note_id, version, worker, reason), what)
    with guard(started > 0):
        begun = while_busy(lambda: _begin_reading(db_url, note_id, version), what)
        if begun is None:
            return "skipped"
        try:
            result = code_note(*begun)
        except NotecoderError as exc:
            said = str(exc)
            return while_busy(lambda: mark_failed(db_url, note_id, version, worker, said), what)
        # Stored under the guard too: a suspect note waiting for it must not kill the
        # process between this reading and its store (the reading would be counted
        # against this note with nothing stored, and after MAX_READINGS fail it).
        return while_busy(lambda: _store_result(db_url, note_id, version, worker, result),
                          what)


def _readings_started(db_url: str, note_id: int, version: int) -> int | None:
    """How many readings of this queued version were started; None: not queued any more."""
    with session_factory(db_url)() as db:
        note = db.get(Note, note_id)
        return note.reading_attempts if _queued(note, version) else None


def _begin_reading(db_url: str, note_id: int, version: int) -> tuple | None:
    """Count one more reading (committed before it starts: a death while reading is
    counted); the arguments of the reading, or None when the version is not queued."""
    with session_factory(db_url)() as db, db.begin():
        note = db.get(Note, note_id, with_for_update=True)
        if not _queued(note, version):
            return None
        note.reading_attempts += 1
        return note.text, Setting(note.setting), note.profile, note.extractor


def _store_result(db_url: str, note_id: int, version: int, worker: str, result) -> str:
    with session_factory(db_url)() as db, db.begin():
        note = db.get(Note, note_id, with_for_update=True)
        if not _queued(note, version):  # coded meanwhile by another run of this job
            return "skipped"
        diff = _store_lines(db, note, version, result.codes)
        for position, query in enumerate(result.queries):
            db.add(QueryRow(note_id=note.id, version=version, position=position,
                            rule=query.rule, question=query.question,
                            options=list(query.options),
                            evidence=[s.model_dump() for s in query.evidence]))
        note.result = result.model_dump(mode="json")
        note.status, note.coded_at, note.error = NoteStatus.CODED, utcnow(), None
        audit(db, None, "note.coded", note_id=note.id,
              after={"version": version, "codes": len(result.codes),
                     "queries": len(result.queries), "worker": worker,
                     **({"recode": diff.as_dict()} if diff else {})})
        if diff is not None and note.finalised_at is not None:
            note.status = NoteStatus.REREVIEW  # was final: the coder looks again
            audit(db, None, "note.rereview", note_id=note.id,
                  before={"finalised_at": note.finalised_at.isoformat()},
                  after={"status": note.status, **diff.as_dict()})
    return "coded"


def _previous_lines(db: Session, note: Note, version: int) -> list[CodeLineRow] | None:
    """The lines of the latest earlier coding of the note, or None if it had none (a
    first coding, or only failed ones)."""
    last = db.scalar(select(func.max(CodeLineRow.version)).where(
        CodeLineRow.note_id == note.id, CodeLineRow.version < version))
    if last is None:
        return None
    return list(db.scalars(select(CodeLineRow).where(
        CodeLineRow.note_id == note.id, CodeLineRow.version == last)
        .order_by(CodeLineRow.position)))


def _store_lines(db: Session, note: Note, version: int, codes: list) -> recode.Diff | None:
    """Add the engine's lines of this version; on a re-coding, carry the coder's decisions
    over from the previous coding (`review.recode`) and return the diff's counts."""
    rows = [CodeLineRow(note_id=note.id, version=version, position=position,
                        system=line.system, code=line.code, units=line.units,
                        modifiers=list(line.modifiers), rule=line.rule,
                        rationale=line.rationale,
                        evidence=[s.model_dump() for s in line.evidence],
                        suggested=recode.suggestion(line.system, line.code, line.units,
                                                    line.modifiers),
                        agreement=line.agreement.value if line.agreement else None)
            for position, line in enumerate(codes)]
    previous = _previous_lines(db, note, version)
    diff = None
    if previous is not None:
        extra, diff = recode.carry_over(previous, rows)
        for position, row in enumerate(extra, start=len(rows)):
            row.note_id, row.version, row.position = note.id, version, position
        rows += extra
    db.add_all(rows)
    return diff


def requeue_failed(db: Session, user: User, note_id: int) -> Note:
    """Queue a failed note again (e.g. after an LLM outage) as a new version."""
    note = get_note(db, note_id)
    if note.status != NoteStatus.FAILED:
        raise ReviewError(f"Note {note.id} is {note.status}; only a failed note can be retried.")
    before = {"status": note.status, "version": note.version, "error": note.error}
    note.version += 1
    note.status, note.error, note.reading_attempts = NoteStatus.QUEUED, None, 0
    audit(db, user.id, "note.retry", note_id=note.id, before=before,
          after={"status": note.status, "version": note.version})
    return note


def record_heartbeat(db_url: str, worker_id: str) -> None:
    """A worker says it is running (`review.jobs` calls this every few seconds)."""
    with session_factory(db_url)() as db, db.begin():
        beat = db.get(WorkerHeartbeat, worker_id[:200])
        if beat is None:
            db.add(WorkerHeartbeat(id=worker_id[:200], seen_at=utcnow()))
        else:
            beat.seen_at = utcnow()


def worker_running(db: Session, within_seconds: float = WORKER_STALE_SECONDS) -> bool:
    """Whether any coding worker has said it is running within the last seconds."""
    last = db.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if last is None:
        return False
    if last.tzinfo is None:  # SQLite's aggregate skips the column type
        last = last.replace(tzinfo=dt.UTC)
    return utcnow() - last <= dt.timedelta(seconds=within_seconds)


def coders(db: Session) -> list[User]:
    """Users who can submit notes, for the queue's filter."""
    return list(db.scalars(select(User).where(User.role.in_(["coder", "admin"]))
                           .order_by(User.username)))


# --- reading ---------------------------------------------------------------------------


@dataclass
class QueuePage:
    notes: list[Note]
    total: int
    page: int
    per_page: int


def list_queue(db: Session, status: str | None = None, coder: int | None = None,
               since=None, until=None, page: int = 1, per_page: int = 25,
               assigned: int | None = None, agreement: str = "any") -> QueuePage:
    """Notes newest first, filtered by status, submitting coder, date, assignee and
    agreement (`AGREEMENT_FILTERS`: a line of the current coding found by one reader
    only, by the LLM only, by the offline reader only), one page."""
    if agreement not in AGREEMENT_FILTERS:
        raise ReviewError(f"Unknown agreement filter '{agreement[:20]}' (any, single, llm, "
                          "rules).")
    query = select(Note)
    if marks := AGREEMENT_FILTERS[agreement]:
        query = query.where(select(CodeLineRow.id).where(
            CodeLineRow.note_id == Note.id, CodeLineRow.version == Note.version,
            CodeLineRow.agreement.in_(marks)).exists())
    if assigned:
        query = query.where(Note.assigned_to == assigned)
    if status:
        query = query.where(Note.status == status)
    if coder:
        query = query.where(Note.submitted_by == coder)
    if since:
        query = query.where(Note.submitted_at >= since)
    if until:
        query = query.where(Note.submitted_at < until)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    rows = db.scalars(query.order_by(Note.id.desc()).offset((page - 1) * per_page)
                      .limit(per_page).options(selectinload(Note.submitter),
                                               selectinload(Note.assignee))).all()
    return QueuePage(list(rows), total, page, per_page)


def queue_counts(db: Session, notes: list[Note]) -> dict[int, dict]:
    """Per note of a queue page: its current lines, engine warnings and open CDI queries."""
    found = {n.id: {"lines": 0, "warnings": len((n.result or {}).get("warnings") or []),
                    "open_queries": 0} for n in notes}
    if not found:
        return found
    versions = {n.id: n.version for n in notes}
    for note_id, version, count in db.execute(
            select(CodeLineRow.note_id, CodeLineRow.version, func.count())
            .where(CodeLineRow.note_id.in_(versions))
            .group_by(CodeLineRow.note_id, CodeLineRow.version)):
        if versions[note_id] == version:
            found[note_id]["lines"] = count
    for note_id, version, count in db.execute(
            select(QueryRow.note_id, QueryRow.version, func.count())
            .where(QueryRow.note_id.in_(versions),
                   QueryRow.status.in_([QueryStatus.SUGGESTED, QueryStatus.SENT]))
            .group_by(QueryRow.note_id, QueryRow.version)):
        if versions[note_id] == version:
            found[note_id]["open_queries"] = count
    return found


def assign_to(db: Session, user: User, note_id: int) -> Note:
    """The note taken by this coder (audited); taking it again changes nothing."""
    note = get_note(db, note_id)
    if note.assigned_to == user.id:
        return note
    before = {"assigned_to": note.assignee.username if note.assignee else None}
    note.assigned_to = user.id
    audit(db, user.id, "note.assign", note_id=note.id, target=f"note {note.id}",
          before=before, after={"assigned_to": user.username})
    db.flush()
    db.refresh(note)
    return note


def get_note(db: Session, note_id: int) -> Note:
    note = db.get(Note, note_id)
    if note is None:
        raise NotFound(f"No note {note_id}.")
    return note


def current_lines(db: Session, note: Note) -> list[CodeLineRow]:
    return list(db.scalars(select(CodeLineRow).where(
        CodeLineRow.note_id == note.id, CodeLineRow.version == note.version)
        .order_by(CodeLineRow.position)))


def current_queries(db: Session, note: Note) -> list[QueryRow]:
    return list(db.scalars(select(QueryRow).where(
        QueryRow.note_id == note.id, QueryRow.version == note.version)
        .order_by(QueryRow.position)))


# --- the coder's decisions ---------------------------------------------------------------


def _editable(note: Note) -> None:
    if note.status not in EDITABLE:
        raise ReviewError(f"Note {note.id} is {note.status}; only a coded note can be reviewed.")


def claim_change(db: Session, note: Note, revision: int | None) -> None:
    """Take the next revision of a note's claim, or refuse (issue 13 item 6).

    One conditional UPDATE on the note row: it succeeds only while the note is still coded
    (not finalised meanwhile) and, when the caller names the revision its page showed, only
    if nobody changed the claim since. The database applies it atomically (a row lock in
    PostgreSQL, the write lock in SQLite), so an edit racing a finalise, or two coders on
    one stale page, can never both land."""
    condition = [Note.id == note.id, Note.status.in_(EDITABLE)]
    if revision is not None:
        condition.append(Note.revision == revision)
    done = db.execute(update(Note).where(*condition).values(revision=Note.revision + 1)
                      .execution_options(synchronize_session=False))
    if done.rowcount == 1:
        db.refresh(note, ["revision"])
        return
    db.refresh(note)
    if note.status not in EDITABLE:
        raise StaleClaim(f"Note {note.id} is {note.status}; nothing was changed.")
    last = db.scalar(select(AuditEvent).where(AuditEvent.note_id == note.id)
                     .order_by(AuditEvent.id.desc()).limit(1))
    who = ""
    if last is not None:
        name = db.scalar(select(User.username).where(User.id == last.user_id))
        who = f" (last change: {last.action} by {name or 'the system'} at " \
              f"{last.at:%Y-%m-%d %H:%M:%S} UTC)"
    raise StaleClaim(f"The claim of note {note.id} changed since this page was loaded{who}; "
                     "nothing was changed. Reload the note and decide again.")


def _line(db: Session, line_id: int) -> CodeLineRow:
    line = db.get(CodeLineRow, line_id)
    if line is None:
        raise NotFound(f"No code line {line_id}.")
    if line.version != line.note.version:
        raise ReviewError("That line belongs to an earlier coding of the note.")
    _editable(line.note)
    return line


def _modifiers(raw: list[str] | str | None) -> list[str]:
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
    cleaned = [m.strip().lstrip("-").upper() for m in items if m.strip()]
    for modifier in cleaned:
        if not (len(modifier) == 2 and modifier.isalnum()):
            raise ReviewError(f"'{modifier}' is not a modifier (two letters or digits).")
    return cleaned


def _edit(line: CodeLineRow, code: str | None, units: int | None,
          modifiers: list[str] | str | None, confirmed: bool, code_set: CodeSetKey) -> None:
    """Change a line's code, units or modifiers (each only when given), checked."""
    new_code = (code or line.code).strip().upper()
    new_units = units if units is not None else line.units
    check_units(line.system, new_units)
    if units is not None or new_code != line.code:
        check_mue(line.system, new_code, new_units)
    if new_code != line.code or confirmed:
        line.flag = check_code(line.system, new_code, confirmed, code_set)
    line.code, line.units = new_code, new_units
    line.modifiers = _modifiers(modifiers) if modifiers is not None else line.modifiers
    line.status = LineStatus.EDITED


def check_mue(system: str, code: str, units: int | None) -> None:
    """Units the coder types stay within the code's MUE (most units a day, CMS)."""
    limit = explain.mue(system, code)
    if units is not None and limit is not None and units > limit:
        raise InvalidCode(f"{system} {code} allows at most {limit} unit(s) a day (CMS "
                          f"practitioner MUE); {units} is more. Nothing was changed.")


def decide_line(db: Session, user: User, line_id: int, action: str, reason: str = "",
                code: str | None = None, units: int | None = None,
                modifiers: list[str] | str | None = None,
                revision: int | None = None, confirmed: bool = False,
                code_set: CodeSetKey = DEFAULT_CODE_SET) -> CodeLineRow:
    """Accept, reject (with a reason) or edit (code, units, modifiers) one suggested line;
    `revision` is the claim revision the coder's page showed (stale: StaleClaim). Accepting
    an edited line keeps it edited, with its reason; an edit to a code the engine does not
    know needs `confirmed` and flags the line (`review.codes`)."""
    line = _line(db, line_id)
    before = _line_view(line)
    shown = [i for i in claim_issues(db, line.note, code_set)
             if i.line_id == line.id and i.open and i.can_acknowledge]
    reason = reason.strip()[:500]
    if action == "accept":
        if line.status != LineStatus.EDITED:
            line.status = LineStatus.ACCEPTED
        reason = reason or line.reason or ""
    elif action == "reject":
        if not reason:
            raise ReviewError("A rejection needs a reason.")
        line.status = LineStatus.REJECTED
    elif action == "edit":
        _edit(line, code, units, modifiers, confirmed, code_set)
    else:
        raise ReviewError(f"Unknown action '{action}'.")
    claim_change(db, line.note, revision)
    line.reason = reason or None
    line.decided_by, line.decided_at = user.id, utcnow()
    audit(db, user.id, f"line.{action}", note_id=line.note_id, target=f"line {line.id}",
          before=before, after=_line_view(line))
    if action in ("accept", "edit"):  # decided with its warnings shown beside it
        for issue in shown:
            _audit_ack(db, user, line.note, issue, f"line {line.id}")
    if action == "edit" and line.flag and confirmed:  # the coder kept an unknown code
        _audit_ack(db, user, line.note, claim_check.Issue(f"flag:{line.id}", "flag", ""),
                   f"line {line.id}")
    return line


def _audit_ack(db: Session, user: User, note: Note, issue: claim_check.Issue,
               target: str) -> None:
    audit(db, user.id, claim_check.ACK_ACTION, note_id=note.id, target=target[:64],
          after={"key": issue.key, "kind": issue.kind, "version": note.version})


def acknowledged_keys(db: Session, note: Note) -> set[str]:
    """The issue keys acknowledged on the note (from its audit trail)."""
    events = db.scalars(select(AuditEvent).where(
        AuditEvent.note_id == note.id, AuditEvent.action == claim_check.ACK_ACTION))
    return {str((e.after or {}).get("key")) for e in events}


def _validator_flags(lines: list[CodeLineRow], code_set: CodeSetKey) -> dict[int, str]:
    """Engine lines whose code the validator does not accept (a line's own flag aside)."""
    flags = {}
    for line in lines:
        if line.flag or line.status in (LineStatus.EDITED, LineStatus.ADDED):
            continue
        try:
            check_code(line.system, line.code, False, code_set)
        except InvalidCode as exc:
            flags[line.id] = f"Not a code the claim can hold as it is: {exc}"
    return flags


def claim_issues(db: Session, note: Note, code_set: CodeSetKey = DEFAULT_CODE_SET
                 ) -> list[claim_check.Issue]:
    """Every issue of the note's claim (`review.claim_check`), acknowledged or not."""
    lines = current_lines(db, note)
    return claim_check.issues(note, lines, current_queries(db, note),
                              acknowledged_keys(db, note), _validator_flags(lines, code_set))


def acknowledge(db: Session, user: User, note_id: int, key: str, revision: int | None = None,
                code_set: CodeSetKey = DEFAULT_CODE_SET) -> claim_check.Issue:
    """The coder acknowledges one warning, flagged code or open query (audited)."""
    note = get_note(db, note_id)
    _editable(note)
    issue = next((i for i in claim_issues(db, note, code_set) if i.key == key), None)
    if issue is None:
        raise NotFound("No such warning, flag or query on this claim.")
    if not issue.can_acknowledge:
        raise ReviewError(issue.text)
    claim_change(db, note, revision)
    if not issue.acknowledged:
        _audit_ack(db, user, note, issue, f"note {note.id}")
        issue.acknowledged = True
    return issue


def accept_remaining(db: Session, user: User, note_id: int, revision: int | None = None,
                     code_set: CodeSetKey = DEFAULT_CODE_SET) -> tuple[list[CodeLineRow], int]:
    """Accept every line still suggested that has no open issue beside it; lines with a
    warning, a flag or unknown units are left for the coder. (accepted, left)."""
    note = get_note(db, note_id)
    _editable(note)
    claim_change(db, note, revision)
    held = {i.line_id for i in claim_issues(db, note, code_set) if i.open and i.line_id}
    accepted, left = [], 0
    for line in current_lines(db, note):
        if line.status != LineStatus.SUGGESTED:
            continue
        if line.id in held:
            left += 1
            continue
        before = _line_view(line)
        line.status, line.decided_by, line.decided_at = LineStatus.ACCEPTED, user.id, utcnow()
        audit(db, user.id, "line.accept", note_id=note.id, target=f"line {line.id}",
              before=before, after={**_line_view(line), "bulk": True})
        accepted.append(line)
    return accepted, left


def next_note(db: Session, note_id: int) -> int | None:
    """The next note waiting for a coder after this one (by id, wrapping round)."""
    waiting = select(Note.id).where(Note.status.in_(EDITABLE), Note.id != note_id)
    later = db.scalar(waiting.where(Note.id > note_id).order_by(Note.id).limit(1))
    return later if later is not None else db.scalar(waiting.order_by(Note.id).limit(1))


def add_line(db: Session, user: User, note_id: int, system: str, code: str,
             units: int | None, modifiers: list[str] | str | None, reason: str,
             revision: int | None = None, confirmed: bool = False,
             code_set: CodeSetKey = DEFAULT_CODE_SET,
             evidence: list[dict] | None = None) -> CodeLineRow:
    """A code the coder adds by hand (no engine rule; the reason is required; a code the
    engine does not know needs `confirmed` and is flagged); `evidence` is the note text
    the coder selected for it (spans inside the note)."""
    note = get_note(db, note_id)
    _editable(note)
    code = code.strip().upper()
    flag = check_code(system, code, confirmed, code_set)
    check_units(system, units)
    check_mue(system, code, units)
    spans = [{"start": int(s["start"]), "end": int(s["end"])} for s in evidence or []]
    if any(not 0 <= s["start"] < s["end"] <= len(note.text) for s in spans):
        raise ReviewError("The selected evidence lies outside the note.")
    if not reason.strip():
        raise ReviewError("A code added by hand needs a reason.")
    claim_change(db, note, revision)
    position = (db.scalar(select(func.max(CodeLineRow.position)).where(
        CodeLineRow.note_id == note.id, CodeLineRow.version == note.version)) or 0) + 1
    line = CodeLineRow(note_id=note.id, version=note.version, position=position, system=system,
                       code=code, units=units, modifiers=_modifiers(modifiers),
                       rule="MANUAL", rationale="Added by the coder.", evidence=spans[:20],
                       status=LineStatus.ADDED, reason=reason.strip()[:500],
                       decided_by=user.id, decided_at=utcnow(), flag=flag)
    db.add(line)
    db.flush()
    audit(db, user.id, "line.add", note_id=note.id, target=f"line {line.id}",
          after=_line_view(line))
    if flag:  # kept on the coder's confirmation: that is its acknowledgement
        _audit_ack(db, user, note, claim_check.Issue(f"flag:{line.id}", "flag", ""),
                   f"line {line.id}")
    return line


def finalise(db: Session, user: User, note_id: int, revision: int | None = None,
             code_set: CodeSetKey = DEFAULT_CODE_SET) -> Note:
    """Close the claim: every suggested line must have been accepted, edited or rejected."""
    note = get_note(db, note_id)
    _editable(note)
    claim_change(db, note, revision)  # first: a decision racing this finalise is refused
    lines = current_lines(db, note)
    open_lines = [x for x in lines if x.status == LineStatus.SUGGESTED]
    if open_lines:
        raise ReviewError(f"{len(open_lines)} code line(s) still need a decision.")
    no_units = [x.code for x in lines if x.status in FINAL_LINE
                and x.system != "ICD-10-CM" and x.units is None]
    if no_units:
        raise ReviewError(f"{', '.join(no_units)}: units unknown. Edit the line with the "
                          "units given, or reject it, before finalising.")
    if open_issues := claim_check.blocking(claim_issues(db, note, code_set)):
        raise ReviewError(f"{len(open_issues)} warning(s), flag(s) or open CDI queries need "
                          "acknowledging first: " + " ".join(
                              f"({n}) {i.text}" for n, i in enumerate(open_issues, 1))[:1500])
    before = {"status": note.status}
    note.status, note.finalised_by, note.finalised_at = NoteStatus.FINAL, user.id, utcnow()
    audit(db, user.id, "note.finalise", note_id=note.id,
          before=before, after={"status": NoteStatus.FINAL})
    return note


def final_claims(db: Session) -> list[dict]:
    """Every finalised claim's billed lines (accepted, edited, added), one row a line."""
    rows = []
    notes = db.scalars(select(Note).where(Note.status == NoteStatus.FINAL).order_by(Note.id))
    for note in notes:
        for line in current_lines(db, note):
            if line.status in FINAL_LINE:
                rows.append({"note_id": note.id, "label": note.label, "setting": note.setting,
                             "finalised_at": note.finalised_at.isoformat()
                             if note.finalised_at else "",
                             "system": line.system, "code": line.code,
                             "units": line.units, "modifiers": list(line.modifiers),
                             "status": line.status, "rule": line.rule,
                             "flag": line.flag})
    return rows


def export_claims(db: Session, fmt: str) -> str:
    """Final claims as CSV or JSON text. JSON keeps the CLI contract's types (units an
    integer or null, modifiers a list); CSV writes them as text ("" and "25 59")."""
    rows = final_claims(db)
    if fmt == "json":
        return json.dumps(rows, indent=1)
    out = io.StringIO()
    fields = ["note_id", "label", "setting", "finalised_at", "system", "code", "units",
              "modifiers", "status", "rule", "flag"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    writer.writerows({key: csv_cell(_csv_text(value)) for key, value in row.items()}
                     for row in rows)
    return out.getvalue()


def _csv_text(value: object) -> object:
    """A CSV cell of a JSON value: None empty, a list its items joined by spaces."""
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else value


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @, a tab
    or a carriage return gets a leading apostrophe (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return "'" + value
    return value


# --- CDI ----------------------------------------------------------------------------------


def inbox(db: Session) -> list[QueryRow]:
    """Open queries of every note's current version, oldest first."""
    return [q for q in db.scalars(select(QueryRow).where(
        QueryRow.status.in_([QueryStatus.SUGGESTED, QueryStatus.SENT])).order_by(QueryRow.id))
        if q.version == q.note.version]


def withdraw_query(db: Session, user: User, query_id: int, reason: str = "") -> QueryRow:
    """The specialist takes back an open query (audited): it leaves the inbox and no
    longer blocks finalise."""
    query = _query(db, query_id)
    if query.status not in (QueryStatus.SUGGESTED, QueryStatus.SENT):
        raise ReviewError(f"Query {query_id} is {query.status}; only an open query can be "
                          "withdrawn.")
    before = _query_view(query)
    query.status = QueryStatus.WITHDRAWN
    audit(db, user.id, "query.withdraw", note_id=query.note_id, target=f"query {query.id}",
          before=before, after={**_query_view(query), "reason": reason.strip()[:500]})
    return query


def _query(db: Session, query_id: int) -> QueryRow:
    query = db.get(QueryRow, query_id)
    if query is None or query.version != query.note.version:
        raise NotFound(f"No open query {query_id}.")
    return query


def send_query(db: Session, user: User, query_id: int, question: str) -> QueryRow:
    """The specialist's wording of the query, sent to the provider."""
    query = _query(db, query_id)
    if query.status not in (QueryStatus.SUGGESTED, QueryStatus.SENT):
        raise ReviewError(f"Query {query_id} is {query.status}.")
    if not question.strip():
        raise ReviewError("The query needs a question.")
    from engine.cdi_rules import NON_COMPLIANT_WORDS

    if found := NON_COMPLIANT_WORDS.search(question):
        raise ReviewError(f"A compliant query does not mention payment, billing or codes "
                          f"('{found.group(0)}'); reword it.")
    before = _query_view(query)
    query.question = question.strip()[:2000]
    query.status, query.sent_by, query.sent_at = QueryStatus.SENT, user.id, utcnow()
    audit(db, user.id, "query.send", note_id=query.note_id, target=f"query {query.id}",
          before=before, after=_query_view(query))
    return query


def answer_query(db: Session, user: User, query_id: int, answer: str) -> Note:
    """Record the provider's answer as an addendum to the note and queue a re-coding.

    The answer becomes documentation (an addendum at the end of the note), so the re-coded
    facts and their evidence come from the amended note like any other text. The caller
    enqueues the coding job for the note's new version.
    """
    query = _query(db, query_id)
    if query.status != QueryStatus.SENT:
        raise ReviewError("Only a sent query can be answered; send it first.")
    if not answer.strip():
        raise ReviewError("The answer is empty.")
    note = query.note
    before = _query_view(query)
    query.answer = answer.strip()[:2000]
    query.status, query.answered_by, query.answered_at = (QueryStatus.ANSWERED, user.id,
                                                          utcnow())
    audit(db, user.id, "query.answer", note_id=note.id, target=f"query {query.id}",
          before=before, after=_query_view(query))
    _recode_with(db, user, note, f"provider answer to CDI query {query.rule}", query.answer)
    return note


def add_addendum(db: Session, user: User, note_id: int, text: str, max_bytes: int) -> Note:
    """Record a provider's addendum to a coded, re-reviewed or final note and queue a
    re-coding (a diff: `review.recode`). The caller enqueues the coding job."""
    note = get_note(db, note_id)
    if note.status not in (*EDITABLE, NoteStatus.FINAL):
        raise ReviewError(f"Note {note.id} is {note.status}; an addendum can be added to a "
                          "coded or final note.")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ReviewError("The addendum is empty.")
    _recode_with(db, user, note, "provider addendum", text)
    from notecoder.notes import decode_note

    decode_note(note.text.encode("utf-8"), max_bytes)  # the amended note within the limits
    audit(db, user.id, "note.addendum", note_id=note.id,
          after={"characters": len(text), "version": note.version})
    return note


def addendum_text(note_text: str, day: str, source: str, body: str) -> str:
    """The note with new documentation appended. The header names the day, never a clock
    time: the reader would take a time there for an administration's (issue 14)."""
    return f"{note_text.rstrip()}\n\nAddendum ({day}, {source}): {body}\n"


def _recode_with(db: Session, user: User, note: Note, source: str, body: str) -> None:
    """Append documentation to the note and make it a new version waiting for the worker;
    the previous version's lines and decisions stay (the re-coding diffs against them)."""
    note.text = addendum_text(note.text, f"{utcnow():%Y-%m-%d}", source, body)
    old_version = note.version
    note.version += 1
    note.status, note.result, note.coded_at = NoteStatus.QUEUED, None, None
    note.reading_attempts = 0
    audit(db, user.id, "note.recode", note_id=note.id,
          before={"version": old_version}, after={"version": note.version})


def audit_trail(db: Session, note_id: int) -> list:
    from review.db import AuditEvent

    return list(db.scalars(select(AuditEvent).where(AuditEvent.note_id == note_id)
                           .order_by(AuditEvent.id)))
