"""The weekly email end to end: one email per person per ISO week through a real SMTP server when
the job runs twice or concurrently, opt-out honoured, the preview page and the preferences API."""
from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from conftest import csrf_of
from mail_server import SmtpServer

MONDAY = date(2026, 11, 16)


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def week(app, office):
    from service.extensions import db
    from service.talks.models import FollowUp, Talk, TalkParticipant

    with app.app_context():
        talk = Talk(kind="routine", status="scheduled", held_at=datetime(2026, 11, 18, 10, 0), held_on=date(2026, 11, 18),
                    duration_minutes=30, place="三楼会议室", topic="近况")
        talk.participants = [TalkParticipant(person_id=office["chief_a"], role="talker"),
                             TalkParticipant(person_id=office["staff_a"], role="talked_to")]
        db.session.add(talk)
        db.session.flush()
        db.session.add(FollowUp(talk_id=talk.id, owner_id=office["staff_a"], description="补交材料",
                                due_on=date(2026, 11, 19)))
        db.session.commit()
        return talk.id


def _rows(app):
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        return {r.recipient_id: r for r in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "weekly"))}


def test_job_acts_only_at_the_send_time(app, office):
    from workers.digest import send_weekly_digests

    assert _in_app(app, send_weekly_digests, "2026-11-16", 7)["skipped"]
    assert _in_app(app, send_weekly_digests, "2026-11-17", 9)["skipped"]
    assert _in_app(app, send_weekly_digests, "2026-10-05", 9)["skipped"]  # National Day: Thursday sends
    assert _rows(app) == {}
    assert _in_app(app, send_weekly_digests, "2026-10-08", 8)["queued"] == 7


def test_twice_and_concurrently_gives_one_email_each(app, office, week, smtp):
    from service import outbox
    from workers.digest import send_weekly_digests

    first = _in_app(app, send_weekly_digests)
    assert first["queued"] == 7
    assert _in_app(app, send_weekly_digests, hour=10)["already"] == 7
    results = []
    threads = [threading.Thread(target=lambda: results.append(_in_app(app, send_weekly_digests)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r["queued"] == 0 for r in results)
    rows = _rows(app)
    assert rows[office["staff_a"]].dedupe_key == f"weekly:{office['staff_a']}:2026-W47"
    app.config["MAIL_URL"] = smtp.url
    try:
        with app.test_request_context():
            outbox.relay(100)
            outbox.relay(100)
    finally:
        app.config["MAIL_URL"] = ""
    to = sorted(m["To"] for m in smtp.recorder.messages)
    assert len(to) == 7 and len(set(to)) == 7
    staff = next(m for m in smtp.recorder.messages if m["To"] == "sa@example.org")
    text = staff.get_body(preferencelist=("plain",)).get_content()
    assert "三楼会议室" in text and "补交材料" in text and f"http://talkcare.test/talks/{week}" in text


def _in_app(app, job, on="2026-11-16", hour=9):
    with app.app_context():  # the test app (its PUBLIC_URL), not a worker's own
        return job(on=on, hour=hour)


def test_opt_out_and_nothing_due_are_honoured(app, office, token_for):
    from workers.digest import send_weekly_digests

    staff_b = token_for(office["staff_b"])
    assert staff_b.get("/api/digest/preferences/me").json == {"weekly_email": True, "nothing_due_note": True}
    assert staff_b.patch("/api/digest/preferences/me", json={"weekly_email": False}).status_code == 200
    staff_a = token_for(office["staff_a"])
    assert staff_a.patch("/api/digest/preferences/me", json={"nothing_due_note": False}).status_code == 200
    bad = staff_b.patch("/api/digest/preferences/me", json={"weekly_email": "no"})
    assert bad.status_code == 422 and "weekly_email" in bad.json["errors"]["json"]
    assert staff_b.patch("/api/digest/settings", json={"send_hour": 9}).status_code == 403
    counts = _in_app(app, send_weekly_digests)
    rows = _rows(app)
    assert office["staff_b"] not in rows and counts["opted_out"] == 1
    # staff_a has nothing due this week and asked for no note; the head has talks due
    assert office["staff_a"] not in rows and counts["nothing_due"] == 1
    assert office["head"] in rows


def test_hr_changes_the_send_time_with_field_errors(app, office, hr_api):
    assert hr_api.get("/api/digest/settings").json == {"send_weekday": 0, "send_hour": 8}
    bad = hr_api.patch("/api/digest/settings", json={"send_hour": 24})
    assert bad.status_code == 422 and "send_hour" in bad.json["errors"]["json"]
    assert hr_api.patch("/api/digest/settings", json={"send_weekday": 1}).json["send_weekday"] == 1


@pytest.mark.parametrize("who", ["SA", "CA", "HR1", "L1"])
def test_preview_renders_for_each_role_and_saves_preferences(app, office, week, client, login, who):
    login(who)
    page = client.get("/digest/preview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="digest-preview"' in html and 'id="digest-preferences"' in html
    saved = client.post("/digest/preferences", data={"csrf_token": csrf_of(page), "nothing_due_note": "y"})
    assert saved.status_code == 302
    assert 'id="opted-out"' in client.get("/digest/preview").get_data(as_text=True)
