"""The conditions the fault suite puts a worker in: a write lock held by another connection,
files it may not write (even as root), a file size limit (`ulimit -f`) with the WAL
already past it (a full disk, for this process)."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

PR_CAPBSET_DROP = 24
# The capabilities that let root ignore file modes: DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER.
FILE_MODE_CAPABILITIES = (1, 2, 3)


class WriteLock:
    """Another connection holding an SQLite database's write lock (`BEGIN EXCLUSIVE`)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=10,
                                          check_same_thread=False)

    def __enter__(self) -> WriteLock:
        self.connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def obey_file_modes() -> Callable[[], None] | None:
    """A `preexec_fn` under which a child started by root is refused what the file modes
    refuse (the capabilities that bypass them are dropped from its bounding set, so they
    are gone after exec); None when not root (modes apply anyway)."""
    if os.geteuid() != 0:
        return None

    def drop() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in FILE_MODE_CAPABILITIES:
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                os.write(2, b"fault suite: cannot drop root's file capabilities\n")
                os._exit(99)

    return drop


def file_size_limit(limit: int) -> Callable[[], None]:
    """A `preexec_fn`: no file may grow past `limit` bytes (`ulimit -f`), and SIGXFSZ is
    ignored so that a write past it fails with EFBIG instead of killing the process."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


class WalPastLimit:
    """Grow an SQLite database's write-ahead log past `size` bytes and keep it there (an
    open read transaction stops it being checkpointed and rewound), so that a process
    limited to fewer bytes per file cannot append to it: its disk is full. `release()`
    gives the space back (the log is checkpointed and truncated to nothing)."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.writer = sqlite3.connect(path, isolation_level=None)
        self.writer.execute("PRAGMA wal_autocheckpoint=0")
        self.writer.execute("CREATE TABLE IF NOT EXISTS fault_ballast (x BLOB)")
        self.writer.execute("INSERT INTO fault_ballast VALUES (zeroblob(4096))")
        self.reader = sqlite3.connect(path, isolation_level=None)
        self.reader.execute("BEGIN")
        self.reader.execute("SELECT count(*) FROM fault_ballast").fetchall()
        wal = path.with_name(path.name + "-wal")
        while wal.stat().st_size <= size:
            self.writer.execute("INSERT INTO fault_ballast VALUES (zeroblob(262144))")
        self.writer.execute("DELETE FROM fault_ballast")

    def release(self) -> None:
        self.reader.execute("ROLLBACK")
        self.reader.close()
        self.writer.execute("DROP TABLE fault_ballast")
        self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.writer.close()
