"""Which reader(s) found each claim line (issue 15 item 7, review side): the worker stores
each line's agreement (`--extractor both|llm`), coders' decisions keep it, the note page
badges it ("both readers", "offline reader only", "LLM only"; none on the offline path) and
the queue filters on it in SQL ("single", "llm", "rules"), through paging and polling.

Notes are coded by the worker's own function (`service.code_queued_note`); the marks of a
note's lines are given by `plans` (the offline reading with each line marked as the test
says), or by a scripted LLM read in `both` mode for the end-to-end case.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

import review.db
from notecoder import pipeline
from notecoder.config import Settings
from notecoder.schema import FoundBy
from review import jobs, recode, service
from review.app import create_app
from review.db import CodeLineRow, LineStatus, Role, engine_for, session_factory
from review.users import add_user
from tests import db_urls
from tests.test_llm_convert import AGREE_DRAFT, AGREE_NOTE
from tests.test_review_app import CEFTRIAXONE, PASSWORD, _login

database_url = db_urls.database_url  # every test here runs on SQLite and on PostgreSQL

BOTH, RULES, LLM = FoundBy.BOTH, FoundBy.RULES, FoundBy.LLM
CEFTRIAXONE_CODES = ["J18.9", "96365", "J0696"]  # the lines of CEFTRIAXONE, in order
# The queue's notes: each line's mark, in the order of CEFTRIAXONE_CODES.
MIXED = {
    "llm-only line": (BOTH, LLM, BOTH),
    "offline-only line": (RULES, BOTH, BOTH),
    "readers agree": (BOTH, BOTH, BOTH),
    "offline path": (None, None, None),
    "one of each": (LLM, RULES, None),
}
EXPECTED = {
    "any": set(MIXED),
    "single": {"llm-only line", "offline-only line", "one of each"},
    "llm": {"llm-only line", "one of each"},
    "rules": {"offline-only line", "one of each"},
}
BADGES = {"both": "both readers", "rules": "offline reader only", "llm": "LLM only"}


@dataclass
class Site:
    app: FastAPI
    url: str
    queued: list[tuple[int, int]]
    plans: list[tuple[FoundBy | None, ...]] = field(default_factory=list)

    def run_jobs(self) -> None:
        while self.queued:
            note_id, version = self.queued.pop(0)
            assert service.code_queued_note(self.url, note_id, version, worker="test") == \
                "coded"

    def code(self, client: TestClient, label: str, marks: tuple[FoundBy | None, ...],
             note: str = CEFTRIAXONE) -> int:
        """Submit a note, code it with its lines marked `marks`; its id."""
        self.plans.append(marks)
        note_id = client.post("/api/notes", json={"text": note, "label": label}).json()["id"]
        self.run_jobs()
        return note_id


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str,
          **settings: object) -> Site:
    config = Settings(data_dir=tmp_path, database_url=database_url, **settings)
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda _s, note_id, version: queued.append(
        (note_id, version)))
    url = config.resolved_database_url()
    found = Site(create_app(config), url, queued)
    add_user(url, "coder1", Role.CODER, PASSWORD)
    return found


@pytest.fixture
def site(tmp_path, monkeypatch, database_url) -> Site:
    """The app, with the worker's reading marked line by line from `Site.plans`."""
    found = _site(tmp_path, monkeypatch, database_url)
    offline = pipeline.code_note

    def marked(note: str, setting, profile: str, extractor: str = "rules"):
        result = offline(note, setting, profile, "rules")
        marks = found.plans.pop(0)
        return result.model_copy(update={"codes": [
            line.model_copy(update={"agreement": mark})
            for line, mark in zip(result.codes, marks, strict=True)]})

    monkeypatch.setattr(pipeline, "code_note", marked)
    return found


def _lines(client: TestClient, note_id: int) -> dict[str, str | None]:
    return {x["code"]: x["agreement"] for x in client.get(f"/api/notes/{note_id}").json()["lines"]}


def _badges(page: str) -> dict[str, str | None]:
    """Per code line of a note page: the words of its agreement badge (None: no badge)."""
    found = {}
    for row in re.findall(r'<tr class="code-line.*?</tr>', page, re.S):
        code = re.search(r'data-code="([^"]+)"', row).group(1)
        badge = re.search(r'<span class="badge agreement agreement-(\w+)" title="([^"]+)">'
                          r'<span class="visually-hidden">Found by: </span>([^<]+)</span>', row)
        found[code] = badge.group(3) if badge else None
        if badge:
            assert BADGES[badge.group(1)] == badge.group(3)
            assert "alone" in badge.group(2) or "agree" in badge.group(2)  # the tooltip
    return found


def _note_page(client: TestClient, note_id: int) -> str:
    answer = client.get(f"/notes/{note_id}", headers={"Accept": "text/html"})
    assert answer.status_code == 200
    return answer.text


def _row_labels(page: str) -> set[str]:
    """The labels of the notes in a queue page's table."""
    return {label for _id, label in re.findall(
        r'<td><a href="/notes/(\d+)">\1</a></td>\s*<td><a href="/notes/\1">([^<]+)</a></td>',
        page)}


def _mixed_queue(site: Site, client: TestClient) -> dict[str, int]:
    return {label: site.code(client, label, marks) for label, marks in MIXED.items()}


# --- stored ---------------------------------------------------------------------------------


@pytest.fixture
def scripted_llm(tmp_path) -> Iterator[Callable]:
    from tests.llm_stub import use_scripted_llm

    yield lambda answer: use_scripted_llm(answer, tmp_path)
    pipeline.reset_llm()


def test_the_worker_stores_each_lines_agreement_from_a_both_mode_reading(
        tmp_path, monkeypatch, database_url, scripted_llm):
    """End to end: a note read by both readers (the LLM scripted) keeps the marks the
    pipeline gave its lines; the diagnosis only the LLM read is badged "LLM only"."""
    scripted_llm(lambda _t, _r=None: AGREE_DRAFT)
    site = _site(tmp_path, monkeypatch, database_url, extractor="both")
    coder = _login(site.app, "coder1")
    note_id = coder.post("/api/notes", json={"text": AGREE_NOTE}).json()["id"]
    site.run_jobs()

    expected = {"R11.0": "both", "D50.9": "llm", "96374": "both", "J2405": "both"}
    with session_factory(site.url)() as db:  # the rows agree with the result JSON kept
        note = service.get_note(db, note_id)
        assert {x["code"]: x["agreement"] for x in note.result["codes"]} == expected
        assert {x.code: x.agreement for x in service.current_lines(db, note)} == expected
    assert _lines(coder, note_id) == expected
    assert _badges(_note_page(coder, note_id)) == {
        code: BADGES[mark] for code, mark in expected.items()}


def test_lines_coded_before_the_migration_read_as_no_agreement(database_url):
    command.upgrade(review.db.alembic_config(database_url), "0007_note_assignee")
    with engine_for(database_url).begin() as conn:
        conn.execute(text("INSERT INTO users (username, password_hash, role, active, "
                          "created_at) VALUES ('c', 'x', 'coder', true, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO notes (text, label, status, setting, profile, "
                          "extractor, version, revision, reading_attempts, submitted_by, "
                          "submitted_at) VALUES ('n', '', 'coded', 'facility', 'official', "
                          "'rules', 1, 0, 0, 1, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO code_lines (note_id, version, position, system, code, "
                          "modifiers, rule, rationale, evidence, status) VALUES (1, 1, 0, "
                          "'HCPCS', 'J0696', '[]', 'R', '', '[]', 'suggested')"))
    review.db.upgrade(database_url)
    with session_factory(database_url)() as db:
        assert db.get(CodeLineRow, 1).agreement is None
        assert service.list_queue(db, agreement="single").total == 0
        assert service.list_queue(db).total == 1


# --- decisions keep it ----------------------------------------------------------------------


def test_accepting_editing_rejecting_and_re_coding_keep_each_lines_agreement(site):
    coder = _login(site.app, "coder1")
    note_id = site.code(coder, "decided", (BOTH, LLM, RULES))
    lines = {x["code"]: x for x in coder.get(f"/api/notes/{note_id}").json()["lines"]}
    assert coder.post(f"/api/lines/{lines['J18.9']['id']}",
                      json={"action": "accept"}).json()["agreement"] == "both"
    edited = coder.post(f"/api/lines/{lines['J0696']['id']}",
                        json={"action": "edit", "units": 3, "reason": "as documented"})
    assert edited.status_code == 200 and edited.json()["agreement"] == "rules"
    rejected = coder.post(f"/api/lines/{lines['96365']['id']}",
                          json={"action": "reject", "reason": "not billable here"})
    assert rejected.json()["agreement"] == "llm"
    coder.post(f"/notes/{note_id}/lines", data={
        "system": "ICD-10-CM", "code": "Z79.2", "reason": "long-term antibiotics",
        "csrf_token": coder.headers["X-CSRF-Token"]}, follow_redirects=False)
    after = _lines(coder, note_id)
    assert after == {"J18.9": "both", "96365": "llm", "J0696": "rules", "Z79.2": None}
    assert _badges(_note_page(coder, note_id)) == {
        "J18.9": "both readers", "96365": "LLM only", "J0696": "offline reader only",
        "Z79.2": None}
    assert _row_labels(coder.get("/queue?agreement=llm").text) == {"decided"}

    # A re-coding: each line the new reading suggests carries the new reading's mark (kept
    # decisions too); the line added by hand stays without one.
    site.plans.append((LLM, BOTH, BOTH))
    assert coder.post(f"/api/notes/{note_id}/addendum",
                      json={"text": "Tolerated well."}).status_code == 202
    site.run_jobs()
    rows = {x["code"]: x for x in coder.get(f"/api/notes/{note_id}").json()["lines"]}
    assert {c: x["agreement"] for c, x in rows.items()} == {
        "J18.9": "llm", "96365": "both", "J0696": "both", "Z79.2": None}
    assert rows["J18.9"]["status"] == "accepted" and rows["J0696"]["units"] == 3
    assert _row_labels(coder.get("/queue?agreement=rules").text) == set()
    assert _row_labels(coder.get("/queue?agreement=llm").text) == {"decided"}


def test_a_kept_line_the_re_coding_no_longer_suggests_keeps_its_agreement():
    old = CodeLineRow(system="HCPCS", code="J0696", units=4, modifiers=[], rule="R-X",
                      rationale="", evidence=[], status=LineStatus.ACCEPTED,
                      suggested=recode.suggestion("HCPCS", "J0696", 4, []), agreement="llm")
    extra, diff = recode.carry_over([old], [])
    assert diff.removed == 1 and [x.agreement for x in extra] == ["llm"]


# --- the note page --------------------------------------------------------------------------


def test_the_note_page_badges_each_line_with_the_readers_that_found_it(site):
    coder = _login(site.app, "coder1")
    ids = _mixed_queue(site, coder)
    for label, marks in MIXED.items():
        assert _badges(_note_page(coder, ids[label])) == {
            code: BADGES[mark] if mark else None
            for code, mark in zip(CEFTRIAXONE_CODES, marks, strict=True)}, label
    page = _note_page(coder, ids["llm-only line"])
    assert 'title="Found by the LLM alone; the offline reader did not find' in page
    assert page.count('class="badge agreement agreement-both"') == 2


def test_an_offline_path_note_has_no_badge_and_is_not_a_single_reader_note(site):
    coder = _login(site.app, "coder1")
    offline = site.code(coder, "offline path", (None, None, None))
    single = site.code(coder, "single", (BOTH, BOTH, LLM))
    page = _note_page(coder, offline)
    assert "badge agreement" not in page and "Found by:" not in page
    assert _lines(coder, offline) == dict.fromkeys(CEFTRIAXONE_CODES)
    assert [n["id"] for n in coder.get("/api/queue?agreement=single").json()["notes"]] == [
        single]
    assert [n["id"] for n in coder.get("/api/queue").json()["notes"]] == [single, offline]


# --- the queue --------------------------------------------------------------------------------


def test_the_agreement_filter_returns_exactly_the_notes_with_such_a_line(site):
    coder = _login(site.app, "coder1")
    ids = _mixed_queue(site, coder)
    labels = {note_id: label for label, note_id in ids.items()}
    for choice, wanted in EXPECTED.items():
        page = coder.get(f"/queue?agreement={choice}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert _row_labels(page.text) == wanted, choice
        assert f'<option value="{choice}" selected>' in page.text
        rows = coder.get(f"/api/queue?agreement={choice}").json()
        assert {labels[n["id"]] for n in rows["notes"]} == wanted, choice
        assert rows["total"] == len(wanted)
        notes = coder.get(f"/api/notes?agreement={choice}").json()
        assert {labels[n["id"]] for n in notes["notes"]} == wanted, choice
    # Combined with the other filters, and counted in SQL before paging.
    assert coder.get("/api/queue?agreement=llm&status=final").json()["total"] == 0
    assert coder.get("/api/notes?agreement=single&per_page=1").json()["total"] == 3
    assert coder.get("/api/queue").json()["total"] == len(MIXED)
    # An unknown choice: the API refuses it, the page shows every note.
    assert coder.get("/api/queue?agreement=bogus").status_code == 422
    assert coder.get("/api/notes?agreement=bogus").status_code == 422
    page = coder.get("/queue?agreement=bogus", headers={"Accept": "text/html"}).text
    assert _row_labels(page) == set(MIXED) and '<option value="any" selected>' in page
    assert "agreement" in str(coder.get("/openapi.json").json()["paths"]["/api/queue"])


def test_the_filter_is_applied_in_sql_to_the_current_coding_only(site):
    """A note whose earlier coding had an LLM-only line but whose current one has none is
    not an "llm" note (the filter looks at the note's version, in the query itself)."""
    coder = _login(site.app, "coder1")
    note_id = site.code(coder, "re-coded", (LLM, BOTH, BOTH))
    site.plans.append((BOTH, BOTH, BOTH))
    coder.post(f"/api/notes/{note_id}/addendum", json={"text": "Tolerated well."})
    site.run_jobs()
    assert coder.get("/api/queue?agreement=llm").json()["total"] == 0
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    from sqlalchemy import event

    engine = engine_for(site.url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_factory(site.url)() as db:
            assert service.list_queue(db, agreement="single").total == 0
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any("EXISTS" in s and "code_lines.agreement IN" in s for s in statements)


def test_paging_and_polling_keep_the_agreement_filter(site):
    coder = _login(site.app, "coder1")
    llm = [site.code(coder, f"llm {n}", (BOTH, LLM, BOTH)) for n in range(26)]
    site.code(coder, "offline path", (None, None, None))
    first = coder.get("/queue?agreement=llm&status=coded", headers={"Accept": "text/html"}).text
    assert len(_row_labels(first)) == 25 and "offline path" not in _row_labels(first)
    # The page's filter form holds the choice: live.js polls with that form's fields.
    form = re.search(r'<form method="get" action="/queue" class="filters" id="queue-filters">'
                     r'.*?</form>', first, re.S).group(0)
    assert re.search(r'<select name="agreement">.*<option value="llm" selected>', form, re.S)
    following = re.search(r'<a href="\?([^"]+)">Next</a>', first).group(1).replace("&amp;", "&")
    assert "agreement=llm" in following and "status=coded" in following
    second = coder.get(f"/queue?{following}", headers={"Accept": "text/html"}).text
    assert _row_labels(second) == {"llm 0"}
    back = re.search(r'<a href="\?([^"]+)">Previous</a>', second).group(1).replace("&amp;", "&")
    assert "agreement=llm" in back
    # What the page polls: the same filter, the same rows, page by page.
    polled = coder.get("/api/queue?status=coded&coder=&since=&until=&agreement=llm&page_no=2")
    assert [n["id"] for n in polled.json()["notes"]] == [llm[0]]
    assert polled.json()["total"] == 26


# --- polling in a browser -----------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def _browser_missing(reason: str) -> None:
    if db_urls.in_ci():
        pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def served(site) -> Iterator[str]:
    """The app on a free local port (uvicorn on a thread), for a real browser."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_live_queue_polls_with_the_agreement_filter(site, served):
    """The queue page's polling (static/live.js) asks /api/queue with the page's agreement
    filter, and a changed filter is polled and put in the address at once."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _browser_missing("Playwright is not installed (pip install playwright)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _browser_missing(f"{CHROMIUM} is missing (bash .ci/install-chromium.sh installs it)")
    coder = _login(site.app, "coder1")
    ids = _mixed_queue(site, coder)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(base_url=served).new_page()
            page.set_default_timeout(30_000)
            page.goto("/login")
            page.get_by_label("User name").fill("coder1")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/queue"))
            polls: list[str] = []
            page.on("request", lambda r: polls.append(r.url) if "/api/queue?" in r.url
                    else None)
            page.goto("/queue?agreement=llm")
            rows = page.locator("#queue-rows tr[data-note-id]")
            expect(rows).to_have_count(2)
            with page.expect_request(lambda r: "/api/queue?" in r.url) as first:
                pass  # the first check, 3 s after the page loaded
            assert "agreement=llm" in first.value.url
            with page.expect_request(lambda r: "/api/queue?" in r.url) as changed:
                page.get_by_label("Found by").select_option("rules")
            assert "agreement=rules" in changed.value.url
            expect(rows).to_have_count(2)
            expect(page.locator(f'#queue-rows tr[data-note-id="{ids["offline-only line"]}"]')
                   ).to_have_count(1)
            assert "agreement=rules" in page.url
            page.get_by_label("Found by").select_option("any")
            expect(rows).to_have_count(len(MIXED))
            assert all("agreement=" in url for url in polls)
        finally:
            browser.close()
