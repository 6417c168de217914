"""Rotation solver: lawful plans, honest bounds, kept pins, explained gaps, local repairs.

The rules are checked by ``violations`` and the objective by ``plan_cost`` (service.rotation.rules,
written plainly from the definitions); on tiny offices an exhaustive search gives the optimum.
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.rotation import (
    Candidate, Forbid, Pin, PlanInput, PlanRules, Posting, Section, lower_bound, plan_cost,
    plan_postings, repair, solve, violations, what_if,
)
from service.rotation.model import BASE_STAFF, FAIRNESS, HOST_CAPACITY, INFEASIBLE, PROPOSED
from service.rotation.rules import availability, host_refusal, local_limits, sends_of, valid_pins

YEAR = 2025
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TINY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def person(pid, sid, count=0, last=None, visited=(), leave=(), avoid=(), exempt=False,
           joined=date(2010, 1, 1), post_since=date(2020, 1, 1)):
    return Candidate(pid, sid, joined, post_since, exempt=exempt, rotation_count=count,
                     last_rotation_month=last, hosts_visited=frozenset(visited),
                     unavailable_months=frozenset(leave), avoid_hosts=frozenset(avoid))


@st.composite
def offices(draw, max_sections=5, max_members=4, max_months=4, sends=(1, 2), pins=False, by_section=True):
    """Small random offices with every kind of rule in play."""
    n_sections = draw(st.integers(2, max_sections))
    n_months = draw(st.integers(1, max_months))
    months = tuple((YEAR, m) for m in range(1, n_months + 1))
    sids = [f"S{i}" for i in range(n_sections)]
    sections, people, history = [], [], {}
    for sid in sids:
        size = draw(st.integers(0, max_members))
        extra = draw(st.integers(0, 2))
        sections.append(Section(sid, min_base_staff=draw(st.integers(0, size + extra)),
                                headcount=size + extra, participating=draw(st.booleans()) or True))
        for k in range(size):
            others = [h for h in sids if h != sid]
            count = draw(st.integers(0, 2))
            visited = draw(st.sets(st.sampled_from(others), max_size=min(count, len(others))))
            last_back = draw(st.integers(1, 30))
            o = YEAR * 12 - last_back
            people.append(Candidate(
                f"{sid}p{k}", sid,
                joined_on=draw(st.sampled_from([date(2010, 5, 1), date(2024, 11, 3), date(2024, 9, 1)])),
                post_since=draw(st.sampled_from([date(2012, 1, 1), date(2020, 3, 1), date(2014, 12, 31)])),
                exempt=draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()),
                rotation_count=count,
                last_rotation_month=(o // 12, o % 12 + 1) if count else None,
                hosts_visited=frozenset(visited),
                unavailable_months=frozenset(draw(st.sets(st.sampled_from(months), max_size=2))),
                avoid_hosts=frozenset(draw(st.sets(st.sampled_from(others), max_size=1))),
            ))
            for h in visited:
                history[(sid, h)] = history.get((sid, h), 0) + 1
    pairs = tuple(draw(st.lists(st.tuples(st.sampled_from(sids), st.sampled_from(sids)), max_size=2)))
    forbids = tuple(Forbid(section_id=a, host_id=b) for a, b in
                    draw(st.lists(st.tuples(st.sampled_from(sids), st.sampled_from(sids)), max_size=2)))
    own = draw(st.dictionaries(st.sampled_from(sids), st.integers(0, 2), max_size=2)) if by_section else {}
    rules = PlanRules(sends_per_month=draw(st.sampled_from(sends)), sends_by_section=own,
                      host_cap_per_month=draw(st.integers(1, 2)),
                      min_months_after_joining=6, long_tenure_years=10,
                      encouraged_pairs=pairs, forbids=forbids)
    inp = PlanInput(tuple(sections), tuple(people), months, rules, history)
    if pins and people:
        chosen = draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(months),
                                         st.sampled_from(sids)), max_size=2))
        inp = replace(inp, rules=replace(rules, pins=tuple(Pin(c.person_id, m, h) for c, m, h in chosen)))
    return inp


def optimum_by_search(inp: PlanInput) -> float:
    """The exact optimum: every combination of (person, host) or nobody per section-month."""
    months = list(inp.months)
    sids = [s.id for s in inp.sections]
    members = {sid: [c for c in inp.candidates if c.section_id == sid] for sid in sids}
    pins = valid_pins(inp)[0]
    options = []
    for month in months:
        for sid in sids:
            opts = [None]
            for c in members[sid]:
                if availability(inp, c, month, pins):
                    continue
                for h in sids:
                    if host_refusal(inp, c, month, h, c.hosts_visited) is None:
                        opts.append(Posting(c.person_id, sid, h, month))
            options.append(opts)
    best = float("inf")
    for combo in itertools.product(*options):
        postings = [p for p in combo if p is not None]
        if not violations(inp, postings):
            best = min(best, plan_cost(inp, postings))
    return best


def lawful(inp, plan):
    return not violations(inp, plan.postings)


# --- properties on random offices --------------------------------------------------------------

@FAST
@given(offices())
def test_no_hard_rule_is_ever_broken(inp):
    plan = solve(inp)
    assert violations(inp, plan.postings) == []
    assert plan.status == (INFEASIBLE if plan.reasons else PROPOSED)


@FAST
@given(offices())
def test_objective_is_the_defined_cost_and_the_bound_is_below(inp):
    plan = solve(inp)
    assert plan.objective == pytest.approx(plan_cost(inp, plan.postings), abs=1e-6)
    assert plan.lower_bound <= plan.objective + 1e-6
    assert sum(p.cost for p in plan.postings) <= plan.objective + 1e-6
    baseline = solve(inp, improve=False)
    assert plan.objective <= baseline.objective + 1e-6  # re-solves never make it worse


@TINY
@given(offices(max_sections=3, max_members=2, max_months=2, sends=(1,)))
def test_bound_le_optimum_le_heuristic_on_tiny_offices(inp):
    plan = solve(inp)
    best = optimum_by_search(inp)
    assert plan.lower_bound <= best + 1e-6
    assert best <= plan.objective + 1e-6


@FAST
@given(offices())
def test_every_section_month_short_of_n_is_explained(inp):
    plan = solve(inp)
    sent = {}
    for p in plan.postings:
        sent[(p.section_id, p.month)] = sent.get((p.section_id, p.month), 0) + 1
    explained = {}
    for u in plan.unfilled:
        explained[(u.section_id, u.month)] = explained.get((u.section_id, u.month), 0) + u.missing
    limits = local_limits(inp)
    for s in inp.sections:
        for m in inp.months:
            n = sends_of(inp, s.id)
            assert sent.get((s.id, m), 0) <= n
            assert sent.get((s.id, m), 0) + explained.get((s.id, m), 0) >= n
            excused = sum(u.missing for u in plan.unfilled if (u.section_id, u.month) == (s.id, m) and u.excused)
            assert excused == n - limits[(s.id, m)][0]  # excused exactly when no plan could send N


@FAST
@given(offices())
def test_explanations_account_for_every_colleague(inp):
    plan = solve(inp)
    for p in plan.postings:
        ex = p.explanation
        others = {c.person_id for c in inp.candidates if c.section_id == p.section_id} - {p.person_id}
        listed = [q for ids in ex["person"]["excluded"].values() for q in ids]
        assert sorted(listed) == sorted(others)
        assert ex["host"]["visited_before"] is False
        assert ex["cost"] == pytest.approx(p.cost)


@FAST
@given(offices(pins=True))
def test_pins_are_kept_on_recompute_and_breaks_reported(inp):
    plan = solve(inp)
    kept, dropped = valid_pins(inp)
    got = {(p.person_id, p.month, p.host_id) for p in plan.postings if p.pinned}
    assert got == {(x.person_id, x.month, x.host_id) for x in kept}
    again = solve(inp)
    assert {(p.person_id, p.month, p.host_id) for p in again.postings if p.pinned} == got
    broken = violations(inp, plan.postings)
    assert not broken or plan.status == INFEASIBLE
    assert len(plan.reasons) >= len(dropped) + len(broken)


@FAST
@given(offices(), st.data())
def test_forbids_are_respected(inp, data):
    plan = solve(inp)
    if not plan.postings:
        return
    target = data.draw(st.sampled_from(plan.postings))
    forbid = data.draw(st.sampled_from([
        Forbid(section_id=target.section_id, host_id=target.host_id),
        Forbid(person_id=target.person_id, month=target.month),
        Forbid(person_id=target.person_id, host_id=target.host_id, month=target.month),
    ]))
    changed = replace(inp, rules=replace(inp.rules, forbids=inp.rules.forbids + (forbid,)))
    after = solve(changed)
    assert lawful(changed, after)
    assert not any(
        (forbid.person_id in (None, p.person_id)) and (forbid.section_id in (None, p.section_id))
        and (forbid.month in (None, p.month)) and (forbid.host_id in (None, p.host_id))
        for p in after.postings)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offices(sends=(1,)), st.data())
def test_what_if_costs_the_next_best_plan(inp, data):
    base = solve(inp)
    if not base.postings:
        return
    target = data.draw(st.sampled_from(base.postings))
    forbid = Forbid(section_id=target.section_id, host_id=target.host_id)
    answer = what_if(inp, forbid, base)
    changed = replace(inp, rules=replace(inp.rules, forbids=inp.rules.forbids + (forbid,)))
    assert lawful(changed, answer.plan)
    assert all((p.section_id, p.host_id) != (target.section_id, target.host_id) for p in answer.plan.postings)
    assert answer.delta == pytest.approx(answer.objective_after - answer.objective_before)
    assert answer.objective_after >= lower_bound(changed) - 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(offices(sends=(1,)), st.data())
def test_repair_changes_only_what_the_change_touches(inp, data):
    plan = solve(inp)
    if not plan.postings:
        return
    approved = plan_postings(plan)
    hit = data.draw(st.sampled_from(approved))
    people = tuple(replace(c, unavailable_months=c.unavailable_months | {hit.month})
                   if c.person_id == hit.person_id else c for c in inp.candidates)
    changed = replace(inp, candidates=people)
    fixed = repair(changed, approved)
    assert lawful(changed, fixed.plan)
    assert any(r.detail.get("person_id") == hit.person_id for r in fixed.conflicts)
    assert (hit.person_id, hit.month) not in {(p.person_id, p.month) for p in fixed.plan.postings}
    # Postings of other sections are all kept: a change in one section stays in that section
    # (its host slot may go to nobody else, since other sections are not re-planned).
    others = {(p.person_id, p.month, p.host_id) for p in approved if p.section_id != hit.section_id}
    assert others <= {(p.person_id, p.month, p.host_id) for p in fixed.plan.postings}


# --- worked examples ---------------------------------------------------------------------------

M1, M2, M3 = (YEAR, 1), (YEAR, 2), (YEAR, 3)


def test_fairness_carries_across_plans_and_long_tenure_goes_first():
    people = (
        person("a1", "A", count=1, last=(2023, 1)),
        person("a2", "A", count=0, post_since=date(2010, 1, 1)),  # long tenure
        person("a3", "A", count=0),
        person("b1", "B"), person("c1", "C"),
    )
    inp = PlanInput((Section("A"), Section("B"), Section("C")), people, (M1, M2, M3),
                    PlanRules(host_cap_per_month=2))
    plan = solve(inp)
    assert lawful(inp, plan)
    order = [p.person_id for p in sorted(plan.postings, key=lambda p: p.month) if p.section_id == "A"]
    assert order == ["a2", "a3", "a1"]  # count 0 before count 1; long tenure first among equals
    first = next(p for p in plan.postings if p.person_id == "a2")
    assert first.explanation["person"]["long_tenure"] is True
    assert first.explanation["person"]["excluded"] == {"higher_rotation_count": ["a1"], "tenure_order": ["a3"]}


def test_a_section_may_send_its_own_n():
    people = tuple(person(f"{s}{i}", s) for s in "ABC" for i in range(3))
    rules = PlanRules(sends_per_month=1, host_cap_per_month=3, sends_by_section={"A": 2, "C": 0})
    inp = PlanInput((Section("A"), Section("B"), Section("C")), people, (M1, M2), rules)
    plan = solve(inp)
    assert lawful(inp, plan) and plan.status == PROPOSED
    sent = {(s, m): sum(p.section_id == s and p.month == m for p in plan.postings) for s in "ABC" for m in (M1, M2)}
    assert sent == {("A", M1): 2, ("A", M2): 2, ("B", M1): 1, ("B", M2): 1, ("C", M1): 0, ("C", M2): 0}
    assert any(p.host_id == "C" for p in plan.postings)  # a section sending none still hosts
    assert plan.unfilled == ()
    # Three a month is more than A's own N: the rule names the section and month.
    mine = [p for p in plan.postings if p.section_id == "A" and p.month == M1]
    third = next(c.person_id for c in people if c.section_id == "A" and c.person_id not in {p.person_id for p in mine})
    broken = violations(inp, mine + [Posting(third, "A", "C", M1)])
    assert any(r.rule == "sends_per_month" and r.section_id == "A" and r.detail["allowed"] == 2 for r in broken)


def test_a_section_short_of_its_own_n_is_explained_precisely():
    people = tuple(person(f"{s}{i}", s) for s in "ABC" for i in range(3))
    rules = PlanRules(sends_per_month=1, host_cap_per_month=3, sends_by_section={"A": 3})
    inp = PlanInput((Section("A", min_base_staff=1), Section("B"), Section("C")), people, (M1,), rules)
    plan = solve(inp)
    assert plan.status == PROPOSED  # A keeps its base staff of 1: two go, the third is excused
    assert [(u.section_id, u.missing, u.rule, u.excused) for u in plan.unfilled] == [("A", 1, BASE_STAFF, True)]
    tight = replace(inp, rules=replace(rules, host_cap_per_month=1))
    plan = solve(tight)
    assert plan.status == INFEASIBLE and lawful(tight, plan)
    assert {(r.rule, r.month) for r in plan.reasons} == {(HOST_CAPACITY, M1)}  # 2 hosts, 4 to place


def test_fairness_violation_is_detected():
    people = (person("a1", "A", count=1), person("a2", "A", count=0), person("b1", "B"))
    inp = PlanInput((Section("A"), Section("B")), people, (M1,))
    broken = violations(inp, [Posting("a1", "A", "B", M1)])
    assert [r.rule for r in broken] == [FAIRNESS]
    assert broken[0].detail["skipped"] == "a2"


def test_host_capacity_makes_the_plan_infeasible_with_the_blocking_section_and_month():
    people = (person("a", "A", avoid={"B"}), person("b", "B", avoid={"C"}), person("c", "C", avoid={"B"}))
    inp = PlanInput((Section("A"), Section("B"), Section("C")), people, (M1,))
    plan = solve(inp)
    assert plan.status == INFEASIBLE
    assert lawful(inp, plan)
    blocked = [r for r in plan.reasons if r.rule == HOST_CAPACITY]
    assert len(blocked) == 1 and blocked[0].month == M1 and blocked[0].section_id in {"A", "B", "C"}
    assert plan.objective >= 1000  # one shortfall


def test_minimum_base_staff_excuses_a_section_and_says_why():
    people = (person("a1", "A"), person("a2", "A", leave={M1}), person("b1", "B"), person("b2", "B"))
    inp = PlanInput((Section("A", min_base_staff=1), Section("B", min_base_staff=1)), people, (M1,))
    plan = solve(inp)
    assert plan.status == PROPOSED
    assert [(u.section_id, u.rule, u.excused) for u in plan.unfilled] == [("A", BASE_STAFF, True)]
    assert plan.unfilled[0].detail == {"present": 1, "min_base_staff": 1}
    assert [p.section_id for p in plan.postings] == ["B"]


def test_nobody_goes_to_the_same_host_twice_nor_while_new_or_exempt():
    people = (person("a1", "A", visited={"B"}), person("a2", "A", joined=date(2024, 12, 1)),
              person("a3", "A", exempt=True), person("b1", "B"), person("c1", "C"))
    inp = PlanInput((Section("A"), Section("B"), Section("C")), people, (M1, M2), PlanRules(host_cap_per_month=2))
    plan = solve(inp)
    assert lawful(inp, plan)
    mine = [p for p in plan.postings if p.section_id == "A"]
    assert {(p.person_id, p.host_id) for p in mine} == {("a1", "C")}  # a1 once; then no host is left
    excused = [u for u in plan.unfilled if u.section_id == "A"]
    assert excused and all(not u.excused or u.rule == "no_eligible" for u in excused)


def test_pin_that_breaks_a_rule_is_dropped_and_reported():
    people = (person("a1", "A", leave={M1}), person("b1", "B"))
    rules = PlanRules(pins=(Pin("a1", M1, "B"),))
    plan = solve(PlanInput((Section("A"), Section("B")), people, (M1,), rules))
    assert plan.status == INFEASIBLE
    assert plan.reasons[0].rule == "pin_invalid" and plan.reasons[0].detail["rule"] == "on_leave"


def test_someone_leaving_is_repaired_in_their_section_only():
    people = tuple(person(f"{s}{i}", s) for s in "ABCD" for i in range(3))
    inp = PlanInput(tuple(Section(s) for s in "ABCD"), people, (M1, M2, M3))
    plan = solve(inp)
    approved = plan_postings(plan)
    gone = next(p for p in approved if p.section_id == "A" and p.month == M2)
    changed = replace(inp, candidates=tuple(c for c in people if c.person_id != gone.person_id))
    fixed = repair(changed, approved)
    assert lawful(changed, fixed.plan)
    assert gone in fixed.removed
    changed_postings = fixed.removed + fixed.added
    assert all(x.section_id == "A" and x.month >= M2 for x in changed_postings)
    assert any(x.month == M2 for x in fixed.added)
    assert fixed.plan.status == PROPOSED


def test_what_if_reports_the_extra_cost_of_forbidding_an_encouraged_pair():
    people = tuple(person(f"{s}{i}", s) for s in "ABC" for i in range(2))
    rules = PlanRules(host_cap_per_month=2, encouraged_pairs=(("A", "B"),))
    inp = PlanInput(tuple(Section(s) for s in "ABC"), people, (M1,), rules)
    base = solve(inp)
    assert base.objective == 0  # A and B exchange, C goes to either at no cost
    answer = what_if(inp, Forbid(section_id="A", host_id="B"), base)
    assert answer.delta == pytest.approx(1.0)  # A must go elsewhere: one pairing miss
    assert answer.objective_after == pytest.approx(plan_cost(
        replace(inp, rules=replace(rules, forbids=(Forbid(section_id="A", host_id="B"),))),
        answer.plan.postings))


def test_twenty_section_office_is_fast():
    import time
    people = tuple(person(f"S{s:02d}-{i}", f"S{s:02d}", count=i % 2, last=(2024, 1 + i % 12) if i % 2 else None)
                   for s in range(20) for i in range(12))
    inp = PlanInput(tuple(Section(f"S{s:02d}", min_base_staff=6) for s in range(20)), people,
                    tuple((YEAR, m) for m in range(1, 13)))
    solve(inp)
    t0 = time.perf_counter()
    plan = solve(inp)
    assert time.perf_counter() - t0 < 1.0  # the 50 ms goal is measured by bench/rotation_bench.py
    assert lawful(inp, plan) and plan.status == PROPOSED
