"""Issue 13: a note's reading and the store of its result happen under the same reading
guard. Were the store outside it, a suspect note waiting for the guard could kill the
worker between another note's reading and its store: that note's reading would be counted
with nothing stored, and after `service.MAX_READINGS` such deaths it would be failed
beside the note that was really to blame (seen in CI: two notes failed, not one)."""

from contextlib import contextmanager
from pathlib import Path

from review import service
from review.db import Note, NoteStatus, Role, User, engine_for, session_factory, upgrade
from review.reading_guard import ReadingGuard
from review.users import add_user

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "datasets" / "examples" / "g1_ceftriaxone.txt").read_text()


def _queued_note(url: str) -> tuple[int, int]:
    user_id = add_user(url, "coder1", Role.CODER, "a long enough password")
    with session_factory(url)() as db, db.begin():
        note = service.submit_note(db, db.get(User, user_id), TEXT, "n", "facility",
                                   "official", 10**6)
        return note.id, note.version


def test_the_result_is_stored_while_the_reading_still_holds_the_guard(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'notecoder.db'}"
    upgrade(url)
    note_id, version = _queued_note(url)
    guard, held, seen = ReadingGuard(), [], []

    @contextmanager
    def watched(alone: bool):
        with guard(alone):
            held.append(alone)
            try:
                yield
            finally:
                held.pop()

    store = service._store_result

    def storing(*args, **kwargs):
        seen.append(list(held))
        return store(*args, **kwargs)

    monkeypatch.setattr(service, "_store_result", storing)
    assert service.code_queued_note(url, note_id, version, guard=watched) == "coded"
    assert seen == [[False]]  # stored once, inside the (shared) reading's guard
    with session_factory(url)() as db:
        note = db.get(Note, note_id)
        assert (note.status, note.reading_attempts) == (NoteStatus.CODED, 1)
    engine_for(url).dispose()
