"""The outbox: one email per dedupe key, retries with backoff, parking, and exactly-once delivery
to a real SMTP server when a worker's work horse is killed with SIGKILL mid-send."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mail_server import SmtpServer, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def _person(app, office, key="staff_a"):
    from service.extensions import db
    from service.people.models import Person

    return db.session.get(Person, office[key])


def test_same_dedupe_key_twice_gives_one_email(app, office, smtp):
    from service import outbox
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    app.config["MAIL_URL"] = smtp.url
    try:
        with app.test_request_context():
            p = _person(app, office)
            assert outbox.queue_email(p, "welcome", "welcome", "welcome:test", link="http://x/1") is True
            db.session.commit()
            assert outbox.queue_email(p, "welcome", "welcome", "welcome:test", link="http://x/2") is False
            db.session.commit()
            assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "welcome:test"))
            counts = outbox.relay()
            assert counts["sent"] == 1
            assert outbox.relay()["claimed"] == 0
    finally:
        app.config["MAIL_URL"] = ""
    assert len(smtp.recorder.messages) == 1
    msg = smtp.recorder.messages[0]
    assert msg["To"] == "sa@example.org"
    assert msg.get_body(preferencelist=("plain",)).get_content().count("http://x/1") == 1
    assert "http://x/1" in msg.get_body(preferencelist=("html",)).get_content()
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith(">")


def test_email_is_in_the_recipients_language(app, office, smtp):
    from service import outbox
    from service.extensions import db

    with app.test_request_context():
        p = _person(app, office)
        p.language = "en"
        outbox.queue_email(p, "welcome", "welcome", "welcome:en", link="http://x")
        zh = _person(app, office, "staff_b")
        outbox.queue_email(zh, "welcome", "welcome", "welcome:zh", link="http://x")
        db.session.commit()
        from service.outbox.models import OutboxMessage

        rows = {r.dedupe_key: r for r in db.session.scalars(select(OutboxMessage))}
    assert rows["welcome:en"].subject == "Your talkcare account"
    assert rows["welcome:zh"].subject != "Your talkcare account"
    assert rows["welcome:en"].language == "en" and rows["welcome:zh"].language == "zh_CN"


def test_failures_back_off_then_park_and_hr_can_retry(app, office, hr_api):
    from service import outbox
    from service.clock import now_utc
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    try:
        with app.test_request_context():
            outbox.queue_email(_person(app, office), "welcome", "welcome", "welcome:fail", link="x")
            db.session.commit()
            row_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "welcome:fail"))
            delays = []
            for attempt in range(1, 4):
                counts = outbox.relay()
                assert counts["claimed"] == 1
                row = db.session.get(OutboxMessage, row_id)
                db.session.refresh(row)
                assert row.attempts == attempt
                assert "Connection refused" in row.last_error or "Errno" in row.last_error
                if attempt < 3:
                    assert row.status == "pending"
                    delays.append((row.next_attempt_at - now_utc()).total_seconds())
                    assert outbox.relay()["claimed"] == 0  # not due yet: backoff holds
                    row.next_attempt_at = now_utc() - timedelta(seconds=1)
                    db.session.commit()
            assert row.status == "parked"
            assert delays[1] > delays[0] * 1.5  # exponential backoff
    finally:
        app.config["MAIL_URL"] = ""
        app.config["OUTBOX_MAX_ATTEMPTS"] = 8
    parked = hr_api.get("/api/outbox?status=parked").json
    assert [m["id"] for m in parked] == [row_id]
    assert hr_api.post(f"/api/outbox/{row_id}/retry").json["status"] == "pending"
    assert hr_api.post(f"/api/outbox/{row_id}/retry").status_code == 409


def _wait(predicate, timeout=30.0, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.mark.slow
def test_work_horse_killed_mid_send_delivers_exactly_once(app, office, smtp, redis_url, database_url):
    """A real RQ worker sends through a real SMTP server; its work horse is SIGKILLed while the
    server holds the transaction; after the claim expires the next relay sends it once."""
    import psutil
    from rq import Queue

    from service import outbox
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.redis_server import connect

    with app.test_request_context():
        outbox.queue_email(_person(app, office), "welcome", "welcome", "welcome:kill", link="http://x/k")
        db.session.info.pop("outbox_written", None)  # this test enqueues the relay itself
        db.session.commit()
        row_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "welcome:kill"))

    smtp.recorder.hold_first_mail = True
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, MAIL_URL=smtp.url,
               TALKCARE_OUTBOX_CLAIM_SECONDS="2", PYTHONPATH=str(ROOT))
    rq_bin = str(Path(sys.executable).with_name("rq"))
    worker = subprocess.Popen([rq_bin, "worker", "-w", "workers.base.Worker", "--url", redis_url, "default"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        queue = Queue("default", connection=connect(app))
        queue.enqueue("workers.outbox.relay_outbox")
        assert smtp.recorder.mail_started.wait(60), "the relay never reached the SMTP server"
        horses = psutil.Process(worker.pid).children()
        assert horses, "no work horse found"
        for horse in horses:
            os.kill(horse.pid, signal.SIGKILL)
        smtp.recorder.release.set()
        time.sleep(0.5)
        assert smtp.recorder.messages == []  # the killed send never completed
        with app.app_context():
            row = db.session.get(OutboxMessage, row_id)
            assert row.status == "sending"  # claimed by the dead horse
        time.sleep(2.2)  # the claim expires
        queue.enqueue("workers.outbox.relay_outbox")  # what the cron job does every minute
        assert _wait(lambda: len(smtp.recorder.messages) >= 1, 60), "the retry never arrived"
        queue.enqueue("workers.outbox.relay_outbox")  # later relays find nothing to send
        time.sleep(2.5)
        assert len(smtp.recorder.messages) == 1
        with app.app_context():
            row = db.session.get(OutboxMessage, row_id)
            db.session.refresh(row)
            assert row.status == "sent" and row.attempts == 2
            assert smtp.recorder.ids() == [row.message_id]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
