"""Annual health-check campaign (年度健康体检): who goes to the clinic when.

Input: the clinic days (working days only) with a capacity per half-day (AM/PM) or
per whole day (DAY); the people to place, each with a section, the dates they cannot
come (approved leave, ...), an optional allowed date window (out of town, pregnant),
an optional preferred half-day and an optional previous slot (from the last run of
this campaign); and the section share: at most ceil(share x headcount) people of a
section on any one day, so that no section is emptied.

Hard constraints: a slot's capacity is never exceeded; nobody is placed on a date
they cannot come, nor outside their window; the section-day cap is kept.

Objective, lexicographic (each criterion matters only among solutions equal on all
earlier ones):

1. place as many people as possible;
2. keep as many people as possible on their previous slot's date (someone with a
   previous slot who moves to another date or is left unplaced counts as moved);
3. earliest dates: minimise the sum of date ranks (first clinic day = 0, next = 1,
   ...), which finishes the campaign early and leaves the later days as reserve;
4. given the dates from 1-3: move as few people as possible to another half-day
   of the same date than their previous slot's;
5. then: as few people as possible away from their preferred half-day.

Criteria 1-3 are solved exactly as one min-cost flow,

    source -> person -> (section, day) -> (day, half) -> sink

with unit capacity on the person arcs, the section-day cap on the (section, day)
node (split in two nodes joined by an arc of that capacity) and the half-day
capacity on the (day, half) -> sink arcs. Any integer flow is a valid assignment
and every assignment is a flow. Arc person -> (section, day) costs
``rank(day) - M * [day is the person's previous date]`` with
``M = people x (days - 1) + 1``. "Max flow, then min cost among max flows" is
criterion 1; the total cost is then ``sum of ranks - M x kept``, and M is larger
than any possible difference in the sum of ranks, so the weighted sum is exactly
lexicographic (2 before 3). The cost is a bonus on the kept date rather than a
penalty on moving, so that dropping a kept person for a newcomer is not free.

Why half-days are a second stage: the half-day is chosen after the section node,
where the flow no longer knows which person it carries, so an arc cost there can
depend on (section, day, half) but not on the person. Person-specific half-day costs
(previous half, preferred half) cannot be carried by any flow model: in the
person x day x half formulation the rows {person p1, section-day (s, d1), day-half
(d1, AM), person p2, day-half (d2, AM)} and five suitable columns form an odd cycle
matrix with determinant 2, so that matrix is not totally unimodular. Stage 2 is
therefore a second, exact min-cost flow, person -> (day, half) -> sink, over the
dates from stage 1; it is always feasible, because sections do not constrain
half-days within a date. The plan is optimal for 1-3 and, given those dates, for
4-5. It is not guaranteed optimal for 4-5 over all plans tied on 1-3 (such ties
arise when a section cap or half-day capacity was cut below what the previous plan
used). An unchanged instance keeps every slot; a person whose leave now covers
their slot moves, and nobody else does unless capacity forces it.

Solver: OR-Tools ``SimpleMinCostFlow`` (cost scaling push-relabel, exact on
integers, C++, maintained by Google, wheels for CPython 3.9-3.13), because
networkx's network simplex is pure Python and too slow for 10,000 people x 60 days,
and SciPy has no min-cost flow. The solver's status ``OPTIMAL`` is the optimality
certificate: the flow is optimal by the solver's reduced-cost check.

People left unplaced (only when the instance has no room) come with a reason:
``no_available_day`` (unavailable on every clinic day), ``window`` (available days
exist, but none inside the window), ``capacity`` (all their possible days are fully
booked), ``section_share`` (some possible day had room, but their section's cap for
that day was reached). By max-flow optimality every possible day of an unplaced
person is fully booked or at its section cap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import ceil
from typing import NamedTuple

import numpy as np
from ortools.graph.python import min_cost_flow

AM, PM, DAY = "AM", "PM", "DAY"
HALVES = (AM, PM, DAY)

NO_AVAILABLE_DAY = "no_available_day"
WINDOW = "window"
CAPACITY = "capacity"
SECTION_SHARE = "section_share"

DEFAULT_SECTION_SHARE = Fraction(3, 10)


class Slot(NamedTuple):
    """A clinic appointment: a date and a half-day (``AM``, ``PM`` or ``DAY``)."""

    day: date
    half: str


@dataclass(frozen=True)
class ClinicDay:
    """One clinic day and its capacity per half-day, e.g. ``{"AM": 40, "PM": 30}``,
    or per whole day, ``{"DAY": 70}``."""

    day: date
    capacity: Mapping[str, int]

    def __post_init__(self) -> None:
        for half, places in self.capacity.items():
            if half not in HALVES:
                raise ValueError(f"unknown half-day {half!r} on {self.day}")
            if places < 0:
                raise ValueError(f"negative capacity on {self.day} {half}")


@dataclass(frozen=True)
class Candidate:
    """A person to place. ``window`` is an inclusive (first, last) date range;
    ``previous`` is the slot from the last run of the same campaign."""

    person_id: Hashable
    section_id: Hashable
    unavailable: frozenset[date] = frozenset()
    window: tuple[date, date] | None = None
    preferred_half: str | None = None
    previous: Slot | None = None


class Objective(NamedTuple):
    """Value of a plan on the criteria of the module docstring, in their order."""

    placed: int
    date_moves: int
    date_rank: int
    half_changes: int
    half_mismatches: int


@dataclass(frozen=True)
class Plan:
    """Result of :func:`assign_slots`.

    ``moved`` holds everyone with a previous slot who does not keep exactly that slot
    (another date or half-day, or unplaced). ``status`` is ``"OPTIMAL"``.
    """

    assignment: dict[Hashable, Slot]
    unplaced: dict[Hashable, str]
    moved: frozenset
    objective: Objective
    status: str
    section_day_caps: dict[Hashable, int] = field(default_factory=dict)


def section_day_cap(headcount: int, share: Fraction | int | float | str) -> int:
    """Most people of a section of ``headcount`` who may be away on one day:
    ``ceil(share x headcount)``, computed on exact fractions (ceil(0.3 x 10) = 3)."""
    exact = Fraction(str(share)) if isinstance(share, float) else Fraction(share)
    return ceil(exact * headcount)


def assign_slots(
    clinic_days: Iterable[ClinicDay],
    candidates: Iterable[Candidate],
    *,
    section_share: Fraction | int | float | str | None = DEFAULT_SECTION_SHARE,
    section_headcount: Mapping[Hashable, int] | None = None,
) -> Plan:
    """Place ``candidates`` in the clinic's slots, optimally for the objective in the
    module docstring.

    ``section_headcount`` is each section's whole staff (defaults to the number of
    candidates in it); ``section_share=None`` drops the section cap. Previous slots
    come on the candidates. Raises ``ValueError`` on malformed input.
    """
    days = sorted(clinic_days, key=lambda c: c.day)
    people = list(candidates)
    _check(days, people)

    sections = sorted({p.section_id for p in people}, key=repr)
    headcount = {s: 0 for s in sections}
    for person in people:
        headcount[person.section_id] += 1
    if section_headcount is not None:
        headcount.update({s: section_headcount[s] for s in sections if s in section_headcount})
    if section_share is None:
        caps = {s: len(people) for s in sections}
    else:
        caps = {s: section_day_cap(headcount[s], section_share) for s in sections}

    allowed, had_window_only = _allowed_days(days, people)
    day_of, stage1_ok = _choose_days(days, people, sections, caps, allowed)
    assignment, half_changes, half_mismatches, stage2_ok = _choose_halves(days, people, day_of)

    booked = np.bincount(day_of[day_of >= 0], minlength=len(days))
    section_booked = Counter(
        (p.section_id, int(day_of[i])) for i, p in enumerate(people) if day_of[i] >= 0
    )
    unplaced = {
        people[i].person_id: _reason(
            i, days, people[i], allowed, had_window_only, booked, section_booked, caps
        )
        for i in range(len(people))
        if day_of[i] < 0
    }
    moved = frozenset(
        p.person_id
        for p in people
        if p.previous is not None and assignment.get(p.person_id) != p.previous
    )
    date_moves = sum(
        1
        for i, p in enumerate(people)
        if p.previous is not None and (day_of[i] < 0 or days[day_of[i]].day != p.previous.day)
    )
    objective = Objective(
        placed=len(assignment),
        date_moves=date_moves,
        date_rank=int(sum(int(d) for d in day_of if d >= 0)),
        half_changes=half_changes,
        half_mismatches=half_mismatches,
    )
    status = "OPTIMAL" if stage1_ok and stage2_ok else "SOLVER_FAILED"
    return Plan(assignment, unplaced, moved, objective, status, caps)


def _check(days: list[ClinicDay], people: list[Candidate]) -> None:
    if len({c.day for c in days}) != len(days):
        raise ValueError("clinic days must be distinct")
    if len({p.person_id for p in people}) != len(people):
        raise ValueError("person ids must be distinct")
    for p in people:
        if p.preferred_half is not None and p.preferred_half not in HALVES:
            raise ValueError(f"unknown preferred half {p.preferred_half!r} of {p.person_id!r}")
        if p.window is not None and p.window[1] < p.window[0]:
            raise ValueError(f"empty window of {p.person_id!r}")


def _allowed_days(days: list[ClinicDay], people: list[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean person x day matrix of possible days, and for each person whether
    available days exist outside the window (to tell 'window' from 'no day')."""
    index = {c.day: d for d, c in enumerate(days)}
    available = np.ones((len(people), len(days)), dtype=bool)
    for i, p in enumerate(people):
        for day in p.unavailable:
            d = index.get(day)
            if d is not None:
                available[i, d] = False
    ordinals = np.array([c.day.toordinal() for c in days], dtype=np.int64)
    lo = np.array([p.window[0].toordinal() if p.window else 0 for p in people], dtype=np.int64)
    hi = np.array([p.window[1].toordinal() if p.window else 1 << 40 for p in people], dtype=np.int64)
    in_window = (ordinals[None, :] >= lo[:, None]) & (ordinals[None, :] <= hi[:, None])
    # A day with no capacity at all is no possible day.
    open_day = np.array([sum(c.capacity.values()) > 0 for c in days], dtype=bool)
    available &= open_day[None, :]
    allowed = available & in_window
    window_only = available.any(axis=1) & ~allowed.any(axis=1)
    return allowed, window_only


def _solve_max_flow_min_cost(
    n_nodes: int, source: int, sink: int, supply: int, tails, heads, capacities, costs
) -> tuple[min_cost_flow.SimpleMinCostFlow, np.ndarray, bool]:
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32),
        np.asarray(heads, dtype=np.int32),
        np.asarray(capacities, dtype=np.int64),
        np.asarray(costs, dtype=np.int64),
    )
    supplies = np.zeros(n_nodes, dtype=np.int64)
    supplies[source], supplies[sink] = supply, -supply
    flow.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    return flow, np.asarray(arcs), status == flow.OPTIMAL


def _choose_days(
    days: list[ClinicDay],
    people: list[Candidate],
    sections: list[Hashable],
    caps: Mapping[Hashable, int],
    allowed: np.ndarray,
) -> tuple[np.ndarray, bool]:
    """Stage 1 (criteria 1-3): a date index per person, -1 when unplaced."""
    n, n_days = len(people), len(days)
    day_of = np.full(n, -1, dtype=np.int64)
    if n == 0 or n_days == 0:
        return day_of, True
    section_index = {s: k for k, s in enumerate(sections)}
    n_sections = len(sections)
    halves = [[h for h in HALVES if c.capacity.get(h, 0) > 0] for c in days]

    # Node numbering: 0 source, 1 sink, then people, section-day in, section-day out,
    # day-half (3 per day, whether used or not).
    source, sink = 0, 1
    person_node = 2
    sd_in = person_node + n
    sd_out = sd_in + n_sections * n_days
    day_half = sd_out + n_sections * n_days
    n_nodes = day_half + 3 * n_days

    date_index = {c.day: d for d, c in enumerate(days)}
    previous_day = np.array(
        [
            -1 if p.previous is None else date_index.get(p.previous.day, -2)
            for p in people
        ],
        dtype=np.int64,
    )
    person_section = np.array([section_index[p.section_id] for p in people], dtype=np.int64)
    keep_bonus = n * (n_days - 1) + 1  # beats any difference in the sum of date ranks

    rows, cols = np.nonzero(allowed)
    sd = person_section[rows] * n_days + cols
    # A bonus (negative cost) rather than a penalty on moving, so that dropping a
    # kept person for a newcomer is not free; and arcs of people without a previous
    # slot keep small costs, which the cost-scaling solver is faster on.
    arc_costs = cols - keep_bonus * (previous_day[rows] == cols)
    used_sd = np.unique(sd)
    used_s, used_d = used_sd // n_days, used_sd % n_days
    cap_of_section = np.array([caps[s] for s in sections], dtype=np.int64)

    # Arc blocks in order; the person -> section-day block starts at arc n.
    tails = [np.full(n, source), person_node + rows, sd_in + used_sd]
    heads = [person_node + np.arange(n), sd_in + sd, sd_out + used_sd]
    capacities = [np.ones(n), np.ones(len(rows)), cap_of_section[used_s]]
    costs = [np.zeros(n), arc_costs, np.zeros(len(used_sd))]

    half_position = {h: k for k, h in enumerate(HALVES)}
    out_tails, out_heads, out_caps = [], [], []
    for s, d in zip(used_s.tolist(), used_d.tolist()):
        for h in halves[d]:
            out_tails.append(sd_out + s * n_days + d)
            out_heads.append(day_half + 3 * d + half_position[h])
            out_caps.append(caps[sections[s]])
    sink_tails, sink_caps = [], []
    for d, c in enumerate(days):
        for h in halves[d]:
            sink_tails.append(day_half + 3 * d + half_position[h])
            sink_caps.append(c.capacity[h])
    tails += [np.array(out_tails), np.array(sink_tails)]
    heads += [np.array(out_heads), np.full(len(sink_tails), sink)]
    capacities += [np.array(out_caps), np.array(sink_caps)]
    costs += [np.zeros(len(out_tails)), np.zeros(len(sink_tails))]

    flow, arcs, ok = _solve_max_flow_min_cost(
        n_nodes,
        source,
        sink,
        n,
        np.concatenate(tails),
        np.concatenate(heads),
        np.concatenate(capacities),
        np.concatenate(costs),
    )
    if not ok:
        return day_of, False
    person_arcs = arcs[n : n + len(rows)]
    used = flow.flows(person_arcs) > 0
    day_of[rows[used]] = cols[used]
    return day_of, True


def _choose_halves(
    days: list[ClinicDay], people: list[Candidate], day_of: np.ndarray
) -> tuple[dict[Hashable, Slot], int, int, bool]:
    """Stage 2 (criteria 4-5): the half-day of each placed person on their date."""
    placed = [i for i in range(len(people)) if day_of[i] >= 0]
    if not placed:
        return {}, 0, 0, True
    half_change_cost = len(placed) + 1  # beats any number of preference misses
    source, sink, person_node = 0, 1, 2
    day_half = person_node + len(placed)
    n_nodes = day_half + 3 * len(days)
    tails, heads, capacities, costs = [], [], [], []
    choices = []  # (arc position, person index, slot, changed half, missed preference)
    for k, i in enumerate(placed):
        p, d = people[i], int(day_of[i])
        tails.append(source), heads.append(person_node + k), capacities.append(1), costs.append(0)
        for position, h in enumerate(HALVES):
            if days[d].capacity.get(h, 0) <= 0:
                continue
            changed = p.previous is not None and p.previous.day == days[d].day and p.previous.half != h
            missed = p.preferred_half is not None and h != DAY and h != p.preferred_half
            choices.append((len(tails), i, Slot(days[d].day, h), changed, missed))
            tails.append(person_node + k)
            heads.append(day_half + 3 * d + position)
            capacities.append(1)
            costs.append(half_change_cost * changed + missed)
    for d, c in enumerate(days):
        for position, h in enumerate(HALVES):
            if c.capacity.get(h, 0) > 0:
                tails.append(day_half + 3 * d + position)
                heads.append(sink)
                capacities.append(c.capacity[h])
                costs.append(0)
    flow, arcs, ok = _solve_max_flow_min_cost(
        n_nodes, source, sink, len(placed), tails, heads, capacities, costs
    )
    if not ok or flow.maximum_flow() != len(placed):
        return {}, 0, 0, False
    chosen = flow.flows(arcs[[c[0] for c in choices]]) > 0
    assignment: dict[Hashable, Slot] = {}
    half_changes = half_mismatches = 0
    for (_, i, slot, changed, missed), taken in zip(choices, chosen.tolist()):
        if taken:
            assignment[people[i].person_id] = slot
            half_changes += changed
            half_mismatches += missed
    return assignment, half_changes, half_mismatches, True


def _reason(
    i: int,
    days: list[ClinicDay],
    person: Candidate,
    allowed: np.ndarray,
    window_only: np.ndarray,
    booked: np.ndarray,
    section_booked: Counter,
    caps: Mapping[Hashable, int],
) -> str:
    """Why person ``i`` is unplaced (see the module docstring)."""
    if not allowed[i].any():
        return WINDOW if window_only[i] else NO_AVAILABLE_DAY
    for d in np.nonzero(allowed[i])[0].tolist():
        has_room = booked[d] < sum(days[d].capacity.values())
        if has_room and section_booked[(person.section_id, d)] >= caps[person.section_id]:
            return SECTION_SHARE
    return CAPACITY
