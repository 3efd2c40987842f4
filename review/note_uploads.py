"""Notes from files uploaded on the queue page: plain-text notes and zip archives of them.

Every file, and every note inside an archive, gets its own result: a note to queue, or one
sentence saying why it was not read. One bad file or member never loses the others.

An archive is read defensively, since its headers are the sender's word:
- a member's size is counted while it is inflated (a header that understates it ends in
  a checksum error; a zip bomb stops at the per-note limit, `max_note_bytes`), and so is
  the archive's unpacked total (`max_unzipped_bytes`);
- the number of files it holds is read before its directory is loaded (`max_zip_notes`);
- only stored and deflated members are read: Python inflates bzip2 and LZMA members
  without an output bound, so one small member could fill the memory;
- names with `..` or an absolute path are refused, archives inside the archive are not
  opened, and only `.txt` members are notes (as `notecoder code DIR` does); folders,
  hidden files and macOS metadata (`__MACOSX/`, `._name`) are passed over without a result.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from notecoder.errors import NotecoderError
from notecoder.notes import NOTE_SUFFIXES, decode_note, is_note_name

CHUNK = 64 * 1024  # bytes inflated per read
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
ARCHIVE_SUFFIX = ".zip"


@dataclass(frozen=True)
class UploadLimits:
    note_bytes: int  # one note (a file, or a member once unpacked)
    zip_notes: int  # files one archive may hold
    unzipped_bytes: int  # every member of one archive, unpacked


@dataclass(frozen=True)
class UploadedNote:
    """A note read from an upload; `name` is its file name ("day.zip: visit.txt")."""

    name: str
    text: str


@dataclass(frozen=True)
class UploadProblem:
    """A file or archive member that was not read, and why, in one sentence."""

    name: str
    message: str


Result = UploadedNote | UploadProblem


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIX)


def notes_from_file(name: str, file: BinaryIO, size: int | None,
                    limits: UploadLimits) -> list[Result]:
    """The notes in one uploaded file (`size`: its real size, when known): one result for a
    note file, one per member for a zip archive."""
    if is_archive(name):
        return list(_notes_from_archive(name, file, limits))
    try:
        return [UploadedNote(name, decode_note(file.read(limits.note_bytes + 1),
                                               limits.note_bytes, size))]
    except NotecoderError as exc:
        return [UploadProblem(name, str(exc))]


def _notes_from_archive(archive: str, file: BinaryIO, limits: UploadLimits) -> Iterator[Result]:
    held = _entries_declared(file)
    if held is not None and held > limits.zip_notes:
        yield _too_many(archive, held, limits)
        return
    try:
        with zipfile.ZipFile(file) as zipped:
            members = zipped.infolist()
            if len(members) > limits.zip_notes:  # the end record may understate it
                yield _too_many(archive, len(members), limits)
                return
            notes = [m for m in members if not _passed_over(m)]
            unpacked = 0
            for number, info in enumerate(notes):
                if unpacked >= limits.unzipped_bytes:
                    yield UploadProblem(archive, f"The archive unpacks to more than "
                                        f"{limits.unzipped_bytes:,} bytes (setting "
                                        "NOTECODER_MAX_UNZIPPED_BYTES); its last "
                                        f"{len(notes) - number:,} file(s) were not read.")
                    return
                result, inflated = _member(zipped, info, f"{archive}: {info.filename}",
                                           limits, limits.unzipped_bytes - unpacked)
                unpacked += inflated
                yield result
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        yield UploadProblem(archive, "The file is not a readable zip archive (it is damaged "
                            "or not a zip file); none of it was read.")


def _too_many(archive: str, held: int, limits: UploadLimits) -> UploadProblem:
    return UploadProblem(archive, f"The archive holds {held:,} files, over the limit of "
                         f"{limits.zip_notes:,} (setting NOTECODER_MAX_ZIP_NOTES); none was "
                         "read. Upload it in smaller archives.")


def _entries_declared(file: BinaryIO) -> int | None:
    """How many files the archive's end record says it holds, read before `ZipFile` loads
    the whole directory into memory (a crafted archive of millions of tiny entries)."""
    try:
        record = zipfile._EndRecData(file)  # the stdlib's own end-record reader
    except (AttributeError, OSError, ValueError):  # pragma: no cover - another Python
        return None
    finally:
        file.seek(0)
    return record[zipfile._ECD_ENTRIES_TOTAL] if record else None


def _passed_over(info: zipfile.ZipInfo) -> bool:
    """Folders, hidden files and macOS metadata: not notes, and not worth a sentence."""
    parts = _parts(info.filename)
    return info.is_dir() or not parts or parts[0] == "__MACOSX" or any(
        part.startswith(".") and part != ".." for part in parts)


def _parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\\/]", name) if p not in ("", ".")]


def _refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not read before any of it is inflated, or None."""
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "The file has an absolute path in the archive; it was not read."
    if ".." in _parts(name):
        return "The file's path in the archive goes up a folder ('..'); it was not read."
    if PurePosixPath(name.replace("\\", "/")).suffix.lower() == ARCHIVE_SUFFIX:
        return ("The file is an archive inside the archive; it was not opened (unzip it and "
                "upload its notes).")
    if not is_note_name(name):
        return (f"The file is not a note file ({', '.join(NOTE_SUFFIXES)}); it was not read.")
    if info.flag_bits & 0x1:
        return "The file is encrypted (password-protected); it was not read."
    if info.compress_type not in READABLE_METHODS:
        return ("The file is compressed with a method that is not read here (only stored or "
                "deflate, the usual zip compression); re-zip it and try again.")
    return None


def _member(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: UploadLimits,
            left: int) -> tuple[Result, int]:
    """One member's result, and how many bytes were inflated for it (`left`: what the
    archive's unpacked total still allows)."""
    refused = _refusal(info)
    if refused:
        return UploadProblem(name, refused), 0
    cap = min(limits.note_bytes, left)
    try:
        data = _inflate(zipped, info, cap)
    except _Unreadable as exc:
        return UploadProblem(name, str(exc)), 0
    if len(data) > cap and cap < limits.note_bytes:
        return UploadProblem(name, f"The archive unpacks to more than "
                             f"{limits.unzipped_bytes:,} bytes (setting "
                             "NOTECODER_MAX_UNZIPPED_BYTES); this file was not read."), len(data)
    if len(data) > cap:
        return UploadProblem(name, f"The file unpacks to more than {limits.note_bytes:,} "
                             "bytes, the limit for one note (setting NOTECODER_MAX_NOTE_BYTES); "
                             "it was not read."), len(data)
    try:
        return UploadedNote(name, decode_note(data, limits.note_bytes)), len(data)
    except NotecoderError as exc:
        return UploadProblem(name, str(exc)), len(data)


class _Unreadable(Exception):
    """A member that cannot be inflated; the message says why."""


def _inflate(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, inflated no further than `cap` + 1 bytes whatever its header
    declares (more than `cap` bytes back: the member is over the limit)."""
    data = bytearray()
    try:
        with zipped.open(info) as member:
            while len(data) <= cap and (chunk := member.read(CHUNK)):
                data += chunk
    except zipfile.BadZipFile:
        raise _Unreadable("The file is damaged in the archive (its size or checksum does not "
                          "match its header); it was not read.") from None
    except (NotImplementedError, RuntimeError, OSError, EOFError):
        raise _Unreadable("The file could not be unpacked; it was not read.") from None
    return bytes(data)
