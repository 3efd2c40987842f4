"""Issue 14 item 1 (the "Broken" list) through HTTP: re-coding after a CDI answer or an
addendum is a diff that keeps the coder's work; the addendum's own header is never read as a
clock time; edits are validated (whole units, code format per system, confirmation and a
flag for codes the engine does not know, the reason kept on accept, no finalise with unknown
units); /export.json has the CLI's types; the queue says when no worker is running; /docs
is served offline; role errors are pages for people and JSON for the API.

Jobs are recorded and coded here with the worker's own function, as in test_review_app.py.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notecoder.config import Settings
from review import service
from tests import db_urls, test_review_app

database_url = db_urls.database_url  # every test here runs on SQLite and on PostgreSQL
site = test_review_app.site  # the app (coder1, cdi1, admin1) and its recorded coding jobs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "datasets" / "examples"
CEFTRIAXONE = (EXAMPLES / "g1_ceftriaxone.txt").read_text(encoding="utf-8")
INFLIXIMAB = (EXAMPLES / "g2_infliximab.txt").read_text(encoding="utf-8")  # no weight, NS last
HTML = {"Accept": "text/html"}


@pytest.fixture
def url(tmp_path, database_url) -> str:
    """The database URL of the `site` fixture's app (same data directory and URL)."""
    return Settings(data_dir=tmp_path, database_url=database_url).resolved_database_url()


def login(app, username: str) -> TestClient:
    return test_review_app._login(app, username)


def coded(client: TestClient, run_jobs, text: str = CEFTRIAXONE) -> dict:
    note_id = client.post("/api/notes", json={"text": text}).json()["id"]
    run_jobs()
    return client.get(f"/api/notes/{note_id}").json()


def by_code(note: dict) -> dict[str, dict]:
    return {line["code"]: line for line in note["lines"]}


def answer_the_query(app, run_jobs, note_id: int, answer: str) -> None:
    cdi = login(app, "cdi1")
    (query,) = [q for q in cdi.get("/api/queries").json() if q["note_id"] == note_id]
    assert cdi.post(f"/api/queries/{query['id']}/send", json={
        "question": "Please document the patient's weight."}).status_code == 200
    assert cdi.post(f"/api/queries/{query['id']}/answer",
                    json={"answer": answer}).status_code == 200
    run_jobs()


def decide_all(client: TestClient, note: dict) -> None:
    """Edit the engine's units of the drug line down by one, reject the E/M line, accept
    the rest (the drug line of a note with no weight gets its units first)."""
    for line in note["lines"]:
        if line["system"] == "HCPCS":
            body = {"action": "edit", "units": (line["units"] or 2) - 1,
                    "reason": "per MAR"}
        elif line["code"].startswith("992"):
            body = {"action": "reject", "reason": "not separately identifiable"}
        else:
            body = {"action": "accept"}
        assert client.post(f"/api/lines/{line['id']}", json=body).status_code == 200


# --- re-coding is a diff (issue 14 item 6) --------------------------------------------------


def test_a_cdi_answer_on_a_final_claim_keeps_the_coders_work_and_asks_for_re_review(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs, INFLIXIMAB)
    before = by_code(note)
    assert before["J1745"]["units"] is None
    decide_all(coder, note)
    test_review_app.acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").json()["status"] == "final"
    exported = {r["code"] for r in coder.get("/export.json").json()}
    assert "J1745" in exported

    answer_the_query(app, run_jobs, note["id"], "Patient weight 80 kg.")
    after = coder.get(f"/api/notes/{note['id']}").json()
    assert after["status"] == "needs-re-review"
    lines = by_code(after)
    # Unchanged suggestions keep the coder's decisions, edits and reasons.
    assert (lines["K50.90"]["status"], lines["K50.90"]["change"]) == ("accepted", None)
    assert (lines["99214"]["status"], lines["99214"]["reason"]) == (
        "rejected", "not separately identifiable")
    assert lines["96413"]["status"] == "accepted" and lines["96413"]["change"] is None
    # The drug line's units changed (the weight makes 40 units): marked, with the before.
    drug = lines["J1745"]
    assert (drug["status"], drug["change"], drug["units"]) == ("suggested", "changed", 40)
    assert drug["previous"]["status"] == "edited" and drug["previous"]["reason"] == "per MAR"
    trail = [e["action"] for e in coder.get(f"/api/notes/{note['id']}/audit").json()]
    assert trail[-1] == "note.rereview"
    assert coder.get("/api/notes?status=needs-re-review").json()["total"] == 1
    queue = coder.get("/queue", headers=HTML).text
    assert "needs re-review" in queue

    # Until it is finalised again it is not exported; then it is, with the kept decisions.
    assert "J1745" not in {r["code"] for r in coder.get("/export.json").json()}
    finalise = coder.post(f"/api/notes/{note['id']}/finalise")
    assert finalise.status_code == 400 and "need a decision" in finalise.json()["detail"]
    assert coder.post(f"/api/lines/{drug['id']}", json={"action": "accept"}).status_code == 200
    test_review_app.acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").json()["status"] == "final"
    rows = {r["code"]: r for r in coder.get("/export.json").json()}
    assert rows["J1745"]["units"] == 40 and "99214" not in rows
    assert rows["K50.90"]["status"] == "accepted"


def test_an_addendum_re_codes_a_coded_note_as_a_diff(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs, INFLIXIMAB)
    lines = by_code(note)
    coder.post(f"/api/lines/{lines['K50.90']['id']}", json={"action": "accept"})
    coder.post(f"/api/lines/{lines['96413']['id']}", json={
        "action": "edit", "modifiers": ["59"], "reason": "separate site"})
    added = coder.post(f"/api/notes/{note['id']}/lines", json={
        "system": "ICD-10-CM", "code": "Z79.899", "reason": "long-term therapy"})
    assert added.status_code == 201
    queued = coder.post(f"/api/notes/{note['id']}/addendum",
                        json={"text": "Weight today 80 kg."})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    run_jobs()
    after = coder.get(f"/api/notes/{note['id']}").json()
    assert after["status"] == "coded"  # it was never final
    assert "Weight today 80 kg." in after["text"]
    lines = by_code(after)
    assert lines["K50.90"]["status"] == "accepted"
    assert (lines["96413"]["status"], lines["96413"]["modifiers"],
            lines["96413"]["reason"]) == ("edited", ["59"], "separate site")
    assert (lines["Z79.899"]["status"], lines["Z79.899"]["rule"]) == ("added", "MANUAL")
    assert lines["J1745"]["change"] == "changed" and lines["J1745"]["units"] == 40
    actions = [e["action"] for e in coder.get(f"/api/notes/{note['id']}/audit").json()]
    assert "note.addendum" in actions and "note.rereview" not in actions


def test_a_kept_line_the_re_coding_drops_waits_for_a_decision(site, monkeypatch):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    for line in note["lines"]:
        coder.post(f"/api/lines/{line['id']}", json={"action": "accept"})
    from notecoder import pipeline

    real = pipeline.code_note

    def without_the_drug(*args, **kwargs):
        result = real(*args, **kwargs)
        result.codes = [c for c in result.codes if c.code != "J0696"]
        return result

    monkeypatch.setattr(pipeline, "code_note", without_the_drug)
    coder.post(f"/api/notes/{note['id']}/addendum", json={"text": "Nothing new."})
    run_jobs()
    lines = by_code(coder.get(f"/api/notes/{note['id']}").json())
    assert (lines["J0696"]["status"], lines["J0696"]["change"]) == ("suggested", "removed")
    assert lines["J0696"]["previous"]["status"] == "accepted"
    assert lines["96365"]["status"] == "accepted"


# --- the addendum's header is not a clock time ------------------------------------------------


def test_the_addendum_header_is_not_read_as_an_administration_time(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs, INFLIXIMAB)
    assert not [q for q in note["queries"] if q["rule"] == "R-CDI-01"]
    answer_the_query(app, run_jobs, note["id"], "Patient weight 80 kg.")
    after = coder.get(f"/api/notes/{note['id']}").json()
    assert "Addendum (" in after["text"]
    assert not re.search(r"Addendum \([^)]*\d{1,2}:\d{2}", after["text"])
    assert [q["question"] for q in after["queries"] if q["rule"] == "R-CDI-01"] == []
    assert "started at" not in " ".join(q["question"] for q in after["queries"])


# --- edits -------------------------------------------------------------------------------------


def test_fractional_units_in_the_edit_form_are_refused_not_ignored(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    drug = by_code(note)["J0696"]
    answer = coder.post(f"/notes/{note['id']}/lines/{drug['id']}", headers=HTML, data={
        "action": "edit", "code": "J0696", "units": "4.5", "reason": "x"})
    assert answer.status_code == 400 and "whole number" in answer.text
    line = by_code(coder.get(f"/api/notes/{note['id']}").json())["J0696"]
    assert (line["status"], line["units"]) == ("suggested", 4)
    api = coder.post(f"/api/lines/{drug['id']}", json={"action": "edit", "units": 4.5})
    assert api.status_code == 422


@pytest.mark.parametrize(("system", "code", "message"), [
    ("CPT", "9636", "not a CPT code"), ("CPT", "963655", "not a CPT code"),
    ("HCPCS", "J069", "not a HCPCS"), ("HCPCS", "96365", "not a HCPCS"),
    ("ICD-10-CM", "J18", "billable"),
])
def test_malformed_codes_are_refused(site, system, code, message):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    answer = coder.post(f"/api/notes/{note['id']}/lines", json={
        "system": system, "code": code, "units": 1, "reason": "x", "confirm_unknown": True})
    assert answer.status_code == 400 and message in answer.json()["detail"]


def test_an_unknown_cpt_code_needs_a_confirmation_and_is_flagged_in_the_export(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    admin = by_code(note)["96365"]
    edit = {"action": "edit", "code": "96999", "reason": "per op note"}
    refused = coder.post(f"/api/lines/{admin['id']}", json=edit)
    assert refused.status_code == 400 and "Keep an unknown code" in refused.json()["detail"]
    page = coder.post(f"/notes/{note['id']}/lines/{admin['id']}", headers=HTML,
                      data={**edit, "confirm_unknown": "1"}, follow_redirects=False)
    assert page.status_code == 303
    line = by_code(coder.get(f"/api/notes/{note['id']}").json())["96999"]
    assert line["status"] == "edited" and "not an administration or E/M code" in line["flag"]
    assert "Keep an unknown code" in coder.get(f"/notes/{note['id']}", headers=HTML).text
    for other in note["lines"]:
        if other["id"] != admin["id"]:
            coder.post(f"/api/lines/{other['id']}", json={"action": "accept"})
    test_review_app.acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").status_code == 200
    rows = {r["code"]: r for r in coder.get("/export.json").json()}
    assert "confirmation" in rows["96999"]["flag"] and rows["J0696"]["flag"] is None
    csv_rows = {r["code"]: r for r in csv.DictReader(io.StringIO(
        coder.get("/export.csv").text))}
    assert csv_rows["96999"]["flag"] and csv_rows["J0696"]["flag"] == ""


def test_known_codes_pass_without_confirmation(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    for system, code, units in (("CPT", "96374", 1), ("HCPCS", "J1745", 10),
                                ("ICD-10-CM", "E83.42", None)):
        added = coder.post(f"/api/notes/{note['id']}/lines", json={
            "system": system, "code": code, "units": units, "reason": "x"})
        assert added.status_code == 201 and added.json()["flag"] is None, added.json()


def test_accepting_an_edited_line_keeps_its_edit_and_reason(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs)
    drug = by_code(note)["J0696"]
    coder.post(f"/api/lines/{drug['id']}", json={"action": "edit", "units": 3,
                                                 "reason": "750 mg given per MAR"})
    accepted = coder.post(f"/api/lines/{drug['id']}", json={"action": "accept"}).json()
    assert (accepted["status"], accepted["units"], accepted["reason"]) == (
        "edited", 3, "750 mg given per MAR")


def test_finalise_is_blocked_while_a_drug_line_has_unknown_units(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs, INFLIXIMAB)
    for line in note["lines"]:
        coder.post(f"/api/lines/{line['id']}", json={"action": "accept"})
    blocked = coder.post(f"/api/notes/{note['id']}/finalise")
    assert blocked.status_code == 400
    assert "J1745" in blocked.json()["detail"] and "units unknown" in blocked.json()["detail"]
    assert coder.get(f"/api/notes/{note['id']}").json()["status"] == "coded"
    drug = by_code(note)["J1745"]
    coder.post(f"/api/lines/{drug['id']}", json={"action": "reject", "reason": "no weight"})
    test_review_app.acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").json()["status"] == "final"


def test_export_json_has_the_cli_contracts_types(site):
    app, run_jobs = site
    coder = login(app, "coder1")
    note = coded(coder, run_jobs, INFLIXIMAB)
    decide_all(coder, note)
    test_review_app.acknowledge_open(coder, note["id"])
    assert coder.post(f"/api/notes/{note['id']}/finalise").status_code == 200
    rows = {r["code"]: r for r in coder.get("/export.json").json()}
    assert rows["K50.90"]["units"] is None and rows["K50.90"]["modifiers"] == []
    assert isinstance(rows["96413"]["units"], int)
    assert all(isinstance(r["modifiers"], list) for r in rows.values())
    csv_rows = {r["code"]: r for r in csv.DictReader(io.StringIO(
        coder.get("/export.csv").text))}
    assert csv_rows["K50.90"]["units"] == "" and csv_rows["K50.90"]["modifiers"] == ""


def test_the_known_cpt_codes_cover_what_the_engine_emits():
    from review import codes

    source = (ROOT / "engine" / "admin_rules.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'"(9\d{4})"', source))
    assert emitted and emitted <= codes.KNOWN_CPT, emitted - codes.KNOWN_CPT
    em = (ROOT / "engine" / "em_rules.py").read_text(encoding="utf-8")
    assert '"9920{}"' in em and '"9921{}"' in em and '"9928{}"' in em


# --- worker, docs, errors ----------------------------------------------------------------------


def test_the_queue_says_when_no_worker_is_running(site, url):
    app, _ = site
    coder = login(app, "coder1")
    note_id = coder.post("/api/notes", json={"text": CEFTRIAXONE}).json()["id"]
    for path in ("/queue", f"/notes/{note_id}"):
        page = coder.get(path, headers=HTML).text
        assert "No coding worker is running" in page and "notecoder worker" in page, path
    service.record_heartbeat(url, "worker-1")
    for path in ("/queue", f"/notes/{note_id}"):
        assert "No coding worker is running" not in coder.get(path, headers=HTML).text


def test_role_errors_are_a_page_for_a_browser_and_json_for_the_api(site):
    app, _ = site
    coder = login(app, "coder1")
    page = coder.get("/cdi", headers=HTML)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "Your role does not allow this" in page.text and "<h1>" in page.text
    api = coder.get("/api/queries")
    assert api.status_code == 403 and api.json() == {"detail": "Your role does not allow this"}
    missing = coder.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404 and "<h1>" in missing.text
