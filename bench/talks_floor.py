#!/usr/bin/env python3
"""Where a talk's POST spends its CPU, without gunicorn or a load generator: in one process,
each request handed to the WSGI app directly, one at a time.

The throughput goal of issue 3 (bench/talks_bench.py: creating a talk over the API at >= 30 % of
a bare Flask endpoint's request rate under the same gunicorn) depends on how much CPU a POST takes
beside what the HTTP server and the client take for any request. This measures three requests in
the same process, in turn, for ``--rounds`` rounds:

- ``bare``: bench/bare_app.py's ``POST /people`` (parse the JSON, answer 201);
- ``authenticated no-op``: the same body to a route added to talkcare's app for this run only,
  which authenticates the bearer token (``service.api_support.authenticate_api``), parses the JSON
  and answers 201: what every API call of this app costs before it does anything (Flask with this
  app's extensions and hooks, the token, the per-request Redis read of the cache generations);
- ``POST /api/talks``: the benchmark's realistic talk (bench/talks_bench.py ``talk_body``).

For each: CPU of this process per request (user + system, ``time.process_time``; the WSGI
environ is built before the clock starts), wall time, and the CPU that the database and Redis
servers spent per request (from /proc; zero for SQLite, which runs in this process). The office is
bench/talks_bench.py's generator, smaller by default (the POST touches a handful of rows; the size
of the office does not change its cost).

Run from the repository root:

    .venv/bin/python bench/talks_floor.py --markdown
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tc_tbench \\
        .venv/bin/python bench/talks_floor.py --postgres --markdown
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_throughput import (  # noqa: E402
    PG_DATABASE_URL, cpu_by_group, make_env, migrate, reset_external, stop_instance_redis,
)
from bench import talks_bench  # noqa: E402

LOG = (lambda *a: print(*a, file=sys.stderr, flush=True))
NO_GROUP = -1  # cpu_by_group's server group: none here, everything runs in this process


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--postgres", action="store_true",
                   help=f"use {PG_DATABASE_URL} (BENCH_DATABASE_URL); schema public is dropped")
    p.add_argument("--force", action="store_true", help="drop the schema even when others are connected")
    p.add_argument("--staff", type=int, default=2_000, help="people in the office (2000)")
    p.add_argument("--requests", type=int, default=500, help="measured requests per kind and round (500)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each measuring the three kinds in turn (3)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table for bench/RESULTS.md")
    args = p.parse_args(argv)
    if args.staff < 200 or not 50 <= args.requests <= 100_000 or not 1 <= args.rounds <= 20:
        p.error("--staff >= 200, --requests in [50, 100000], --rounds in [1, 20]")
    return args


def office_args(args):
    """talks_bench's arguments for a smaller office of the same shape."""
    sections = max(2, args.staff // 40)
    argv = ["--staff", str(args.staff), "--sections", str(sections), "--deputies", str(max(1, sections // 10)),
            "--months", "2"]
    return talks_bench.parse_args(argv + (["--postgres"] if args.postgres else []) + (["--force"] if args.force else []))


def build(args, tmp: Path):
    """The app on a migrated, loaded database, its no-op route, and a body maker."""
    instance = tmp / "instance"
    instance.mkdir()
    oargs = office_args(args)
    env = make_env(oargs, instance)
    reset_external(env, args.force)
    migrate(env, tmp / "migrate.log")
    os.environ.update(env)
    from flask import jsonify, request
    from werkzeug.security import generate_password_hash

    from service import create_app
    from service.api_support import authenticate_api
    from service.extensions import csrf

    app = create_app()

    def authenticated_noop():
        authenticate_api()
        data = request.get_json(force=True, silent=True) or {}
        return jsonify({"id": 1, "kind": data.get("kind"), "ok": True}), 201

    # This run's app only: the product has no such route.
    app.add_url_rule("/api/bench-noop", "bench_noop", authenticated_noop, methods=["POST"])
    csrf.exempt(authenticated_noop)  # as the API blueprints are: bearer tokens, not cookies
    with app.test_request_context():
        from service.clock import unit_today

        today = unit_today()
    office = talks_bench.build_office(oargs, today, generate_password_hash(talks_bench.PASSWORD))
    ids = office["ids"]
    talks_bench.load_office(app, office)
    seeded = talks_bench.finish_seed(app, ids)
    body = talks_bench.talk_bodies(ids, seeded["today"] - timedelta(days=1))
    return app, seeded["token"], body, len(talks_bench.deputy_members(ids))


def measure(wsgi, path: str, headers: dict, body, n: int, expect: str) -> dict:
    """CPU and wall time of this process per request, and the servers' CPU per request."""
    from werkzeug.test import EnvironBuilder

    statuses = []

    def start_response(status, _headers, _exc=None):
        statuses.append(status)

    cpu, wall = [], []
    before = cpu_by_group(NO_GROUP)
    for _ in range(n):
        environ = EnvironBuilder(path=path, method="POST", data=body(), headers=headers).get_environ()
        w0, c0 = time.perf_counter(), time.process_time()
        out = wsgi(environ, start_response)
        answer = b"".join(out)
        if hasattr(out, "close"):
            out.close()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        if not statuses[-1].startswith(expect):
            raise SystemExit(f"{path}: {statuses[-1]} {answer[:300]!r}")
    after = cpu_by_group(NO_GROUP)
    servers = {k: 1000 * (after[k] - before[k]) / n for k in ("database", "redis")} if before and after else {}
    return {"cpu": statistics.fmean(cpu) * 1000, "cpu_p50": statistics.median(cpu) * 1000,
            "wall": statistics.fmean(wall) * 1000, **servers}


def main(argv=None) -> int:
    args = parse_args(argv)
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = " ".join(shlex.quote(a) for a in [exe, os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    if args.postgres:
        command = f"BENCH_DATABASE_URL={shlex.quote(PG_DATABASE_URL)} {command}"
    tmp = Path(tempfile.mkdtemp(prefix="talkcare-floor-"))
    try:
        return run(args, command, tmp)
    finally:
        stop_instance_redis(tmp / "instance")
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, command: str, tmp: Path) -> int:
    app, token, body, people = build(args, tmp)
    from bench.bare_app import app as bare

    json = {"Content-Type": "application/json"}
    auth = {"Authorization": f"Bearer {token}", **json}
    kinds = [("bare POST /people", bare.wsgi_app, "/people", json),
             ("authenticated no-op", app.wsgi_app, "/api/bench-noop", auth),
             ("POST /api/talks", app.wsgi_app, "/api/talks", auth)]
    # Warm: imports, prepared statements, and each named person in this process's snapshot of
    # people (a long-running worker has them all; a cold one reads them once from the database).
    for _, wsgi, path, headers in kinds:
        measure(wsgi, path, headers, body, 50 + people, "201")
    rounds = []
    for r in range(args.rounds):
        rounds.append({name: measure(wsgi, path, headers, body, args.requests, "201")
                       for name, wsgi, path, headers in kinds})
        LOG(f"round {r + 1}: " + ", ".join(f"{k} {v['cpu']:.3f} ms" for k, v in rounds[-1].items()))
    with app.app_context():
        from service.extensions import db

        backend = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()

    def med(name, key):
        values = [r[name][key] for r in rounds if key in r[name]]
        return statistics.median(values) if values else float("nan")

    bare_cpu = med(kinds[0][0], "cpu")
    header = ["request", "CPU ms (this process, mean)", "CPU ms (p50)", "wall ms", "database CPU ms",
              "Redis CPU ms", "CPU / bare"]
    rows = [[name, f"{med(name, 'cpu'):.3f}", f"{med(name, 'cpu_p50'):.3f}", f"{med(name, 'wall'):.3f}",
             f"{med(name, 'database'):.2f}", f"{med(name, 'redis'):.2f}", f"{med(name, 'cpu') / bare_cpu:.1f}"]
            for name, *_ in kinds]
    info = [f"Backend {backend}; {args.staff:,} staff; {args.rounds} round(s) of {args.requests} requests per kind, "
            f"medians of the rounds' means; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}.",
            "Per round, POST /api/talks CPU / bare: "
            + ", ".join(f"{r[kinds[2][0]]['cpu'] / r[kinds[0][0]]['cpu']:.1f}" for r in rounds) + "."]
    if args.markdown:
        print(f"`{command}`\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for line in info:
            print(f"- {line}")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header, *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
        for line in info:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
