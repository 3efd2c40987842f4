"""A per-note time budget for the offline reader (issue 13: one note never stalls coding).

`time_budget(seconds)` sets a deadline for the note being read on this thread (a context
variable, so notes read on other threads keep their own); the reader's per-line and
per-sentence loops call `check_budget()`, which raises `NoteTimeBudgetExceeded` past it.
The job then ends failed with that reason instead of running for hours.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from notecoder.errors import NoteTimeBudgetExceeded

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("note_deadline", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Read a note within `seconds` of CPU-bound work (None: no budget)."""
    token = _DEADLINE.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_budget() -> None:
    """Raise `NoteTimeBudgetExceeded` when the current note is past its deadline."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise NoteTimeBudgetExceeded(
            f"The note was not read within its time budget of {deadline[1]:g} s (setting "
            "NOTECODER_NOTE_TIME_BUDGET_SECONDS); nothing was coded from it."
        )
