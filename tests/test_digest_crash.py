"""The weekly email under crashes and concurrency, on real parts: real RQ worker processes, a real
SMTP server on loopback (aiosmtpd), a real database and Redis.

* Two schedulers run the weekly fan-out for the same ISO week at once; the relay's work horses are
  SIGKILLed mid-batch (some emails accepted, one held mid-transaction, the rest not yet sent); a
  new worker finishes. Everyone gets exactly one weekly email.
* RQ's RateLimit caps the SMTP sessions: with a limit of 1, two workers never hold two sessions at
  once (counted by the SMTP server); with a limit of 2 they do, so the count can fail.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mail_server import Recorder, SmtpServer

ROOT = Path(__file__).resolve().parent.parent
MONDAY = "2026-11-16"
EXTRA_STAFF = 23  # with the office's 7: a batch of 30 emails


class CrashRecorder(Recorder):
    """Holds the client inside the ``hold_at``-th MAIL command until ``release`` is set."""

    def __init__(self, hold_at: int):
        super().__init__()
        self.hold_at = hold_at
        self.mails = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        if self.mails == self.hold_at:
            self.mail_started.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        envelope.mail_from = address
        return "250 OK"


class SessionCounter(Recorder):
    """Counts SMTP sessions open at once (EHLO opens one, QUIT ends it). With ``wait_for_pair``,
    the first message waits (up to a deadline) until a second session is open, so a limit that
    lets two through is seen as two."""

    def __init__(self):
        super().__init__()
        self.open = 0
        self.max_open = 0
        self.wait_for_pair = False
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.open += 1
            self.max_open = max(self.max_open, self.open)
        return responses

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.open -= 1
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        deadline = time.monotonic() + 5
        while self.wait_for_pair and self.max_open < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.01)  # a real server takes a moment: sessions overlap if allowed to
        return await super().handle_DATA(server, session, envelope)


def _server(recorder):
    server = SmtpServer()
    server.recorder = recorder
    server.controller.handler = recorder
    return server


def _wait(predicate, timeout=60.0, step=0.05, tick=None):
    """Poll ``predicate`` until true or the deadline; ``tick`` runs between polls (a cron tick)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if tick:
            tick()
        time.sleep(step)
    return False


class Workers:
    """Real ``rq worker`` processes (the app's worker class) that the test starts and stops."""

    def __init__(self, env):
        self.env = env
        self.procs: list[subprocess.Popen] = []

    def start(self, n=1):
        rq_bin = str(Path(sys.executable).with_name("rq"))
        for _ in range(n):
            self.procs.append(subprocess.Popen(
                [rq_bin, "worker", "-w", "workers.base.Worker", "--url", self.env["REDIS_URL"], "default"],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def kill_horses(self) -> int:
        import psutil

        killed = 0
        for proc in self.procs:
            for horse in psutil.Process(proc.pid).children():
                os.kill(horse.pid, signal.SIGKILL)
                killed += 1
        return killed

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def _env(database_url, redis_url, smtp_url, **extra):
    return dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, MAIL_URL=smtp_url,
                PUBLIC_URL="http://talkcare.test", PYTHONPATH=str(ROOT) + os.pathsep + str(ROOT / "tests"),
                **extra)


def _add_staff(app, office, n):
    from service.extensions import db
    from service.people.register import apply_person

    with app.test_request_context():
        for i in range(n):
            apply_person({"employee_no": f"X{i:03d}", "name": f"职工{i:03d}", "email": f"x{i:03d}@example.org",
                          "joined_on": date(2020, 1, 1), "work_started_on": date(2010, 1, 1),
                          "section_id": office["section_a"] if i % 2 else office["section_b"]}, date(2026, 11, 1))
        db.session.commit()


def _weekly_rows(app):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        db.session.remove()
        return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "weekly")))


def test_sigkill_mid_batch_and_duplicate_schedulers_deliver_exactly_once(app, office, redis_url, database_url):
    from rq import Queue

    from service.redis_server import connect

    _add_staff(app, office, EXTRA_STAFF)
    people = 7 + EXTRA_STAFF
    recorder = CrashRecorder(hold_at=8)
    with _server(recorder) as smtp:
        workers = Workers(_env(database_url, redis_url, smtp.url, TALKCARE_OUTBOX_CLAIM_SECONDS="3",
                               TALKCARE_MAIL_MAX_CONCURRENCY="1"))
        queue = Queue("default", connection=connect(app))
        try:
            workers.start(2)
            # Two schedulers fire the same hourly run of the same ISO week at once.
            for _ in range(2):
                queue.enqueue("workers.digest.send_weekly_digests", kwargs={"on": MONDAY, "hour": 9})
            assert recorder.mail_started.wait(90), "the relay never reached the 8th email"
            assert len(recorder.messages) == 7  # seven accepted, the eighth held mid-transaction
            assert workers.kill_horses() >= 1  # SIGKILL: no cleanup, no UPDATE, no QUIT
            recorder.release.set()
            rows = _weekly_rows(app)
            assert len(rows) == people  # the fan-out itself committed one row each, no more
            assert Counter(r.status for r in rows) == {"sent": 7, "sending": people - 7}
            workers.stop()

            # A new worker and the next cron runs (the hourly fan-out, the relay tick) finish it.
            workers.start(1)
            queue.enqueue("workers.digest.send_weekly_digests", kwargs={"on": MONDAY, "hour": 10})
            done = _wait(lambda: len(recorder.messages) >= people
                         and all(r.status == "sent" for r in _weekly_rows(app)), timeout=90, step=0.5,
                         tick=lambda: queue.enqueue("workers.outbox.relay_outbox"))
            assert done, f"{len(recorder.messages)} of {people} delivered"
        finally:
            workers.stop()
        to = Counter(m["To"] for m in recorder.messages)
        assert len(to) == people and set(to.values()) == {1}, to.most_common(3)
        assert len(set(recorder.ids())) == people
        rows = _weekly_rows(app)
        assert Counter(r.attempts for r in rows) == {1: 7, 2: people - 7}  # the crashed rows: once more
        assert {r.message_id for r in rows} == set(recorder.ids())


def test_rate_limit_caps_smtp_sessions_across_workers(app, office, redis_url, database_url):
    from service import outbox
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.people.models import Person
    from service.redis_server import connect

    counter = SessionCounter()

    def queue_batch(tag, n):
        with app.test_request_context():
            people = list(db.session.scalars(select(Person)))
            for i in range(n):
                outbox.queue_email(people[i % len(people)], "welcome", "welcome", f"rl:{tag}:{i}", link="http://x")
            db.session.info.pop("outbox_written", None)  # the test enqueues the relays itself
            db.session.commit()

    def unsent():
        with app.app_context():
            db.session.remove()
            return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status != "sent"))

    with _server(counter) as smtp:
        workers = Workers(_env(database_url, redis_url, smtp.url))
        try:
            workers.start(2)
            for limit, tag in ((1, "one"), (2, "two")):
                queue_batch(tag, 30)
                counter.max_open = 0
                counter.wait_for_pair = limit == 2
                config = dict(app.config, MAIL_MAX_CONCURRENCY=limit)
                jobs = [outbox.enqueue_relay_limited(connect(app), config, limit=5) for _ in range(4)]
                assert jobs[0] is not None and jobs[1] is not None
                # A third is not needed while one waits: it would see the same rows.
                assert jobs[2] is None or limit == 2
                assert _wait(lambda: unsent() == 0, timeout=60, step=0.1), f"limit {limit}: not all sent"
                assert counter.max_open == limit, f"limit {limit}: {counter.max_open} sessions at once"
        finally:
            workers.stop()
    assert Counter(counter.ids()).most_common(1)[0][1] == 1  # and nothing was sent twice
    assert len(counter.messages) == 60
