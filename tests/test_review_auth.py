"""Review app authentication: password hashes, accounts, sessions, roles and CSRF.

A tiny FastAPI app is built here over a temporary SQLite database, wired the way the real
app is meant to wire `review.auth` (it does not import `review/app.py`).
"""

# No `from __future__ import annotations`: the test app's endpoints use
# `Annotated[..., Depends(local_variable)]`, which FastAPI must be able to resolve.

import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import review.users
from notecoder.errors import NotecoderError
from review.auth import (
    CSRF_FAILED,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_MAX_AGE,
    SESSION_COOKIE,
    LoginRequired,
    check_login_csrf,
    clear_login_csrf_cookie,
    clear_session_cookie,
    csrf_protect,
    hash_token,
    login,
    login_required_handler,
    logout,
    new_login_csrf,
    require_role,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
)
from review.db import AuditEvent, LoginSession, Role, User, session_factory, upgrade
from review.users import (
    InvalidUser,
    UserExists,
    add_user,
    count_users,
    hash_password,
    verify_password,
)

PASSWORD = "correct horse battery"
USERS = {"carol": Role.CODER, "dina": Role.CDI, "ada": Role.ADMIN}
PROTECTED = [("GET", "/coder-only"), ("GET", "/cdi-only"), ("GET", "/admin-only"),
             ("POST", "/coder-action"), ("POST", "/logout")]


# --- the test app -----------------------------------------------------------------------


def make_app(db_url: str) -> FastAPI:
    """The login pages and one route per role rule, wired as the review app would."""
    factory = session_factory(db_url)

    def get_db() -> Iterator[Session]:
        with factory() as db:
            yield db

    app = FastAPI()
    app.add_exception_handler(LoginRequired, login_required_handler)
    add_login_routes(app, get_db)
    add_role_routes(app, get_db)
    return app


def add_login_routes(app: FastAPI, get_db) -> None:
    """GET/POST /login and POST /logout."""
    logged_in = csrf_protect(get_db)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(next: str = "/") -> HTMLResponse:
        token = new_login_csrf()
        page = HTMLResponse(f'<form method="post"><input name="csrf_token" value="{token}">'
                            f'<input name="next" value="{safe_next(next)}"></form>')
        set_login_csrf_cookie(page, token, secure=False)
        return page

    @app.post("/login")
    def login_post(request: Request, db: Annotated[Session, Depends(get_db)],
                   username: Annotated[str, Form()], password: Annotated[str, Form()],
                   csrf_token: Annotated[str, Form()] = "",
                   next: Annotated[str, Form()] = "/") -> Response:
        check_login_csrf(request, csrf_token)
        session = login(db, username, password)
        if session is None:
            return PlainTextResponse("Wrong username or password.", status_code=401)
        answer = RedirectResponse(safe_next(next), status_code=303)
        set_session_cookie(answer, session.token, secure=False)
        clear_login_csrf_cookie(answer, secure=False)
        return answer

    @app.post("/logout")
    def logout_post(request: Request, session: Annotated[LoginSession, Depends(logged_in)],
                    db: Annotated[Session, Depends(get_db)]) -> JSONResponse:
        logout(db, request.cookies[SESSION_COOKIE])
        answer = JSONResponse({"logged_out": True})
        clear_session_cookie(answer, secure=False)
        return answer


def add_role_routes(app: FastAPI, get_db) -> None:
    """One route per role rule; /coder-action is a state-changing POST."""
    coder = require_role(get_db, Role.CODER)
    cdi = require_role(get_db, Role.CDI, Role.ADMIN)
    admin = require_role(get_db, Role.ADMIN)

    @app.get("/coder-only")
    def coder_only(user: Annotated[User, Depends(coder)]) -> dict:
        return {"user": user.username}

    @app.get("/cdi-only")
    def cdi_only(user: Annotated[User, Depends(cdi)]) -> dict:
        return {"user": user.username}

    @app.get("/admin-only")
    def admin_only(user: Annotated[User, Depends(admin)]) -> dict:
        return {"user": user.username}

    @app.post("/coder-action")
    async def coder_action(request: Request, user: Annotated[User, Depends(coder)]) -> dict:
        form = await request.form()  # still readable after the CSRF check read it
        return {"user": user.username, "comment": form.get("comment", "")}


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def fast_hashes(monkeypatch) -> None:
    """Cheap argon2id parameters, so the many logins below stay quick."""
    monkeypatch.setattr(review.users, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db_url(tmp_path, fast_hashes) -> str:
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    return url


@pytest.fixture
def users(db_url) -> dict[str, int]:
    return {name: add_user(db_url, name, role, PASSWORD) for name, role in USERS.items()}


@pytest.fixture
def client(db_url, users) -> Iterator[TestClient]:
    with TestClient(make_app(db_url)) as test_client:
        yield test_client


def db_session(db_url: str) -> Session:
    return session_factory(db_url)()


def post_login(client: TestClient, username: str, password: str = PASSWORD):
    """GET the login form (double-submit cookie), then POST it as a browser would."""
    client.get("/login")
    token = client.cookies[LOGIN_CSRF_COOKIE]
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def log_in(client: TestClient, db_url: str, username: str) -> LoginSession:
    """Log `username` in; the session row (its id the hash of the cookie, `token` set here to
    the cookie, its csrf_token the CSRF token)."""
    answer = post_login(client, username)
    assert answer.status_code == 303, answer.text
    token = client.cookies[SESSION_COOKIE]
    with db_session(db_url) as db:
        session = db.get(LoginSession, hash_token(token))
    assert session is not None
    session.token = token
    return session


# --- passwords and accounts -------------------------------------------------------------


def test_password_hash_round_trip_and_wrong_password_fails():
    hashed = hash_password(PASSWORD)
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)


def test_password_hash_is_argon2id_with_random_salt():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's defaults
    assert first != second
    assert PASSWORD not in first


def test_no_default_users_exist_after_migration(db_url):
    assert count_users(db_url) == 0


def test_add_user_stores_a_hash_and_counts(db_url):
    user_id = add_user(db_url, "carol.smith", Role.CODER, PASSWORD)
    assert count_users(db_url) == 1
    with db_session(db_url) as db:
        user = db.get(User, user_id)
    assert user.role == "coder" and user.active
    assert user.password_hash != PASSWORD and verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_add_user_rejects_short_passwords(db_url, password):
    with pytest.raises(InvalidUser, match="at least 12 characters"):
        add_user(db_url, "carol", Role.CODER, password)
    assert count_users(db_url) == 0


@pytest.mark.parametrize("username", ["", "ab", "a" * 81, "carol smith", "carol/x", "zoë",
                                      "carol\n"])
def test_add_user_rejects_bad_usernames(db_url, username):
    with pytest.raises(InvalidUser, match="username must be 3 to 80 characters"):
        add_user(db_url, username, Role.CODER, PASSWORD)


def test_add_user_accepts_80_character_username_with_dots_dashes_underscores(db_url):
    add_user(db_url, "a._-" + "b" * 76, Role.CDI, PASSWORD)
    assert count_users(db_url) == 1


@pytest.mark.parametrize("role", ["superuser", "Admin", ""])
def test_add_user_rejects_unknown_roles(db_url, role):
    with pytest.raises(InvalidUser, match="role must be one of: coder, cdi, admin"):
        add_user(db_url, "carol", role, PASSWORD)


def test_add_user_rejects_duplicates_with_one_clear_sentence(db_url):
    add_user(db_url, "carol", "coder", PASSWORD)
    with pytest.raises(UserExists) as caught:
        add_user(db_url, "carol", Role.ADMIN, PASSWORD + "x")
    assert isinstance(caught.value, NotecoderError)
    assert str(caught.value) == "A user named 'carol' already exists."
    assert count_users(db_url) == 1


def test_add_user_audits_the_acting_admin_when_given(db_url):
    admin_id = add_user(db_url, "ada", Role.ADMIN, PASSWORD)
    add_user(db_url, "carol", Role.CODER, PASSWORD, actor_id=admin_id)
    with db_session(db_url) as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.add")
                            .order_by(AuditEvent.id)).all()
    assert [e.user_id for e in events] == [None, admin_id]


# --- sessions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_endpoint_answers_without_a_session(client, method, path):
    assert client.request(method, path).status_code == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_unknown_session_cookie_gets_401(client, method, path):
    client.cookies.set(SESSION_COOKIE, "made-up-session-id")
    assert client.request(method, path).status_code == 401


def test_html_request_without_session_redirects_to_login_with_next(client):
    answer = client.get("/coder-only?tab=2", headers={"Accept": "text/html,*/*"},
                        follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/coder-only%3Ftab%3D2"


def test_login_required_carries_the_next_path():
    assert LoginRequired("/queue?page=2").next == "/queue?page=2"
    assert LoginRequired("//evil.example").login_url == "/login?next=/"


@pytest.mark.parametrize(("given", "expected"), [
    ("/queue?page=2", "/queue?page=2"), (None, "/"), ("", "/"), ("//evil.example", "/"),
    ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("queue", "/")])
def test_safe_next_allows_only_local_paths(given, expected):
    assert safe_next(given) == expected


def test_login_sets_http_only_lax_session_cookie_and_redirects(client):
    answer = post_login(client, "carol")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(c for c in answer.headers.get_list("set-cookie")
                  if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age=43200" in cookie and "Secure" not in cookie
    assert client.get("/coder-only").json() == {"user": "carol"}


def test_session_cookie_is_secure_when_asked():
    answer = JSONResponse({})
    set_session_cookie(answer, "abc", secure=True)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=abc;") and "Secure" in cookie


def test_session_lasts_twelve_hours_with_random_ids(client, db_url):
    session = log_in(client, db_url, "carol")
    lifetime = session.expires_at - session.created_at
    assert lifetime == dt.timedelta(hours=12)
    assert len(session.token) >= 43 and len(session.csrf_token) >= 43
    assert session.token != session.csrf_token


def test_login_with_wrong_password_fails_and_sets_no_session_cookie(client, db_url):
    answer = post_login(client, "carol", "wrong password!!")
    assert answer.status_code == 401
    assert SESSION_COOKIE not in answer.cookies and SESSION_COOKIE not in client.cookies
    with db_session(db_url) as db:
        assert db.scalars(select(LoginSession)).all() == []


def test_login_with_unknown_user_fails(db_url, users):
    with db_session(db_url) as db:
        assert login(db, "nobody", PASSWORD) is None


def test_expired_session_gets_401(client, db_url):
    session = log_in(client, db_url, "carol")
    with db_session(db_url) as db:
        db.get(LoginSession, session.id).expires_at = (
            dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        db.commit()
    assert client.get("/coder-only").status_code == 401


def test_logout_invalidates_the_session(client, db_url):
    session = log_in(client, db_url, "carol")
    answer = client.post("/logout", headers={CSRF_HEADER: session.csrf_token})
    assert answer.status_code == 200
    assert SESSION_COOKIE not in client.cookies
    client.cookies.set(SESSION_COOKIE, session.token)  # replay the old cookie
    assert client.get("/coder-only").status_code == 401
    with db_session(db_url) as db:
        assert db.get(LoginSession, session.id) is None


def test_inactive_user_cannot_log_in(client, db_url, users):
    with db_session(db_url) as db:
        db.get(User, users["carol"]).active = False
        db.commit()
    assert post_login(client, "carol").status_code == 401
    assert SESSION_COOKIE not in client.cookies


def test_deactivating_a_user_ends_their_live_session(client, db_url, users):
    log_in(client, db_url, "carol")
    with db_session(db_url) as db:
        db.get(User, users["carol"]).active = False
        db.commit()
    assert client.get("/coder-only").status_code == 401


def test_login_rehashes_a_password_hashed_with_old_parameters(db_url, users):
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db_session(db_url) as db:
        db.get(User, users["carol"]).password_hash = old
        db.commit()
        assert login(db, "carol", PASSWORD) is not None
    with db_session(db_url) as db:
        new = db.get(User, users["carol"]).password_hash
    assert new != old and verify_password(new, PASSWORD)


# --- roles --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin-only", "/cdi-only"])
def test_coder_cannot_reach_admin_or_cdi_pages(client, db_url, path):
    log_in(client, db_url, "carol")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("username", ["dina", "ada"])
def test_cdi_and_admin_can_reach_cdi_page(client, db_url, username):
    log_in(client, db_url, username)
    assert client.get("/cdi-only").json() == {"user": username}


def test_admin_gets_only_the_roles_it_is_listed_for(client, db_url):
    log_in(client, db_url, "ada")
    assert client.get("/admin-only").status_code == 200
    assert client.get("/coder-only").status_code == 403


def test_cdi_cannot_reach_admin_page(client, db_url):
    log_in(client, db_url, "dina")
    assert client.get("/admin-only").status_code == 403


def test_require_role_needs_at_least_one_role():
    with pytest.raises(ValueError, match="at least one role"):
        require_role(lambda: None)


# --- CSRF ---------------------------------------------------------------------------------


def test_post_with_session_but_no_csrf_token_is_403(client, db_url):
    log_in(client, db_url, "carol")
    answer = client.post("/coder-action", data={"comment": "hi"})
    assert answer.status_code == 403 and answer.json()["detail"] == CSRF_FAILED


def test_post_with_wrong_csrf_token_is_403(client, db_url):
    session = log_in(client, db_url, "carol")
    wrong = session.csrf_token[:-1] + ("A" if session.csrf_token[-1] != "A" else "B")
    assert client.post("/coder-action", headers={CSRF_HEADER: wrong}).status_code == 403
    assert client.post("/coder-action", data={"csrf_token": wrong}).status_code == 403
    non_ascii = {CSRF_HEADER: "é".encode()}
    assert client.post("/coder-action", headers=non_ascii).status_code == 403
    assert client.post("/coder-action", data={"csrf_token": "é"}).status_code == 403


def test_post_with_another_sessions_csrf_token_is_403(client, db_url):
    other = TestClient(client.app)
    other_session = log_in(other, db_url, "dina")
    log_in(client, db_url, "carol")
    answer = client.post("/coder-action", headers={CSRF_HEADER: other_session.csrf_token})
    assert answer.status_code == 403


def test_post_with_right_csrf_header_is_200(client, db_url):
    session = log_in(client, db_url, "carol")
    answer = client.post("/coder-action", headers={CSRF_HEADER: session.csrf_token},
                         json={"x": 1})
    assert answer.status_code == 200 and answer.json()["user"] == "carol"


def test_post_with_right_csrf_form_field_is_200_and_form_stays_readable(client, db_url):
    session = log_in(client, db_url, "carol")
    answer = client.post("/coder-action",
                         data={"csrf_token": session.csrf_token, "comment": "looks right"})
    assert answer.status_code == 200
    assert answer.json() == {"user": "carol", "comment": "looks right"}


def test_post_with_right_csrf_multipart_field_is_200(client, db_url):
    session = log_in(client, db_url, "carol")
    answer = client.post("/coder-action", data={"csrf_token": session.csrf_token},
                         files={"upload": ("note.txt", b"x", "text/plain")})
    assert answer.status_code == 200


def test_logout_without_csrf_token_is_403_and_keeps_the_session(client, db_url):
    log_in(client, db_url, "carol")
    assert client.post("/logout").status_code == 403
    assert client.get("/coder-only").status_code == 200


def test_login_post_without_login_csrf_double_submit_is_403(client):
    answer = client.post("/login", data={"username": "carol", "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_login_post_with_mismatched_login_csrf_is_403(client):
    client.get("/login")
    answer = client.post("/login", data={"username": "carol", "password": PASSWORD,
                                         "csrf_token": new_login_csrf()},
                         follow_redirects=False)
    assert answer.status_code == 403


def test_login_post_with_stale_login_csrf_is_403(client):
    stale = f"{int(dt.datetime.now(dt.UTC).timestamp()) - LOGIN_CSRF_MAX_AGE - 5}.abc"
    client.cookies.set(LOGIN_CSRF_COOKIE, stale)
    answer = client.post("/login", data={"username": "carol", "password": PASSWORD,
                                         "csrf_token": stale}, follow_redirects=False)
    assert answer.status_code == 403


def test_login_csrf_cookie_is_http_only_strict_and_short_lived(client):
    answer = client.get("/login")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(LOGIN_CSRF_COOKIE + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert f"Max-Age={LOGIN_CSRF_MAX_AGE}" in cookie
    assert client.cookies[LOGIN_CSRF_COOKIE] in answer.text


def test_check_login_csrf_accepts_matching_fresh_token():
    token = new_login_csrf()
    request = Request({"type": "http", "method": "POST", "path": "/login", "headers": [
        (b"cookie", f"{LOGIN_CSRF_COOKIE}={token}".encode())]})
    check_login_csrf(request, token)  # no exception


# --- audit trail --------------------------------------------------------------------------


def test_audit_trail_records_user_add_and_login_without_secrets(client, db_url, users):
    session = log_in(client, db_url, "carol")
    with db_session(db_url) as db:
        events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        hashes = [u.password_hash for u in db.scalars(select(User))]
    actions = [(e.action, e.user_id) for e in events]
    assert ("user.add", None) in actions and ("user.login", users["carol"]) in actions
    added = next(e for e in events if e.after and e.after.get("username") == "carol")
    assert added.after == {"username": "carol", "role": "coder"}
    dumped = json.dumps([[e.target, e.before, e.after] for e in events])
    for secret in [PASSWORD, "$argon2", session.token, session.id, session.csrf_token,
                   *hashes]:
        assert secret not in dumped


def test_logs_hold_no_passwords_or_tokens(client, db_url, caplog):
    caplog.set_level("DEBUG")
    session = log_in(client, db_url, "carol")
    post_login(client, "carol", "wrong password!!")
    for secret in [PASSWORD, "wrong password!!", session.token, session.csrf_token,
                   "$argon2"]:
        assert secret not in caplog.text
