"""Server-side login sessions, role checks and CSRF protection for the review web app.

The session cookie (`notecoder_session`) holds only a random id; the session row holds the
user and its CSRF token. Every state-changing request (POST, PUT, PATCH, DELETE) of a
logged-in session must echo that token in the `X-CSRF-Token` header or the `csrf_token`
form field. The login form, which has no session yet, is protected by a double-submit
token (cookie `notecoder_login_csrf` plus the same value in the form).

Dependencies are factories over the app's own `get_db` dependency, so this module does not
depend on how the app builds its database sessions:

    coder = require_role(get_db, Role.CODER)

    @app.post("/notes/{note_id}/finalise")
    def finalise(note_id: int, user: Annotated[User, Depends(coder)]): ...

Passwords, hashes, tokens and note text are never logged.
"""

# No `from __future__ import annotations`: FastAPI must see the closures' real
# `Annotated[..., Depends(...)]` parameters, which name local variables.

import datetime as dt
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from review.db import LoginSession, Role, User, audit, utcnow
from review.users import hash_password, needs_rehash, verify_password

log = logging.getLogger(__name__)

SESSION_COOKIE = "notecoder_session"
LOGIN_CSRF_COOKIE = "notecoder_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SESSION_LIFETIME = dt.timedelta(hours=12)
LOGIN_CSRF_MAX_AGE = 15 * 60  # seconds a login form stays usable
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FAILED = "CSRF token missing or wrong"
NOT_LOGGED_IN = "Not logged in or the session has expired"
FORBIDDEN = "Your role does not allow this"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

GetDb = Callable[..., Any]  # the app's FastAPI dependency yielding a SQLAlchemy Session


class LoginRequired(Exception):
    """An HTML page needs a login; the app answers with a redirect to `/login?next=...`."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next = next_path

    @property
    def login_url(self) -> str:
        """Where to send the browser: the login page, coming back to `next` afterwards."""
        return login_url(self.next)


# --- sessions ---------------------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    """A hash of a random password, verified against when the user is unknown."""
    return hash_password(secrets.token_urlsafe(32))


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _check_password(user: User | None, password: str) -> bool:
    """Verify in about the same time whether or not the user exists; rehash when due."""
    if user is None:
        verify_password(_dummy_hash(), password)
        return False
    if not verify_password(user.password_hash, password) or not user.active:
        return False
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def _purge_expired(db: Session, user_id: int) -> None:
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id,
                                          LoginSession.expires_at < utcnow()))


def login(db: Session, username: str, password: str) -> LoginSession | None:
    """A new 12-hour session when the password is right and the user active, else None.

    Commits the session row, the audit event "user.login" and any password rehash.
    """
    user = db.scalar(select(User).where(User.username == username))
    if not _check_password(user, password):
        log.info("login refused")
        return None
    assert user is not None
    _purge_expired(db, user.id)
    now = utcnow()
    session = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           expires_at=now + SESSION_LIFETIME)
    db.add(session)
    audit(db, user.id, "user.login")
    db.commit()
    log.info("login user_id=%s", user.id)
    return session


def logout(db: Session, session_id: str) -> None:
    """End the session (no error when it is unknown); audits "user.logout" and commits."""
    session = db.get(LoginSession, session_id)
    if session is None:
        return
    audit(db, session.user_id, "user.logout")
    db.delete(session)
    db.commit()


def find_session(db: Session, session_id: str | None) -> LoginSession | None:
    """The live session with this id whose user is active (loaded), or None."""
    if not session_id:
        return None
    session = db.get(LoginSession, session_id)
    if session is None or _aware(session.expires_at) <= utcnow():
        return None
    if not session.user.active:
        return None
    return session


def login_url(next_path: str) -> str:
    """The login page URL that returns to `next_path` after logging in."""
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


def safe_next(next_path: str | None) -> str:
    """`next_path` when it is a local path, else "/" (no open redirects)."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    if "\\" in next_path or any(ord(ch) < 32 for ch in next_path):
        return "/"
    return next_path


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _not_logged_in(request: Request) -> Exception:
    if _wants_html(request):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return LoginRequired(path)
    return HTTPException(status_code=401, detail=NOT_LOGGED_IN)


def current_session(request: Request, db: Session) -> LoginSession:
    """The request's live session; else HTTP 401, or `LoginRequired` when HTML is wanted.

    Also stores it as `request.state.login_session` (templates need its `csrf_token`).
    """
    session = find_session(db, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise _not_logged_in(request)
    request.state.login_session = session
    return session


# --- CSRF -------------------------------------------------------------------------------


def tokens_match(expected: str, given: object) -> bool:
    """Constant-time comparison of a token with a submitted value of any type."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def _submitted_token(request: Request) -> object:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(_FORM_TYPES):
        return None
    form = await request.form()  # cached by Starlette: the endpoint can still read it
    return form.get(CSRF_FORM_FIELD)


async def check_csrf(request: Request, session: LoginSession) -> None:
    """HTTP 403 when an unsafe request does not carry the session's CSRF token."""
    if request.method.upper() not in UNSAFE_METHODS:
        return
    if not tokens_match(session.csrf_token, await _submitted_token(request)):
        raise HTTPException(status_code=403, detail=CSRF_FAILED)


def csrf_protect(get_db: GetDb) -> Callable[..., Awaitable[LoginSession]]:
    """A dependency: the logged-in session, its CSRF token checked on unsafe methods."""

    async def dependency(request: Request,
                         db: Annotated[Session, Depends(get_db)]) -> LoginSession:
        # The lookup is blocking database I/O: keep it off the event loop.
        session = await run_in_threadpool(current_session, request, db)
        await check_csrf(request, session)
        return session

    return dependency


# --- roles ------------------------------------------------------------------------------


def _role_names(roles: Iterable[Role]) -> frozenset[str]:
    names = frozenset(Role(role).value for role in roles)
    if not names:
        raise ValueError("require_role needs at least one role")
    return names


def require_role(get_db: GetDb, *roles: Role) -> Callable[..., Awaitable[User]]:
    """A dependency returning the logged-in `User` when their role is one of `roles`.

    No live session: HTTP 401 (or `LoginRequired` for HTML); CSRF token missing or wrong on
    an unsafe method: HTTP 403; other role: HTTP 403. Admin gets only what it is listed for.
    """
    allowed = _role_names(roles)
    protect = csrf_protect(get_db)

    async def dependency(request: Request,
                         session: Annotated[LoginSession, Depends(protect)]) -> User:
        user = session.user
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail=FORBIDDEN)
        request.state.user = user
        return user

    return dependency


def require_user(get_db: GetDb) -> Callable[..., Awaitable[User]]:
    """A dependency returning the logged-in `User` of any role (CSRF enforced likewise)."""
    return require_role(get_db, *Role)


# --- cookies and the login form's double-submit token -----------------------------------


def set_session_cookie(response: Response, session: LoginSession, secure: bool) -> None:
    """Send the session id: HttpOnly, SameSite=Lax, path /, Secure when `secure`."""
    response.set_cookie(SESSION_COOKIE, session.id, max_age=int(SESSION_LIFETIME.total_seconds()),
                        path="/", secure=secure, httponly=True, samesite="lax")


def clear_session_cookie(response: Response, secure: bool) -> None:
    """Tell the browser to drop the session cookie (after logout)."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True,
                           samesite="lax")


def new_login_csrf() -> str:
    """A fresh login-form token: issue time and 32 random bytes, e.g. "1764030000.AbC..."."""
    return f"{int(time.time())}.{secrets.token_urlsafe(32)}"


def set_login_csrf_cookie(response: Response, token: str, secure: bool) -> None:
    """Send the login-form token cookie: HttpOnly, SameSite=Strict, short-lived."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_MAX_AGE, path="/",
                        secure=secure, httponly=True, samesite="strict")


def clear_login_csrf_cookie(response: Response, secure: bool) -> None:
    """Drop the login-form token cookie (after a successful login)."""
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/", secure=secure, httponly=True,
                           samesite="strict")


def _login_token_fresh(token: str) -> bool:
    issued, _, _random = token.partition(".")
    if not issued.isdigit():
        return False
    return 0 <= time.time() - int(issued) <= LOGIN_CSRF_MAX_AGE


def check_login_csrf(request: Request, form_value: str | None) -> None:
    """HTTP 403 unless the login form's token equals its cookie and is still fresh."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not tokens_match(cookie, form_value) or not _login_token_fresh(cookie):
        raise HTTPException(status_code=403, detail=CSRF_FAILED)


async def login_required_handler(request: Request, exc: Exception) -> RedirectResponse:
    """Exception handler for `LoginRequired`: 303 redirect to the login page.

    Register with `app.add_exception_handler(LoginRequired, login_required_handler)`.
    """
    next_path = exc.next if isinstance(exc, LoginRequired) else request.url.path
    return RedirectResponse(login_url(next_path), status_code=303)
