"""Issue 13 item 3: login throttling per account and per address (in the database), bounded
password checks, a signed login CSRF token, session rotation, idle timeout and lifetime,
and `notecoder user list|disable|enable|reset-password`."""

import datetime as dt
import re
import threading
import time

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

import review.auth
import review.users
from notecoder.config import Settings
from review import jobs, login_throttle
from review.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, LoginBusy, hash_token, new_login_csrf
from review.db import AuditEvent, LoginSession, LoginThrottle, Role, engine_for, session_factory
from review.login_throttle import lock_length

PASSWORD = "a long enough password"
WRONG = "not the password at all"


@pytest.fixture
def make_site(tmp_path, monkeypatch):
    """Apps over one database (each like another web process), fast argon2 parameters."""
    monkeypatch.setattr(review.users, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(jobs, "enqueue", lambda *_args: None)
    urls = []

    def make(**overrides):
        from review.app import create_app

        settings = Settings(data_dir=tmp_path, **overrides)
        app = create_app(settings)
        url = settings.resolved_database_url()
        if not urls:
            for name, role in (("coder1", Role.CODER), ("admin1", Role.ADMIN)):
                review.users.add_user(url, name, role, PASSWORD)
        urls.append(url)
        return app, url

    yield make
    for url in urls:
        engine_for(url).dispose()


def form_token(client: TestClient) -> str:
    page = client.get("/login").text
    return re.search(r'name="login_csrf" value="([^"]+)"', page).group(1)


def post_login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "login_csrf": form_token(client)},
                       follow_redirects=False)


def session_row(url: str, cookie: str) -> LoginSession | None:
    with session_factory(url)() as db:
        return db.get(LoginSession, hash_token(cookie))


# --- throttling ---------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "minutes"), [(4, None), (5, 1), (6, 2), (7, 4), (8, 8),
                                                   (9, 15), (40, 15)])
def test_backoff_starts_at_the_limit_and_doubles_up_to_15_minutes(failures, minutes):
    expected = dt.timedelta(minutes=minutes) if minutes else None
    assert lock_length(failures, 5) == expected


def test_an_account_is_locked_after_its_failures_and_the_lock_holds_in_another_process(
        make_site, monkeypatch):
    app, url = make_site(login_failures_per_account=3)
    client = TestClient(app)
    assert [post_login(client, "coder1", WRONG).status_code for _ in range(3)] == [401] * 3
    checks = []
    monkeypatch.setattr(review.auth, "verify_password", lambda *a: checks.append(a) or True)
    other_process, _ = make_site(login_failures_per_account=3)
    locked = post_login(TestClient(other_process, client=("10.0.0.9", 1)), "coder1")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 50
    assert "Too many failed logins" in locked.text and SESSION_COOKIE not in locked.cookies
    assert checks == []  # a locked account's password is not even checked
    monkeypatch.undo()
    with session_factory(url)() as db:  # the minute passes
        row = db.get(LoginThrottle, login_throttle.account_key("coder1"))
        row.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.commit()
    assert post_login(client, "coder1").status_code == 303
    with session_factory(url)() as db:  # a success clears the account's count
        assert db.get(LoginThrottle, login_throttle.account_key("coder1")) is None


def test_failures_from_one_address_lock_it_for_every_account(make_site):
    app, _ = make_site(login_failures_per_address=4, login_failures_per_account=100)
    attacker = TestClient(app, client=("10.0.0.66", 4000))
    for name in ("a1", "a2", "a3", "a4"):  # unknown names count too
        assert post_login(attacker, name, WRONG).status_code == 401
    assert post_login(attacker, "coder1").status_code == 429
    elsewhere = TestClient(app, client=("10.0.0.7", 4000))
    assert post_login(elsewhere, "coder1").status_code == 303


def test_the_throttle_table_holds_no_typed_user_names(make_site):
    app, url = make_site()
    post_login(TestClient(app), "secret-typed-in-the-name-field", WRONG)
    with session_factory(url)() as db:
        keys = [row.key for row in db.scalars(select(LoginThrottle))]
    assert keys and not any("secret-typed" in key for key in keys)


def test_password_checks_are_bounded_and_excess_logins_get_429_at_once(make_site,
                                                                       monkeypatch):
    app, url = make_site(login_concurrency=2)
    release = threading.Event()
    running, peak = [0], [0]
    lock = threading.Lock()

    def slow_verify(_hash, _password):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(review.auth, "verify_password", slow_verify)

    def attempt():
        with session_factory(url)() as db:
            review.auth.login(db, "coder1", WRONG)

    holders = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in holders:
        thread.start()
    deadline = time.monotonic() + 5
    while running[0] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with session_factory(url)() as db, pytest.raises(LoginBusy):
        review.auth.login(db, "admin1", WRONG)
    busy = post_login(TestClient(app), "admin1")
    elapsed = time.monotonic() - started
    release.set()
    for thread in holders:
        thread.join(10)
    assert busy.status_code == 429 and "busy" in busy.text
    assert elapsed < 2 and peak[0] == 2


# --- the login form's CSRF token -------------------------------------------------------------


def test_a_made_up_login_csrf_cookie_and_form_pair_is_refused(make_site):
    app, _ = make_site()
    client = TestClient(app)
    forged = f"{int(time.time())}.attacker-chosen-random.attacker-signature"
    other_server = new_login_csrf(b"another server's secret, not ours")
    for token in (forged, other_server):
        client.cookies.set(LOGIN_CSRF_COOKIE, token)
        answer = client.post("/login", data={"username": "coder1", "password": PASSWORD,
                                             "login_csrf": token}, follow_redirects=False)
        assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies
    assert post_login(client, "coder1").status_code == 303  # a token this server signed


def test_the_signing_key_is_shared_by_processes_on_one_data_directory(make_site):
    first, _ = make_site()
    second, _ = make_site()
    client = TestClient(first)
    token = form_token(client)
    answer = TestClient(second, cookies={LOGIN_CSRF_COOKIE: token}).post(
        "/login", data={"username": "coder1", "password": PASSWORD, "login_csrf": token},
        follow_redirects=False)
    assert answer.status_code == 303


# --- sessions ------------------------------------------------------------------------------


def test_a_new_login_ends_the_session_the_browser_had(make_site):
    app, url = make_site()
    browser = TestClient(app)
    assert post_login(browser, "coder1").status_code == 303
    before = browser.cookies[SESSION_COOKIE]
    other_device = TestClient(app)
    post_login(other_device, "coder1")
    assert post_login(browser, "admin1").status_code == 303  # sends `before` along
    after = browser.cookies[SESSION_COOKIE]
    assert after != before and session_row(url, before) is None
    replay = TestClient(app, cookies={SESSION_COOKIE: before})
    assert replay.get("/api/me").status_code == 401
    assert browser.get("/api/me").json()["username"] == "admin1"
    # Concurrent sessions of one user on other devices are kept (the documented choice).
    assert other_device.get("/api/me").json()["username"] == "coder1"


@pytest.mark.parametrize(("idle_minutes", "status"), [(29, 200), (31, 401)])
def test_a_session_idle_for_longer_than_the_timeout_ends(make_site, idle_minutes, status):
    app, url = make_site(session_idle_minutes=30)
    client = TestClient(app)
    post_login(client, "coder1")
    cookie = client.cookies[SESSION_COOKIE]
    with session_factory(url)() as db:
        row = db.get(LoginSession, hash_token(cookie))
        row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=idle_minutes)
        db.commit()
    assert client.get("/api/me").status_code == status
    row = session_row(url, cookie)
    if status == 401:
        assert row is None
    else:  # a request brings last_seen_at forward
        assert dt.datetime.now(dt.UTC) - row.last_seen_at < dt.timedelta(minutes=1)


def test_a_busy_session_still_ends_at_its_absolute_lifetime(make_site):
    app, url = make_site(session_lifetime_hours=2)
    client = TestClient(app)
    answer = post_login(client, "coder1")
    assert f"Max-Age={2 * 3600}" in answer.headers["set-cookie"]
    cookie = client.cookies[SESSION_COOKIE]
    row = session_row(url, cookie)
    assert row.expires_at - row.created_at == dt.timedelta(hours=2)
    with session_factory(url)() as db:
        db.get(LoginSession, hash_token(cookie)).expires_at = (
            dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        db.commit()
    assert client.get("/api/me").status_code == 401


# --- notecoder user list|disable|enable|reset-password ---------------------------------------


@pytest.fixture
def cli(make_site, tmp_path, monkeypatch, capsys):
    from notecoder.cli import main
    from notecoder.config import get_settings

    app, url = make_site()
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(tmp_path))

    def run(*argv: str, stdin: str = "") -> tuple[int, str]:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        get_settings.cache_clear()
        try:
            code = main(list(argv))
        finally:
            get_settings.cache_clear()
        out, err = capsys.readouterr()
        return code, out + err

    return app, url, run


def test_user_list_shows_names_roles_and_state(cli):
    _, _, run = cli
    code, out = run("user", "list")
    assert code == 0
    assert re.search(r"^1\tcoder1\tcoder\tactive\t\d{4}-\d\d-\d\d$", out, re.M)
    assert "argon2" not in out


def test_a_disabled_user_is_logged_out_and_cannot_log_in_until_enabled(cli):
    app, _url, run = cli
    client = TestClient(app)
    post_login(client, "coder1")
    assert run("user", "disable", "coder1") == (0, "user coder1 disabled; 1 session(s) "
                                                   "ended.\n")
    assert client.get("/api/me").status_code == 401
    assert post_login(TestClient(app), "coder1").status_code == 401
    assert "disabled" in run("user", "list")[1]
    assert run("user", "enable", "coder1")[0] == 0
    assert post_login(TestClient(app), "coder1").status_code == 303
    assert run("user", "disable", "nobody") == (2, "error: No user named 'nobody'.\n")


def test_reset_password_ends_sessions_and_only_the_new_password_works(cli):
    app, url, run = cli
    client = TestClient(app)
    post_login(client, "coder1")
    new = "a brand new long password"
    code, out = run("user", "reset-password", "coder1", "--password-stdin", stdin=new + "\n")
    assert (code, out) == (0, "password of coder1 reset; 1 session(s) ended.\n")
    assert client.get("/api/me").status_code == 401
    assert post_login(TestClient(app), "coder1").status_code == 401
    assert post_login(TestClient(app), "coder1", new).status_code == 303
    assert run("user", "reset-password", "coder1", "--password-stdin",
               stdin="short\n")[0] == 2
    with session_factory(url)() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action.like("user.%"))).all()
    actions = [e.action for e in events]
    assert "user.reset_password" in actions
    assert new not in repr([(e.before, e.after) for e in events])


def test_enable_and_reset_password_clear_the_login_backoff(cli):
    app, _url, run = cli
    client = TestClient(app)
    for _ in range(5):
        post_login(client, "coder1", WRONG)
    assert post_login(client, "coder1").status_code == 429
    run("user", "enable", "coder1")
    assert post_login(TestClient(app, client=("10.1.1.1", 1)), "coder1").status_code == 303
