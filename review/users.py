"""Review app accounts: argon2id password hashes and adding users.

There are no default users and no default passwords: the first account is made by an
administrator with `add_user` (e.g. from the command line). Passwords and hashes are never
logged and never written to the audit trail.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notecoder.errors import NotecoderError
from review.db import Role, User, audit, session_factory

MIN_PASSWORD_CHARS = 12
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,80}")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class InvalidUser(NotecoderError):
    """A username, role or password given for a new account is not acceptable."""


class UserExists(NotecoderError):
    """An account with the requested username already exists."""


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string, `$argon2id$...`) of `password`, with a random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches `password_hash`; False on mismatch or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current hasher's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_new_user(username: str, role: str, password: str) -> Role:
    """Validate a new account's fields; the role as a `Role`, or `InvalidUser`."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidUser("The username must be 3 to 80 characters of letters, digits, "
                          "'.', '_' or '-'.")
    try:
        checked_role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidUser(f"The role must be one of: {allowed}.") from None
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidUser(f"The password must be at least {MIN_PASSWORD_CHARS} characters "
                          "long.")
    return checked_role


def _username_taken(db: Session, username: str) -> bool:
    return db.scalar(select(User.id).where(User.username == username)) is not None


def _duplicate(username: str) -> UserExists:
    return UserExists(f"A user named '{username}' already exists.")


def add_user(db_url: str, username: str, role: Role | str, password: str, *,
             actor_id: int | None = None) -> int:
    """Create an active account in the database at `db_url` and return its id.

    Raises `InvalidUser` for a bad username, role or too short password and `UserExists`
    for a taken username. Writes the audit event "user.add" with only the username and
    role; its actor is `actor_id` (None from the command line, the admin's id in the app).
    """
    checked_role = check_new_user(username, str(role), password)
    with session_factory(db_url)() as db:
        if _username_taken(db, username):
            raise _duplicate(username)
        user = User(username=username, role=checked_role.value,
                    password_hash=hash_password(password), active=True)
        db.add(user)
        try:
            db.flush()
            audit(db, actor_id, "user.add", target=f"user {user.id}",
                  after={"username": username, "role": checked_role.value})
            db.commit()
        except IntegrityError:  # a concurrent add of the same name won the race
            db.rollback()
            raise _duplicate(username) from None
        return user.id


def count_users(db_url: str) -> int:
    """How many accounts (active or not) the database at `db_url` holds."""
    with session_factory(db_url)() as db:
        return db.scalar(select(func.count()).select_from(User)) or 0


class UnknownUser(NotecoderError):
    """No account has the given username."""


def _named(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise UnknownUser(f"No user named '{username}'.")
    return user


def _end_sessions(db: Session, user_id: int) -> int:
    from review.db import LoginSession

    return db.execute(delete(LoginSession).where(LoginSession.user_id == user_id)).rowcount


def _clear_throttle(db: Session, username: str) -> None:
    from review.login_throttle import account_key, clear

    clear(db, account_key(username))


def set_active(db_url: str, username: str, active: bool, *,
               actor_id: int | None = None) -> int:
    """Enable or disable an account; disabling ends its sessions, enabling clears its
    failed-login backoff. Audited ("user.disable" / "user.enable"). How many sessions
    ended."""
    with session_factory(db_url)() as db:
        user = _named(db, username)
        before = user.active
        user.active = active
        ended = 0 if active else _end_sessions(db, user.id)
        if active:
            _clear_throttle(db, username)
        audit(db, actor_id, "user.enable" if active else "user.disable",
              target=f"user {user.id}", before={"active": before},
              after={"active": active, "sessions_ended": ended})
        db.commit()
        return ended


def reset_password(db_url: str, username: str, password: str, *,
                   actor_id: int | None = None) -> int:
    """Set a new password (12+ characters), end every session of the account and clear its
    failed-login backoff. Audited as "user.reset_password" (no secret in it). How many
    sessions ended."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidUser(f"The password must be at least {MIN_PASSWORD_CHARS} characters "
                          "long.")
    with session_factory(db_url)() as db:
        user = _named(db, username)
        user.password_hash = hash_password(password)
        ended = _end_sessions(db, user.id)
        _clear_throttle(db, username)
        audit(db, actor_id, "user.reset_password", target=f"user {user.id}",
              after={"sessions_ended": ended})
        db.commit()
        return ended


def list_users(db_url: str) -> list[dict]:
    """Every account: id, username, role, active, created (no hashes)."""
    with session_factory(db_url)() as db:
        return [{"id": u.id, "username": u.username, "role": u.role, "active": u.active,
                 "created_at": u.created_at}
                for u in db.scalars(select(User).order_by(User.id))]
