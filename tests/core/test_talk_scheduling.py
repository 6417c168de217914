"""Scheduling proposals (pure): working days only, at most N a day, nobody on leave."""
from __future__ import annotations

from collections import namedtuple
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from service.talks.scheduling import propose_days

Ob = namedtuple("Ob", "talked_to_id deadline")
DAYS = [date(2026, 11, d) for d in (23, 24, 25, 26, 27, 30)]


def test_earliest_free_day_respecting_leave_and_the_daily_cap():
    obs = [Ob(1, date(2026, 11, 30)), Ob(2, date(2026, 11, 30)), Ob(3, date(2026, 11, 30)), Ob(1, date(2026, 12, 5))]
    found = propose_days(obs, DAYS, away={2: {date(2026, 11, 23)}, 9: {date(2026, 11, 24)}},
                         booked={date(2026, 11, 23): 1}, max_per_day=2, leader_id=9)
    assert [(p.talked_to_id, p.day) for p in found] == [
        (1, date(2026, 11, 23)), (2, date(2026, 11, 25)), (3, date(2026, 11, 25))]


def test_no_day_left_is_none():
    found = propose_days([Ob(1, date(2026, 11, 30))], DAYS, away={1: set(DAYS)}, booked={}, max_per_day=3, leader_id=9)
    assert found[0].day is None


@given(st.lists(st.integers(1, 30), max_size=40), st.integers(1, 4),
       st.dictionaries(st.integers(0, 30), st.sets(st.sampled_from(DAYS))))
def test_properties(people, cap, away):
    found = propose_days([Ob(p, date(2026, 11, 30)) for p in people], DAYS, away, {}, cap, leader_id=0)
    per_day = {}
    for p in found:
        if p.day is not None:
            assert p.day in DAYS and p.day not in away.get(p.talked_to_id, set()) and p.day not in away.get(0, set())
            per_day[p.day] = per_day.get(p.day, 0) + 1
    assert all(n <= cap for n in per_day.values())
    assert len(found) == len(set(people))
