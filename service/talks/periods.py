"""Cadence periods: calendar months, quarters, half-years, years, or blocks of N weeks.

Pure date arithmetic, no I/O. Every period is a closed range of days ``(first, last)``.
Calendar frequencies follow the calendar (a quarter is Jan-Mar, Apr-Jun, ...), because unit rules
and the red-letter reports are read month by month. ``every_n_weeks`` counts blocks of ``7 * n``
days from an anchor date, forwards and backwards, so any day belongs to exactly one block.
"""
from __future__ import annotations

from datetime import date, timedelta

FREQUENCIES = ("monthly", "quarterly", "half_yearly", "yearly", "every_n_weeks")

# 2001-01-01 was a Monday: blocks of whole weeks start on Mondays unless a rule says otherwise.
DEFAULT_ANCHOR = date(2001, 1, 1)

_MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}


def _first_of_next_block(year: int, month: int, months: int) -> date:
    """First day of the month ``months`` after (year, month)."""
    index = year * 12 + (month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def period_containing(
    day: date, frequency: str, n_weeks: int | None = None, anchor: date | None = None
) -> tuple[date, date]:
    """The period of ``frequency`` that contains ``day``, as ``(first_day, last_day)``.

    >>> period_containing(date(2024, 5, 17), "quarterly")
    (datetime.date(2024, 4, 1), datetime.date(2024, 6, 30))
    """
    if frequency == "every_n_weeks":
        if not n_weeks or n_weeks < 1:
            raise ValueError("every_n_weeks needs n_weeks >= 1")
        length = 7 * n_weeks
        origin = (anchor or DEFAULT_ANCHOR).toordinal()
        # Floor division keeps blocks aligned for days before the anchor too.
        first = origin + ((day.toordinal() - origin) // length) * length
        return date.fromordinal(first), date.fromordinal(first + length - 1)
    try:
        months = _MONTHS_PER_PERIOD[frequency]
    except KeyError:
        raise ValueError(f"unknown frequency {frequency!r}; expected one of {FREQUENCIES}") from None
    first_month = ((day.month - 1) // months) * months + 1
    first = date(day.year, first_month, 1)
    last = _first_of_next_block(day.year, first_month, months) - timedelta(days=1)
    return first, last


def periods_overlapping(
    start: date, end: date, frequency: str, n_weeks: int | None = None, anchor: date | None = None
) -> list[tuple[date, date]]:
    """All periods of ``frequency`` that share at least one day with ``[start, end]``, in order."""
    if end < start:
        return []
    periods = []
    first, last = period_containing(start, frequency, n_weeks, anchor)
    while first <= end:
        periods.append((first, last))
        first, last = period_containing(last + timedelta(days=1), frequency, n_weeks, anchor)
    return periods
