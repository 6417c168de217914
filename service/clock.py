"""The one place the service reads the clock, so tests and jobs can pass a date in."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def now_utc() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def unit_today() -> date:
    """Today in the unit's timezone (default Asia/Shanghai)."""
    tz = ZoneInfo(current_app.config.get("TALKCARE_TIMEZONE", "Asia/Shanghai"))
    return now_utc().astimezone(tz).date()
