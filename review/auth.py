"""Server-side login sessions, role checks and CSRF protection for the review web app.

The session cookie (`notecoder_session`) holds a random token; the session row is keyed by
its SHA-256 only, and holds the user and the session's CSRF token. A session ends on
logout, after `idle` without a request (default 30 minutes), after its absolute `lifetime`
(12 hours), and when its user is disabled or their password reset. Logging in ends the
session the browser already had (no pre-login session survives); sessions of the same
user in other browsers stay (one per device).

Every state-changing request (POST, PUT, PATCH, DELETE) of a logged-in session must echo
its CSRF token in the `X-CSRF-Token` header or the `csrf_token` form field. The login form,
which has no session yet, is protected by a double-submit token (cookie
`notecoder_login_csrf` plus the same value in the form) signed with the server secret, so a
cookie/form pair made up by someone else is refused.

Failed logins are counted per account and per client address in the database
(`review.login_throttle`): past the limit the next attempts are refused (429) with an
exponential backoff. At most `login_concurrency` password checks (argon2id, 64 MiB each)
run at once per process; more are refused at once (429), so a login flood cannot use up
the server's memory or its threads.

The policy (secret, timeouts, limits) comes from `request.app.state.auth_policy`
(`AuthPolicy`, set by the app from the settings), else `DEFAULT_POLICY`.

Dependencies are factories over the app's own `get_db` dependency, so this module does not
depend on how the app builds its database sessions:

    coder = require_role(get_db, Role.CODER)

    @app.post("/notes/{note_id}/finalise")
    def finalise(note_id: int, user: Annotated[User, Depends(coder)]): ...

Passwords, hashes, tokens and note text are never logged.
"""

# No `from __future__ import annotations`: FastAPI must see the closures' real
# `Annotated[..., Depends(...)]` parameters, which name local variables.

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from review import login_throttle
from review.db import LoginSession, Role, User, audit, utcnow
from review.users import hash_password, needs_rehash, verify_password

log = logging.getLogger(__name__)

SESSION_COOKIE = "notecoder_session"
LOGIN_CSRF_COOKIE = "notecoder_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SESSION_LIFETIME = dt.timedelta(hours=12)
SESSION_IDLE = dt.timedelta(minutes=30)
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute
LOGIN_CSRF_MAX_AGE = 15 * 60  # seconds a login form stays usable
PASSWORD_SLOT_WAIT_S = 0.2  # how long a login waits for a free password-check slot
MAX_TOKEN_CHARS = 200
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FAILED = "CSRF token missing or wrong"
NOT_LOGGED_IN = "Not logged in or the session has expired"
FORBIDDEN = "Your role does not allow this"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

GetDb = Callable[..., Any]  # the app's FastAPI dependency yielding a SQLAlchemy Session


@dataclass(frozen=True)
class AuthPolicy:
    """Sessions and login limits; the app builds one from the settings."""

    secret: bytes  # signs login-form tokens
    idle: dt.timedelta = SESSION_IDLE
    lifetime: dt.timedelta = SESSION_LIFETIME
    failures_per_account: int = 5
    failures_per_address: int = 20
    failure_window: dt.timedelta = dt.timedelta(minutes=15)


# For apps that set no policy (tests): a secret of this process only.
DEFAULT_POLICY = AuthPolicy(secret=secrets.token_bytes(32))


def policy_of(request: Request) -> AuthPolicy:
    """The app's `AuthPolicy` (`app.state.auth_policy`), else `DEFAULT_POLICY`."""
    app = request.scope.get("app")
    return getattr(app.state, "auth_policy", DEFAULT_POLICY) if app else DEFAULT_POLICY


class LoginThrottled(Exception):
    """Too many failed logins for the account or the address: wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed logins")
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        return (f"Too many failed logins for this account or from this address; try again "
                f"in {minutes} minute{'s' if minutes > 1 else ''}.")


class LoginBusy(Exception):
    """Every password-check slot is taken (a login flood): try again in a moment."""

    message = "The server is busy checking other logins; try again in a moment."


class PasswordCheckSlots:
    """At most `limit` argon2 verifications at once in this process; a login that cannot
    get a slot within `PASSWORD_SLOT_WAIT_S` raises `LoginBusy` instead of queueing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._semaphore.acquire(timeout=PASSWORD_SLOT_WAIT_S):
            raise LoginBusy()
        try:
            yield
        finally:
            self._semaphore.release()


_password_slots = PasswordCheckSlots(2)


def set_login_concurrency(limit: int) -> None:
    """How many password checks may run at once in this process (setting login_concurrency)."""
    global _password_slots
    if limit != _password_slots.limit:
        _password_slots = PasswordCheckSlots(limit)


def hash_token(token: str) -> str:
    """The stored key of a session token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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


def _purge_expired(db: Session, user_id: int, policy: AuthPolicy) -> None:
    now = utcnow()
    db.execute(delete(LoginSession).where(
        LoginSession.user_id == user_id,
        (LoginSession.expires_at < now) | (LoginSession.last_seen_at < now - policy.idle)))


def login(db: Session, username: str, password: str, *, address: str | None = None,
          policy: AuthPolicy = DEFAULT_POLICY, replaces: str | None = None
          ) -> LoginSession | None:
    """A new session when the password is right and the user active, else None.

    The new row's `token` attribute is the cookie value (only its hash is stored).
    `replaces` is the session cookie the browser sent, if any: that session ends (whoever
    it belonged to). Raises `LoginThrottled` while the account or `address` is backing off
    after failed logins, and `LoginBusy` when no password-check slot is free; neither
    checks the password. Commits the session row, the audit event "user.login", any
    password rehash, and the failure count of a failed login.
    """
    keys = login_throttle.keys(username, address)
    wait = login_throttle.retry_after(db, keys.values())
    if wait:
        log.info("login refused: backing off after failed logins")
        raise LoginThrottled(wait)
    user = db.scalar(select(User).where(User.username == username))
    with _password_slots.slot():
        right = _check_password(user, password)
    if not right:
        limits = {"account": policy.failures_per_account,
                  "address": policy.failures_per_address}
        for kind, key in keys.items():
            login_throttle.record_failure(db, key, limits[kind], policy.failure_window)
        db.commit()
        log.info("login refused")
        return None
    assert user is not None
    login_throttle.clear(db, keys["account"])
    if replaces:
        db.execute(delete(LoginSession).where(LoginSession.id == hash_token(replaces)))
    _purge_expired(db, user.id, policy)
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session = LoginSession(id=hash_token(token), user_id=user.id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           last_seen_at=now, expires_at=now + policy.lifetime)
    session.token = token  # not a column: only the caller ever sees the token
    db.add(session)
    audit(db, user.id, "user.login")
    db.commit()
    log.info("login user_id=%s", user.id)
    return session


def logout(db: Session, token: str) -> None:
    """End the session of this cookie token (no error when it is unknown); audits
    "user.logout" and commits."""
    session = db.get(LoginSession, hash_token(token)) if token else None
    if session is None:
        return
    audit(db, session.user_id, "user.logout")
    db.delete(session)
    db.commit()


def find_session(db: Session, token: str | None,
                 policy: AuthPolicy = DEFAULT_POLICY) -> LoginSession | None:
    """The live session of this cookie token whose user is active (loaded), or None.

    A session past its lifetime or idle for longer than `policy.idle` is deleted; a live
    one's `last_seen_at` is brought forward (at most once a minute; committed).
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    session = db.get(LoginSession, hash_token(token))
    if session is None:
        return None
    now = utcnow()
    if _aware(session.expires_at) <= now or now - _aware(session.last_seen_at) > policy.idle:
        db.delete(session)
        db.commit()
        return None
    if not session.user.active:
        return None
    if now - _aware(session.last_seen_at) >= TOUCH_EVERY:
        session.last_seen_at = now
        db.commit()
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
    session = find_session(db, request.cookies.get(SESSION_COOKIE), policy_of(request))
    if session is None:
        raise _not_logged_in(request)
    request.state.login_session = session
    return session


# --- CSRF -------------------------------------------------------------------------------


def tokens_match(expected: str, given: object) -> bool:
    """Constant-time comparison of a token with a submitted value of any type."""
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


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


def set_session_cookie(response: Response, token: str, secure: bool,
                       lifetime: dt.timedelta = SESSION_LIFETIME) -> None:
    """Send the session token: HttpOnly, SameSite=Lax, path /, Secure when `secure`."""
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()),
                        path="/", secure=secure, httponly=True, samesite="lax")


def clear_session_cookie(response: Response, secure: bool) -> None:
    """Tell the browser to drop the session cookie (after logout)."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True,
                           samesite="lax")


def _signature(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, b"login-csrf:" + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_login_csrf(secret: bytes | None = None) -> str:
    """A fresh login-form token: issue time, random part and their HMAC-SHA256 under the
    server secret, e.g. "1764030000.AbC....sig"."""
    body = f"{int(time.time())}.{secrets.token_urlsafe(24)}"
    return f"{body}.{_signature(secret or DEFAULT_POLICY.secret, body)}"


def set_login_csrf_cookie(response: Response, token: str, secure: bool) -> None:
    """Send the login-form token cookie: HttpOnly, SameSite=Strict, short-lived."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_MAX_AGE, path="/",
                        secure=secure, httponly=True, samesite="strict")


def clear_login_csrf_cookie(response: Response, secure: bool) -> None:
    """Drop the login-form token cookie (after a successful login)."""
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/", secure=secure, httponly=True,
                           samesite="strict")


def _login_token_valid(token: str, secret: bytes) -> bool:
    """Signed by this server and still fresh."""
    issued, _, rest = token.partition(".")
    random_part, _, signature = rest.partition(".")
    if not issued.isdigit() or len(issued) > 12 or not random_part or not signature:
        return False
    if not tokens_match(_signature(secret, f"{issued}.{random_part}"), signature):
        return False
    return 0 <= time.time() - int(issued) <= LOGIN_CSRF_MAX_AGE


def check_login_csrf(request: Request, form_value: str | None) -> None:
    """HTTP 403 unless the login form's token equals its cookie, carries this server's
    signature and is still fresh."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not tokens_match(cookie, form_value) or \
            not _login_token_valid(cookie, policy_of(request).secret):
        raise HTTPException(status_code=403, detail=CSRF_FAILED)


async def login_required_handler(request: Request, exc: Exception) -> RedirectResponse:
    """Exception handler for `LoginRequired`: 303 redirect to the login page.

    Register with `app.add_exception_handler(LoginRequired, login_required_handler)`.
    """
    next_path = exc.next if isinstance(exc, LoginRequired) else request.url.path
    return RedirectResponse(login_url(next_path), status_code=303)
