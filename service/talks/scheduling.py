"""Scheduling help: propose a day for each of a leader's due talks this month.

Pure: the caller passes the candidate days (official working days from ``start`` to the month's
end), the days each person is away (approved leave) and the talks already on each day. Most urgent
first (the red-letter order of the obligations given), each on the earliest day on which neither
person is away and the leader has fewer than ``max_per_day`` talks.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import date
from typing import NamedTuple


class Proposal(NamedTuple):
    talked_to_id: Hashable
    day: date | None  # None: no free day left this month
    deadline: date


def propose_days(obligations: Iterable, days: list[date], away: Mapping[Hashable, set[date]],
                 booked: Mapping[date, int], max_per_day: int, leader_id: Hashable) -> list[Proposal]:
    """One proposal per talked-to person (the most urgent obligation wins), in the order given."""
    load = dict(booked)
    leader_away = away.get(leader_id, set())
    seen, out = set(), []
    for o in obligations:
        if o.talked_to_id in seen:
            continue
        seen.add(o.talked_to_id)
        theirs = away.get(o.talked_to_id, set())
        chosen = next((d for d in days if d not in leader_away and d not in theirs
                       and load.get(d, 0) < max_per_day), None)
        if chosen is not None:
            load[chosen] = load.get(chosen, 0) + 1
        out.append(Proposal(o.talked_to_id, chosen, o.deadline))
    return out
