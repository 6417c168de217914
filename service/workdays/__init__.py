"""Working days: the State Council's official calendar plus a unit's own days on and off.

Pure functions over dates; see :mod:`service.workdays.official`.
"""
from service.workdays.official import (
    NO_OVERRIDES,
    DayInfo,
    UnitOverrides,
    WorkdayCount,
    WorkdayList,
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

__all__ = [
    "NO_OVERRIDES",
    "DayInfo",
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
