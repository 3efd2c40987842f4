"""One worker process's readings: shared by default, exclusive for a suspect note.

A note whose reading was started before without finishing (its worker died while reading
it) may be the cause: it is read alone in its process (`guard(True)` waits for the other
readings to end and holds new ones back), so that if it kills the worker again no other
note's reading is cut short and counted against that note (`service.MAX_READINGS`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadingGuard:
    """A readers-writer lock with waiting writers first: `with guard(alone): ...`."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._shared = 0
        self._alone = False
        self._waiting_alone = 0

    @contextmanager
    def __call__(self, alone: bool) -> Iterator[None]:
        with self._changed:
            if alone:
                self._waiting_alone += 1
                self._changed.wait_for(lambda: not self._alone and self._shared == 0)
                self._waiting_alone -= 1
                self._alone = True
            else:
                self._changed.wait_for(lambda: not self._alone and not self._waiting_alone)
                self._shared += 1
        try:
            yield
        finally:
            with self._changed:
                if alone:
                    self._alone = False
                else:
                    self._shared -= 1
                self._changed.notify_all()
