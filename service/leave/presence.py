"""Who is away when: ``is_on_leave`` for the other features, and a section's month grid."""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from service.extensions import db
from service.leave.models import LeaveRequest
from service.people.models import Person, Posting, holds_on_clause
from service.workdays.official import DayInfo, day_info
from service.workdays.overrides import unit_overrides


def leave_on(person_id: int, day: date) -> LeaveRequest | None:
    """The person's approved leave covering ``day`` (a half day counts), if any."""
    return db.session.scalar(select(LeaveRequest).where(
        LeaveRequest.person_id == person_id, LeaveRequest.status == "approved",
        LeaveRequest.start_date <= day, LeaveRequest.end_date >= day).limit(1))


def is_on_leave(person_id: int, day: date) -> bool:
    """True if approved leave covers ``day`` for the person (talks, health checks, rotation and
    reminders ask this before they propose a date)."""
    return leave_on(person_id, day) is not None


def people_on_leave(day: date, person_ids: list[int] | None = None) -> set[int]:
    """The ids of people on approved leave on ``day`` (one query for a whole list)."""
    stmt = select(LeaveRequest.person_id).where(
        LeaveRequest.status == "approved", LeaveRequest.start_date <= day, LeaveRequest.end_date >= day)
    if person_ids is not None:
        stmt = stmt.where(LeaveRequest.person_id.in_(person_ids))
    return set(db.session.scalars(stmt))


@dataclass
class GridRow:
    person: Person
    cells: list = field(default_factory=list)  # per day: None or (request, half) with half in {None,'am','pm'}


@dataclass
class MonthGrid:
    year: int
    month: int
    days: list[DayInfo]
    rows: list[GridRow]

    @property
    def provisional(self) -> bool:
        return any(d.provisional for d in self.days)


def month_grid(section_id: int, year: int, month: int) -> MonthGrid:
    """A section's leave for a month: one row per person posted to the section during the month,
    one cell per day (approved and pending leave), the days marked by the official calendar."""
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    overrides = unit_overrides()
    days = [day_info(date(year, month, d), overrides) for d in range(1, last.day + 1)]
    posted = select(Posting.person_id).where(
        Posting.section_id == section_id, Posting.valid_from <= last,
        (Posting.valid_to.is_(None)) | (Posting.valid_to > first))
    people = list(db.session.scalars(select(Person).where(Person.id.in_(posted)).order_by(Person.employee_no)))
    requests = db.session.scalars(select(LeaveRequest).where(
        LeaveRequest.person_id.in_([p.id for p in people]), LeaveRequest.status.in_(("pending", "approved")),
        LeaveRequest.start_date <= last, LeaveRequest.end_date >= first)).all()
    by_person: dict[int, list[LeaveRequest]] = {}
    for r in requests:
        by_person.setdefault(r.person_id, []).append(r)
    rows = []
    for p in people:
        row = GridRow(p, [None] * len(days))
        for r in by_person.get(p.id, []):
            for i, info in enumerate(days):
                d = info.date
                if r.start_date <= d <= r.end_date:
                    half = "pm" if (d == r.start_date and r.starts_afternoon) else (
                        "am" if (d == r.end_date and r.ends_noon) else None)
                    row.cells[i] = (r, half)
        rows.append(row)
    return MonthGrid(year, month, days, rows)


def section_on(person: Person, day: date) -> int | None:
    """The section a person was posted to on ``day``."""
    return db.session.scalar(select(Posting.section_id).where(
        Posting.person_id == person.id, holds_on_clause(Posting, day)).limit(1))
