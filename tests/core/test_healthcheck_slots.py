"""Health-check slot assignment: hard constraints, optimality and stable reruns."""

import itertools
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from service.care.healthcheck_slots import (
    AM,
    CAPACITY,
    DAY,
    NO_AVAILABLE_DAY,
    PM,
    SECTION_SHARE,
    WINDOW,
    Candidate,
    ClinicDay,
    Slot,
    assign_slots,
    section_day_cap,
)

MONDAY = date(2025, 3, 3)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


# --- instances -------------------------------------------------------------------------


@st.composite
def instances(draw, max_people=30, max_days=6, max_capacity=6):
    """Random clinic days, people (sections, leave, windows, preferences, previous
    slots) and a section share."""
    n_days = draw(st.integers(1, max_days))
    days = []
    for d in range(n_days):
        if draw(st.booleans()):
            capacity = {AM: draw(st.integers(0, max_capacity)), PM: draw(st.integers(0, max_capacity))}
        else:
            capacity = {DAY: draw(st.integers(0, max_capacity))}
        days.append(ClinicDay(day(d), capacity))
    n_sections = draw(st.integers(1, 3))
    n_people = draw(st.integers(0, max_people))
    # Dates the people may mention include one that is no clinic day.
    known = [day(d) for d in range(n_days + 1)]
    people = []
    for i in range(n_people):
        window = None
        if draw(st.integers(0, 3)) == 0:
            first = draw(st.integers(0, n_days))
            window = (day(first), day(draw(st.integers(first, n_days))))
        previous = None
        if draw(st.integers(0, 2)) == 0:
            previous = Slot(draw(st.sampled_from(known)), draw(st.sampled_from([AM, PM, DAY])))
        people.append(
            Candidate(
                person_id=f"p{i}",
                section_id=f"s{draw(st.integers(0, n_sections - 1))}",
                unavailable=frozenset(draw(st.sets(st.sampled_from(known), max_size=n_days))),
                window=window,
                preferred_half=draw(st.sampled_from([None, None, AM, PM])),
                previous=previous,
            )
        )
    share = draw(st.sampled_from([None, Fraction(3, 10), Fraction(1, 2), "0.3"]))
    return days, people, share


def check_feasible(days, people, share, plan, headcount=None):
    """Every hard constraint of the campaign, checked from scratch."""
    capacity = {(c.day, h): n for c in days for h, n in c.capacity.items()}
    by_id = {p.person_id: p for p in people}
    assert set(plan.assignment).isdisjoint(plan.unplaced)
    assert set(plan.assignment) | set(plan.unplaced) == set(by_id)
    used = Counter(plan.assignment.values())
    for slot, n in used.items():
        assert n <= capacity.get(slot, 0), f"over capacity at {slot}"
    counts = Counter(p.section_id for p in people)
    counts.update({s: n - counts[s] for s, n in (headcount or {}).items()})  # overrides
    per_section_day = Counter((by_id[pid].section_id, slot.day) for pid, slot in plan.assignment.items())
    for (section, when), n in per_section_day.items():
        if share is not None:
            assert n <= section_day_cap(counts[section], share), f"section {section} over share on {when}"
    for pid, slot in plan.assignment.items():
        person = by_id[pid]
        assert slot.day not in person.unavailable
        if person.window:
            assert person.window[0] <= slot.day <= person.window[1]
    for pid, reason in plan.unplaced.items():
        assert reason in (NO_AVAILABLE_DAY, WINDOW, CAPACITY, SECTION_SHARE)
    assert plan.status == "OPTIMAL"


# --- brute force and MILP references ------------------------------------------------------


def stage1_key(days, people, day_of):
    """(-placed, moved, date rank) of a choice of dates, as the module defines them."""
    rank = {c.day: r for r, c in enumerate(days)}
    placed = sum(d is not None for d in day_of)
    moved = sum(
        1 for p, d in zip(people, day_of) if p.previous is not None and d != p.previous.day
    )
    return (-placed, moved, sum(rank[d] for d in day_of if d is not None))


def brute_force(days, people, share):
    """Best (stage 1 key) over every assignment of people to slots or to nobody."""
    capacity = {(c.day, h): n for c in days for h, n in c.capacity.items() if n > 0}
    headcount = Counter(p.section_id for p in people)
    options = []
    for p in people:
        mine = [None]
        for slot in capacity:
            if slot[0] in p.unavailable:
                continue
            if p.window and not p.window[0] <= slot[0] <= p.window[1]:
                continue
            mine.append(slot)
        options.append(mine)
    best = None
    for choice in itertools.product(*options):
        used = Counter(c for c in choice if c is not None)
        if any(n > capacity[s] for s, n in used.items()):
            continue
        if share is not None:
            sd = Counter((p.section_id, c[0]) for p, c in zip(people, choice) if c is not None)
            if any(n > section_day_cap(headcount[s], share) for (s, _), n in sd.items()):
                continue
        key = stage1_key(days, people, [c[0] if c else None for c in choice])
        if best is None or key < best:
            best = key
    return best


def best_halves(days, people, plan):
    """Brute-force (half changes, preference misses) over the halves of the plan's dates."""
    capacity = {(c.day, h): n for c in days for h, n in c.capacity.items() if n > 0}
    placed = [p for p in people if p.person_id in plan.assignment]
    options = [
        [s for s in capacity if s[0] == plan.assignment[p.person_id].day] for p in placed
    ]
    best = None
    for choice in itertools.product(*options):
        if any(n > capacity[s] for s, n in Counter(choice).items()):
            continue
        changes = sum(
            1
            for p, s in zip(placed, choice)
            if p.previous is not None and p.previous.day == s[0] and p.previous.half != s[1]
        )
        misses = sum(
            1
            for p, s in zip(placed, choice)
            if p.preferred_half is not None and s[1] != DAY and s[1] != p.preferred_half
        )
        if best is None or (changes, misses) < best:
            best = (changes, misses)
    return best or (0, 0)


def milp_stage1(days, people, share):
    """Optimum of criteria 1-3 as a 0-1 program over person x slot, solved by HiGHS."""
    slots = [(c.day, h) for c in days for h, n in c.capacity.items() if n > 0]
    rank = {c.day: r for r, c in enumerate(days)}
    variables = [
        (i, s)
        for i, p in enumerate(people)
        for s in slots
        if s[0] not in p.unavailable and (not p.window or p.window[0] <= s[0] <= p.window[1])
    ]
    if not variables:
        return stage1_key(days, people, [None] * len(people))
    n, n_days = len(people), len(days)
    keep_bonus = n * (n_days - 1) + 1
    place_bonus = (keep_bonus + n_days) * n + 1
    cost = np.array(
        [
            rank[s[0]] + keep_bonus * (people[i].previous is None or people[i].previous.day != s[0]) - place_bonus
            for i, s in variables
        ],
        dtype=float,
    )
    rows = []
    bounds = []

    def add(members, upper):
        row = np.zeros(len(variables))
        row[members] = 1
        rows.append(row)
        bounds.append(upper)

    for i in range(n):
        add([k for k, v in enumerate(variables) if v[0] == i], 1)
    capacity = {(c.day, h): m for c in days for h, m in c.capacity.items()}
    for s in slots:
        add([k for k, v in enumerate(variables) if v[1] == s], capacity[s])
    if share is not None:
        headcount = Counter(p.section_id for p in people)
        for section in headcount:
            for c in days:
                members = [k for k, (i, s) in enumerate(variables) if people[i].section_id == section and s[0] == c.day]
                if members:
                    add(members, section_day_cap(headcount[section], share))
    result = milp(
        cost,
        integrality=np.ones(len(variables)),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(np.array(rows), -np.inf, np.array(bounds, dtype=float)),
    )
    assert result.status == 0
    x = np.round(result.x).astype(int)
    day_of = [None] * n
    for k, (i, s) in enumerate(variables):
        if x[k]:
            day_of[i] = s[0]
    return stage1_key(days, people, day_of)


def plan_stage1(plan):
    return (-plan.objective.placed, plan.objective.date_moves, plan.objective.date_rank)


# --- hard constraints ------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances())
def test_plans_keep_every_hard_constraint(instance):
    days, people, share = instance
    plan = assign_slots(days, people, section_share=share)
    check_feasible(days, people, share, plan)


@settings(max_examples=40, deadline=None)
@given(instance=instances(max_people=20), extra=st.integers(0, 10))
def test_section_headcount_beyond_candidates_sets_the_cap(instance, extra):
    days, people, _ = instance
    headcount = {p.section_id: sum(q.section_id == p.section_id for q in people) + extra for p in people}
    plan = assign_slots(days, people, section_share="0.3", section_headcount=headcount)
    check_feasible(days, people, "0.3", plan, headcount=headcount)
    for section, cap in plan.section_day_caps.items():
        assert cap == section_day_cap(headcount[section], "0.3")


def test_section_cap_is_exact_ceiling():
    assert section_day_cap(10, 0.3) == 3  # float 0.3 x 10 is 3.0000000000000004
    assert section_day_cap(11, Fraction(3, 10)) == 4
    assert section_day_cap(1, "0.3") == 1
    assert section_day_cap(0, "0.3") == 0


def test_one_section_cannot_empty_itself_on_one_day():
    days = [ClinicDay(day(0), {AM: 10, PM: 10}), ClinicDay(day(1), {AM: 10, PM: 10})]
    people = [Candidate(f"a{i}", "accounts") for i in range(10)]
    plan = assign_slots(days, people, section_share=Fraction(3, 10))
    per_day = Counter(slot.day for slot in plan.assignment.values())
    assert per_day == {day(0): 3, day(1): 3}
    assert Counter(plan.unplaced.values()) == {SECTION_SHARE: 4}


def test_unplaced_reasons():
    days = [ClinicDay(day(0), {AM: 1, PM: 0}), ClinicDay(day(1), {DAY: 1})]
    people = [
        Candidate("early", "a"),
        Candidate("second", "b"),
        Candidate("crowded-out", "c"),
        Candidate("on-leave", "d", unavailable=frozenset({day(0), day(1)})),
        Candidate("away", "e", window=(day(5), day(9))),
        Candidate("away-and-on-leave", "f", unavailable=frozenset({day(0), day(1)}), window=(day(0), day(0))),
    ]
    plan = assign_slots(days, people, section_share=None)
    free = {"early", "second", "crowded-out"}
    assert len(plan.assignment) == 2 and set(plan.assignment) <= free
    assert {s.day for s in plan.assignment.values()} == {day(0), day(1)}
    (left_out,) = free - set(plan.assignment)
    assert plan.unplaced == {
        left_out: CAPACITY,
        "on-leave": NO_AVAILABLE_DAY,
        "away": WINDOW,
        "away-and-on-leave": NO_AVAILABLE_DAY,
    }


def test_window_and_leave_are_honoured_with_earliest_dates():
    days = [ClinicDay(day(d), {AM: 1, PM: 1}) for d in range(4)]
    people = [
        Candidate("pregnant", "a", window=(day(2), day(3))),
        Candidate("leave", "a", unavailable=frozenset({day(0), day(1)})),
        Candidate("free", "b"),
    ]
    plan = assign_slots(days, people, section_share=None)
    assert plan.assignment["free"].day == day(0)
    assert plan.assignment["pregnant"].day == day(2)
    assert plan.assignment["leave"].day == day(2)
    assert plan.objective.date_rank == 0 + 2 + 2


def test_preferred_half_is_honoured_when_room():
    days = [ClinicDay(day(0), {AM: 1, PM: 1})]
    people = [Candidate("a", "s", preferred_half=PM), Candidate("b", "s", preferred_half=AM)]
    plan = assign_slots(days, people, section_share=None)
    assert plan.assignment == {"a": Slot(day(0), PM), "b": Slot(day(0), AM)}
    assert plan.objective.half_mismatches == 0


def test_malformed_input_is_refused():
    with pytest.raises(ValueError):
        ClinicDay(day(0), {"EVENING": 3})
    with pytest.raises(ValueError):
        assign_slots([ClinicDay(day(0), {AM: 1}), ClinicDay(day(0), {PM: 1})], [])
    with pytest.raises(ValueError):
        assign_slots([ClinicDay(day(0), {AM: 1})], [Candidate("x", "s"), Candidate("x", "t")])


def test_empty_instances():
    assert assign_slots([], [Candidate("x", "s")]).unplaced == {"x": NO_AVAILABLE_DAY}
    plan = assign_slots([ClinicDay(day(0), {AM: 1})], [])
    assert plan.assignment == {} and plan.status == "OPTIMAL"


# --- optimality ------------------------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_people=4, max_days=3, max_capacity=2))
def test_objective_matches_brute_force_on_small_instances(instance):
    days, people, share = instance
    plan = assign_slots(days, people, section_share=share)
    assert plan_stage1(plan) == brute_force(days, people, share)
    assert (plan.objective.half_changes, plan.objective.half_mismatches) == best_halves(days, people, plan)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances(max_people=14, max_days=5, max_capacity=4))
def test_objective_matches_milp_on_medium_instances(instance):
    days, people, share = instance
    plan = assign_slots(days, people, section_share=share)
    assert plan_stage1(plan) == milp_stage1(days, people, share)


# --- reruns --------------------------------------------------------------------------


def rerun(people, plan):
    return [replace(p, previous=plan.assignment.get(p.person_id)) for p in people]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=instances())
def test_rerun_of_an_unchanged_instance_moves_nobody(instance):
    days, people, share = instance
    first = assign_slots(days, people, section_share=share)
    second = assign_slots(days, rerun(people, first), section_share=share)
    assert second.moved == frozenset()
    assert second.assignment == first.assignment
    assert second.objective.date_moves == 0 and second.objective.half_changes == 0


@st.composite
def roomy_instances(draw):
    """Instances with plenty of room: every day has more places than people."""
    n_people = draw(st.integers(2, 25))
    n_days = draw(st.integers(2, 6))
    days = [ClinicDay(day(d), {AM: n_people, PM: n_people}) for d in range(n_days)]
    people = [
        Candidate(
            f"p{i}",
            f"s{draw(st.integers(0, 2))}",
            unavailable=frozenset(day(d) for d in draw(st.sets(st.integers(0, n_days - 1), max_size=n_days - 2))),
            preferred_half=draw(st.sampled_from([None, AM, PM])),
        )
        for i in range(n_people)
    ]
    return days, people


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=roomy_instances(), data=st.data())
def test_new_leave_on_a_booked_date_moves_only_that_person(instance, data):
    days, people = instance
    first = assign_slots(days, people, section_share=None)
    assume(first.assignment)
    victim = data.draw(st.sampled_from(sorted(first.assignment)))
    booked = first.assignment[victim]
    changed = [
        replace(p, unavailable=p.unavailable | {booked.day}) if p.person_id == victim else p
        for p in rerun(people, first)
    ]
    assume(any(c.day not in changed[int(victim[1:])].unavailable for c in days))
    second = assign_slots(days, changed, section_share=None)
    assert second.moved == {victim}
    assert second.assignment[victim].day != booked.day


def test_a_chain_moves_the_fewest_people_needed():
    # One place per day. A's new leave covers day 0 and A can come only on day 1,
    # B's day; B can come any day, C only on day 2. Moving B makes room for A (B takes
    # the earliest free day, A's old day 0); C does not move.
    days = [ClinicDay(day(d), {DAY: 1}) for d in range(4)]
    previous = {"A": Slot(day(0), DAY), "B": Slot(day(1), DAY), "C": Slot(day(2), DAY)}
    people = [
        Candidate("A", "s1", unavailable=frozenset({day(0), day(2), day(3)}), previous=previous["A"]),
        Candidate("B", "s2", previous=previous["B"]),
        Candidate("C", "s3", window=(day(2), day(2)), previous=previous["C"]),
    ]
    plan = assign_slots(days, people, section_share=None)
    assert plan.assignment == {"A": Slot(day(1), DAY), "B": Slot(day(0), DAY), "C": Slot(day(2), DAY)}
    assert plan.moved == {"A", "B"}
    assert plan.objective.date_moves == 2


def test_kept_people_are_not_dropped_for_newcomers():
    days = [ClinicDay(day(0), {AM: 1})]
    people = [Candidate("newcomer", "s"), Candidate("booked", "s", previous=Slot(day(0), AM))]
    plan = assign_slots(days, people, section_share=None)
    assert plan.assignment == {"booked": Slot(day(0), AM)}
    assert plan.moved == frozenset()


def test_changed_half_capacity_moves_the_half_not_the_date():
    days = [ClinicDay(day(0), {AM: 1, PM: 5}), ClinicDay(day(1), {AM: 5, PM: 5})]
    people = [Candidate(f"p{i}", f"s{i}", previous=Slot(day(0), AM)) for i in range(2)]
    plan = assign_slots(days, people, section_share=None)
    assert {s.day for s in plan.assignment.values()} == {day(0)}
    assert sorted(s.half for s in plan.assignment.values()) == [AM, PM]
    assert plan.objective.half_changes == 1 and len(plan.moved) == 1
