"""Birthdays: lunar and solar occurrences, greeting day shifts and idempotency keys."""

from datetime import date, timedelta
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lunar_python import Lunar, LunarYear, Solar

from service.care.birthdays import (
    ON_DAY,
    PREVIOUS_WORKING_DAY,
    Birthday,
    GreetingKey,
    birthday_year,
    birthdays_to_greet,
    greeting_date,
    greeting_key,
    occurrence_in_year,
    occurrences_between,
)


def solar_of(lunar_year: int, month: int, day: int) -> date:
    """Gregorian date of a lunar date, straight from lunar_python (month < 0: leap)."""
    s = Lunar.fromYmd(lunar_year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


@lru_cache(maxsize=None)
def lunar_year(year: int) -> LunarYear:
    # lunar_python caches a single LunarYear (about 7 ms to compute); keep them all.
    return LunarYear(year)


def lunar_new_year(year: int) -> date:
    s = Solar.fromJulianDay(lunar_year(year).getMonth(1).getFirstJulianDay())
    return date(s.getYear(), s.getMonth(), s.getDay())


def lunar_of(day: date) -> tuple[int, int, int]:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    return lunar.getYear(), lunar.getMonth(), lunar.getDay()


def weekends_and(holidays=(), workdays=()):
    """A fake official calendar: weekends off, plus holidays and make-up workdays."""
    holidays, workdays = set(holidays), set(workdays)

    def is_working_day(day: date) -> bool:
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays

    return is_working_day


# --- the value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("solar", 2, 30, False),
        ("solar", 13, 1, False),
        ("solar", 4, 31, False),
        ("solar", 5, 1, True),
        ("lunar", 1, 31, False),
        ("lunar", 0, 1, False),
        ("gregorian", 1, 1, False),
    ],
)
def test_invalid_birthdays_are_refused(args):
    with pytest.raises(ValueError):
        Birthday(*args)


def test_29_february_is_a_valid_solar_birthday():
    assert Birthday("solar", 2, 29).day == 29


# --- solar ---------------------------------------------------------------------------


def test_29_february_falls_on_28_february_in_a_common_year():
    leapling = Birthday("solar", 2, 29)
    assert occurrence_in_year(leapling, 2025) == date(2025, 2, 28)
    assert occurrence_in_year(leapling, 2024) == date(2024, 2, 29)
    assert occurrence_in_year(leapling, 2100) == date(2100, 2, 28)  # not a leap year
    assert occurrences_between(leapling, date(2023, 1, 1), date(2024, 12, 31)) == [
        date(2023, 2, 28),
        date(2024, 2, 29),
    ]


def test_solar_birthday_occurs_once_a_year():
    b = Birthday("solar", 12, 31)
    assert occurrences_between(b, date(2024, 1, 1), date(2026, 12, 31)) == [
        date(2024, 12, 31),
        date(2025, 12, 31),
        date(2026, 12, 31),
    ]
    assert occurrences_between(b, date(2025, 1, 1), date(2025, 12, 30)) == []
    assert occurrences_between(b, date(2025, 12, 31), date(2025, 12, 30)) == []


# --- lunar ---------------------------------------------------------------------------


def test_lunar_day_30_falls_on_29th_in_a_short_month():
    # Lunar 2023 month 1 has 29 days, lunar 2025 month 1 has 30.
    assert LunarYear.fromYear(2023).getMonth(1).getDayCount() == 29
    b = Birthday("lunar", 1, 30)
    assert occurrence_in_year(b, 2023) == solar_of(2023, 1, 29) == date(2023, 2, 19)
    assert occurrence_in_year(b, 2025) == solar_of(2025, 1, 30)


def test_leap_month_birthday_uses_the_leap_month_only_in_a_year_that_has_it():
    # 2020 has a leap 4th month (闰四月); 2021 does not.
    assert LunarYear.fromYear(2020).getLeapMonth() == 4
    assert LunarYear.fromYear(2021).getLeapMonth() == 0
    b = Birthday("lunar", 4, 10, is_leap=True)
    assert occurrence_in_year(b, 2020) == solar_of(2020, -4, 10) == date(2020, 6, 1)
    assert occurrence_in_year(b, 2021) == solar_of(2021, 4, 10)


def test_regular_month_birthday_stays_in_the_regular_month_in_a_leap_year():
    b = Birthday("lunar", 4, 10)
    assert occurrence_in_year(b, 2020) == solar_of(2020, 4, 10) == date(2020, 5, 2)


def test_leap_birthday_falls_on_regular_month_when_the_year_has_another_leap_month():
    # 2023 has a leap 2nd month, not a leap 6th.
    assert LunarYear.fromYear(2023).getLeapMonth() == 2
    b = Birthday("lunar", 6, 5, is_leap=True)
    assert occurrence_in_year(b, 2023) == solar_of(2023, 6, 5)


def test_leap_month_day_30_is_clamped_in_the_leap_month_itself():
    # 2025: leap 6th month has 29 days, regular 6th has 30.
    # 2017: leap 6th month has 30 days, regular 6th has 29.
    leap30 = Birthday("lunar", 6, 30, is_leap=True)
    assert occurrence_in_year(leap30, 2025) == solar_of(2025, -6, 29)
    assert occurrence_in_year(leap30, 2017) == solar_of(2017, -6, 30)
    regular30 = Birthday("lunar", 6, 30)
    assert occurrence_in_year(regular30, 2017) == solar_of(2017, 6, 29)
    assert occurrence_in_year(regular30, 2025) == solar_of(2025, 6, 30)


def test_lunar_12th_month_birthday_lands_in_next_gregorian_january():
    b = Birthday("lunar", 12, 1)
    assert occurrence_in_year(b, 2025) == date(2026, 1, 19)
    assert birthday_year(b, date(2026, 1, 19)) == 2025


def test_lunar_birthday_can_occur_twice_or_never_in_one_gregorian_year():
    b = Birthday("lunar", 12, 1)
    # Lunar 2023's 12/1 is 11 Jan 2024; lunar 2024's 12/1 is 31 Dec 2024.
    assert occurrences_between(b, date(2024, 1, 1), date(2024, 12, 31)) == [
        date(2024, 1, 11),
        date(2024, 12, 31),
    ]
    # ... and lunar 2025's 12/1 is 19 Jan 2026: none in Gregorian 2025.
    assert occurrences_between(b, date(2025, 1, 1), date(2025, 12, 31)) == []


LUNAR_YEARS = st.integers(min_value=1901, max_value=2099)
LUNAR_BIRTHDAYS = st.builds(
    Birthday,
    calendar=st.just("lunar"),
    month=st.integers(1, 12),
    day=st.integers(1, 30),
    is_leap=st.booleans(),
)


def check_one_occurrence_that_converts_back(year, birthday):
    first = lunar_new_year(year)
    last = lunar_new_year(year + 1) - timedelta(days=1)
    found = occurrences_between(birthday, first, last)
    assert len(found) == 1
    (occurrence,) = found
    assert occurrence == occurrence_in_year(birthday, year)
    months = lunar_year(year)
    month = birthday.month
    if birthday.is_leap and months.getLeapMonth() == birthday.month:
        month = -month
    expected_day = min(birthday.day, months.getMonth(month).getDayCount())
    assert lunar_of(occurrence) == (year, month, expected_day)
    assert birthday_year(birthday, occurrence) == year


@settings(max_examples=100, deadline=None)
@given(year=LUNAR_YEARS, birthday=LUNAR_BIRTHDAYS)
def test_a_lunar_year_holds_exactly_one_occurrence_that_converts_back(year, birthday):
    check_one_occurrence_that_converts_back(year, birthday)


def test_every_leap_month_1901_2099_takes_its_leap_day_30_birthday():
    # The rare cases, exhaustively: day 30 of each year's own leap month.
    leap_years = 0
    for year in range(1901, 2100):
        leap_month = lunar_year(year).getLeapMonth()
        if leap_month:
            leap_years += 1
            check_one_occurrence_that_converts_back(year, Birthday("lunar", leap_month, 30, is_leap=True))
    assert leap_years > 70


@settings(max_examples=100, deadline=None)
@given(birthday=LUNAR_BIRTHDAYS, start_year=st.integers(1901, 2090), span=st.integers(1, 8))
def test_lunar_occurrences_are_one_per_lunar_year(birthday, start_year, span):
    found = occurrences_between(birthday, date(start_year, 1, 1), date(start_year + span, 12, 31))
    years = [birthday_year(birthday, d) for d in found]
    assert found == sorted(found)
    assert len(set(years)) == len(years)
    for year in range(start_year, start_year + span):
        assert year in years  # every lunar year wholly inside the span is there


# --- greeting day --------------------------------------------------------------------

# 2025: Dragon Boat holiday Sat 31 May - Mon 2 Jun; Sun 28 Sep a make-up workday.
CALENDAR_2025 = weekends_and(
    holidays=[date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)],
    workdays=[date(2025, 9, 28)],
)


def test_on_day_rule_greets_on_the_birthday_even_on_a_holiday():
    assert greeting_date(date(2025, 6, 1), ON_DAY, CALENDAR_2025) == date(2025, 6, 1)


def test_sunday_birthday_is_greeted_on_friday():
    assert greeting_date(date(2025, 6, 1), PREVIOUS_WORKING_DAY, CALENDAR_2025) == date(2025, 5, 30)


def test_monday_holiday_birthday_is_greeted_on_the_friday_before():
    assert greeting_date(date(2025, 6, 2), PREVIOUS_WORKING_DAY, CALENDAR_2025) == date(2025, 5, 30)


def test_make_up_sunday_is_a_greeting_day():
    assert greeting_date(date(2025, 9, 28), PREVIOUS_WORKING_DAY, CALENDAR_2025) == date(2025, 9, 28)


def test_working_day_birthday_is_not_shifted():
    assert greeting_date(date(2025, 6, 3), PREVIOUS_WORKING_DAY, CALENDAR_2025) == date(2025, 6, 3)


def test_unknown_shift_rule_is_refused():
    with pytest.raises(ValueError):
        greeting_date(date(2025, 6, 3), "next_working_day", CALENDAR_2025)


def test_a_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError):
        greeting_date(date(2025, 6, 3), PREVIOUS_WORKING_DAY, lambda d: False)


PEOPLE = [
    ("fri", Birthday("solar", 5, 30)),
    ("sat", Birthday("solar", 5, 31)),
    ("sun", Birthday("solar", 6, 1)),
    ("mon-holiday", Birthday("solar", 6, 2)),
    ("tue", Birthday("solar", 6, 3)),
    # Lunar 2025 5/5 (端午) is 31 May 2025.
    ("lunar-sat", Birthday("lunar", 5, 5)),
]


def test_friday_before_a_long_weekend_greets_the_whole_weekend():
    greeted = birthdays_to_greet(PEOPLE, date(2025, 5, 30), PREVIOUS_WORKING_DAY, CALENDAR_2025)
    assert greeted == [
        ("fri", date(2025, 5, 30)),
        ("sat", date(2025, 5, 31)),
        ("sun", date(2025, 6, 1)),
        ("mon-holiday", date(2025, 6, 2)),
        ("lunar-sat", date(2025, 5, 31)),
    ]


def test_holidays_and_next_working_day_greet_nobody_twice():
    for day in (date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)):
        assert birthdays_to_greet(PEOPLE, day, PREVIOUS_WORKING_DAY, CALENDAR_2025) == []
    assert birthdays_to_greet(PEOPLE, date(2025, 6, 3), PREVIOUS_WORKING_DAY, CALENDAR_2025) == [
        ("tue", date(2025, 6, 3)),
    ]


def test_on_day_rule_greets_only_today():
    assert birthdays_to_greet(PEOPLE, date(2025, 6, 1), ON_DAY, CALENDAR_2025) == [
        ("sun", date(2025, 6, 1)),
    ]


@settings(max_examples=60, deadline=None)
@given(
    holidays=st.sets(st.integers(0, 120), max_size=40),
    birthdays=st.lists(
        st.one_of(
            st.builds(Birthday, calendar=st.just("solar"), month=st.integers(1, 12), day=st.integers(1, 28)),
            LUNAR_BIRTHDAYS,
        ),
        min_size=1,
        max_size=6,
    ),
    shift_rule=st.sampled_from([ON_DAY, PREVIOUS_WORKING_DAY]),
)
def test_each_birthday_is_greeted_exactly_once_on_its_greeting_day(holidays, birthdays, shift_rule):
    base = date(2024, 12, 20)
    is_working_day = weekends_and(holidays=[base + timedelta(days=n) for n in holidays])
    people = list(enumerate(birthdays))
    start, end = base + timedelta(days=40), base + timedelta(days=420)
    greeted = []
    # Start greeting a little early so that the first birthdays' shifted days are run.
    day = start - timedelta(days=31)
    while day <= end + timedelta(days=1):
        for person_id, occurrence in birthdays_to_greet(people, day, shift_rule, is_working_day):
            assert greeting_date(occurrence, shift_rule, is_working_day) == day
            greeted.append((person_id, occurrence))
        day += timedelta(days=1)
    expected = {(pid, occ) for pid, b in people for occ in occurrences_between(b, start, end)}
    in_span = [(pid, occ) for pid, occ in greeted if start <= occ <= end]
    assert len(in_span) == len(set(in_span))
    assert set(in_span) == expected


# --- idempotency -------------------------------------------------------------------


def test_greeting_key_is_per_person_per_birthday_year():
    solar = Birthday("solar", 3, 8)
    assert greeting_key(7, solar, date(2025, 3, 8)) == GreetingKey(7, 2025)
    lunar = Birthday("lunar", 12, 1)
    # Two occurrences in Gregorian 2024 belong to two lunar years: two keys.
    first, second = occurrences_between(lunar, date(2024, 1, 1), date(2024, 12, 31))
    assert greeting_key(7, lunar, first) == GreetingKey(7, 2023)
    assert greeting_key(7, lunar, second) == GreetingKey(7, 2024)
    # Greeting a day early (shift rule) does not change the key: it is the occurrence's.
    assert greeting_key(7, lunar, first) == greeting_key(7, lunar, occurrence_in_year(lunar, 2023))
