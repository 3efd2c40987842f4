"""Issue 13 item 1: the database, its directory and its companions are private to the owner,
checked at start; session ids are stored hashed, so a copied row is not a cookie."""

import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

import notecoder.private_files
from notecoder.config import Settings
from notecoder.private_files import UnsafePermissions
from review import jobs
from review.app import create_app
from review.auth import SESSION_COOKIE, hash_token
from review.db import LoginSession, Role, alembic_config, engine_for, session_factory, upgrade
from review.startup import DatabaseNotReady, check_writable, prepare_database
from review.users import add_user

PASSWORD = "a long enough password"
ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The usual 022 umask while the test runs: privacy must not depend on the caller's."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _login(app) -> TestClient:
    client = TestClient(app)
    form = client.get("/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": "coder1", "password": PASSWORD,
                                         "login_csrf": token}, follow_redirects=False)
    assert answer.status_code == 303
    return client


@pytest.fixture
def site(tmp_path, monkeypatch, open_umask):
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setattr(jobs, "enqueue", lambda *_args: None)
    prepare_database(settings)
    app = create_app(settings)
    url = settings.resolved_database_url()
    add_user(url, "coder1", Role.CODER, PASSWORD)
    yield settings, app, url
    engine_for(url).dispose()


def test_database_files_are_0600_in_a_0700_data_directory(site):
    settings, app, _url = site
    client = _login(app)
    client.post("/api/notes", json={"text": "Ceftriaxone 1 g IV."},
                headers={"X-CSRF-Token": client.get("/api/me").json()["csrf_token"]})
    data = settings.data_dir
    assert mode(data) == 0o700
    files = [data / "notecoder.db", data / "jobs.sqlite", data / "secret.key"]
    files += [p for p in data.iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]
    assert any(p.name == "notecoder.db-wal" for p in files)  # WAL mode: companions exist
    for path in files:
        assert mode(path) == 0o600, f"{path.name} is {mode(path):04o}"


def test_llm_cache_is_created_private(tmp_path, open_umask):
    from extractor.llm.cache import DraftCache

    DraftCache(tmp_path / "cache" / "llm-cache.sqlite")
    assert mode(tmp_path / "cache") == 0o700
    assert mode(tmp_path / "cache" / "llm-cache.sqlite") == 0o600


def test_start_makes_an_open_data_directory_and_database_private(tmp_path, open_umask):
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(mode=0o755)
    url = settings.resolved_database_url()
    sqlite3.connect(settings.data_dir / "notecoder.db").close()  # 0644, as before the fix
    os.chmod(settings.data_dir / "notecoder.db", 0o644)
    (settings.data_dir / "notecoder.db-wal").write_bytes(b"")
    os.chmod(settings.data_dir / "notecoder.db-wal", 0o666)
    notices = prepare_database(settings)
    assert mode(settings.data_dir) == 0o700
    assert mode(settings.data_dir / "notecoder.db") == 0o600
    assert mode(settings.data_dir / "notecoder.db-wal") == 0o600
    assert any("mode 0755" in n and "0700" in n for n in notices)
    assert any("notecoder.db'" in n and "mode 0644" in n for n in notices)
    engine_for(url).dispose()


def test_start_refuses_when_the_mode_cannot_be_changed(tmp_path, monkeypatch, capsys,
                                                       open_umask):
    from notecoder.cli import main
    from notecoder.config import get_settings

    data = tmp_path / "data"
    data.mkdir(mode=0o755)

    def not_the_owner(path, _mode):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(notecoder.private_files.os, "chmod", not_the_owner)
    monkeypatch.setenv("NOTECODER_DATA_DIR", str(data))
    get_settings.cache_clear()
    try:
        code = main(["worker"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "open to other users (mode 0755)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_database_outside_the_data_directory_in_an_open_directory_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    settings = Settings(data_dir=tmp_path / "data",
                        database_url=f"sqlite:///{shared / 'review.db'}")
    with pytest.raises(UnsafePermissions, match="shared' is open to other users"):
        prepare_database(settings)
    assert mode(shared) == 0o755  # not ours to change


def test_sessions_table_holds_no_cookie_value(site):
    settings, app, _ = site
    client = _login(app)
    cookie = client.cookies[SESSION_COOKIE]
    raw = sqlite3.connect(settings.data_dir / "notecoder.db")
    rows = raw.execute("SELECT * FROM sessions").fetchall()
    raw.close()
    assert len(rows) == 1
    dumped = repr(rows)
    assert cookie not in dumped
    assert hash_token(cookie) in dumped  # the row is keyed by the token's SHA-256


def test_a_copied_session_row_cannot_be_used_as_a_cookie(site):
    _settings, app, url = site
    _login(app)
    with session_factory(url)() as db:
        stolen = db.scalars(select(LoginSession)).one()
    thief = TestClient(app)
    for value in (stolen.id, stolen.csrf_token):
        thief.cookies.set(SESSION_COOKIE, value)
        assert thief.get("/api/me").status_code == 401


def test_migration_ends_every_session_stored_with_a_raw_id(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0002")
    with engine_for(url).begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, password_hash, role, active, "
                          "created_at) VALUES (1, 'ada', 'x', 'admin', 1, '2026-01-01')"))
        conn.execute(text("INSERT INTO sessions (id, user_id, csrf_token, created_at, "
                          "expires_at) VALUES ('raw-cookie-value', 1, 't', '2026-01-01', "
                          "'2099-01-01')"))
    upgrade(url)
    with engine_for(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 0
    engine_for(url).dispose()


def test_read_only_database_is_refused_before_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    engine_for(url).dispose()
    read_only = f"sqlite:///file:{tmp_path / 'review.db'}?mode=ro&uri=true"
    with pytest.raises(DatabaseNotReady, match=r"cannot be written .*readonly"):
        check_writable(read_only)


def test_serve_on_a_read_only_database_exits_2_with_one_sentence(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'notecoder.db'}"
    upgrade(url)
    engine_for(url).dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTECODER_")}
    env.update(NOTECODER_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT),
               NOTECODER_DATABASE_URL=f"sqlite:///file:{tmp_path / 'data' / 'notecoder.db'}"
                                      "?mode=ro&uri=true")
    if os.geteuid() != 0:  # a real read-only file too (root could write it anyway)
        os.chmod(tmp_path / "data" / "notecoder.db", 0o400)
    done = subprocess.run([sys.executable, "-m", "notecoder.cli", "serve", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: The database") and "cannot be written" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
