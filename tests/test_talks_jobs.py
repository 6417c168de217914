"""Talk reminders: due-soon and overdue to the talker, overdue follow-up items to the owner; working
days only; one per obligation per stage (re-running sends nothing new)."""
from __future__ import annotations

from sqlalchemy import select


def outbox(app) -> list[tuple[str, int, str]]:
    from service.extensions import db
    from service.outbox.models import OutboxMessage

    with app.app_context():
        rows = [(m.kind, m.recipient_id, m.dedupe_key) for m in db.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]
        db.session.remove()
    return rows


def test_reminders_due_soon_then_overdue_once_each(app, office, token_for):
    from workers.talks import send_talk_reminders

    with app.app_context():
        first = send_talk_reminders("2026-11-30")  # a Monday; November's deadline is 12-05: due soon
    assert first["due_soon"] >= 1
    rows = outbox(app)
    key = f"talk-reminder:deputy-monthly:{office['deputy']}:{office['staff_a']}:2026-11-01:due_soon"
    assert [r for r in rows if r[2] == key] == [("talk_due_soon", office["deputy"], key)]
    with app.app_context():
        again = send_talk_reminders("2026-11-30")
    assert again["due_soon"] == 0 and outbox(app) == rows
    with app.app_context():
        assert send_talk_reminders("2026-12-06")["skipped"]  # a Saturday: nothing at all
    assert outbox(app) == rows
    with app.app_context():
        later = send_talk_reminders("2026-12-07")  # Monday after the deadline
    assert later["overdue"] >= 1
    overdue_key = key.replace("due_soon", "overdue")
    assert overdue_key in [r[2] for r in outbox(app)]
    with app.app_context():
        assert send_talk_reminders("2026-12-08")["overdue"] == 0  # one per obligation per stage


def test_a_held_talk_is_not_reminded(app, office, token_for):
    from workers.talks import send_talk_reminders

    token_for(office["deputy"]).post("/api/talks", json={
        "kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": 30, "place": "x", "topic": "y",
        "talker_ids": [office["deputy"]], "talked_to_ids": [office["staff_a"]]})
    with app.app_context():
        send_talk_reminders("2026-11-30")
    keys = [r[2] for r in outbox(app)]
    assert not any(k.startswith(f"talk-reminder:deputy-monthly:{office['deputy']}:{office['staff_a']}:2026-11-01")
                   for k in keys)


def test_overdue_follow_up_reminds_its_owner_once(app, office, token_for):
    from workers.talks import send_talk_reminders

    token_for(office["deputy"]).post("/api/talks", json={
        "kind": "routine", "held_at": "2026-11-10T09:30", "duration_minutes": 30, "place": "x", "topic": "y",
        "talker_ids": [office["deputy"]], "talked_to_ids": [office["staff_a"]],
        "follow_ups": [{"owner_id": office["deputy"], "description": "安排体检", "due_on": "2026-11-20"}]})
    with app.app_context():
        assert send_talk_reminders("2026-11-20")["follow_ups"] == 0  # due today: not overdue yet
        assert send_talk_reminders("2026-11-23")["follow_ups"] == 1
        assert send_talk_reminders("2026-11-24")["follow_ups"] == 0
    mail = [r for r in outbox(app) if r[0] == "talk_follow_up"]
    assert [(r[1], r[2].split(":")[0]) for r in mail] == [(office["deputy"], "talk-follow-up")]


def test_red_letter_report_mailed_once_a_month_from_the_first_working_day(app, office, token_for):
    """The monthly 通报 goes to HR and the head, from the month's first working day, once per month."""
    from service.extensions import db
    from service.outbox.models import OutboxMessage
    from workers.talks import send_red_letter_report

    with app.app_context():
        # 2026-10-01 to 10-07 are the National Day holidays: October's first working day is 10-08.
        early = send_red_letter_report("2026-10-07")
    assert early["sent"] == 0 and "2026-10-08" in early["skipped"]
    assert [r for r in outbox(app) if r[0] == "talk_red_letter"] == []
    with app.app_context():
        first = send_red_letter_report("2026-10-08")
    rows = [r for r in outbox(app) if r[0] == "talk_red_letter"]
    assert first["sent"] == 2
    assert sorted(r[1] for r in rows) == sorted([office["hr"], office["head"]])
    assert all(r[2].startswith("talk-red-letter:2026-10:") for r in rows)
    with app.app_context():
        assert send_red_letter_report("2026-10-09")["sent"] == 0  # once per recipient per month
        assert send_red_letter_report("2026-10-08")["sent"] == 0  # a duplicate scheduler: nothing
        body = db.session.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.kind == "talk_red_letter", OutboxMessage.recipient_id == office["head"])).one()
        db.session.remove()
    assert "通报" in body and "副主任" in body and "科长甲" in body  # leaders with overdue talks, by name
    with app.app_context():
        assert send_red_letter_report("2026-12-01")["sent"] == 2  # next month: a new report


def test_a_due_soon_reminder_on_a_weekend_moves_to_the_previous_working_day(app, office, hr_api):
    """Lead 6 days before the 12-05 deadline is Sunday 11-29: the reminder goes on Friday 11-27."""
    from workers.talks import send_talk_reminders

    assert hr_api.patch("/api/talks/settings", json={"due_soon_days": 6}).status_code == 200
    key = f"talk-reminder:deputy-monthly:{office['deputy']}:{office['staff_a']}:2026-11-01:due_soon"
    with app.app_context():
        send_talk_reminders("2026-11-26")  # Thursday: too early
    assert key not in [r[2] for r in outbox(app)]
    with app.app_context():
        send_talk_reminders("2026-11-27")  # Friday, the last working day before the 29th
    assert key in [r[2] for r in outbox(app)]
