"""A test HTTP server run on a thread for the length of a fixture."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import BaseServer


@contextmanager
def serving(srv: BaseServer, before_stop: Callable[[], None] | None = None) -> Iterator[None]:
    """Serve `srv` on a daemon thread; on exit run `before_stop`, shut it down and check the
    thread stopped."""
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        if before_stop is not None:
            before_stop()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the test server did not stop"
