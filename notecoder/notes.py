"""Reading notes safely: size limit, binary and encoding checks, one clear error each."""

from __future__ import annotations

from pathlib import PurePath

from notecoder.errors import EmptyNote, NoteTooLarge, NotText

_CONTROL_OK = {"\n", "\r", "\t", "\f"}
# What a directory, a glob or a zip archive holds that is a note: plain text files (any case).
NOTE_SUFFIXES = (".txt",)


def is_note_name(name: str) -> bool:
    """Whether a file name found in a directory, glob or archive names a note file."""
    return PurePath(name).suffix.lower() in NOTE_SUFFIXES


def too_large_message(size: int, max_bytes: int) -> str:
    return (f"The note is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            "(setting NOTECODER_MAX_NOTE_BYTES).")


def decode_note(data: bytes, max_bytes: int, size: int | None = None) -> str:
    """Note bytes -> text, or a typed error that names the problem (never the content).

    `size` is the note's real size when `data` was cut short at `max_bytes + 1` bytes.
    """
    if len(data) > max_bytes:
        raise NoteTooLarge(too_large_message(max(size or 0, len(data)), max_bytes))
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # A UTF-16 file with its byte-order mark (Windows "Unicode" text): read it.
        try:
            decoded = data.decode("utf-16")
        except UnicodeDecodeError:
            decoded = ""
        letters = [ch for ch in decoded if not ch.isspace()]
        latin = sum(1 for ch in letters if ord(ch) < 0x250)
        if not letters or latin < 0.7 * len(letters):  # random bytes after a lookalike mark
            raise NotText("The note starts like UTF-16 text but is not readable UTF-16; "
                          "convert it to UTF-8 and try again.")
        data = decoded.encode("utf-8")
    if b"\x00" in data:
        raise NotText("The note contains binary data (NUL bytes), not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(
            f"The note is not valid UTF-8 (first bad byte at offset {exc.start}); "
            "convert it to UTF-8 and try again."
        ) from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in _CONTROL_OK)
    if controls > max(8, len(text) // 100):
        raise NotText("The note looks like binary data (too many control characters), not text.")
    if not text.strip():
        raise EmptyNote("The note is empty or contains only whitespace.")
    return text
