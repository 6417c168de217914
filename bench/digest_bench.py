"""The weekly email (issue 7) for a generated office: build every email, then deliver them to a
loopback SMTP sink with real RQ workers; peak memory at two sizes; a naive baseline in the same run.

    .venv/bin/python bench/digest_bench.py [--people 50000] [--workers 2] [--small 10000]
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tc_digest_bench .venv/bin/python bench/digest_bench.py

The office: sections of 25 (a chief and 24 staff), eight deputies sharing the sections, a head and
an HR admin, the default talk rules; this ISO week one in twenty people has a talk scheduled, one
in twenty a follow-up due, one in fifteen approved leave. Measured:

* ``build``: ``service.digest.sending.send_weekly_digests`` (the cron job's fan-out: batched
  loading per chunk, the pure core, templates in the person's language, one outbox row each),
  run in a fresh child process so that its peak RSS is its own; at ``--small`` people and at
  ``--people`` people, on their own databases: flat memory means the same peak at both sizes.
* ``baseline``: the naive way, one load per person (what the preview page does for one person),
  timed on ``--baseline-sample`` people and extrapolated.
* ``deliver``: ``--workers`` real ``rq worker`` processes relay the outbox rows to an aiosmtpd sink
  on loopback (which discards them), through RQ's RateLimit (MAIL_MAX_CONCURRENCY = workers).

SQLite runs in a temporary folder (with its own embedded Redis); PostgreSQL needs an empty database
(the bench drops and recreates its schema ``public``).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONDAY = date(2026, 11, 16)
SECTION_SIZE = 25
DEPUTIES = 8


def make_app(database_url: str, instance: str, redis_url: str = ""):
    os.environ["TALKCARE_INSTANCE"] = instance
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("TALKCARE_ENV", "development")
    from service import create_app

    return create_app({"PUBLIC_URL": "http://talkcare.bench"})


def generate(app, people: int, seed: int = 7) -> None:
    """An office of ``people`` (ids 1..people) with this week's talks, follow-ups and leave."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from service.extensions import db
    from service.leave.models import LeaveKind, LeaveRequest
    from service.people.models import Oversight, Person, Posting, Section
    from service.talks.loading import talk_settings
    from service.talks.models import FollowUp, Talk, TalkParticipant

    rng = random.Random(seed)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
        talk_settings()  # seeds the default kinds and cadence rules
        db.session.commit()
        n_sections = max(1, (people - DEPUTIES - 2) // SECTION_SIZE)
        db.session.execute(insert(Section), [dict(id=s, code=f"S{s}", name=f"第{s}科", name_en=f"Section {s}",
                                                  min_base_staff=1) for s in range(1, n_sections + 1)])
        rows, postings, oversights = [], [], []
        joined = date(2015, 3, 1)
        for pid in range(1, people + 1):
            if pid == 1:
                role, section, hr = "head", None, False
            elif pid <= 1 + DEPUTIES:
                role, section, hr = "deputy", None, False
            elif pid == 2 + DEPUTIES:
                role, section, hr = "staff", 1, True
            else:
                k = pid - (3 + DEPUTIES)
                section = k // SECTION_SIZE % n_sections + 1
                role = "chief" if k % SECTION_SIZE == 0 else "staff"
                hr = False
            rows.append(dict(id=pid, employee_no=f"E{pid:06d}", name=f"职工{pid}", email=f"p{pid}@bench.test",
                             section_id=section, role=role, is_hr_admin=hr, joined_on=joined,
                             work_started_on=date(2010, 1, 1), language="en" if pid % 10 == 0 else "zh_CN",
                             birthday_leap=False, celebrations_opt_out=False, rotation_exempt=False))
            postings.append(dict(person_id=pid, section_id=section, role=role, valid_from=joined, reason="import"))
        for s in range(1, n_sections + 1):
            oversights.append(dict(deputy_id=2 + s % DEPUTIES, section_id=s, valid_from=joined))
        for batch in range(0, people, 5000):
            db.session.execute(insert(Person), rows[batch:batch + 5000])
            db.session.execute(insert(Posting), postings[batch:batch + 5000])
        db.session.execute(insert(Oversight), oversights)
        kind_id = db.session.execute(insert(LeaveKind).returning(LeaveKind.id), [dict(
            code="bench_annual", name="年休假", name_en="Annual leave", counting="working_days")]).scalar()
        talk_rows, part_rows, follow_rows, leave_rows = [], [], [], []
        first_staff = 3 + DEPUTIES
        chief_of = lambda pid: first_staff + (pid - first_staff) // SECTION_SIZE * SECTION_SIZE  # noqa: E731
        for pid in range(first_staff, people + 1):
            if pid % 20 == 0 and chief_of(pid) != pid:
                tid = len(talk_rows) + 1
                day = MONDAY + timedelta(days=rng.randint(0, 4))
                talk_rows.append(dict(id=tid, kind="routine", status="scheduled", held_on=day,
                                      held_at=datetime.combine(day, datetime.min.time()).replace(hour=10),
                                      duration_minutes=30, place="会议室", topic="近况", collective=False, version=1))
                part_rows += [dict(talk_id=tid, person_id=chief_of(pid), role="talker"),
                              dict(talk_id=tid, person_id=pid, role="talked_to")]
                if pid % 40 == 0:
                    follow_rows.append(dict(talk_id=tid, owner_id=pid, description="补交材料",
                                            due_on=MONDAY + timedelta(days=3)))
            if pid % 15 == 0:
                start = MONDAY + timedelta(days=rng.randint(0, 3))
                leave_rows.append(dict(person_id=pid, kind_id=kind_id, start_date=start, end_date=start + timedelta(days=1),
                                       days=2, status="approved", reason="", approver_ids=[], step=1))
        for table, data in ((Talk, talk_rows), (TalkParticipant, part_rows), (FollowUp, follow_rows),
                            (LeaveRequest, leave_rows)):
            for batch in range(0, len(data), 5000):
                if data[batch:batch + 5000]:
                    db.session.execute(insert(table), data[batch:batch + 5000])
        db.session.commit()


def child_build(args) -> None:
    """In a fresh process: the fan-out (or the naive baseline); prints JSON figures."""
    app = make_app(args.database_url, args.instance, args.redis_url)
    from service.extensions import db

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is the process's peak so far, start-up included (which grows with the database:
    # 172 MB after create_app on the 50,000-person office): the build's own peak is sampled.
    sampled = {"start": _rss_kb(), "peak": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            sampled["peak"] = max(sampled["peak"], _rss_kb())
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with app.test_request_context(base_url="http://talkcare.bench"):
        if args.phase == "build":
            from service.digest.sending import send_weekly_digests

            db.session.execute(db.text("select 1"))
            start = time.perf_counter()
            counts = send_weekly_digests(MONDAY, 9)
            seconds = time.perf_counter() - start
            emails = counts["queued"]
        else:
            from sqlalchemy import select

            from service.digest.content import build_digest
            from service.digest.loading import load_week, person_views
            from service.outbox import render_email
            from service.people.models import Person

            # Staff only: a leader's naive load recomputes the whole unit's obligations (minutes at 50k)
            ids = list(db.session.scalars(select(Person.id).where(Person.role == "staff")
                                          .order_by(Person.id).limit(args.baseline_sample)))
            start = time.perf_counter()
            for pid in ids:  # the naive way: everything loaded again for each person
                person = db.session.get(Person, pid)
                view = person_views([person], MONDAY)[0]
                digest = build_digest(view, MONDAY, load_week([view], MONDAY, MONDAY))
                render_email("weekly", person.language, recipient=person, digest=digest)
            seconds = time.perf_counter() - start
            emails, counts = len(ids), {}
    stop.set()
    sampler.join()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"emails": emails, "seconds": seconds, "rate": emails / seconds, "counts": counts,
                      "rss_start_mb": rss_before / 1024, "rss_peak_mb": rss_peak / 1024,
                      "build_rss_start_mb": sampled["start"] / 1024, "build_rss_peak_mb": sampled["peak"] / 1024}))


def _rss_kb() -> int:
    """The process's resident set now (Linux), in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_child(phase: str, database_url: str, instance: str, redis_url: str, baseline_sample: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", phase, "--database-url", database_url,
                          "--instance", instance, "--redis-url", redis_url,
                          "--baseline-sample", str(baseline_sample)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


class Sink:
    """An aiosmtpd server on loopback that counts and discards what it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.accepted = 0
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.accepted += 1
                return "250 OK"

        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def deliver(app, database_url: str, instance: str, redis_url: str, workers: int, expected: int) -> dict:
    from rq import Queue
    from sqlalchemy import func, select

    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.redis_server import connect

    with Sink() as sink:
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, TALKCARE_INSTANCE=instance,
                   MAIL_URL=f"smtp://127.0.0.1:{sink.port}", TALKCARE_MAIL_MAX_CONCURRENCY=str(workers),
                   PYTHONPATH=str(ROOT))
        rq_bin = str(Path(sys.executable).with_name("rq"))
        procs = [subprocess.Popen([rq_bin, "worker", "-w", "workers.base.Worker", "--url", redis_url, "default"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
        try:
            with app.app_context():
                connection = connect(app)
                connection.flushdb()
                queue = Queue("default", connection=connection)
                start = time.perf_counter()
                for _ in range(workers):  # what the after-commit hook and the cron tick enqueue
                    queue.enqueue("workers.outbox.relay_outbox")
                last_tick = start
                while True:
                    with db.engine.connect() as conn:
                        left = conn.scalar(select(func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.status != "sent"))
                    if not left:
                        break
                    if time.perf_counter() - last_tick > 30:  # the cron tick, every minute in production
                        queue.enqueue("workers.outbox.relay_outbox")
                        last_tick = time.perf_counter()
                    if time.perf_counter() - start > 1800:
                        raise SystemExit(f"delivery did not finish: {left} left")
                    time.sleep(1)
                seconds = time.perf_counter() - start
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        return {"emails": sink.accepted, "seconds": seconds, "rate": sink.accepted / seconds,
                "expected": expected}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=10_000, help="the second size for the memory check")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-sample", type=int, default=100)
    parser.add_argument("--no-deliver", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--database-url")
    parser.add_argument("--instance")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    if args.child:
        args.phase = args.child
        return child_build(args)

    pg = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.mkdtemp(prefix="digest-bench-")
    print(f"load average at start: {load_average()}")
    try:
        results = {}
        for size in sorted({args.small, args.people}):
            instance = os.path.join(tmp, f"i{size}")
            os.makedirs(instance, exist_ok=True)
            url = pg or f"sqlite:///{instance}/bench.db"
            app = make_app(url, instance)
            from service.redis_server import redis_url

            with app.app_context():
                rurl = redis_url(app)  # the embedded server, shared with the children and workers
            t = time.perf_counter()
            generate(app, size)
            print(f"[{size} people] generated in {time.perf_counter() - t:.1f} s")
            build = run_child("build", url, instance, rurl)
            print(f"[{size} people] build: {build['emails']} emails in {build['seconds']:.1f} s = "
                  f"{build['rate']:.0f} emails/s; peak RSS {build['rss_peak_mb']:.0f} MB "
                  f"(after start-up {build['rss_start_mb']:.0f} MB); during the build (sampled every 20 ms): "
                  f"{build['build_rss_start_mb']:.0f} MB at its start, {build['build_rss_peak_mb']:.0f} MB at its "
                  f"peak; {build['counts']}")
            results[size] = {"build": build}
            if size == args.people:
                base = run_child("baseline", url, instance, rurl, args.baseline_sample)
                print(f"[{size} people] baseline (one load per person, {base['emails']} people): "
                      f"{base['rate']:.1f} emails/s -> {size / base['rate'] / 60:.0f} min for everyone")
                results[size]["baseline"] = base
                if not args.no_deliver:
                    d = deliver(app, url, instance, rurl, args.workers, build["emails"])
                    print(f"[{size} people] deliver with {args.workers} RQ workers: {d['emails']} emails in "
                          f"{d['seconds']:.1f} s = {d['rate']:.0f} emails/s")
                    total = build["seconds"] + d["seconds"]
                    print(f"[{size} people] build + deliver: {total:.0f} s ({total / 60:.1f} min; goal <= 10 min)")
                    results[size]["deliver"] = d
            from service.redis_server import stop_embedded

            stop_embedded()
            print(f"load average: {load_average()}")
        sizes = sorted(results)
        if len(sizes) == 2:
            a, b = (results[s]["build"]["rss_peak_mb"] for s in sizes)
            print(f"peak RSS of the build: {a:.0f} MB at {sizes[0]} people, {b:.0f} MB at {sizes[1]} "
                  f"({(b - a) / a * 100:+.0f}%)")
            (a0, a1), (b0, b1) = ((results[s]["build"]["build_rss_start_mb"], results[s]["build"]["build_rss_peak_mb"])
                                  for s in sizes)
            print(f"growth of RSS during the build (peak - start): {a1 - a0:.0f} MB at {sizes[0]} people, "
                  f"{b1 - b0:.0f} MB at {sizes[1]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
