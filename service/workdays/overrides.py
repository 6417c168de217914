"""The unit's calendar as the pure core wants it: ``UnitOverrides`` built from the override table."""
from __future__ import annotations

from sqlalchemy import select

from service.extensions import db
from service.workdays.models import CalendarOverride
from service.workdays.official import UnitOverrides


def unit_overrides() -> UnitOverrides:
    """The override table as an immutable value (a few rows a year: read each time, never stale)."""
    rows = db.session.execute(select(CalendarOverride.day, CalendarOverride.working)).all()
    return UnitOverrides.of(days_off=[d for d, working in rows if not working],
                            days_on=[d for d, working in rows if working])
