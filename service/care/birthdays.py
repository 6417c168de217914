"""Birthdays (生日): when a solar or lunar birthday falls, and on which day to greet.

A birthday is stored as month and day only (privacy), in the calendar the person
celebrates: Gregorian ("solar") or Chinese lunar. Nothing here stores a computed
Gregorian date; every occurrence is worked out per year from the stored month-day.

Rules (shared/domain.md, "Care"):

- a lunar day 30 in a year whose month has only 29 days falls on that month's last
  day (the 29th);
- a birthday in a leap lunar month (闰月) falls in the regular month of that number,
  unless that lunar year has the same leap month, when it falls in the leap month;
  for day 30 in a 29-day leap month the clamp above applies;
- 29 February falls on 28 February in common years.

Years: a solar birthday has one occurrence per Gregorian year. A lunar birthday has
one occurrence per *lunar* year, and a lunar year runs from late January / February
to the next one, so within one Gregorian year a lunar birthday (in practice one in
the 11th or 12th lunar month) can occur twice or not at all. ``occurrences_between``
is therefore the primary API; ``occurrence_in_year`` counts years in the birthday's
own calendar.

Conversion uses ``lunar_python`` (checked correct for 1901-2099; its month numbers
are negative for leap months).
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple

from lunar_python import LunarYear

SOLAR = "solar"
LUNAR = "lunar"

ON_DAY = "on_day"
PREVIOUS_WORKING_DAY = "previous_working_day"
SHIFT_RULES = (ON_DAY, PREVIOUS_WORKING_DAY)

# Julian day number at noon minus this gives a proleptic Gregorian ordinal
# (date.toordinal); lunar_python gives month starts as noon Julian days.
_JULIAN_DAY_TO_ORDINAL = 1721425

# The longest run of non-working days we accept from a calendar before calling it
# broken; the Spring Festival with 调休 is at most 9 days, so 31 leaves ample room.
_MAX_NON_WORKING_RUN = 31


@dataclass(frozen=True)
class Birthday:
    """A birthday as month and day in the calendar the person celebrates.

    ``is_leap`` marks a lunar leap month (闰月) and is only allowed for lunar dates.
    """

    calendar: Literal["solar", "lunar"]
    month: int
    day: int
    is_leap: bool = False

    def __post_init__(self) -> None:
        if self.calendar == SOLAR:
            if self.is_leap:
                raise ValueError("is_leap applies to lunar birthdays only")
            if not 1 <= self.month <= 12:
                raise ValueError(f"solar month out of range: {self.month}")
            # 2000 is a leap year, so 29 February is accepted.
            if not 1 <= self.day <= _gregorian.monthrange(2000, self.month)[1]:
                raise ValueError(f"no day {self.day} in solar month {self.month}")
        elif self.calendar == LUNAR:
            if not 1 <= self.month <= 12:
                raise ValueError(f"lunar month out of range: {self.month}")
            if not 1 <= self.day <= 30:
                raise ValueError(f"lunar day out of range: {self.day}")
        else:
            raise ValueError(f"unknown calendar: {self.calendar!r}")


class GreetingKey(NamedTuple):
    """Idempotency key of a greeting: one per person per birthday year.

    ``year`` is counted in the birthday's own calendar (the lunar year for a lunar
    birthday), so a lunar birthday that occurs twice in one Gregorian year is greeted
    twice (once per lunar year) and never twice for the same lunar year.
    """

    person_id: Hashable
    year: int


@lru_cache(maxsize=512)
def _lunar_months(lunar_year: int) -> dict[int, tuple[int, int]]:
    """Months of one lunar year: lunar_python month number -> (first ordinal, days)."""
    return {
        m.getMonth(): (m.getFirstJulianDay() - _JULIAN_DAY_TO_ORDINAL, m.getDayCount())
        for m in LunarYear.fromYear(lunar_year).getMonthsInYear()
    }


def _lunar_occurrence(birthday: Birthday, lunar_year: int) -> date:
    months = _lunar_months(lunar_year)
    month = birthday.month
    # A leap-month birthday uses the leap month only when this year has that same
    # leap month; otherwise it falls in the regular month of that number.
    if birthday.is_leap and -month in months:
        month = -month
    first_ordinal, day_count = months[month]
    return date.fromordinal(first_ordinal + min(birthday.day, day_count) - 1)


def _solar_occurrence(birthday: Birthday, year: int) -> date:
    day = birthday.day
    if birthday.month == 2 and day == 29 and not _gregorian.isleap(year):
        day = 28
    return date(year, birthday.month, day)


def occurrence_in_year(birthday: Birthday, year: int) -> date:
    """The Gregorian date of ``birthday`` in year ``year`` of its own calendar.

    For a solar birthday this is the date in Gregorian year ``year``. For a lunar
    birthday it is the date in lunar year ``year`` (the one whose new year falls in
    Gregorian ``year``); a birthday late in the lunar year then lands in January or
    February of ``year + 1``. To ask "which birthdays fall between two Gregorian
    dates", use :func:`occurrences_between`.
    """
    if birthday.calendar == SOLAR:
        return _solar_occurrence(birthday, year)
    return _lunar_occurrence(birthday, year)


def occurrences_between(birthday: Birthday, start: date, end: date) -> list[date]:
    """All Gregorian dates from ``start`` to ``end`` (both included) on which
    ``birthday`` falls, in order.

    A solar birthday occurs once per Gregorian year. A lunar birthday occurs once per
    lunar year, which can mean twice or never within one Gregorian year.
    """
    if end < start:
        return []
    if birthday.calendar == SOLAR:
        years = range(start.year, end.year + 1)
        found = (_solar_occurrence(birthday, y) for y in years)
    else:
        # Lunar year Y starts in Gregorian Y (21 Jan - 20 Feb) and ends in Y + 1.
        years = range(start.year - 1, end.year + 1)
        found = (_lunar_occurrence(birthday, y) for y in years)
    return [d for d in found if start <= d <= end]


def birthday_year(birthday: Birthday, occurrence: date) -> int:
    """The year, in the birthday's own calendar, to which ``occurrence`` belongs."""
    if birthday.calendar == SOLAR:
        return occurrence.year
    new_year_ordinal = _lunar_months(occurrence.year)[1][0]
    if occurrence.toordinal() < new_year_ordinal:
        return occurrence.year - 1
    return occurrence.year


def greeting_key(person_id: Hashable, birthday: Birthday, occurrence: date) -> GreetingKey:
    """The idempotency key for greeting ``person_id`` on this ``occurrence``.

    The job layer stores it under a unique constraint, so a rerun, a retry or a
    changed shift rule cannot send a second greeting for the same birthday year.
    """
    return GreetingKey(person_id, birthday_year(birthday, occurrence))


def greeting_date(
    occurrence: date,
    shift_rule: str,
    is_working_day: Callable[[date], bool],
) -> date:
    """The day on which to greet for a birthday falling on ``occurrence``.

    ``shift_rule`` is the unit's setting: ``"on_day"`` greets on the birthday itself;
    ``"previous_working_day"`` greets on the last working day on or before it, so a
    birthday on a weekend or holiday is greeted before people leave. The official
    calendar is passed in as ``is_working_day``.
    """
    if shift_rule == ON_DAY:
        return occurrence
    if shift_rule != PREVIOUS_WORKING_DAY:
        raise ValueError(f"unknown shift rule: {shift_rule!r}")
    day = occurrence
    for _ in range(_MAX_NON_WORKING_RUN + 1):
        if is_working_day(day):
            return day
        day -= timedelta(days=1)
    raise ValueError(f"no working day within {_MAX_NON_WORKING_RUN} days before {occurrence}")


def _greeting_window_end(today: date, is_working_day: Callable[[date], bool]) -> date:
    """Last day whose birthdays are greeted today: today plus the non-working days
    that follow it, up to (not including) the next working day."""
    end = today
    for _ in range(_MAX_NON_WORKING_RUN):
        following = end + timedelta(days=1)
        if is_working_day(following):
            return end
        end = following
    raise ValueError(f"no working day within {_MAX_NON_WORKING_RUN} days after {today}")


def birthdays_to_greet(
    people: Iterable[tuple[Hashable, Birthday]],
    today: date,
    shift_rule: str,
    is_working_day: Callable[[date], bool],
) -> list[tuple[Hashable, date]]:
    """The ``(person_id, occurrence)`` pairs to greet on ``today``, in input order.

    With ``"on_day"`` these are the birthdays falling on ``today``. With
    ``"previous_working_day"`` a working ``today`` greets its own birthdays and those
    on the non-working days that follow it up to the next working day; a non-working
    ``today`` greets nobody. Each pair is greeted on exactly one day, the one
    :func:`greeting_date` gives. People who opted out are filtered by the caller.
    """
    if shift_rule == ON_DAY:
        end = today
    elif shift_rule == PREVIOUS_WORKING_DAY:
        if not is_working_day(today):
            return []
        end = _greeting_window_end(today, is_working_day)
    else:
        raise ValueError(f"unknown shift rule: {shift_rule!r}")
    return [
        (person_id, occurrence)
        for person_id, birthday in people
        for occurrence in occurrences_between(birthday, today, end)
    ]
