"""The review app through HTTP (FastAPI TestClient): roles, sessions, CSRF on every state
change, the coder's and the CDI specialist's flows, export and the audit trail.

Jobs are recorded instead of queued, and coded here with the worker's own function
(`service.code_queued_note`); the real worker is tested in test_review_worker.py.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notecoder.config import Settings
from review import jobs, service
from review.app import create_app
from review.db import Role
from review.users import add_user
from tests import db_urls

database_url = db_urls.database_url  # every test here runs on SQLite and on PostgreSQL

PASSWORD = "a long enough password"
CEFTRIAXONE = (Path(__file__).resolve().parent.parent / "datasets" / "examples" /
               "g1_ceftriaxone.txt").read_text(encoding="utf-8")
NO_WEIGHT = "Infusion center. Crohn's disease.\nInfliximab 5 mg/kg IV 0900-1100.\n"
PUBLIC = {"/login", "/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
          "/static"}


@pytest.fixture
def site(tmp_path, monkeypatch, database_url):
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda _s, note_id, version: queued.append(
        (note_id, version)))
    app = create_app(settings)
    url = settings.resolved_database_url()
    for name, role in (("coder1", Role.CODER), ("cdi1", Role.CDI), ("admin1", Role.ADMIN)):
        add_user(url, name, role, PASSWORD)

    def run_jobs() -> None:
        while queued:
            note_id, version = queued.pop(0)
            service.code_queued_note(url, note_id, version, worker="test")

    return app, run_jobs


def _login(app, username: str) -> TestClient:
    client = TestClient(app)
    form = client.get("/login", headers={"Accept": "text/html"}).text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "login_csrf": token, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


def acknowledge_open(client: TestClient, note_id: int) -> list[str]:
    """Acknowledge every open warning, flag and CDI query of a claim through the API (issue
    14 item 5: they block finalise); the texts acknowledged."""
    state = client.get(f"/api/notes/{note_id}").json()["claim"]
    done = []
    for issue in state["issues"]:
        if not issue["acknowledged"] and issue["can_acknowledge"]:
            answer = client.post(f"/api/notes/{note_id}/acknowledge",
                                 json={"key": issue["key"]})
            assert answer.status_code == 200, answer.json()
            done.append(issue["text"])
    return done


def _routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path in PUBLIC or path.startswith("/static"):
            continue
        for method in sorted(getattr(route, "methods", None) or []):
            if method != "HEAD":
                found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


def test_no_endpoint_answers_without_a_session(site):
    app, _ = site
    client = TestClient(app)
    for method, path in _routes(app):
        answer = client.request(method, path, follow_redirects=False)
        assert answer.status_code == 401, (method, path)
        page = client.request(method, path, headers={"Accept": "text/html"},
                              follow_redirects=False)
        assert page.status_code in (303, 401) and (
            page.status_code == 401 or page.headers["location"].startswith("/login")), path


def test_every_state_change_needs_the_csrf_token(site):
    app, _ = site
    for username in ("coder1", "cdi1", "admin1"):
        client = _login(app, username)
        del client.headers["X-CSRF-Token"]
        for method, path in _routes(app):
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                answer = client.request(method, path, json={})
                assert answer.status_code == 403, (username, method, path)
                assert "CSRF" in answer.json()["detail"]


def test_a_coder_cannot_reach_cdi_or_admin_endpoints(site):
    app, _ = site
    coder = _login(app, "coder1")
    assert coder.get("/cdi", headers={"Accept": "text/html"}).status_code == 403
    assert coder.get("/api/queries").status_code == 403
    assert coder.post("/api/queries/1/answer", json={"answer": "x"}).status_code == 403
    assert coder.get("/api/users").status_code == 403


def test_cdi_cannot_code_and_admin_can_reach_both(site):
    app, _ = site
    cdi = _login(app, "cdi1")
    assert cdi.get("/api/notes").status_code == 403
    assert cdi.post("/api/notes", json={"text": CEFTRIAXONE}).status_code == 403
    admin = _login(app, "admin1")
    assert admin.get("/api/notes").status_code == 200
    assert admin.get("/api/queries").status_code == 200
    assert admin.get("/api/users").status_code == 200


def test_coder_reviews_edits_accepts_finalises_and_exports(site):
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": CEFTRIAXONE, "label": "ceftriaxone"}).json()
    assert note["status"] == "queued"  # never coded inside the request
    run_jobs()
    detail = coder.get(f"/api/notes/{note['id']}").json()
    codes = {line["code"]: line for line in detail["lines"]}
    assert set(codes) == {"J18.9", "96365", "J0696"} and codes["J0696"]["units"] == 4
    evidence = codes["J0696"]["evidence"]
    assert [CEFTRIAXONE[s["start"]:s["end"]] for s in evidence] == ["Ceftriaxone", "1 g"]
    page = coder.get(f"/notes/{note['id']}", headers={"Accept": "text/html"}).text
    assert re.search(rf'<mark data-keys="[^"]*\bline-{codes["J0696"]["id"]}\b', page)

    finalise = coder.post(f"/api/notes/{note['id']}/finalise")
    assert finalise.status_code == 400 and "need a decision" in finalise.json()["detail"]
    edited = coder.post(f"/api/lines/{codes['J0696']['id']}", json={
        "action": "edit", "units": 3, "reason": "vial partly used"}).json()
    assert (edited["status"], edited["units"]) == ("edited", 3)
    for code in ("J18.9", "96365"):
        coder.post(f"/api/lines/{codes[code]['id']}", json={"action": "accept"})
    blocked = coder.post(f"/api/notes/{note['id']}/finalise")
    assert blocked.status_code == 400 and "acknowledging" in blocked.json()["detail"]
    assert acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").json()["status"] == "final"

    rows = list(csv.DictReader(io.StringIO(coder.get("/export.csv").text)))
    assert {(r["code"], r["units"], r["status"]) for r in rows} == {
        ("J18.9", "", "accepted"), ("96365", "1", "accepted"), ("J0696", "3", "edited")}
    exported = coder.get("/export.json").json()
    assert len(exported) == 3 and all(r["note_id"] == note["id"] for r in exported)

    trail = coder.get(f"/api/notes/{note['id']}/audit").json()
    actions = [event["action"] for event in trail]
    assert actions[:2] == ["note.submit", "note.coded"] and actions[-1] == "note.finalise"
    edit = next(e for e in trail if e["action"] == "line.edit")
    assert (edit["user"], edit["before"]["units"], edit["after"]["units"]) == ("coder1", 4, 3)
    assert all("Ceftriaxone 1 g" not in str(e) for e in trail)  # no note text in the trail


def test_reject_needs_a_reason_and_bad_edits_are_refused(site):
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": CEFTRIAXONE}).json()
    run_jobs()
    lines = coder.get(f"/api/notes/{note['id']}").json()["lines"]
    dx = next(line for line in lines if line["system"] == "ICD-10-CM")
    assert coder.post(f"/api/lines/{dx['id']}", json={"action": "reject"}).status_code == 400
    bad = coder.post(f"/api/lines/{dx['id']}", json={"action": "edit", "code": "J18"})
    assert bad.status_code == 400 and "billable" in bad.json()["detail"]
    added = coder.post(f"/api/notes/{note['id']}/lines", json={
        "system": "CPT", "code": "96374", "units": 1, "reason": "push documented elsewhere"})
    assert added.status_code == 201 and added.json()["status"] == "added"


def test_cdi_query_answer_recodes_the_note(site):
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": NO_WEIGHT, "label": "no weight"}).json()
    run_jobs()
    before = coder.get(f"/api/notes/{note['id']}").json()
    assert next(x for x in before["lines"] if x["code"] == "J1745")["units"] is None
    cdi = _login(app, "cdi1")
    (query,) = [q for q in cdi.get("/api/queries").json() if q["note_id"] == note["id"]]
    assert query["rule"] == "R-CDI-02" and "weight" in query["question"]
    assert cdi.post(f"/api/queries/{query['id']}/answer",
                    json={"answer": "80 kg"}).status_code == 400  # not sent yet
    leading = cdi.post(f"/api/queries/{query['id']}/send",
                       json={"question": "Please document the weight so we can bill J1745."})
    assert leading.status_code == 400 and "payment, billing or codes" in leading.json()["detail"]
    sent = cdi.post(f"/api/queries/{query['id']}/send",
                    json={"question": "Please document the patient's weight."}).json()
    assert sent["status"] == "sent"
    recoded = cdi.post(f"/api/queries/{query['id']}/answer",
                       json={"answer": "Patient weight 80 kg."}).json()
    assert (recoded["status"], recoded["version"]) == ("queued", 2)
    run_jobs()
    after = coder.get(f"/api/notes/{note['id']}").json()
    assert next(x for x in after["lines"] if x["code"] == "J1745")["units"] == 40
    assert "Patient weight 80 kg." in after["text"]
    assert not [q for q in cdi.get("/api/queries").json() if q["note_id"] == note["id"]]


def test_queue_filters_and_pages(site):
    app, run_jobs = site
    coder = _login(app, "coder1")
    for n in range(3):
        coder.post("/api/notes", json={"text": CEFTRIAXONE, "label": f"n{n}"})
    run_jobs()
    coder.post("/api/notes", json={"text": CEFTRIAXONE, "label": "waiting"})
    assert coder.get("/api/notes?status=queued").json()["total"] == 1
    assert coder.get("/api/notes?status=coded").json()["total"] == 3
    page = coder.get("/api/notes?per_page=2&page_no=2").json()
    assert (page["total"], len(page["notes"])) == (4, 2)
    html = coder.get("/queue?status=coded", headers={"Accept": "text/html"}).text
    assert html.count('class="status-coded"') == 3


def test_bad_notes_are_refused_with_one_sentence(site):
    app, _ = site
    coder = _login(app, "coder1")
    empty = coder.post("/api/notes", json={"text": "   "})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    binary = coder.post("/notes", files={"files": ("x.txt", b"\x00\x01\x02", "text/plain")})
    # Refused as binary: the upload was read (not ignored as "Paste a note or choose a file").
    assert binary.status_code == 400 and "binary" in binary.json()["detail"]
    uploaded = coder.post("/notes", files={"files": ("visit.txt", CEFTRIAXONE.encode(),
                                                     "text/plain")}, follow_redirects=False)
    assert uploaded.status_code == 303 and re.search(r"/notes/\d+$", uploaded.headers["location"])


def test_a_failed_note_can_be_queued_again(site, monkeypatch):
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": CEFTRIAXONE}).json()
    import notecoder.pipeline

    def unavailable(*_args, **_kwargs):
        from notecoder.errors import LLMUnavailable

        raise LLMUnavailable("The LLM endpoint could not be reached.")

    with monkeypatch.context() as patch:
        patch.setattr(notecoder.pipeline, "code_note", unavailable)
        run_jobs()
    failed = coder.get(f"/api/notes/{note['id']}").json()
    assert (failed["status"], failed["lines"]) == ("failed", [])
    assert "could not be reached" in failed["error"]
    assert coder.post(f"/api/notes/{note['id']}/finalise").status_code == 400
    retried = coder.post(f"/api/notes/{note['id']}/retry").json()
    assert (retried["status"], retried["version"]) == ("queued", 2)
    run_jobs()
    assert coder.get(f"/api/notes/{note['id']}").json()["status"] == "coded"
    assert coder.post(f"/api/notes/{note['id']}/retry").status_code == 400  # not failed now


@pytest.mark.parametrize("where", ["coding", "writing"])
def test_an_unexpected_failure_ends_the_job_failed_with_its_reason_and_it_can_be_retried(
        site, monkeypatch, where):
    """Issue 13 item 4: not a NotecoderError (a bug, a full disk) -> failed, not queued."""
    app, run_jobs = site
    client = _login(app, "coder1")
    note_id = client.post("/api/notes", json={"text": CEFTRIAXONE}).json()["id"]
    from notecoder import pipeline

    real_code, real_audit = pipeline.code_note, service.audit
    if where == "coding":
        def broken(*_args, **_kwargs):
            raise OverflowError("int too large: Ceftriaxone 99999999999999999999 g")
        monkeypatch.setattr(pipeline, "code_note", broken)
    else:
        def disk_full(db, user, action, **kwargs):
            if action == "note.coded":
                raise OSError(28, "No space left on device")
            return real_audit(db, user, action, **kwargs)
        monkeypatch.setattr(service, "audit", disk_full)
    run_jobs()
    note = client.get(f"/api/notes/{note_id}").json()
    assert note["status"] == "failed"
    assert "Internal error" in note["error"] and "Ceftriaxone" not in note["error"]
    assert note.get("codes", []) == [] or all(not c for c in note.get("codes", []))
    monkeypatch.setattr(pipeline, "code_note", real_code)  # the fault is gone
    monkeypatch.setattr(service, "audit", real_audit)
    assert client.post(f"/api/notes/{note_id}/retry").status_code in (200, 202)
    run_jobs()
    assert client.get(f"/api/notes/{note_id}").json()["status"] == "coded"


def _coded(app, run_jobs, client) -> dict:
    note_id = client.post("/api/notes", json={"text": CEFTRIAXONE}).json()["id"]
    run_jobs()
    return client.get(f"/api/notes/{note_id}").json()


def test_a_stale_page_cannot_overwrite_another_coders_decision(site):
    """Issue 13 item 6: two coders load one note; the second decision made on the old
    revision is refused with 409 and names the change that beat it."""
    app, run_jobs = site
    first, second = _login(app, "coder1"), _login(app, "admin1")
    note = _coded(app, run_jobs, first)
    line_id, seen = note["lines"][0]["id"], note["revision"]
    ok = first.post(f"/api/lines/{line_id}", json={"action": "accept", "revision": seen})
    assert ok.status_code == 200
    stale = second.post(f"/api/lines/{line_id}", json={
        "action": "reject", "reason": "not documented", "revision": seen})
    assert stale.status_code == 409
    assert "line.accept by coder1" in stale.json()["detail"]
    lines = first.get(f"/api/notes/{note['id']}").json()["lines"]
    assert lines[0]["status"] == "accepted"  # the first coder's decision stands


def test_no_line_changes_after_finalise_even_from_a_page_loaded_before(site):
    app, run_jobs = site
    client = _login(app, "coder1")
    note = _coded(app, run_jobs, client)
    for line in note["lines"]:
        client.post(f"/api/lines/{line['id']}", json={"action": "accept"})
    acknowledge_open(client, note["id"])
    assert client.post(f"/api/notes/{note['id']}/finalise").status_code == 200
    late = client.post(f"/api/lines/{note['lines'][0]['id']}", json={
        "action": "edit", "units": 9})
    assert late.status_code in (400, 409)
    exported = client.get(f"/api/notes/{note['id']}").json()["lines"][0]
    assert exported["units"] == note["lines"][0]["units"]


def test_the_note_page_sends_the_claim_revision_with_every_decision(site):
    app, run_jobs = site
    client = _login(app, "coder1")
    note = _coded(app, run_jobs, client)
    page = client.get(f"/notes/{note['id']}", headers={"Accept": "text/html"}).text
    assert page.count(f'name="revision" value="{note["revision"]}"') >= 3


def test_healthz_answers_without_a_session_or_the_database(site):
    app, _ = site
    answer = TestClient(app).get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_queue_api_counts_filters_and_assigns(site):
    """Issue 14 item 7: per-note counts, filters, and Assign to me (audited)."""
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": NO_WEIGHT, "label": "counts"}).json()
    run_jobs()
    coder.post("/api/notes", json={"text": CEFTRIAXONE, "label": "waiting"})
    rows = coder.get("/api/queue?status=coded").json()
    (row,) = rows["notes"]
    assert (row["id"], row["status_label"], row["submitted_by"]) == (note["id"], "coded",
                                                                      "coder1")
    assert row["lines"] >= 2 and row["open_queries"] == 1 and row["warnings"] >= 0
    assert row["assigned_to"] is None
    assert coder.get("/api/queue?status=queued").json()["total"] == 1
    today = row["submitted_at"][:10]
    assert coder.get(f"/api/queue?since={today}&until={today}").json()["total"] == 2
    assert coder.get("/api/queue?since=2001-01-01&until=2001-01-02").json()["total"] == 0
    assert coder.get("/api/queue?assigned=me").json()["total"] == 0
    assert _login(app, "cdi1").post(f"/api/notes/{note['id']}/assign").status_code == 403
    assigned = coder.post(f"/api/notes/{note['id']}/assign").json()
    assert assigned["assigned_to"] == "coder1"
    coder.post(f"/api/notes/{note['id']}/assign")  # again: no second audit event
    assert [r["id"] for r in coder.get("/api/queue?assigned=me").json()["notes"]] == [
        note["id"]]
    trail = coder.get(f"/api/notes/{note['id']}/audit").json()
    assert [(e["user"], e["before"], e["after"]) for e in trail
            if e["action"] == "note.assign"] == [("coder1", {"assigned_to": None},
                                                  {"assigned_to": "coder1"})]


def test_a_cdi_specialist_withdraws_a_query(site):
    """Issue 14 item 7: withdraw is audited, empties the inbox, unblocks finalise."""
    app, run_jobs = site
    coder = _login(app, "coder1")
    note = coder.post("/api/notes", json={"text": NO_WEIGHT}).json()
    run_jobs()
    cdi = _login(app, "cdi1")
    (query,) = [q for q in cdi.get("/api/queries").json() if q["note_id"] == note["id"]]
    assert coder.post(f"/api/queries/{query['id']}/withdraw").status_code == 403
    done = cdi.post(f"/api/queries/{query['id']}/withdraw", json={"reason": "not needed"})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    again = cdi.post(f"/api/queries/{query['id']}/withdraw")
    assert again.status_code == 400 and "withdrawn" in again.json()["detail"]
    assert not [q for q in cdi.get("/api/queries").json() if q["note_id"] == note["id"]]
    assert coder.get("/api/queue").json()["notes"][0]["open_queries"] == 0
    claim = coder.get(f"/api/notes/{note['id']}").json()["claim"]
    assert not [i for i in claim["issues"] if i["kind"] == "query"]
    (event,) = [e for e in coder.get(f"/api/notes/{note['id']}/audit").json()
                if e["action"] == "query.withdraw"]
    assert event["user"] == "cdi1" and event["after"]["reason"] == "not needed"
    # An empty answer on the page is refused with a sentence (no default option).
    page = cdi.post(f"/cdi/queries/{query['id']}/answer", data={"answer": ""},
                    headers={"Accept": "text/html"})
    assert page.status_code == 400 and "Choose the provider" in page.text
