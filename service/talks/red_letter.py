"""The red-letter report (通报): overdue and due talks and overdue follow-up items, per leader and
per section, on a day.

HR reads it on demand (``GET /api/talks/red-letter`` and the HR dashboard); once a month it is also
mailed to the HR administrators and the head of the unit, on the first working day of the month
(or the first run after it, when the scheduler was down that morning), once per recipient per
month by the outbox's dedupe key. Metadata only: counts and names, never what was said.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from service.extensions import db
from service.outbox import queue_email
from service.people.models import Person, Section
from service.talks.loading import obligations
from service.talks.models import FollowUp


def red_letter(on: date) -> dict:
    """The report on ``on``: leaders most overdue first, then sections most overdue first."""
    people = {p.id: p for p in db.session.scalars(select(Person)).unique()}
    sections = {s.id: s.name for s in db.session.scalars(select(Section))}
    by_leader: dict = {}
    by_section: dict = {}

    def leader_row(leader_id):
        return by_leader.setdefault(leader_id, {"leader_id": leader_id, "overdue": 0, "due": 0,
                                                "follow_ups_overdue": 0})

    for o in obligations(on):
        if o.status == "done":
            continue
        leader_row(o.talker_id)[o.status] += 1
        section_id = people[o.talked_to_id].section_id if o.talked_to_id in people else None
        section = by_section.setdefault(section_id, {"section_id": section_id, "overdue": 0, "due": 0})
        section[o.status] += 1
    for item in db.session.scalars(select(FollowUp).where(FollowUp.done_on.is_(None), FollowUp.due_on < on)):
        leader_row(item.owner_id)["follow_ups_overdue"] += 1
    for row in by_leader.values():
        row["name"] = people[row["leader_id"]].name if row["leader_id"] in people else ""
    for row in by_section.values():
        row["name"] = sections.get(row["section_id"], "")
    return {"on": on.isoformat(),
            "leaders": sorted(by_leader.values(),
                              key=lambda r: (-r["overdue"], -r["follow_ups_overdue"], -r["due"], r["leader_id"])),
            "sections": sorted(by_section.values(), key=lambda r: (-r["overdue"], -r["due"], r["section_id"] or 0))}


def first_working_day(month_start: date, is_working) -> date:
    day = month_start
    while not is_working(day) and day.month == month_start.month:
        day = date.fromordinal(day.toordinal() + 1)
    return day


def recipients() -> list[Person]:
    """HR administrators and the head of the unit, active, with an address."""
    return db.session.scalars(select(Person).where(
        Person.left_on.is_(None), Person.email.is_not(None),
        or_(Person.is_hr_admin.is_(True), Person.role == "head")).order_by(Person.id)).unique().all()


def send_red_letter(today: date) -> dict:
    """The monthly mail: from the month's first working day on, once per recipient per month."""
    from service.care.availability import unit_working_day

    start = first_working_day(today.replace(day=1), unit_working_day())
    if today < start:
        return {"sent": 0, "skipped": f"the report goes out from {start.isoformat()}"}
    report = red_letter(today)
    if not report["leaders"] and not report["sections"]:
        return {"sent": 0, "skipped": "nothing due or overdue"}
    sent = 0
    for person in recipients():
        if queue_email(person, "talk_red_letter", "talk_red_letter",
                       f"talk-red-letter:{today.strftime('%Y-%m')}:{person.id}", report=report, today=today):
            sent += 1
    db.session.commit()
    return {"sent": sent}
