"""Files that hold PHI or secrets (the review database, the job queue, the LLM cache, the
server secret) are readable by their owner only: directories 0700, files 0600.

New files are created private (`private_dir`, `private_sqlite_file`, under a 077 umask);
`tighten` checks an existing path at start and removes group/other permissions, or raises
`UnsafePermissions` when it cannot (the file belongs to someone else).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from notecoder.errors import NotecoderError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite's own files beside a database: write-ahead log, shared memory, rollback journal.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class UnsafePermissions(NotecoderError):
    """A file or directory holding PHI is open to other users and cannot be made private."""


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and directories created inside are private to the owner (umask 077)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def private_dir(path: Path) -> Path:
    """Make `path` (mode 0700 when it is created here; its parents as the umask says)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_umask():
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 unless it exists (its directory too, 0700)."""
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        with private_umask():
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        pass
    return path


def private_sqlite_file(path: Path) -> Path:
    """Create an SQLite database file 0600 before SQLite does (an empty file is a valid,
    empty database); SQLite gives its -wal, -shm and -journal files the same mode."""
    return private_file(path)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL, or None (another database, or in memory)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tighten(path: Path, private_mode: int) -> str | None:
    """Remove group/other permissions of an existing `path`; a notice when it changed it.

    Raises `UnsafePermissions` when the mode cannot be changed (someone else owns it).
    """
    try:
        mode = mode_of(path)
    except FileNotFoundError:
        return None
    if not mode & 0o077:
        return None
    new_mode = mode & private_mode
    try:
        os.chmod(path, new_mode)
    except OSError:
        raise UnsafePermissions(
            f"'{path}' holds PHI and is open to other users (mode {mode:04o}), and its mode "
            f"cannot be changed; run `chmod {private_mode:o} {path}` as its owner.") from None
    return f"'{path}' was open to other users (mode {mode:04o}); it is now {new_mode:04o}."


def tighten_sqlite(path: Path) -> list[str]:
    """Tighten a database file and its SQLite companions; the notices of what changed."""
    notices = [tighten(path, PRIVATE_FILE)]
    notices += [tighten(path.with_name(path.name + suffix), PRIVATE_FILE)
                for suffix in SQLITE_COMPANIONS]
    return [n for n in notices if n]
