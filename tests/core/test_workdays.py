"""Official working days: the published calendar, provisional years, unit overrides, O(1) counts."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from chinese_calendar.constants import holidays as CN_HOLIDAYS
from chinese_calendar.constants import workdays as CN_WORKDAYS
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.workdays import (
    NO_OVERRIDES,
    UnitOverrides,
    add_working_days,
    count_working_days,
    day_info,
    is_provisional_range,
    is_provisional_year,
    is_working_day,
    next_working_day,
    previous_working_day,
    working_days_between,
)


@lru_cache(maxsize=None)
def _known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


# Found, not hardcoded: a chinese_calendar release with next year's notice moves it on.
FIRST_UNKNOWN_YEAR = next(y for y in range(2004, 2200) if not _known(y))
LAST_KNOWN_YEAR = FIRST_UNKNOWN_YEAR - 1

ORACLE_START, ORACLE_END = date(2004, 1, 1), date(2030, 12, 31)


def _days(start: date, end: date):
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def _oracle_day(d: date) -> bool:
    # Independent of the module under test: the library's raw tables where it knows the year
    # (what is_workday does, minus its per-call range check), else Monday-Friday.
    if not _known(d.year):
        return d.weekday() < 5
    return d in CN_WORKDAYS or (d.weekday() < 5 and d not in CN_HOLIDAYS)


ORACLE = {d: _oracle_day(d) for d in _days(ORACLE_START, ORACLE_END)}


def naive_count(start: date, end: date, off=frozenset(), on=frozenset()) -> int:
    return sum(
        (d not in off) and (d in on or ORACLE[d]) for d in _days(start, end)
    )


# ------------------------------------------------------------------ Spring Festival 2026


def test_2026_spring_festival_calendar_facts_match_the_library():
    # The expectations below rest on these facts from the State Council notice for 2026.
    assert [d for d in _days(date(2026, 2, 14), date(2026, 2, 28))
            if d.weekday() >= 5 and chinese_calendar.is_workday(d)] == [
        date(2026, 2, 14), date(2026, 2, 28)]
    assert all(chinese_calendar.is_holiday(d) for d in _days(date(2026, 2, 15), date(2026, 2, 23)))


def test_leave_across_2026_spring_festival_counts_only_working_days():
    # 9-13 Feb (5) + Sat 14 Feb make-up (1) + 15-23 Feb holiday (0) + 24-27 Feb (4)
    # + Sat 28 Feb make-up (1) + 2-6 Mar (5). A weekdays-only count would say 20.
    assert count_working_days(date(2026, 2, 9), date(2026, 3, 6)) == (16, False)


def test_leave_friday_before_to_tuesday_after_spring_festival_is_three_days():
    got = working_days_between(date(2026, 2, 13), date(2026, 2, 24))
    assert got.dates == (date(2026, 2, 13), date(2026, 2, 14), date(2026, 2, 24))
    assert not got.provisional


def test_day_info_names_the_holiday_and_the_make_up_saturday():
    assert day_info(date(2026, 2, 14)) == (date(2026, 2, 14), True, False, "makeup_workday")
    assert day_info(date(2026, 2, 17)) == (
        date(2026, 2, 17), False, False, "holiday:Spring Festival")
    assert day_info(date(2026, 3, 1)).reason == "weekend"
    assert day_info(date(2026, 3, 2)) == (date(2026, 3, 2), True, False, "workday")
    # A Sunday make-up day too (New Year 2026).
    assert day_info(date(2026, 1, 4)).reason == "makeup_workday"


def test_next_and_previous_working_day_jump_the_holiday():
    assert next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert previous_working_day(date(2026, 2, 24)) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 24), -2) == date(2026, 2, 13)
    # n == 0 rolls a day off forward, keeps a working day.
    assert add_working_days(date(2026, 2, 16), 0) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 14), 0) == date(2026, 2, 14)


# ------------------------------------------------------------------ provisional years


def test_first_unknown_year_is_provisional_and_last_known_is_not():
    assert is_provisional_year(FIRST_UNKNOWN_YEAR)
    assert not is_provisional_year(LAST_KNOWN_YEAR)
    assert is_provisional_year(2003)  # before the library's data as well


def test_provisional_year_is_weekends_only_and_flagged():
    y = FIRST_UNKNOWN_YEAR
    jan1 = date(y, 1, 1)
    info = day_info(jan1)
    # New Year's Day will surely be a holiday, but until the notice it is only a guess.
    assert info.provisional
    assert info.working == (jan1.weekday() < 5)
    assert info.reason == ("workday" if jan1.weekday() < 5 else "weekend")
    weekdays = sum(d.weekday() < 5 for d in _days(jan1, date(y, 12, 31)))
    assert count_working_days(jan1, date(y, 12, 31)) == (weekdays, True)


def test_range_reaching_into_an_unknown_year_is_provisional_only_then():
    dec = date(LAST_KNOWN_YEAR, 12, 1)
    assert not count_working_days(dec, date(LAST_KNOWN_YEAR, 12, 31)).provisional
    assert count_working_days(dec, date(FIRST_UNKNOWN_YEAR, 1, 5)).provisional
    assert working_days_between(dec, date(FIRST_UNKNOWN_YEAR, 1, 5)).provisional
    assert is_provisional_range(date(FIRST_UNKNOWN_YEAR, 1, 5), dec)
    assert not is_provisional_range(dec, date(LAST_KNOWN_YEAR, 12, 31))


def test_known_year_matches_library_day_for_day():
    y = LAST_KNOWN_YEAR
    for d in _days(date(y, 1, 1), date(y, 12, 31)):
        assert is_working_day(d) == chinese_calendar.is_workday(d), d
        assert not day_info(d).provisional


# ------------------------------------------------------------------ cross-check with `holidays`


def test_2025_2026_agree_with_the_holidays_package_every_day():
    # `holidays` keeps make-up working days in `weekend_workdays`; its is_working_day uses them.
    # Populate the neighbouring years: a make-up day can belong to a holiday of the next year.
    cn = holidays.China(years=range(2024, 2028))
    for d in _days(date(2025, 1, 1), date(2026, 12, 31)):
        info = day_info(d)
        assert info.working == cn.is_working_day(d), d
        assert (info.reason == "makeup_workday") == (d in cn.weekend_workdays), d
        # `holidays` lists only the weekdays of a break; chinese_calendar names its weekend too.
        if info.reason.startswith("holiday:") and d.weekday() < 5:
            assert d in cn, d


# ------------------------------------------------------------------ unit overrides


def test_local_day_off_and_extra_working_day():
    base = count_working_days(date(2026, 3, 2), date(2026, 3, 15)).days
    off = UnitOverrides.of(days_off=[date(2026, 3, 6)])
    on = UnitOverrides.of(days_on=[date(2026, 3, 8)])  # a Sunday
    assert count_working_days(date(2026, 3, 2), date(2026, 3, 15), off).days == base - 1
    assert count_working_days(date(2026, 3, 2), date(2026, 3, 15), on).days == base + 1
    assert day_info(date(2026, 3, 6), off) == (date(2026, 3, 6), False, False, "override_off")
    assert day_info(date(2026, 3, 8), on) == (date(2026, 3, 8), True, False, "override_on")
    # The same dates without overrides are untouched (no global state).
    assert is_working_day(date(2026, 3, 6)) and not is_working_day(date(2026, 3, 8))


def test_override_beats_holiday_and_make_up_day():
    o = UnitOverrides.of(days_off=[date(2026, 2, 14)], days_on=[date(2026, 2, 16)])
    assert not is_working_day(date(2026, 2, 14), o)
    assert is_working_day(date(2026, 2, 16), o)
    assert count_working_days(date(2026, 2, 9), date(2026, 3, 6), o).days == 16


def test_override_in_a_provisional_year_stays_provisional():
    d = date(FIRST_UNKNOWN_YEAR, 1, 1)
    info = day_info(d, UnitOverrides.of(days_off=[d]))
    assert info == (d, False, True, "override_off")


def test_a_date_cannot_be_both_off_and_on():
    with pytest.raises(ValueError):
        UnitOverrides.of(days_off=[date(2026, 3, 6)], days_on=[date(2026, 3, 6)])


def test_overrides_are_hashable_values():
    a = UnitOverrides.of([date(2026, 3, 6)], [date(2026, 3, 8)])
    b = UnitOverrides(days_off={date(2026, 3, 6)}, days_on=[date(2026, 3, 8)])
    assert a == b and hash(a) == hash(b)
    assert a != NO_OVERRIDES
    assert {a: 1}[b] == 1


def test_end_before_start_is_refused():
    with pytest.raises(ValueError):
        count_working_days(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError):
        working_days_between(date(2026, 3, 2), date(2026, 3, 1))


# ------------------------------------------------------------------ properties

dates = st.dates(min_value=ORACLE_START, max_value=ORACLE_END)


@st.composite
def ranges_with_overrides(draw):
    a, b = sorted((draw(dates), draw(dates)))
    inside = st.dates(min_value=a, max_value=b)
    off = draw(st.frozensets(inside, max_size=5))
    on = draw(st.frozensets(inside, max_size=5)) - off
    return a, b, off, on


@settings(max_examples=100, deadline=None)
@given(ranges_with_overrides())
def test_prefix_sum_count_equals_day_by_day_count(case):
    a, b, off, on = case
    got = count_working_days(a, b, UnitOverrides(off, on))
    assert got.days == naive_count(a, b, off, on)
    assert got.provisional == any(not _known(y) for y in range(a.year, b.year + 1))


@settings(max_examples=100, deadline=None)
@given(dates, dates)
def test_listing_agrees_with_count_and_with_is_working_day(a, b):
    a, b = sorted((a, b))
    if (b - a).days > 800:
        b = a + timedelta(days=800)
    listed = working_days_between(a, b)
    assert len(listed.dates) == count_working_days(a, b).days
    assert list(listed.dates) == [d for d in _days(a, b) if ORACLE[d]]


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2029, 12, 31)),
       st.integers(min_value=-400, max_value=400))
def test_add_working_days_is_inverse_of_count(d, n):
    got = add_working_days(d, n)
    assert is_working_day(got)
    if n > 0:
        assert count_working_days(d + timedelta(days=1), got).days == n
    elif n < 0:
        assert count_working_days(got, d - timedelta(days=1)).days == -n
    else:
        assert got >= d and count_working_days(d, got).days == 1


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2029, 12, 31)))
def test_next_and_previous_match_a_step_by_step_search(d):
    nxt = d + timedelta(days=1)
    while not ORACLE[nxt]:
        nxt += timedelta(days=1)
    prev = d - timedelta(days=1)
    while not ORACLE[prev]:
        prev -= timedelta(days=1)
    assert next_working_day(d) == nxt
    assert previous_working_day(d) == prev
