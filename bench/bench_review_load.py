"""Review app under load: p50/p95 of the queue page and of job submission, 50 users at once.

    python bench/bench_review_load.py                          # embedded SQLite
    python bench/bench_review_load.py --database-url postgresql+psycopg://u:p@127.0.0.1/db

Starts `notecoder serve` (uvicorn, one process) on a free loopback port with a fresh
database, creates one coder per simulated user, seeds the queue, then runs each user as
a thread doing a fixed number of requests (bounded: users x requests, and a time limit).
Only 127.0.0.1 is contacted. With `--worker` (the default) one separate `notecoder worker`
process codes the submitted notes as they arrive, as in a real deployment; each user also
times the bare `/healthz` endpoint of the same server, the yardstick for what the server
and the machine cost (the report gives each figure's ratio to it). Targets (issue 13):
queue page p95 < 100 ms, submission p95 < 250 ms at 50 users with 1 s think time.
"""

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password 12345"
NOTE = (ROOT / "datasets" / "examples" / "g1_ceftriaxone.txt").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _login(base: str, username: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    form = client.get("/login", headers={"Accept": "text/html"}).text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD,
                                "login_csrf": token, "next": "/queue"})
    client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per user, of each kind")
    parser.add_argument("--seed-notes", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a user waits between actions (0: back to back)")
    parser.add_argument("--processes", type=int, default=2, help="web server processes")
    parser.add_argument("--worker", action=argparse.BooleanOptionalAction, default=True,
                        help="run one separate coding worker (default on)")
    args = parser.parse_args()

    from review.db import Role, session_factory, upgrade
    from review.service import submit_note
    from review.users import add_user, hash_password

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTECODER_")}
        env["NOTECODER_DATA_DIR"] = tmp
        url = args.database_url or f"sqlite:///{tmp}/notecoder.db"
        schema = None
        if args.database_url:  # a fresh schema for this run, dropped at the end
            from sqlalchemy import create_engine, text

            from tests.db_urls import with_search_path

            schema = f"bench_{os.getpid()}_{int(time.time())}"
            with create_engine(args.database_url).begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            url = with_search_path(args.database_url, schema)
            env["NOTECODER_DATABASE_URL"] = url
            env["NOTECODER_JOBS_SCHEMA"] = f"{schema}_jobs"
        upgrade(url)
        add_user(url, "seed", Role.CODER, PASSWORD)
        with session_factory(url)() as db:
            from review.db import User

            seeder = db.query(User).filter_by(username="seed").one()
            for n in range(args.seed_notes):
                submit_note(db, seeder, NOTE, f"seed {n}", "facility", "official", 1_000_000)
            known = hash_password(PASSWORD)  # one hash for all bench users: setup speed only
            for n in range(args.users):
                db.add(User(username=f"user{n}", password_hash=known, role=Role.CODER))
            db.commit()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "notecoder.cli", "serve", "--port",
                                   str(port), "--processes", str(args.processes)], env=env,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        worker = subprocess.Popen([sys.executable, "-m", "notecoder.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                                  ) if args.worker else None
        try:
            import httpx

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            clients = [_login(base, f"user{n}") for n in range(args.users)]
            page_ms: list[float] = []
            submit_ms: list[float] = []
            hello_ms: list[float] = []
            errors = 0
            lock = threading.Lock()
            stop_at = time.monotonic() + args.time_limit
            barrier = threading.Barrier(args.users)

            def user(client) -> None:
                nonlocal errors
                pause = random.Random(id(client))
                barrier.wait()
                for _ in range(args.requests):
                    if time.monotonic() > stop_at:
                        return
                    if args.think:
                        time.sleep(pause.uniform(0, 2 * args.think))
                    t0 = time.perf_counter()
                    page = client.get("/queue", headers={"Accept": "text/html"})
                    page_time = time.perf_counter() - t0
                    t2 = time.perf_counter()
                    hello = client.get("/healthz")
                    hello_time = time.perf_counter() - t2
                    if args.think:
                        time.sleep(pause.uniform(0, 2 * args.think))
                    t1 = time.perf_counter()
                    sent = client.post("/api/notes", json={"text": NOTE, "label": "load"})
                    submit_time = time.perf_counter() - t1
                    with lock:
                        page_ms.append(page_time * 1000)
                        submit_ms.append(submit_time * 1000)
                        hello_ms.append(hello_time * 1000)
                        errors += ((page.status_code != 200) + (sent.status_code != 202)
                                   + (hello.status_code != 200))

            threads = [threading.Thread(target=user, args=(c,)) for c in clients]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
            server.terminate()
            server.wait(timeout=15)
            if schema:
                from sqlalchemy import create_engine, text

                from review.db import engine_for

                engine_for(url).dispose()
                with create_engine(args.database_url).begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                    conn.execute(text(f"DROP SCHEMA IF EXISTS {schema}_jobs CASCADE"))
    kind = "PostgreSQL" if args.database_url else "SQLite"
    total = len(page_ms) + len(submit_ms) + len(hello_ms)
    print(f"{kind}, {args.processes} server process(es), "
          f"{'one separate worker' if args.worker else 'no worker'}: {args.users} concurrent "
          f"users, think time {args.think:g} s, {total} requests in {elapsed:.1f} s "
          f"({total / elapsed:.0f} req/s), {errors} errors")
    hello_p95 = _percentile(hello_ms, 0.95)
    for name, values in (("hello (/healthz)", hello_ms), ("queue page", page_ms),
                         ("job submission", submit_ms)):
        p95 = _percentile(values, 0.95)
        print(f"  {name:16s} p50 {statistics.median(values):6.1f} ms   p95 {p95:6.1f} ms   "
              f"max {max(values):6.1f} ms   p95 / hello p95 {p95 / max(hello_p95, 0.01):5.1f}")


if __name__ == "__main__":
    main()
