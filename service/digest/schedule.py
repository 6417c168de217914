"""When the weekly email goes out: a pure function of the ISO week, the unit's setting and calendar.

The rule: the configured weekday (Monday by default) of the ISO week; when that day is not a
working day, the first working day after it in the same ISO week (2026-W41, National Day week:
Monday 5 October to Wednesday 7 October are off, so the email goes on Thursday 8 October). A week
with no working day from the configured day to Sunday still gets its email, on the configured day.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def iso_week_label(day: date) -> str:
    """``2026-W41``: the ISO year and week of ``day`` (the dedupe key's week part)."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def send_day(any_day_of_week: date, send_weekday: int, is_working_day: Callable[[date], bool]) -> date:
    """The day the weekly email of ``any_day_of_week``'s ISO week is sent (see the module rule)."""
    if not 0 <= send_weekday <= 6:
        raise ValueError("send_weekday must be 0 (Monday) to 6 (Sunday)")
    configured = week_start(any_day_of_week) + timedelta(days=send_weekday)
    for offset in range(7 - send_weekday):
        day = configured + timedelta(days=offset)
        if is_working_day(day):
            return day
    return configured


def is_send_time(day: date, hour: int, send_weekday: int, send_hour: int,
                 is_working_day: Callable[[date], bool]) -> bool:
    """True on the week's send day at or after the send hour (the hourly job acts only then)."""
    return day == send_day(day, send_weekday, is_working_day) and hour >= send_hour


def next_send_day(today: date, send_weekday: int, is_working_day: Callable[[date], bool]) -> date:
    """This week's send day if it is today or later, else next week's (the preview's "Monday")."""
    this_week = send_day(today, send_weekday, is_working_day)
    return this_week if this_week >= today else send_day(today + timedelta(days=7), send_weekday, is_working_day)
