"""Review bench: keystrokes and waiting to review and finalise a note, before and after.

    python bench/bench_review_keys.py

Starts `notecoder serve --with-worker` over a temporary data directory (SQLite) and drives
Debian's Chromium (/usr/bin/chromium) with Playwright, as tests/test_review_browser.py does.
Two notes: the 10-line chemotherapy note (gold dev m08: 10 code lines) and a 56-line ED note
(bench/notes/ed_pneumonia_56_lines.txt: 12 code lines; the table prints the count). Each is
reviewed three ways:

- before: the click + full page reload flow (the page's forms with JavaScript off, which is
  how every decision worked before issue 14): one click per line's Accept, one per
  Acknowledge of a claim-wide warning or query, one for Finalise; each waits for the
  reloaded page;
- keys: one `a` per line (the page selects the next undecided line itself), one `w` per
  claim-wide warning or query, `f` (finalise and go to the next note);
- keys + A: `A` (accept every line without a warning beside it), `a` per line left, `w`s, `f`.

Printed per note and way: keystrokes (clicks for "before") and wall-clock seconds spent
waiting for the page after them. Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_review_browser import (  # noqa: E402 - after the path
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    TIMEOUT_MS,
    _answers,
    _free_port,
    _isolated_env,
    _notecoder_command,
    _stop,
)

NOTES = {
    "10-line chemo note (m08)": json.loads((ROOT / "datasets/gold/dev/m08_chemo_with_premeds.json")
                                           .read_text(encoding="utf-8"))["text"],
    "56-line ED note": (ROOT / "bench/notes/ed_pneumonia_56_lines.txt").read_text(
        encoding="utf-8"),
}
OPEN_ROWS = "tr.code-line.line-suggested"
CLAIM_ISSUES = "#claim-issues li.issue"


def start_server(base: Path):
    import subprocess

    data, home = base / "data", base / "home"
    data.mkdir()
    home.mkdir()
    env = _isolated_env(data, home)
    command = _notecoder_command()
    subprocess.run([*command, "user", "add", "bench", "--role", "coder", "--password-stdin"],
                   input=PASSWORD + "\n", env=env, cwd=base, check=True, capture_output=True,
                   text=True)
    port = _free_port()
    log = (base / "server.log").open("w")
    process = subprocess.Popen([*command, "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--with-worker"], env=env, cwd=base, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while not _answers(f"{url}/login"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start; see {base / 'server.log'}")
        time.sleep(0.25)
    return process, url


def log_in(context):
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("User name").fill("bench")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/queue")
    return page


def queue_coded(page, text: str, label: str) -> int:
    """Queue a note through the API and wait for the worker to code it; its id."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    made = page.request.post("/api/notes", data={"text": text, "label": label},
                             headers={"X-CSRF-Token": token}).json()
    for _ in range(600):
        if page.request.get(f"/api/notes/{made['id']}").json()["status"] == "coded":
            return made["id"]
        time.sleep(0.1)
    raise SystemExit("the note was not coded")


def timed(action, until) -> float:
    start = time.perf_counter()
    action()
    until()
    return time.perf_counter() - start


def before(page, note_id: int) -> tuple[int, float]:
    """Click Accept on each line, Acknowledge on each claim-wide issue, Finalise; each click
    reloads the page (JavaScript off)."""
    page.goto(f"/notes/{note_id}")
    clicks, waited = 0, 0.0
    while page.locator(OPEN_ROWS).count():
        waited += timed(lambda: page.locator(OPEN_ROWS).first.get_by_role(
            "button", name="Accept").click(), lambda: page.wait_for_load_state("load"))
        clicks += 1
    while page.locator(CLAIM_ISSUES).count():
        waited += timed(lambda: page.locator(CLAIM_ISSUES).first.get_by_role(
            "button", name="Acknowledge").click(), lambda: page.wait_for_load_state("load"))
        clicks += 1
    waited += timed(lambda: page.locator("#finalise").click(),
                    lambda: page.wait_for_load_state("load"))
    clicks += 1
    assert page.locator("#note-status").inner_text() == "final", "not finalised"
    return clicks, waited


def keys(page, note_id: int, bulk: bool) -> tuple[int, float]:
    page.goto(f"/notes/{note_id}")
    page.wait_for_selector("tr.code-line.selected")
    pressed, waited = 0, 0.0

    def press(key: str, until) -> None:
        nonlocal pressed, waited
        waited += timed(lambda: page.keyboard.press(key), until)
        pressed += 1

    def fewer(selector: str, before_count: int):
        return lambda: page.wait_for_function(
            "([s, n]) => document.querySelectorAll(s).length < n", arg=[selector, before_count])

    if bulk:
        left = page.locator(OPEN_ROWS).count()
        press("Shift+A", fewer(OPEN_ROWS, left))
    while (left := page.locator(OPEN_ROWS).count()):
        press("a", fewer(OPEN_ROWS, left))
    while (left := page.locator(CLAIM_ISSUES).count()):
        press("w", fewer(CLAIM_ISSUES, left))
    press("f", lambda: page.wait_for_url(lambda url: not url.endswith(f"/notes/{note_id}")))
    page.wait_for_load_state("load")
    final = page.request.get(f"/api/notes/{note_id}").json()["status"]
    assert final == "final", final
    return pressed, waited


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                     headless=True, args=CHROMIUM_ARGS)
                rows = []
                for label, text in NOTES.items():
                    for way in ("before", "keys", "keys + A"):
                        context = browser.new_context(
                            base_url=url, viewport={"width": 1366, "height": 768},
                            java_script_enabled=way != "before")
                        context.set_default_timeout(TIMEOUT_MS)
                        page = log_in(context)
                        note_id = queue_coded(page, text, f"bench {label} {way}")
                        lines = page.request.get(f"/api/notes/{note_id}").json()["lines"]
                        if way == "before":
                            count, waited = before(page, note_id)
                        else:
                            count, waited = keys(page, note_id, bulk=way == "keys + A")
                        rows.append((label, len(lines), way, count, waited))
                        context.close()
                browser.close()
        finally:
            _stop(process)
    print(f"{'note':<26} {'lines':>5}  {'way':<9} {'keys/clicks':>11} {'waiting s':>9}")
    for label, lines, way, count, waited in rows:
        print(f"{label:<26} {lines:>5}  {way:<9} {count:>11} {waited:>9.2f}")


if __name__ == "__main__":
    main()
