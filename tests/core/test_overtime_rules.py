"""Overtime rules: hours, occasions (late, day off, holiday), care items, compensatory days, who
confirms, and how a record's credit and items follow its changes."""
from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.care.overtime_rules import (
    CONFIRMED, DAY_OFF, HOLIDAY, LATE, PENDING, REJECTED, REST_DAY, WITHDRAWN, WORKING, OvertimeRules, assess,
    check_hours, comp_days, credit_entry_date, credit_target, day_kind, duration_hours, item_changes, occasion_of,
    status_after_edit, status_when_logged,
)
from service.workdays.official import day_info

RULES = OvertimeRules()


@pytest.mark.parametrize("start, end, hours", [
    (time(18, 0), time(21, 0), "3"),
    (time(18, 0), time(21, 29), "3"),     # half hours, rounded down
    (time(18, 0), time(21, 30), "3.5"),
    (time(22, 0), time(1, 0), "3"),       # past midnight
    (time(9, 0), time(9, 0), "24"),       # the same time: a full day round the clock
    (time(9, 0), time(9, 20), "0"),
])
def test_duration_in_half_hours(start, end, hours):
    assert duration_hours(start, end) == Decimal(hours)


@pytest.mark.parametrize("start, end, hours, field", [
    (time(18, 0), time(21, 0), Decimal(3), "hours"),   # both ways at once
    (time(18, 0), None, None, "end_time"),
    (None, time(21, 0), None, "start_time"),
    (None, None, None, "hours"),
    (None, None, Decimal(0), "hours"),
    (None, None, Decimal("24.5"), "hours"),
    (None, None, Decimal("1.2"), "hours"),
    (time(9, 0), time(9, 10), None, "end_time"),      # under half an hour
])
def test_bad_hours_name_the_field(start, end, hours, field):
    with pytest.raises(ValueError) as exc:
        check_hours(start, end, hours)
    assert str(exc.value) == field


def test_day_kind_from_the_official_calendar():
    assert day_kind(*day_info(date(2026, 10, 1))[1::2]) == HOLIDAY           # National Day
    assert day_kind(*day_info(date(2026, 6, 13))[1::2]) == DAY_OFF           # a Saturday
    assert day_kind(*day_info(date(2026, 6, 10))[1::2]) == WORKING           # a Wednesday
    assert day_kind(*day_info(date(2026, 2, 28))[1::2]) == WORKING           # a make-up Saturday
    assert day_kind(False, "override_off") == DAY_OFF                          # the unit's own day off


@pytest.mark.parametrize("kind, start, end, expected", [
    (WORKING, time(17, 30), time(20, 0), None),      # until the late hour exactly: not late
    (WORKING, time(17, 30), time(20, 1), LATE),
    (WORKING, time(22, 0), time(0, 30), LATE),       # past midnight
    (WORKING, None, None, None),                     # hours only: cannot show it was late
    (DAY_OFF, None, None, REST_DAY),
    (HOLIDAY, time(9, 0), time(12, 0), HOLIDAY),
])
def test_occasion(kind, start, end, expected):
    assert occasion_of(kind, start, end, 20) == expected


@pytest.mark.parametrize("hours, per_day, days", [
    ("8", 8, "1"), ("4", 8, "0.5"), ("3.5", 8, "0"), ("12", 8, "1.5"), ("24", 8, "3"), ("8", 0, "0"),
    ("7", 7, "1"), ("10", 4, "2.5"),
])
def test_comp_days_in_half_days_rounded_down(hours, per_day, days):
    assert comp_days(Decimal(hours), per_day) == Decimal(days)


@given(st.integers(1, 48), st.integers(0, 24))
def test_comp_days_never_exceed_the_hours_and_are_half_days(halves, per_day):
    hours = Decimal(halves) / 2
    days = comp_days(hours, per_day)
    assert days % Decimal("0.5") == 0 and days >= 0
    if per_day:
        assert days * per_day <= hours < (days + Decimal("0.5")) * per_day


def test_assess_by_occasion_with_the_defaults():
    late = assess(WORKING, time(18, 0), time(21, 30), None, RULES)
    assert (late.occasion, late.hours, late.items, late.comp_days) == (LATE, Decimal("3.5"), ("meal", "transport"), 0)
    weekend = assess(DAY_OFF, None, None, Decimal(8), RULES)
    assert (weekend.occasion, weekend.items, weekend.comp_days) == (REST_DAY, ("meal",), Decimal(1))
    holiday = assess(HOLIDAY, time(9, 0), time(13, 0), None, RULES)
    assert (holiday.items, holiday.comp_days) == (("meal",), Decimal("0.5"))
    ordinary = assess(WORKING, time(17, 30), time(19, 0), None, RULES)
    assert (ordinary.occasion, ordinary.items, ordinary.comp_days) == (None, (), 0)


def test_assess_follows_the_unit_settings():
    rules = OvertimeRules(late_hour=19, items={LATE: ("transport",), REST_DAY: ()}, comp_hours_per_day=4,
                          comp_occasions=frozenset({LATE, HOLIDAY}))
    late = assess(WORKING, time(17, 0), time(19, 30), None, rules)
    assert (late.occasion, late.items, late.comp_days) == (LATE, ("transport",), Decimal("0.5"))
    weekend = assess(DAY_OFF, None, None, Decimal(8), rules)
    assert (weekend.items, weekend.comp_days) == ((), 0)
    assert assess(HOLIDAY, None, None, Decimal(8), rules).comp_days == 2
    none = OvertimeRules(comp_hours_per_day=0)
    assert assess(HOLIDAY, None, None, Decimal(8), none).comp_days == 0


@pytest.mark.parametrize("by_leader, has_leader, status", [
    (True, True, CONFIRMED), (False, True, PENDING), (False, False, CONFIRMED), (True, False, CONFIRMED)])
def test_who_confirms_when_logged(by_leader, has_leader, status):
    assert status_when_logged(by_leader, has_leader) == status


@pytest.mark.parametrize("status, by_leader, has_leader, after", [
    (CONFIRMED, False, True, PENDING),   # the person's edit goes back to the leader
    (REJECTED, False, True, PENDING),    # ... and a rejected record is sent again
    (PENDING, False, True, PENDING),
    (CONFIRMED, True, True, CONFIRMED),  # a leader's edit keeps the state
    (PENDING, True, True, PENDING),
    (CONFIRMED, False, False, CONFIRMED),  # nobody above (the head)
])
def test_status_after_edit(status, by_leader, has_leader, after):
    assert status_after_edit(status, by_leader, has_leader) == after


def test_a_withdrawn_record_is_not_edited():
    with pytest.raises(ValueError):
        status_after_edit(WITHDRAWN, True, True)


@pytest.mark.parametrize("status", [PENDING, REJECTED, WITHDRAWN])
def test_only_a_confirmed_record_has_credit(status):
    assert credit_target(status, Decimal(1)) == 0
    assert credit_target(CONFIRMED, Decimal("1.5")) == Decimal("1.5")


def test_entry_dates():
    today = date(2026, 6, 10)
    assert credit_entry_date(Decimal(1), date(2026, 6, 6), today, []) == today         # booked when confirmed
    assert credit_entry_date(Decimal(1), date(2026, 6, 20), today, []) == date(2026, 6, 20)  # planned
    # A reversal never lands before the credit it reverses (no negative balance in between).
    assert credit_entry_date(Decimal(-1), date(2026, 6, 6), today, [date(2026, 6, 20)]) == date(2026, 6, 20)
    assert credit_entry_date(Decimal(-1), date(2026, 6, 6), today, [date(2026, 6, 8)]) == today


@given(st.lists(st.tuples(st.sampled_from([PENDING, CONFIRMED, REJECTED, WITHDRAWN]),
                          st.sampled_from(["0", "0.5", "1", "1.5", "3"])), min_size=1, max_size=12))
def test_booking_the_differences_always_sums_to_the_current_credit(states):
    """However a record changes, the signed entries booked sum to what its last state grants."""
    booked: list[Decimal] = []
    for status, days in states:
        delta = credit_target(status, Decimal(days)) - sum(booked, Decimal(0))
        if delta:
            booked.append(delta)
        again = credit_target(status, Decimal(days)) - sum(booked, Decimal(0))
        assert again == 0  # a rerun books nothing
    status, days = states[-1]
    assert sum(booked, Decimal(0)) == credit_target(status, Decimal(days))


def test_item_changes():
    assert item_changes(("meal", "transport"), {}) == (["meal", "transport"], [], [])
    assert item_changes(("meal",), {"meal": "open", "transport": "open"}) == ([], [], ["transport"])
    # A provided item stays provided; a cancelled one comes back when wanted again.
    assert item_changes((), {"meal": "provided", "transport": "open"}) == ([], [], ["transport"])
    assert item_changes(("meal", "transport"), {"meal": "cancelled", "transport": "provided"}) == ([], ["meal"], [])
