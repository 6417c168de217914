"""Talk reminders through the outbox: due-soon and overdue talks to the talker, overdue follow-up
items to their owner. Working days only; each obligation is reminded once per stage and each item
once, by the outbox's dedupe keys, so re-running a day (or a missed day's run) sends nothing twice."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from service.care.availability import unit_working_day
from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person
from service.talks.cadence import DUE, OVERDUE
from service.talks.loading import obligations, talk_settings
from service.talks.models import FollowUp

# Overdue obligations older than this are not mailed: the dashboard shows them; a unit that starts
# using talkcare mid-year should not receive a year of reminders on its first morning.
OVERDUE_MAIL_WINDOW_DAYS = 31


def reminder_key(o, stage: str) -> str:
    return f"talk-reminder:{o.rule_id}:{o.talker_id}:{o.talked_to_id}:{o.period_start.isoformat()}:{stage}"


def send_talk_reminders(today: date) -> dict:
    counts = {"due_soon": 0, "overdue": 0, "follow_ups": 0}
    working = unit_working_day()
    if not working(today):
        return {**counts, "skipped": "not a working day"}
    soon = timedelta(days=talk_settings().due_soon_days)
    # A due-soon reminder whose day (deadline - lead) falls on a non-working day goes out on the
    # working day before it: today sends those whose day comes before the next working day.
    next_working = next((today + timedelta(days=n) for n in range(1, 60) if working(today + timedelta(days=n))),
                        today + timedelta(days=1))
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.left_on.is_(None))).unique()}
    for o in obligations(today):
        talker, person = people.get(o.talker_id), people.get(o.talked_to_id)
        if talker is None or person is None:
            continue
        if o.status == DUE and o.deadline - soon < next_working:
            stage = "due_soon"
        elif o.status == OVERDUE and (today - o.deadline).days <= OVERDUE_MAIL_WINDOW_DAYS:
            stage = "overdue"
        else:
            continue
        if queue_email(talker, f"talk_{stage}", "talk_reminder", reminder_key(o, stage),
                       obligation=o, person=person, stage=stage, today=today):
            counts[stage] += 1
    items = db.session.scalars(select(FollowUp).where(FollowUp.done_on.is_(None), FollowUp.due_on < today)
                               .order_by(FollowUp.id)).all()
    for item in items:
        if item.owner.active and queue_email(item.owner, "talk_follow_up", "talk_follow_up",
                                             f"talk-follow-up:{item.id}:overdue", item=item, today=today):
            counts["follow_ups"] += 1
    db.session.commit()
    return counts
