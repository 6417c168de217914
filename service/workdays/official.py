"""Official working days in mainland China, with a unit's own days on and off.

The State Council publishes each year's holiday arrangement (放假安排) in November, including
the weekend days that become working days (调休, "make-up workdays"). ``chinese_calendar``
carries those notices for the years it knows (2004-2026 in release 1.11) and raises
``NotImplementedError`` for any other year. Here a date in an unknown year is answered with
a plain weekends-only week and flagged ``provisional``: the answer must never pass as final
before the notice is out.

Counting is O(1) per calendar year touched: the first question about a year builds a table of
working days for that year and its prefix sums (cumulative working days by day of year), cached
per (year, that year's overrides). A count inside one year is one subtraction; a count over a
range spanning k years is the sum of k per-year slices, O(k).

Everything here is a pure function of its arguments: no clock, no settings, no I/O.
"""
from __future__ import annotations

import bisect
import calendar
import itertools
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Iterable, NamedTuple

import chinese_calendar

__all__ = [
    "DayInfo",
    "NO_OVERRIDES",
    "UnitOverrides",
    "WorkdayCount",
    "WorkdayList",
    "add_working_days",
    "count_working_days",
    "day_info",
    "is_provisional_range",
    "is_provisional_year",
    "is_working_day",
    "next_working_day",
    "previous_working_day",
    "working_days_between",
]


@dataclass(frozen=True)
class UnitOverrides:
    """A unit's own changes to the official calendar, as an immutable, hashable value.

    ``days_off``: dates the unit declares off although officially working (a local day off).
    ``days_on``: dates the unit declares working although officially off (an extra working day).
    An override always wins over the official calendar. A date may not be in both sets.
    """

    days_off: frozenset[date] = frozenset()
    days_on: frozenset[date] = frozenset()
    # Per-year split, so that a year's cached table depends only on that year's overrides.
    _by_year: dict = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        off = frozenset(_as_date(d) for d in self.days_off)
        on = frozenset(_as_date(d) for d in self.days_on)
        clash = off & on
        if clash:
            raise ValueError(f"dates both off and on: {sorted(clash)}")
        by_year: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        for year in {d.year for d in off | on}:
            by_year[year] = (
                frozenset(d for d in off if d.year == year),
                frozenset(d for d in on if d.year == year),
            )
        # frozen dataclass: normalise the fields once, here.
        object.__setattr__(self, "days_off", off)
        object.__setattr__(self, "days_on", on)
        object.__setattr__(self, "_by_year", by_year)

    @classmethod
    def of(cls, days_off: Iterable[date] = (), days_on: Iterable[date] = ()) -> "UnitOverrides":
        """Build overrides from any iterables of dates."""
        return cls(frozenset(days_off), frozenset(days_on))

    def for_year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """The (days_off, days_on) that fall in ``year``."""
        return self._by_year.get(year, _EMPTY_PAIR)


_EMPTY_PAIR: tuple[frozenset[date], frozenset[date]] = (frozenset(), frozenset())
NO_OVERRIDES = UnitOverrides()


class DayInfo(NamedTuple):
    """What one date is, and why.

    ``reason`` is one of ``'override_off'``, ``'override_on'``, ``'holiday:<name>'`` (name as
    in chinese_calendar, e.g. ``'holiday:Spring Festival'``), ``'makeup_workday'`` (a weekend
    day worked in exchange for a holiday), ``'weekend'``, ``'workday'``.
    """

    date: date
    working: bool
    provisional: bool
    reason: str


class WorkdayCount(NamedTuple):
    """A number of working days; ``provisional`` if any day lies in an unpublished year."""

    days: int
    provisional: bool


class WorkdayList(NamedTuple):
    """Working dates in a range, in order; ``provisional`` as for :class:`WorkdayCount`."""

    dates: tuple[date, ...]
    provisional: bool


class _YearTable(NamedTuple):
    first_ordinal: int
    working: bytes  # 1 per working day, indexed by day of year - 1
    prefix: array  # prefix[i] = working days among the first i days of the year
    provisional: bool


def _as_date(d: date) -> date:
    # datetime is a subclass of date; its time of day must not leak into day arithmetic.
    return d.date() if isinstance(d, datetime) else d


@lru_cache(maxsize=None)
def is_provisional_year(year: int) -> bool:
    """True if the official holiday arrangement for ``year`` is not known to chinese_calendar.

    Such a year is answered weekends-only (Monday-Friday working) and every answer touching
    it carries ``provisional=True``. Years before the library's first year are provisional too.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return True
    return False


def _official_working(d: date, provisional: bool) -> bool:
    if provisional:
        return d.weekday() < 5
    # is_workday knows make-up Saturdays/Sundays; get_workdays(include_weekends=False) drops them.
    return chinese_calendar.is_workday(d)


@lru_cache(maxsize=None)
def _official_year(year: int) -> bytes:
    # One byte per day of the official calendar; built once per year, shared by every unit.
    provisional = is_provisional_year(year)
    first = date(year, 1, 1)
    length = 366 if calendar.isleap(year) else 365
    return bytes(_official_working(first + timedelta(days=i), provisional) for i in range(length))


@lru_cache(maxsize=2048)
def _build_table(year: int, days_off: frozenset[date], days_on: frozenset[date]) -> _YearTable:
    first_ordinal = date(year, 1, 1).toordinal()
    working = bytearray(_official_year(year))
    for d in days_off:
        working[d.toordinal() - first_ordinal] = 0
    for d in days_on:
        working[d.toordinal() - first_ordinal] = 1
    prefix = array("l", [0])
    prefix.extend(itertools.accumulate(working))
    return _YearTable(first_ordinal, bytes(working), prefix, is_provisional_year(year))


def _table(year: int, overrides: UnitOverrides) -> _YearTable:
    off, on = overrides.for_year(year)
    return _build_table(year, off, on)


def is_working_day(d: date, overrides: UnitOverrides = NO_OVERRIDES) -> bool:
    """True if ``d`` is a working day for the unit (official calendar plus overrides).

    In a provisional year this is the weekends-only guess; use :func:`day_info` to see the flag.
    """
    d = _as_date(d)
    t = _table(d.year, overrides)
    return bool(t.working[d.toordinal() - t.first_ordinal])


def day_info(d: date, overrides: UnitOverrides = NO_OVERRIDES) -> DayInfo:
    """Whether ``d`` is a working day, whether that is provisional, and the reason."""
    d = _as_date(d)
    provisional = is_provisional_year(d.year)
    off, on = overrides.for_year(d.year)
    if d in off:
        return DayInfo(d, False, provisional, "override_off")
    if d in on:
        return DayInfo(d, True, provisional, "override_on")
    if provisional:
        weekend = d.weekday() >= 5
        return DayInfo(d, not weekend, True, "weekend" if weekend else "workday")
    off_day, name = chinese_calendar.get_holiday_detail(d)
    if name and not off_day:
        # chinese_calendar names a working weekend day after the holiday it pays back.
        return DayInfo(d, True, False, "makeup_workday")
    if name:
        return DayInfo(d, False, False, f"holiday:{name}")
    return DayInfo(d, not off_day, False, "weekend" if off_day else "workday")


def _check_range(start: date, end: date) -> tuple[date, date]:
    start, end = _as_date(start), _as_date(end)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return start, end


def count_working_days(
    start: date, end: date, overrides: UnitOverrides = NO_OVERRIDES
) -> WorkdayCount:
    """Working days from ``start`` to ``end``, both included.

    O(1) per calendar year in the range once that year's table is cached (one prefix-sum
    subtraction per year). ``provisional`` is True if any year in the range is unpublished.
    Raises ValueError if ``end`` is before ``start``.
    """
    start, end = _check_range(start, end)
    days = 0
    provisional = False
    for year in range(start.year, end.year + 1):
        t = _table(year, overrides)
        lo = start.toordinal() - t.first_ordinal if year == start.year else 0
        hi = end.toordinal() - t.first_ordinal + 1 if year == end.year else len(t.working)
        days += t.prefix[hi] - t.prefix[lo]
        provisional = provisional or t.provisional
    return WorkdayCount(days, provisional)


def working_days_between(
    start: date, end: date, overrides: UnitOverrides = NO_OVERRIDES
) -> WorkdayList:
    """The working dates from ``start`` to ``end``, both included, in order."""
    start, end = _check_range(start, end)
    dates: list[date] = []
    provisional = False
    for year in range(start.year, end.year + 1):
        t = _table(year, overrides)
        lo = start.toordinal() - t.first_ordinal if year == start.year else 0
        hi = end.toordinal() - t.first_ordinal + 1 if year == end.year else len(t.working)
        dates.extend(
            date.fromordinal(t.first_ordinal + i) for i in range(lo, hi) if t.working[i]
        )
        provisional = provisional or t.provisional
    return WorkdayList(tuple(dates), provisional)


def is_provisional_range(start: date, end: date) -> bool:
    """True if any date from ``start`` to ``end`` (either order) lies in an unpublished year.

    Use it to flag a date computed by :func:`add_working_days` and friends:
    ``is_provisional_range(d, add_working_days(d, n))``.
    """
    a, b = sorted((_as_date(start), _as_date(end)))
    return any(is_provisional_year(y) for y in range(a.year, b.year + 1))


def add_working_days(d: date, n: int, overrides: UnitOverrides = NO_OVERRIDES) -> date:
    """The date ``n`` working days after ``d`` (before it if ``n`` is negative).

    Only days strictly after (before) ``d`` are counted, so ``d`` itself need not be a working
    day. ``n == 0`` returns ``d`` if it is a working day, else the next working day (the same
    convention as ``holidays``' ``get_nth_working_day``). Cost: O(years crossed x log 366).
    The result may be provisional: check with :func:`is_provisional_range`.
    """
    d = _as_date(d)
    if n == 0:
        return d if is_working_day(d, overrides) else add_working_days(d, 1, overrides)
    year = d.year
    t = _table(year, overrides)
    need = abs(n)
    if n > 0:
        pos = d.toordinal() - t.first_ordinal + 1  # first index strictly after d
        while True:
            available = t.prefix[-1] - t.prefix[pos]
            if need <= available:
                i = bisect.bisect_left(t.prefix, t.prefix[pos] + need, pos)
                return date.fromordinal(t.first_ordinal + i - 1)
            need -= available
            year += 1
            t = _table(year, overrides)
            pos = 0
    pos = d.toordinal() - t.first_ordinal  # days with index < pos are strictly before d
    while True:
        available = t.prefix[pos]
        if need <= available:
            i = bisect.bisect_left(t.prefix, available - need + 1, 0, pos + 1)
            return date.fromordinal(t.first_ordinal + i - 1)
        need -= available
        year -= 1
        t = _table(year, overrides)
        pos = len(t.working)


def next_working_day(d: date, overrides: UnitOverrides = NO_OVERRIDES) -> date:
    """The first working day strictly after ``d``."""
    return add_working_days(d, 1, overrides)


def previous_working_day(d: date, overrides: UnitOverrides = NO_OVERRIDES) -> date:
    """The last working day strictly before ``d``."""
    return add_working_days(d, -1, overrides)
