"""Care that leave is taken: who still has statutory days to plan, the leaders' lists, the
year-end unused-leave report; all sent through the outbox, on working days only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from service.auth.permissions import leads
from service.extensions import db
from service.leave.entitlement import reminder_start_date
from service.leave.ledger import balances, pending_days
from service.leave.policy import leave_policy
from service.outbox import queue_email
from service.people.models import Person
from service.workdays.official import is_working_day, previous_working_day
from service.workdays.overrides import unit_overrides

# Unused statutory days are paid at 300% of the daily wage (Regulations art. 5) - information only.
PAY_MULTIPLE = 3


@dataclass
class Unused:
    person: Person
    days: Decimal  # annual leave of the year not yet taken nor asked for


def unused_annual_leave(year: int, person_ids: list[int] | None = None) -> list[Unused]:
    """Active people with annual leave of ``year`` still to plan (booked entries, whatever their
    date, minus pending requests), by employee number."""
    left = balances(year, date(year, 12, 31), "annual", person_ids)
    people = db.session.scalars(select(Person).where(Person.id.in_(list(left)), Person.left_on.is_(None))
                                .order_by(Person.employee_no)).all()
    out = []
    for p in people:
        days = left[p.id] - pending_days(p.id, "annual", year)
        if days > 0:
            out.append(Unused(p, days))
    return out


def send_leave_reminders(today: date) -> dict:
    """From the unit's reminder date (default 1 September), on working days: each person with
    unused days gets one reminder a year, each leader one list a year of their people.
    Idempotent through the outbox's dedupe keys."""
    counts = {"reminded": 0, "leaders": 0}
    overrides = unit_overrides()
    if not is_working_day(today, overrides) or today < reminder_start_date(today.year, leave_policy()):
        return counts
    year = today.year
    unused = unused_annual_leave(year)
    for item in unused:
        counts["reminded"] += queue_email(item.person, "leave_reminder", "leave_reminder",
                                          f"leave-reminder:{item.person.id}:{year}", year=year, days=item.days)
    leaders = db.session.scalars(select(Person).where(Person.role.in_(("head", "deputy", "chief")),
                                                      Person.left_on.is_(None))).all()
    for leader in leaders:
        theirs = [u for u in unused if leads(leader, u.person)]
        if theirs:
            counts["leaders"] += queue_email(leader, "leave_leader_list", "leave_leader_list",
                                             f"leave-leader-list:{leader.id}:{year}", year=year, items=theirs)
    return counts


def send_unused_leave_report(today: date) -> int:
    """On the year's last working day, HR gets the report of unused annual leave per person
    (a run missed then catches up on the first working days of January). Working days only;
    once a year per HR administrator (outbox dedupe key)."""
    overrides = unit_overrides()
    if not is_working_day(today, overrides):
        return 0
    years = []
    if today >= previous_working_day(date(today.year + 1, 1, 1), overrides):
        years.append(today.year)
    if today.month == 1:
        years.append(today.year - 1)
    sent = 0
    hrs = db.session.scalars(select(Person).where(Person.is_hr_admin.is_(True), Person.left_on.is_(None))).all()
    for year in years:
        items = unused_annual_leave(year)
        for hr in hrs:
            sent += queue_email(hr, "leave_unused_report", "leave_unused_report",
                                f"leave-unused-report:{hr.id}:{year}", year=year, items=items,
                                total=sum((i.days for i in items), Decimal(0)), multiple=PAY_MULTIPLE)
    return sent
