"""Who is away when, and which days are working days, as the care jobs need them."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import partial

from sqlalchemy import select

from service.extensions import db
from service.workdays.official import is_working_day


def approved_leave_days(person_ids: Iterable[int], start: date, end: date) -> dict[int, set[date]]:
    """Days from ``start`` to ``end`` (inclusive) covered by approved leave, per person, in one query
    (the leave domain's ``leave_request``; a half day of leave counts as the day being taken)."""
    from service.leave.models import LeaveRequest

    ids = list(person_ids)
    found: dict[int, set[date]] = {pid: set() for pid in ids}
    if not ids or end < start:
        return found
    rows = db.session.execute(select(LeaveRequest.person_id, LeaveRequest.start_date, LeaveRequest.end_date).where(
        LeaveRequest.status == "approved", LeaveRequest.person_id.in_(ids),
        LeaveRequest.start_date <= end, LeaveRequest.end_date >= start)).all()
    for person_id, first, last in rows:
        day = max(first, start)
        while day <= min(last, end):
            found[person_id].add(day)
            day += timedelta(days=1)
    return found


def unit_working_day() -> Callable[[date], bool]:
    """The official calendar with the unit's own days on and off (service.workdays), as a predicate."""
    try:
        from service.workdays.overrides import unit_overrides
    except ImportError:  # the override table is optional: the official calendar alone
        return is_working_day
    return partial(is_working_day, overrides=unit_overrides())
