"""The notification centre: my own notices only, newest first, paginated, with my weekly-email
preference on the same page; HR sets the send day and hour on a web page."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from conftest import csrf_of


def _notices(app, office, who, n, kind="welcome"):
    """``n`` outbox rows addressed to ``who``, one a minute apart (the last is the newest)."""
    from service import outbox
    from service.clock import now_utc
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from service.people.models import Person

    with app.test_request_context():
        person = db.session.get(Person, office[who])
        for i in range(n):
            outbox.queue_email(person, kind, "welcome", f"notice:{who}:{i}", link="http://x")
        db.session.info.pop("outbox_written", None)
        db.session.commit()
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == person.id)
                                  .order_by(OutboxMessage.id)).all()
        base = now_utc() - timedelta(hours=1)
        for i, row in enumerate(rows):
            row.created_at = base + timedelta(minutes=i)
            row.subject = f"{who} notice {i:02d}"
        rows[0].status, rows[0].sent_at = "sent", base + timedelta(minutes=5)
        db.session.commit()


def test_notices_are_mine_newest_first_and_paginated(app, office, client, login):
    _notices(app, office, "staff_a", 23)
    _notices(app, office, "staff_b", 2)
    login("SA")
    html = client.get("/digest/notices").get_data(as_text=True)
    assert 'id="notices"' in html and 'id="digest-preferences"' in html
    assert "staff_a notice 22" in html and "staff_a notice 03" in html
    assert html.index("staff_a notice 22") < html.index("staff_a notice 21")  # newest first
    assert "staff_a notice 02" not in html  # on page 2 (20 a page)
    assert "staff_b" not in html  # never someone else's
    page2 = client.get("/digest/notices?page=2").get_data(as_text=True)
    assert "staff_a notice 00" in page2 and "staff_a notice 22" not in page2
    assert "status-sent" in page2
    assert 'id="digest-settings-link"' not in html  # staff does not set the send time


def test_opt_out_from_the_notification_centre(app, office, client, login):
    from service.digest.preferences import preference_of

    login("SA")
    page = client.get("/digest/notices")
    assert 'id="no-notices"' in page.get_data(as_text=True)
    saved = client.post("/digest/preferences", data={"csrf_token": csrf_of(page), "back": "notices",
                                                     "nothing_due_note": "y"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/digest/notices")
    with app.app_context():
        assert preference_of(office["staff_a"]).weekly_email is False


def test_hr_sets_the_send_time_on_a_page_others_may_not(app, office, client, login, hr_api):
    login("SA")
    assert client.get("/digest/settings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/digest/notices"))})
    login("HR1")
    page = client.get("/digest/settings")
    assert page.status_code == 200 and 'id="digest-settings"' in page.get_data(as_text=True)
    bad = client.post("/digest/settings", data={"csrf_token": csrf_of(page), "send_weekday": "9", "send_hour": "8"})
    assert bad.status_code == 400
    ok = client.post("/digest/settings", data={"csrf_token": csrf_of(page), "send_weekday": "2", "send_hour": "7"})
    assert ok.status_code == 302
    assert hr_api.get("/api/digest/settings").json == {"send_weekday": 2, "send_hour": 7}
