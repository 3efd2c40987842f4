"""Issue 13 item 4: security headers on every response, no CDN docs, huge integers and
invalid UTF-8 refused with 4xx, CSV formulas neutralised, and the CLI's clear sentences for a
bad log level, an unreadable note and an oversized note (with its real size)."""

import csv
import io
import re
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import notecoder.cli
from notecoder.cli import main
from notecoder.config import Settings, get_settings
from review import jobs, service
from review.app import create_app
from review.db import Role, engine_for
from review.users import add_user

PASSWORD = "a long enough password"
ROOT = Path(__file__).resolve().parent.parent
CEFTRIAXONE = (ROOT / "datasets" / "examples" / "g1_ceftriaxone.txt").read_text()


@pytest.fixture
def site(tmp_path, monkeypatch):
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda _s, note_id, version: queued.append(
        (note_id, version)))

    def make(**overrides):
        settings = Settings(data_dir=tmp_path, **overrides)
        return create_app(settings), settings.resolved_database_url()

    app, url = make()
    add_user(url, "coder1", Role.CODER, PASSWORD)

    def run_jobs():
        while queued:
            service.code_queued_note(url, *queued.pop(0))

    yield app, url, run_jobs, make
    engine_for(url).dispose()


def login(app) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text)[1]
    assert client.post("/login", data={"username": "coder1", "password": PASSWORD,
                                       "login_csrf": token},
                       follow_redirects=False).status_code == 303
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


def coded_note(client, run_jobs, label="visit") -> int:
    note = client.post("/api/notes", json={"text": CEFTRIAXONE, "label": label}).json()
    run_jobs()
    return note["id"]


# --- headers ---------------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(site):
    app, _, run_jobs, _ = site
    anonymous = TestClient(app)
    coder = login(app)
    note_id = coded_note(coder, run_jobs)
    html = {"Accept": "text/html"}
    answers = [anonymous.get("/login"), anonymous.get("/api/notes"),
               anonymous.get("/queue", headers=html, follow_redirects=False),
               anonymous.get("/no/such/page"), coder.get("/queue", headers=html),
               coder.get(f"/notes/{note_id}", headers=html), coder.get(f"/api/notes/{note_id}"),
               coder.get("/export.csv"), coder.get("/api/notes/999", headers=html),
               coder.post("/api/notes", json={"text": " "}), anonymous.get("/openapi.json"),
               anonymous.get("/static/review.js")]
    for answer in answers:
        headers = answer.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        if answer.request.url.path.startswith("/static/"):
            assert "no-store" not in headers.get("cache-control", "")
        else:
            assert headers["cache-control"] == "no-store", answer.request.url


def test_pages_need_no_inline_script_or_style():
    for template in (ROOT / "review" / "templates").glob("*.html"):
        page = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), template.name
        assert "<style" not in page and " style=" not in page, template.name
        assert not re.search(r"\son[a-z]+=", page) and "javascript:" not in page, template.name


def test_hsts_only_behind_https(site):
    _, _, _, make = site
    assert "strict-transport-security" not in TestClient(make()[0]).get("/login").headers
    secure = TestClient(make(cookie_secure=True)[0]).get("/login").headers
    assert secure["strict-transport-security"] == "max-age=31536000"


def test_api_docs_are_off_unless_the_setting_turns_them_on_and_need_no_network(site):
    """Issue 14: /docs was Swagger UI from a CDN (blank offline). With the setting it is
    a page of this server's own, under the strict CSP, loading nothing from elsewhere."""
    app, _, _, make = site
    anonymous = TestClient(app)
    assert anonymous.get("/docs").status_code == 404
    assert anonymous.get("/redoc").status_code == 404
    assert anonymous.get("/openapi.json").status_code == 200  # the schema, from this server
    docs_app = TestClient(make(api_docs=True)[0])
    with_docs = docs_app.get("/docs")
    assert with_docs.status_code == 200
    csp = with_docs.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "http" not in csp and "unsafe-inline" not in csp
    assert not re.search(r"(src|href)=\"(https?:)?//", with_docs.text)
    assert "/api/notes/{note_id}/finalise" in with_docs.text and "POST" in with_docs.text
    assert docs_app.get("/redoc").status_code == 404


# --- numbers and encodings --------------------------------------------------------------------


HUGE = "9" * 25


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"/api/notes/{HUGE}", None), ("GET", f"/notes/{HUGE}", None),
    ("GET", f"/queue?page_no={HUGE}", None), ("GET", f"/api/notes?page_no={HUGE}", None),
    ("GET", f"/api/notes?coder={HUGE}", None), ("GET", "/api/notes?coder=2147483648", None),
    ("GET", f"/api/notes/{HUGE}/audit", None), ("POST", f"/api/notes/{HUGE}/finalise", None),
    ("POST", f"/api/lines/{HUGE}", {"action": "accept"}),
    ("POST", "/api/lines/1", {"action": "edit", "units": 10**25, "reason": "x"}),
])
def test_huge_integers_in_paths_queries_and_bodies_get_4xx(site, method, path, body):
    app, _, run_jobs, _ = site
    coder = login(app)
    coded_note(coder, run_jobs)
    answer = coder.request(method, path, json=body)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)


def test_huge_units_in_a_form_get_400(site):
    app, _, run_jobs, _ = site
    coder = login(app)
    note_id = coded_note(coder, run_jobs)
    answer = coder.post(f"/notes/{note_id}/lines", data={
        "system": "HCPCS", "code": "J0696", "units": HUGE, "reason": "x"})
    assert answer.status_code == 400 and "Units must be at most" in answer.text
    queue = coder.get(f"/queue?coder={HUGE}", headers={"Accept": "text/html"})
    assert queue.status_code == 200  # an absurd filter value is ignored, as a bad one is


def test_percent_ff_in_a_form_is_refused_and_nothing_is_stored(site):
    app, _, run_jobs, _ = site
    coder = login(app)
    note_id = coded_note(coder, run_jobs)
    before = len(coder.get(f"/api/notes/{note_id}").json()["lines"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = coder.post(f"/notes/{note_id}/lines",
                         content=b"system=CPT&code=96365&reason=bad%FFbyte", headers=form)
    assert refused.status_code == 400 and "not valid UTF-8" in refused.text
    assert len(coder.get(f"/api/notes/{note_id}").json()["lines"]) == before
    accepted = coder.post(f"/notes/{note_id}/lines", content=b"system=CPT&code=96365&"
                          b"reason=caf%C3%A9+au+lait", headers=form, follow_redirects=False)
    assert accepted.status_code == 303
    lines = coder.get(f"/api/notes/{note_id}").json()["lines"]
    assert lines[-1]["reason"] == "café au lait"


def test_a_pasted_note_that_is_not_utf8_is_refused(site):
    app, _, _, _ = site
    coder = login(app)
    body = (b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nCeftriaxone \xff 1 g'
            b'\r\n--b--\r\n')
    answer = coder.post("/notes", content=body,
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 400 and "not valid UTF-8" in answer.text
    assert coder.get("/api/notes").json()["total"] == 0


def test_a_lone_surrogate_in_json_is_422_without_echo(site):
    app, _, _, _ = site
    coder = login(app)
    answer = coder.post("/api/notes", content=b'{"text": "secret \\ud83d note"}',
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "secret" not in answer.text


def test_a_5_mb_upload_reports_its_real_size(site):
    app, _, _, _ = site
    coder = login(app)
    answer = coder.post("/notes", files={"files": ("big.txt", b"x" * 5_000_000)})
    assert answer.status_code == 400 and "5,000,000 bytes" in answer.text


def test_an_upload_over_the_request_limit_is_refused_while_it_arrives(site):
    _, _, _, make = site
    app, _ = make(max_upload_bytes=50_000)
    coder = login(app)
    files = [("files", (f"visit{k}.txt", CEFTRIAXONE.encode() * 40, "text/plain"))
             for k in range(4)]  # each under the note limit, together over the request's
    answer = coder.post("/api/uploads", files=files)
    assert answer.status_code == 413
    assert answer.json()["detail"] == (
        "The upload is larger than the limit of 50,000 bytes (setting "
        "NOTECODER_MAX_UPLOAD_BYTES); nothing was saved. Send fewer files at a time.")
    page = coder.post("/notes", files=files, headers={"Accept": "text/html"})
    assert page.status_code == 413 and "larger than the limit of 50,000 bytes" in page.text
    assert coder.get("/api/notes").json()["total"] == 0
    small = coder.post("/api/uploads", files=files[:1])
    assert small.status_code == 202


# --- CSV export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1+2", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(cell):
    assert service.csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["J0696", "plain label", 4, "", "2026-01-01"])
def test_other_csv_cells_are_unchanged(cell):
    assert service.csv_cell(cell) == cell


def test_exported_csv_neutralises_a_formula_label(site):
    app, _, run_jobs, _ = site
    coder = login(app)
    note_id = coded_note(coder, run_jobs, label='=HYPERLINK("http://evil","open")')
    for line in coder.get(f"/api/notes/{note_id}").json()["lines"]:
        coder.post(f"/api/lines/{line['id']}", json={"action": "accept"})
    from tests.test_review_app import acknowledge_open

    acknowledge_open(coder, note_id)
    assert coder.post(f"/api/notes/{note_id}/finalise").status_code == 200
    rows = list(csv.DictReader(io.StringIO(coder.get("/export.csv").text)))
    assert rows and all(r["label"] == "'=HYPERLINK(\"http://evil\",\"open\")" for r in rows)


# --- the CLI's sentences ------------------------------------------------------------------------


def run_cli(capsys, monkeypatch, *argv, env=None):
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        code = main(list(argv))
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence(err: str) -> bool:
    return err.startswith("error: ") and len(err.strip().splitlines()) == 1 and \
        "Traceback" not in err


def test_an_unknown_log_level_is_one_sentence_and_exit_2(capsys, monkeypatch):
    code, _, err = run_cli(capsys, monkeypatch, "profiles",
                           env={"NOTECODER_LOG_LEVEL": "LOUD"})
    assert code == 2 and one_sentence(err)
    assert "NOTECODER_LOG_LEVEL" in err and "DEBUG, INFO, WARNING, ERROR, CRITICAL" in err


def test_a_lower_case_log_level_is_accepted(capsys, monkeypatch):
    code, _, _ = run_cli(capsys, monkeypatch, "profiles", env={"NOTECODER_LOG_LEVEL": "info"})
    assert code == 0


def test_an_unreadable_note_file_is_one_sentence_and_exit_2(capsys, monkeypatch, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Ceftriaxone 1 g IV.")
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == note:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(notecoder.cli.Path, "open", refuse)
    code, _, err = run_cli(capsys, monkeypatch, "code", str(note))
    assert code == 2 and one_sentence(err)
    assert f"Cannot read the note file '{note}' (permission denied)." in err


@pytest.mark.skipif(sys.platform == "win32" or __import__("os").geteuid() == 0,
                    reason="root reads a file whatever its mode")
def test_a_mode_000_note_file_is_one_sentence_and_exit_2(capsys, monkeypatch, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Ceftriaxone 1 g IV.")
    note.chmod(0)
    code, _, err = run_cli(capsys, monkeypatch, "code", str(note))
    assert code == 2 and "permission denied" in err


def test_a_5_mb_note_reports_its_real_size(capsys, monkeypatch, tmp_path):
    note = tmp_path / "big.txt"
    note.write_bytes(b"Ceftriaxone 1 g IV.\n" * 250_000)
    code, _, err = run_cli(capsys, monkeypatch, "code", str(note))
    assert code == 2 and one_sentence(err)
    assert "The note is 5,000,000 bytes, over the limit of 1,000,000 bytes" in err


def test_a_5_mb_note_on_stdin_reports_its_real_size(capsys, monkeypatch):
    data = b"Ceftriaxone 1 g IV.\n" * 250_000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, _, err = run_cli(capsys, monkeypatch, "code", "-")
    assert code == 2 and "5,000,000 bytes" in err
