"""`notecoder` with faults injected into the coding of marked notes, for the fault suite:

    FAULTS_EXIT_READING=TEXT FAULTS_EXIT_STORED=TEXT FAULTS_RAISE_READING=TEXT \\
    [FAULTS_ONCE_DIR=DIR] python -m bench.faults.worker worker --id ID

- `FAULTS_EXIT_READING`: while reading a note whose text holds TEXT the process dies on the
  spot (os._exit(137), as a segfault or the kernel's OOM killer would end it: no clean-up,
  no Python exception), before anything is stored;
- `FAULTS_EXIT_STORED`: the same, just after the job stored its result for such a note and
  before the job queue recorded the job as done (the window a re-run must not code twice);
- `FAULTS_RAISE_READING`: reading such a note raises a RuntimeError whose message holds
  the note's text (a bug).
With `FAULTS_ONCE_DIR` each fault happens once (a flag file in DIR is made just before), so
the restarted worker codes the note; without it every attempt dies (a note that always
kills its worker). Everything else is the real `notecoder` command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _fires(kind: str, text: str) -> bool:
    trigger = os.environ.get(f"FAULTS_{kind}")
    if not trigger or trigger not in text:
        return False
    once = os.environ.get("FAULTS_ONCE_DIR")
    if once:
        flag = Path(once) / kind.lower()
        if flag.exists():
            return False
        flag.touch()
    return True


def _install() -> None:
    from notecoder import pipeline
    from review import service
    from review.db import Note, session_factory

    read, store = pipeline.code_note, service.code_queued_note

    def code_note(text: str, *args, **kwargs):
        if _fires("EXIT_READING", text):
            os._exit(137)
        if _fires("RAISE_READING", text):
            raise RuntimeError(f"injected fault while coding {text[:80]!r}")
        return read(text, *args, **kwargs)

    def code_queued_note(db_url: str, note_id: int, version: int, *args, **kwargs) -> str:
        done = store(db_url, note_id, version, *args, **kwargs)
        with session_factory(db_url)() as db:
            text = db.get(Note, note_id).text
        if _fires("EXIT_STORED", text):
            os._exit(137)
        return done

    pipeline.code_note, service.code_queued_note = code_note, code_queued_note


def main() -> int:
    _install()
    from notecoder.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
