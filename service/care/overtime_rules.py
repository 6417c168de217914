"""Overtime (加班) as care: which overtime earns a meal or a ride home, how much compensatory leave it
credits, and who confirms it. Plain functions over dates, times and Decimals: no Flask, no database.

The rules chosen (each number a unit setting in ``CareSettings``, the default in brackets):

* **Occasion.** Overtime on a statutory holiday is ``holiday``; on any other official or unit day off
  (a weekend that is not a make-up working day, a unit day off) ``rest_day``; on a working day it is
  ``late`` when it ends after the unit's late hour [20:00] or runs past midnight. A working-day log
  given in hours only (no end time) cannot show that it was late, so it is recorded without care.
* **Hours.** Start and end (an end at or before the start runs past midnight), or hours alone;
  counted in half hours, rounded down; at most 24 hours in one record.
* **Care items** by occasion [late: meal and transport; rest day and holiday: meal].
* **Compensatory leave** for the occasions the unit grants it on [rest day, holiday]: one day per
  [8] hours, in half days rounded down, per record (0 hours per day: the unit grants none). It is
  booked only once the overtime is confirmed, on the leave ledger as signed entries: an edit books
  the difference, a withdrawal books the reversal.
* **Confirmation.** A log by someone who leads the person is confirmed at once, and so is a log of a
  person who has nobody above them (the head). Otherwise the person's leader confirms; when the
  person edits a confirmed log, it goes back to their leader; a leader's edit keeps its state.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_FLOOR, Decimal

LATE, REST_DAY, HOLIDAY = "late", "rest_day", "holiday"
OCCASIONS = (LATE, REST_DAY, HOLIDAY)
MEAL, TRANSPORT = "meal", "transport"
ITEM_KINDS = (MEAL, TRANSPORT)
WORKING, DAY_OFF = "working", "day_off"  # kinds of day besides HOLIDAY

PENDING, CONFIRMED, REJECTED, WITHDRAWN = "pending", "confirmed", "rejected", "withdrawn"
STATUSES = (PENDING, CONFIRMED, REJECTED, WITHDRAWN)

MAX_HOURS = Decimal(24)
HALF = Decimal("0.5")


@dataclass(frozen=True)
class OvertimeRules:
    """The unit's overtime settings as plain data."""

    late_hour: int = 20
    items: dict = field(default_factory=lambda: {LATE: (MEAL, TRANSPORT), REST_DAY: (MEAL,), HOLIDAY: (MEAL,)})
    comp_hours_per_day: int = 8
    comp_occasions: frozenset = frozenset({REST_DAY, HOLIDAY})


@dataclass(frozen=True)
class Assessment:
    """What one overtime record earns."""

    occasion: str | None
    hours: Decimal
    items: tuple[str, ...]
    comp_days: Decimal


def day_kind(working: bool, reason: str) -> str:
    """``holiday``, ``day_off`` or ``working`` from the calendar's answer for a date
    (``service.workdays.day_info``: its ``working`` flag and ``reason``)."""
    if working:
        return WORKING
    return HOLIDAY if reason.startswith("holiday:") else DAY_OFF


def crosses_midnight(start: time, end: time) -> bool:
    """An end at or before the start is on the next day."""
    return end <= start


def duration_hours(start: time, end: time) -> Decimal:
    """Hours from ``start`` to ``end`` (past midnight when end <= start), in half hours rounded down."""
    begin = datetime.combine(date(2000, 1, 1), start)
    finish = datetime.combine(date(2000, 1, 2 if crosses_midnight(start, end) else 1), end)
    minutes = int((finish - begin).total_seconds() // 60)
    return Decimal(minutes // 30) * HALF


def check_hours(start: time | None, end: time | None, hours: Decimal | None) -> Decimal:
    """The hours of a log given as start and end, or as hours alone; ValueError(field) otherwise."""
    if start is not None or end is not None:
        if hours is not None:
            raise ValueError("hours")  # either the times or the hours, not both
        if start is None:
            raise ValueError("start_time")
        if end is None:
            raise ValueError("end_time")
        counted = duration_hours(start, end)
        if counted <= 0:
            raise ValueError("end_time")  # shorter than half an hour
        return counted
    if hours is None:
        raise ValueError("hours")
    hours = Decimal(hours)
    if hours <= 0 or hours > MAX_HOURS or hours % HALF != 0:
        raise ValueError("hours")
    return hours


def occasion_of(kind_of_day: str, start: time | None, end: time | None, late_hour: int) -> str | None:
    """The occasion of overtime on a day of ``kind_of_day``; None for ordinary working-day overtime."""
    if kind_of_day == HOLIDAY:
        return HOLIDAY
    if kind_of_day == DAY_OFF:
        return REST_DAY
    if end is None:
        return None
    if start is not None and crosses_midnight(start, end):
        return LATE
    return LATE if end > time(late_hour, 0) else None


def comp_days(hours: Decimal, hours_per_day: int) -> Decimal:
    """Compensatory days for ``hours``: one per ``hours_per_day``, in half days rounded down."""
    if hours_per_day <= 0 or hours <= 0:
        return Decimal(0)
    halves = (Decimal(hours) * 2 / Decimal(hours_per_day)).to_integral_value(rounding=ROUND_FLOOR)
    return halves * HALF


def care_items(occasion: str | None, rules: OvertimeRules) -> tuple[str, ...]:
    """The care items the unit gives for overtime of this occasion (none for ordinary overtime)."""
    if occasion is None:
        return ()
    return tuple(k for k in ITEM_KINDS if k in (rules.items.get(occasion) or ()))


def assess(kind_of_day: str, start: time | None, end: time | None, hours: Decimal | None,
           rules: OvertimeRules) -> Assessment:
    """Occasion, hours, care items and compensatory days of one overtime record."""
    counted = check_hours(start, end, hours)
    occasion = occasion_of(kind_of_day, start, end, rules.late_hour)
    items = care_items(occasion, rules)
    days = comp_days(counted, rules.comp_hours_per_day) if occasion in rules.comp_occasions else Decimal(0)
    return Assessment(occasion, counted, items, days)


def status_when_logged(by_leader: bool, has_leader: bool) -> str:
    """A leader's log (or a log of someone with nobody above) is confirmed at once."""
    return CONFIRMED if by_leader or not has_leader else PENDING


def status_after_edit(status: str, by_leader: bool, has_leader: bool) -> str:
    """A leader's edit keeps the state; the person's own edit goes (back) to their leader."""
    if status == WITHDRAWN:
        raise ValueError("a withdrawn overtime record cannot be edited")
    if by_leader:
        return status
    return PENDING if has_leader else CONFIRMED


def credit_target(status: str, assessed_days: Decimal) -> Decimal:
    """The compensatory days a record should have on the ledger in its state: only confirmed credits."""
    return Decimal(assessed_days) if status == CONFIRMED else Decimal(0)


def credit_entry_date(delta: Decimal, overtime_day: date, today: date, booked_dates: list[date]) -> date:
    """When a ledger movement takes effect: a credit not before the overtime itself (a planned one
    counts from its day), a reversal not before the entries it reverses, neither in the past."""
    if delta > 0:
        return max(today, overtime_day)
    return max([today, *booked_dates])


def item_changes(wanted: tuple[str, ...], existing: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Care items to (create, reopen, cancel) so that the open or provided ones match ``wanted``;
    ``existing`` maps kind -> status. A provided item stays provided: a meal eaten is not undone."""
    create = [k for k in wanted if k not in existing]
    reopen = [k for k in wanted if existing.get(k) == "cancelled"]
    cancel = [k for k, status in existing.items() if k not in wanted and status == "open"]
    return create, reopen, cancel

