"""Bulk upload on the queue page (issue 14 item 7): many note files and zip archives of
.txt notes, each file and member with its own result; archives read without trusting their
headers (zip bombs, understated sizes, entry floods), bad names refused, nothing else lost.

The module's own reader (`review.note_uploads`) first, then through HTTP on SQLite and
PostgreSQL with test_review_app's site."""

from __future__ import annotations

import io
import re
import struct
import zipfile

import pytest

from review import note_uploads
from review.note_uploads import UploadedNote, UploadLimits, UploadProblem, notes_from_file
from tests import db_urls, test_review_app
from tests.test_review_app import CEFTRIAXONE, NO_WEIGHT, _login

database_url = db_urls.database_url  # the HTTP tests run on SQLite and on PostgreSQL
site = test_review_app.site

LIMITS = UploadLimits(note_bytes=1_000_000, zip_notes=1000, unzipped_bytes=50_000_000)


def archive(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zipped:
        for name, data in members.items():
            if name.endswith("/"):
                zipped.writestr(zipfile.ZipInfo(name), b"")
            else:
                zipped.writestr(name, data)
    return buffer.getvalue()


def read(data: bytes, name: str = "day.zip", limits: UploadLimits = LIMITS) -> dict[str, str]:
    """Each result by name: the note's text, or "problem: <sentence>"."""
    results = notes_from_file(name, io.BytesIO(data), len(data), limits)
    found = {}
    for result in results:
        assert result.name not in found, f"two results for {result.name}"
        found[result.name] = (result.text if isinstance(result, UploadedNote)
                              else "problem: " + result.message)
    return found


def patch_member(data: bytes, index: int, *, file_size: int | None = None,
                 flag_bits: int | None = None) -> bytes:
    """The archive with member `index`'s declared uncompressed size or flag bits rewritten
    in both its local header and its central directory entry (what a forger would do)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        info = zipped.infolist()[index]
        central = zipped.start_dir
        for _ in range(index):  # walk to this member's central directory entry
            names, extra, comment = struct.unpack_from("<HHH", out, central + 28)
            central += 46 + names + extra + comment
    local = info.header_offset
    assert out[local:local + 4] == b"PK\x03\x04" and out[central:central + 4] == b"PK\x01\x02"
    if file_size is not None:
        struct.pack_into("<I", out, local + 22, file_size)
        struct.pack_into("<I", out, central + 24, file_size)
    if flag_bits is not None:
        struct.pack_into("<H", out, local + 6, flag_bits)
        struct.pack_into("<H", out, central + 8, flag_bits)
    return bytes(out)


@pytest.fixture
def inflated(monkeypatch) -> list[int]:
    """Bytes handed out by every zip member read, one entry per read."""
    counts: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        chunk = original(self, n)
        counts.append(len(chunk))
        return chunk

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return counts


# --- the reader -----------------------------------------------------------------------------


def test_every_note_of_an_archive_is_read_and_each_bad_member_says_why():
    found = read(archive({
        "visit-1.txt": CEFTRIAXONE.encode(),
        "day/visit-2.TXT": NO_WEIGHT.encode(),  # a zipped folder: its notes are read
        "binary.txt": b"\x00\x01\x02\x03 not text",
        "latin1.txt": "Fi\xe8vre 39 C".encode("latin-1"),
        "empty.txt": b"   \n",
        "../escape.txt": b"up a folder",
        "/etc/absolute.txt": b"absolute",
        "inner.zip": archive({"hidden.txt": b"never opened"}),
        "README.md": b"# not a note",
        "day/": b"",
        "__MACOSX/day/._visit-2.TXT": b"\x00\x05\x16\x07 resource fork",
        ".DS_Store": b"\x00\x00\x00\x01Bud1",
    }))
    assert found == {
        "day.zip: visit-1.txt": CEFTRIAXONE,
        "day.zip: day/visit-2.TXT": NO_WEIGHT,
        "day.zip: binary.txt": "problem: The note contains binary data (NUL bytes), not text.",
        "day.zip: latin1.txt": "problem: The note is not valid UTF-8 (first bad byte at "
                               "offset 2); convert it to UTF-8 and try again.",
        "day.zip: empty.txt": "problem: The note is empty or contains only whitespace.",
        "day.zip: ../escape.txt": "problem: The file's path in the archive goes up a folder "
                                  "('..'); it was not read.",
        "day.zip: /etc/absolute.txt": "problem: The file has an absolute path in the "
                                      "archive; it was not read.",
        "day.zip: inner.zip": "problem: The file is an archive inside the archive; it was "
                              "not opened (unzip it and upload its notes).",
        "day.zip: README.md": "problem: The file is not a note file (.txt); it was not read.",
    }


@pytest.mark.parametrize("name", ["C:\\notes\\a.txt", "\\\\server\\share\\a.txt",
                                  "day\\..\\..\\a.txt"])
def test_windows_absolute_and_parent_names_are_refused(name):
    found = read(archive({name: b"a note", "ok.txt": b"kept"}))
    assert found.pop("day.zip: ok.txt") == "kept"
    (message,) = found.values()
    assert "absolute path" in message or "goes up a folder" in message, message


def test_a_zip_bomb_member_stops_at_the_note_limit_and_the_others_are_kept(inflated):
    bomb = b"\x00" * 20_000_000  # deflates to about 20 kB
    data = archive({"bomb.txt": bomb, "visit.txt": CEFTRIAXONE.encode()})
    assert len(data) < 100_000
    found = read(data)
    assert found == {
        "day.zip: bomb.txt": "problem: The file unpacks to more than 1,000,000 bytes, the "
                             "limit for one note (setting NOTECODER_MAX_NOTE_BYTES); it was "
                             "not read.",
        "day.zip: visit.txt": CEFTRIAXONE}
    # Inflated no further than the limit and one chunk, not the 20 MB its header declares.
    assert sum(inflated) <= 1_000_000 + note_uploads.CHUNK + len(CEFTRIAXONE.encode())


def test_a_header_that_understates_the_size_is_not_believed(inflated):
    honest = archive({"small.txt": b"x" * 10, "big.txt": b"Fever. " * 300_000,
                      "visit.txt": CEFTRIAXONE.encode()})
    forged = patch_member(honest, 1, file_size=100)  # 2.1 MB declared as 100 bytes
    found = read(forged)
    assert found["day.zip: big.txt"] == (
        "problem: The file is damaged in the archive (its size or checksum does not match "
        "its header); it was not read.")
    assert found["day.zip: small.txt"] == "x" * 10
    assert found["day.zip: visit.txt"] == CEFTRIAXONE
    assert sum(inflated) < 100_000


def test_the_unpacked_total_of_an_archive_is_capped_and_counted_while_reading():
    members = {f"n{k}.txt": f"Note {k}. Fever.".ljust(100).encode() for k in range(4)}  # 100 B
    found = read(archive(members), limits=UploadLimits(1_000_000, 1000, 250))
    assert [name for name, text in found.items() if not text.startswith("problem")] == [
        "day.zip: n0.txt", "day.zip: n1.txt"]
    assert found["day.zip: n2.txt"] == (
        "problem: The archive unpacks to more than 250 bytes (setting "
        "NOTECODER_MAX_UNZIPPED_BYTES); this file was not read.")
    assert found["day.zip"] == ("problem: The archive unpacks to more than 250 bytes "
                                "(setting NOTECODER_MAX_UNZIPPED_BYTES); its last 1 file(s) "
                                "were not read.")


def test_an_archive_with_too_many_files_is_refused_before_its_directory_is_loaded(
        monkeypatch):
    data = archive({f"n{k}.txt": b"Fever." for k in range(5)})
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents",
                        lambda self: opened.append(self) or None)
    assert read(data, limits=UploadLimits(1_000_000, 3, 50_000_000)) == {
        "day.zip": "problem: The archive holds 5 files, over the limit of 3 (setting "
                   "NOTECODER_MAX_ZIP_NOTES); none was read. Upload it in smaller archives."}
    assert opened == []  # the central directory was never parsed


def test_bzip2_lzma_and_encrypted_members_are_not_inflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("deflated.txt", CEFTRIAXONE, compress_type=zipfile.ZIP_DEFLATED)
        zipped.writestr("bzip2.txt", b"\x00" * 1000, compress_type=zipfile.ZIP_BZIP2)
        zipped.writestr("lzma.txt", b"fever", compress_type=zipfile.ZIP_LZMA)
        zipped.writestr("locked.txt", b"secret", compress_type=zipfile.ZIP_STORED)
    found = read(patch_member(buffer.getvalue(), 3, flag_bits=0x1))
    assert found["day.zip: deflated.txt"] == CEFTRIAXONE
    for name in ("bzip2.txt", "lzma.txt"):
        assert found[f"day.zip: {name}"].startswith(
            "problem: The file is compressed with a method that is not read here"), name
    assert found["day.zip: locked.txt"] == ("problem: The file is encrypted "
                                            "(password-protected); it was not read.")


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", b"plain text, named .zip", b""])
def test_a_file_named_zip_that_is_not_an_archive_gets_one_sentence(data):
    assert read(data, name="notes.ZIP") == {
        "notes.ZIP": "problem: The file is not a readable zip archive (it is damaged or not "
                     "a zip file); none of it was read."}


def test_a_plain_note_file_is_one_result():
    assert notes_from_file("visit.txt", io.BytesIO(b"Fever."), 6, LIMITS) == [
        UploadedNote("visit.txt", "Fever.")]
    (problem,) = notes_from_file("big.txt", io.BytesIO(b"x" * 2000), 2000,
                                 UploadLimits(1000, 10, 10_000))
    assert isinstance(problem, UploadProblem) and "2,000 bytes" in problem.message


# --- through HTTP ---------------------------------------------------------------------------


def _files(zip_data: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", ("day.zip", zip_data, "application/zip")),
            ("files", ("loose visit.txt", CEFTRIAXONE.encode(), "text/plain"))]


def test_an_archive_and_a_file_upload_queue_every_good_note_and_report_the_rest(site):
    app, run_jobs = site
    coder = _login(app, "coder1")
    zip_data = archive({"a.txt": CEFTRIAXONE.encode(), "b.txt": NO_WEIGHT.encode(),
                        "scan.txt": b"\x89PNG\r\n\x1a\n\x00\x00"})
    answer = coder.post("/api/uploads", files=_files(zip_data))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert [q["file"] for q in body["queued"]] == ["day.zip: a.txt", "day.zip: b.txt",
                                                    "loose visit.txt"]
    assert body["problems"] == [{"file": "day.zip: scan.txt", "message": "The note contains "
                                 "binary data (NUL bytes), not text."}]
    run_jobs()
    for queued in body["queued"]:
        note = coder.get(f"/api/notes/{queued['id']}").json()
        assert (note["label"], note["status"]) == (queued["file"], "coded")
    assert coder.get(f"/api/notes/{body['queued'][0]['id']}").json()["text"] == CEFTRIAXONE


def test_without_javascript_the_form_answers_with_the_queue_and_each_files_result(site):
    app, _ = site
    coder = _login(app, "coder1")
    zip_data = archive({"a.txt": CEFTRIAXONE.encode(), "../b.txt": NO_WEIGHT.encode()})
    page = coder.post("/notes", files=_files(zip_data), headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "2 note(s) queued, 1 file(s) not read." in page.text
    assert re.search(r'<a href="/notes/\d+">day.zip: a.txt</a>: queued as note \d+', page.text)
    assert "<strong>day.zip: ../b.txt</strong>: The file&#39;s path in the archive goes up a" \
        in page.text
    assert coder.get("/api/notes").json()["total"] == 2


def test_an_upload_with_nothing_readable_queues_nothing_and_says_why(site):
    app, _ = site
    coder = _login(app, "coder1")
    bad = [("files", ("a.zip", b"not a zip", "application/zip")),
           ("files", ("b.txt", b"\x00\x00", "text/plain"))]
    api = coder.post("/api/uploads", files=bad)
    assert api.status_code == 400
    assert api.json()["detail"] == "No note was queued."
    assert [p["file"] for p in api.json()["problems"]] == ["a.zip", "b.txt"]
    form = coder.post("/notes", files=bad, headers={"Accept": "text/html"})
    assert form.status_code == 400 and "0 note(s) queued, 2 file(s) not read." in form.text
    assert coder.get("/api/notes").json()["total"] == 0
