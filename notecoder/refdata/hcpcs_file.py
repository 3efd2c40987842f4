"""Read the CMS HCPCS Level II alpha-numeric file (fixed width, 320 characters a record).

Layout (`HCPC<year>_recordlayout.txt`): code cols 1-5, record id col 11 (3 = first line
of a procedure, 4 = continuation of its long description), long description 12-91,
BETOS 257-259, added 269-276, termination date 285-292, action code 293. The reader takes
the `.txt` or the CMS zip that holds it.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from notecoder.errors import NotecoderError


class InvalidHcpcsFile(NotecoderError):
    """The file is not a CMS HCPCS (or ASP) file this reader understands."""


@dataclass(frozen=True)
class HcpcsRecord:
    """One procedure code of the CMS file, long description joined."""

    code: str
    description: str
    betos: str
    added: dt.date | None
    terminated: dt.date | None
    action: str

    def active_on(self, day: dt.date) -> bool:
        """True unless the code was terminated before `day`."""
        return self.terminated is None or self.terminated >= day


def _date(field: str) -> dt.date | None:
    field = field.strip()
    if len(field) != 8 or not field.isdigit():
        return None
    return dt.date(int(field[:4]), int(field[4:6]), int(field[6:]))


def parse_hcpcs_lines(lines) -> list[HcpcsRecord]:
    """Procedure records (record ids 3 and 4) of the fixed-width file, in file order."""
    firsts: dict[str, list[str]] = {}
    meta: dict[str, tuple[str, dt.date | None, dt.date | None, str]] = {}
    for line in lines:
        line = line.rstrip("\r\n")
        if len(line) < 91:
            continue
        code, record = line[:5].strip(), line[10]
        if record == "3":
            firsts[code] = [line[11:91].strip()]
            meta[code] = (line[256:259].strip(), _date(line[268:276]), _date(line[284:292]),
                          line[292:293].strip())
        elif record == "4" and code in firsts:
            firsts[code].append(line[11:91].strip())
    if not firsts:
        raise InvalidHcpcsFile(
            "No procedure records (record id 3 in column 11); expected the CMS HCPCS "
            "alpha-numeric file (fixed width) or its zip.")
    return [HcpcsRecord(code, " ".join(p for p in parts if p), *meta[code])
            for code, parts in firsts.items()]


def _fixed_width_member(archive: zipfile.ZipFile) -> str:
    names = [n for n in archive.namelist()
             if n.lower().endswith(".txt") and "anweb" in n.lower()
             and "recordlayout" not in n.lower()]
    if not names:
        raise InvalidHcpcsFile("The zip holds no HCPC*_ANWEB*.txt fixed-width file.")
    return sorted(names)[0]


def read_hcpcs_file(path: Path) -> tuple[str, list[HcpcsRecord]]:
    """The release name (file stem, e.g. HCPC2026_JAN_ANWEB_01122026) and its records."""
    if not path.is_file():
        raise InvalidHcpcsFile(f"No file at '{path}'.")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = _fixed_width_member(archive)
            text = archive.read(member).decode("latin-1")
        return Path(member).stem, parse_hcpcs_lines(io.StringIO(text))
    with path.open(encoding="latin-1", newline="") as handle:
        return path.stem, parse_hcpcs_lines(handle)


def release_date(release: str) -> dt.date | None:
    """First day of the quarter a release name like HCPC2026_JAN_ANWEB names."""
    months = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
    parts = release.upper().split("_")
    if len(parts) < 2 or not parts[0][-4:].isdigit() or parts[1] not in months:
        return None
    return dt.date(int(parts[0][-4:]), months[parts[1]], 1)
