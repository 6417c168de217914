"""The digest's pure core: the send day (holiday shift) and what each role's digest holds."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from service.digest.content import (
    FollowUpItem, LeaveItem, ObligationItem, PersonView, RotationItem, ScheduledTalk, UnitSummary, VisitItem,
    WeekData, build_digest,
)
from service.digest.schedule import is_send_time, iso_week_label, next_send_day, send_day
from service.workdays.official import is_working_day

MONDAY = date(2026, 11, 16)
STAFF = PersonView(1, "科员", "zh_CN", "staff", "staff", section_id=10)
CHIEF = PersonView(2, "科长", "zh_CN", "leader", "chief", section_id=10)
HR = PersonView(3, "人事", "en", "hr", "staff", section_id=20)


def test_send_day_is_monday_on_an_ordinary_week():
    assert send_day(date(2026, 11, 19), 0, is_working_day) == MONDAY
    assert is_send_time(MONDAY, 8, 0, 8, is_working_day)
    assert not is_send_time(MONDAY, 7, 0, 8, is_working_day)
    assert not is_send_time(date(2026, 11, 17), 9, 0, 8, is_working_day)


def test_national_day_week_sends_on_its_first_working_day():
    # 2026-W41: Monday 5 to Wednesday 7 October are National Day holidays; Thursday 8 works.
    assert not is_working_day(date(2026, 10, 5))
    assert send_day(date(2026, 10, 5), 0, is_working_day) == date(2026, 10, 8)
    assert not is_send_time(date(2026, 10, 5), 9, 0, 8, is_working_day)
    assert is_send_time(date(2026, 10, 8), 8, 0, 8, is_working_day)
    assert iso_week_label(date(2026, 10, 8)) == "2026-W41"


def test_a_week_without_working_days_keeps_the_configured_day():
    assert send_day(date(2026, 11, 18), 0, lambda d: False) == MONDAY


def test_next_send_day_rolls_to_next_week_after_the_send_day():
    assert next_send_day(date(2026, 11, 14), 0, is_working_day) == MONDAY
    assert next_send_day(MONDAY, 0, is_working_day) == MONDAY
    assert next_send_day(date(2026, 11, 17), 0, is_working_day) == date(2026, 11, 23)
    with pytest.raises(ValueError):
        send_day(MONDAY, 7, is_working_day)


def _week() -> WeekData:
    return WeekData(
        talks=[ScheduledTalk(5, datetime(2026, 11, 18, 10, 0), "会议室", "routine", frozenset({1, 2}), ("科长",)),
               ScheduledTalk(6, datetime(2026, 11, 25, 10, 0), "会议室", "routine", frozenset({1, 2}))],
        follow_ups=[FollowUpItem(7, 5, 1, "提交材料", date(2026, 11, 20)),
                    FollowUpItem(8, 5, 1, "下月再说", date(2026, 12, 30))],
        rotations=[RotationItem(1, "科员", 10, ("秘书科", "Secretariat"), 20, ("信息科", "Information"),
                                date(2026, 11, 23), date(2026, 12, 23))],
        leave=[LeaveItem(1, "科员", 10, ("年休假", "Annual leave"), date(2026, 11, 19), date(2026, 11, 20)),
               LeaveItem(9, "别科", 30, ("年休假", "Annual leave"), date(2026, 11, 19), date(2026, 11, 20))],
        obligations=[ObligationItem(2, 1, "科员", date(2026, 11, 10), "overdue", 6),
                     ObligationItem(2, 4, "新人", date(2026, 11, 27), "due"),
                     ObligationItem(2, 5, "远期", date(2026, 12, 31), "due")],
        visit_tasks=[VisitItem(3, 2, "病人", "市医院", date(2026, 11, 18))],
        unit_summary=UnitSummary((("科长", 1),), "2026 体检", (("booked", 3),), 2),
    )


def test_staff_digest_holds_their_own_week_only():
    digest = build_digest(STAFF, MONDAY, _week())
    assert [s.key for s in digest.sections] == ["talks", "follow_ups", "rotation", "leave"]
    assert [t.talk_id for t in digest.section("talks").items] == [5]  # next week's talk is not this week's
    assert [f.id for f in digest.section("follow_ups").items] == [7]
    assert digest.section("obligations") is None and digest.week_label == "2026-W47"


def test_leader_digest_adds_red_blue_talks_visits_and_their_people():
    digest = build_digest(CHIEF, MONDAY, _week())
    keys = [s.key for s in digest.sections]
    assert keys == ["talks", "obligations", "visit_tasks", "team_leave", "section_rotations"]
    assert [(o.talked_to_id, o.colour) for o in digest.section("obligations").items] == [(1, "red"), (4, "blue")]
    assert [i.person_id for i in digest.section("team_leave").items] == [1]  # not section 30's
    assert digest.section("section_rotations").items[0].person_id == 1


def test_hr_digest_has_the_unit_summary_and_leaves_out_empty_sections():
    digest = build_digest(HR, MONDAY, _week())
    assert [s.key for s in digest.sections] == ["unit_summary"]
    assert build_digest(HR, MONDAY, WeekData(unit_summary=UnitSummary())).empty
    assert build_digest(STAFF, MONDAY, WeekData()).empty


def test_a_long_section_shows_the_first_items_and_how_many_more():
    """The head of a big unit has thousands of talks due: the email lists the most overdue first,
    at most MAX_ITEMS of them, and says how many more (including those the loader left out)."""
    from service.digest.content import MAX_ITEMS

    due = [ObligationItem(CHIEF.id, 100 + i, f"p{i}", date(2026, 11, 1), "overdue", days_overdue=i)
           for i in range(MAX_ITEMS + 12)]
    digest = build_digest(CHIEF, MONDAY, WeekData(obligations=due, obligations_more={CHIEF.id: 5}))
    section = digest.section("obligations")
    assert len(section.items) == MAX_ITEMS and section.more == 12 + 5
    assert section.items[0].days_overdue == MAX_ITEMS + 11  # the most overdue first
    short = build_digest(CHIEF, MONDAY, WeekData(obligations=due[:3]))
    assert short.section("obligations").more == 0
