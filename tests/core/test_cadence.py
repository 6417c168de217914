"""Talk obligations: the pure cadence core, tested against the seed rules and a naive oracle."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.talks.cadence import (
    DONE, DUE, OVERDUE, CadenceRule, Obligation, TalkHeld, Trigger, TriggerRule, compute_obligations,
    index_talks, obligations_for_talker, red_letter_key, red_letter_order,
)
from service.talks.defaults import DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES
from service.talks.periods import period_containing, periods_overlapping
from service.talks.register import Audience, Membership, Oversight

BASE = date(2024, 1, 1)
SPAN_DAYS = 240  # the random histories live in the first eight months of 2024
RANK = {OVERDUE: 0, DUE: 1, DONE: 2}
# Generating registers dominates the run time: the oracle gets the most examples, invariants fewer.
THOROUGH = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def d(offset: int) -> date:
    return BASE + timedelta(days=offset)


def key(o: Obligation) -> tuple:
    """What identifies an obligation, independent of how it stands."""
    return (o.source, o.rule_id, o.trigger_id, o.talker_id, o.talked_to_id, o.period_start)


# --- a naive oracle: day by day, straight from the definitions --------------------------------

def _active(item, day: date) -> bool:
    return item.valid_from <= day and (item.valid_to is None or day < item.valid_to)


def _pairs_on(rule: CadenceRule, memberships, oversights, day: date) -> set:
    if (rule.valid_from and day < rule.valid_from) or (rule.valid_to and day >= rule.valid_to):
        return set()
    roles = rule.talked_to_selector.roles
    today = [m for m in memberships if _active(m, day)]
    pairs = set()
    for tm in today:
        if tm.role != rule.talker_selector:
            continue
        t = tm.person_id
        scope = rule.talked_to_selector.scope
        if scope == "everyone":
            audience = today
        elif scope == "overseen_sections":
            sections = {o.section_id for o in oversights if o.deputy_id == t and _active(o, day)}
            audience = [m for m in today if m.section_id in sections]
        else:
            audience = [m for m in today if tm.section_id is not None and m.section_id == tm.section_id]
        pairs |= {(t, m.person_id) for m in audience if m.person_id != t and (roles is None or m.role in roles)}
    return pairs


def _earliest(talks, t, p, days, on, kinds, group_ok):
    found = [
        (k.date, i, k.id) for i, k in enumerate(talks)
        if t in k.talker_ids and p in k.talked_to_ids and k.date in days and k.date <= on
        and k.kind in kinds and (group_ok or not (k.collective or len(k.talked_to_ids) > 1))
    ]
    return min(found)[2] if found else None


def _standing(talk_id, on, deadline):
    if talk_id is not None:
        return DONE, 0
    if on <= deadline:
        return DUE, 0
    return OVERDUE, (on - deadline).days


def oracle(rules, trigger_rules, memberships, oversights, talks, triggers, on, since) -> Counter:
    out = Counter()

    def never(t, p):
        return not any(t in k.talker_ids and p in k.talked_to_ids and k.date <= on for k in talks)

    for rule in rules:
        for ps, pe in periods_overlapping(since, on, rule.frequency, rule.n_weeks, rule.anchor):
            days_by_pair: dict = {}
            day = ps
            while day <= pe:
                for pair in _pairs_on(rule, memberships, oversights, day):
                    days_by_pair.setdefault(pair, set()).add(day)
                day += timedelta(days=1)
            for (t, p), days in days_by_pair.items():
                start, due = min(days), max(days)
                if start > on:
                    continue
                talk_id = _earliest(talks, t, p, days, on, rule.kinds, rule.collective_allowed)
                deadline = due + timedelta(days=rule.grace_days)
                status, late = _standing(talk_id, on, deadline)
                out[("cadence", rule.id, None, t, p, ps, pe, start, due, deadline, status, talk_id, late,
                     never(t, p))] += 1

    for trig in triggers:
        if trig.date > on:
            continue
        for rule in trigger_rules:
            if rule.event != trig.event:
                continue
            due = trig.date + timedelta(days=rule.deadline_days)
            start = trig.date - timedelta(days=rule.window_before_days)
            if due < since:
                continue
            today = [m for m in memberships if _active(m, trig.date)]
            if rule.talker_selector == "head":
                talkers = [m.person_id for m in today if m.role == "head"]
            else:
                if trig.section_id is not None:
                    sections = [trig.section_id]
                else:
                    sections = [m.section_id for m in today if m.person_id == trig.person_id]
                    if not sections:
                        later = [m for m in memberships
                                 if m.person_id == trig.person_id and trig.date < m.valid_from <= due]
                        sections = [min(later, key=lambda m: m.valid_from).section_id] if later else []
                if rule.talker_selector == "deputy_in_charge":
                    talkers = [o.deputy_id for s in sections for o in oversights
                               if o.section_id == s and _active(o, trig.date)]
                else:
                    talkers = [m.person_id for m in today if m.role == "chief" and m.section_id in sections]
            for t in dict.fromkeys(talkers):
                if t == trig.person_id:
                    continue
                days = {start + timedelta(days=i) for i in range((due - start).days + 1)}
                talk_id = _earliest(talks, t, trig.person_id, days, on, rule.kinds, rule.collective_allowed)
                status, late = _standing(talk_id, on, due)
                out[("trigger", rule.id, trig.id, t, trig.person_id, start, due, start, due, due, status,
                     talk_id, late, never(t, trig.person_id))] += 1
    return out


# --- random registers, rules and talks ------------------------------------------------------

PEOPLE = [1, 2, 3, 4, 5, 6]
SECTIONS = ["A", "B", "L"]
ROLES = ["head", "deputy", "chief", "staff"]


@st.composite
def histories(draw):
    """Each person: consecutive memberships (moves, rotations, role changes) with gaps."""
    memberships = []
    for person in PEOPLE:
        starts = sorted(draw(st.sets(st.integers(0, SPAN_DAYS), min_size=1, max_size=4)))
        end = draw(st.one_of(st.none(), st.integers(starts[-1] + 1, SPAN_DAYS + 30)))
        bounds = starts[1:] + [end]
        for start, stop in zip(starts, bounds):
            if draw(st.integers(0, 5)) == 0:
                continue  # a gap: off the books (leave, secondment outside the unit)
            role = draw(st.sampled_from(ROLES))
            section = None if role == "head" and draw(st.booleans()) else draw(st.sampled_from(SECTIONS))
            memberships.append(Membership(person, section, role, d(start), None if stop is None else d(stop)))
    oversights = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, SPAN_DAYS))
        stop = draw(st.one_of(st.none(), st.integers(start + 1, SPAN_DAYS + 30)))
        oversights.append(Oversight(draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(["A", "B"])),
                                    d(start), None if stop is None else d(stop)))
    return memberships, oversights


KIND_NAMES = ["routine", "reminder", "triggered", "pre_appointment"]


@st.composite
def cadence_rules(draw):
    rules = []
    for i in range(draw(st.integers(1, 3))):
        frequency = draw(st.sampled_from(["monthly", "quarterly", "half_yearly", "yearly", "every_n_weeks"]))
        rules.append(CadenceRule(
            id=f"r{i}",
            talker_selector=draw(st.sampled_from(ROLES)),
            talked_to_selector=Audience(
                draw(st.sampled_from(["everyone", "overseen_sections", "own_sections"])),
                draw(st.one_of(st.none(), st.sets(st.sampled_from(ROLES), min_size=1).map(frozenset))),
            ),
            frequency=frequency,
            n_weeks=draw(st.integers(1, 6)) if frequency == "every_n_weeks" else None,
            kinds=frozenset(draw(st.sets(st.sampled_from(KIND_NAMES), min_size=1, max_size=3))),
            grace_days=draw(st.integers(0, 10)),
            collective_allowed=draw(st.booleans()),
            anchor=d(draw(st.integers(-20, 20))),
            valid_from=draw(st.one_of(st.none(), st.integers(0, SPAN_DAYS).map(d))),
        ))
    return rules


@st.composite
def talk_lists(draw, first_id=0, near=SPAN_DAYS, talkers=tuple(PEOPLE), kinds=tuple(KIND_NAMES)):
    # Biased towards what can satisfy: talkers holding a rule's role, the rules' kinds, and dates
    # shortly before `near` (the computation date), where the open periods are.
    talks = []
    for i in range(draw(st.integers(0, 40))):
        talked_to = draw(st.sets(st.sampled_from(PEOPLE), min_size=1, max_size=2))
        when = draw(st.one_of(st.integers(0, SPAN_DAYS + 20), st.integers(near - 45, near + 2)))
        talks.append(TalkHeld(
            first_id + i, d(when),
            draw(st.one_of(st.sampled_from(kinds), st.sampled_from(KIND_NAMES))),
            frozenset(draw(st.sets(st.sampled_from(talkers), min_size=1, max_size=2))),
            frozenset(talked_to),
            draw(st.booleans()),
        ))
    return talks


@st.composite
def trigger_lists(draw):
    triggers = []
    for i in range(draw(st.integers(0, 4))):
        triggers.append(Trigger(f"t{i}", draw(st.sampled_from(PEOPLE)),
                                draw(st.sampled_from(["appointment", "penalty", "rotation_start", "award"])),
                                d(draw(st.integers(0, SPAN_DAYS))),
                                draw(st.one_of(st.none(), st.sampled_from(["A", "B"])))))
    return triggers


@st.composite
def scenarios(draw):
    memberships, oversights = draw(histories())
    on = draw(st.integers(0, SPAN_DAYS + 20))
    rules = draw(cadence_rules())
    talkers = sorted({m.person_id for m in memberships if m.role in {r.talker_selector for r in rules}}) or PEOPLE
    kinds = sorted(set().union(*(r.kinds for r in rules)))
    since = d(min(on, draw(st.integers(-40, 60)))) if draw(st.booleans()) else None
    return dict(rules=rules, trigger_rules=list(DEFAULT_TRIGGER_RULES), memberships=memberships,
                oversights=oversights, talks=draw(talk_lists(near=on, talkers=talkers, kinds=kinds)), triggers=draw(trigger_lists()), on=d(on),
                since=since)


def run(s, **changes) -> list[Obligation]:
    args = {**s, **changes}
    return compute_obligations(args["rules"], args["trigger_rules"], args["memberships"], args["oversights"],
                               args["talks"], args["triggers"], args["on"], since=args["since"] or BASE)


# --- properties ------------------------------------------------------------------------------

@THOROUGH
@given(scenarios())
def test_agrees_with_a_naive_day_by_day_oracle(s):
    # Obligations exist only for pairs the register supports, windows are exactly the days the
    # relationship holds, and statuses follow the talks: all checked against the definitions.
    got = Counter(tuple(o) for o in run(s))
    expected = oracle(s["rules"], s["trigger_rules"], s["memberships"], s["oversights"], s["talks"],
                      s["triggers"], s["on"], s["since"] or BASE)
    assert got == expected


@settings(FAST, max_examples=50)
@given(scenarios(), st.data())
def test_adding_talks_never_worsens_any_status(s, data):
    talkers = sorted({t for k in s["talks"] for t in k.talker_ids}) or PEOPLE
    more = data.draw(talk_lists(first_id=1000, near=(s["on"] - BASE).days, talkers=talkers))
    before = {key(o): o for o in run(s)}
    after = {key(o): o for o in run(s, talks=s["talks"] + more)}
    assert before.keys() == after.keys()  # talks never create or remove obligations
    for k, o in before.items():
        assert RANK[after[k].status] >= RANK[o.status]
        assert after[k].days_overdue <= o.days_overdue
        assert after[k].never_talked <= o.never_talked


@FAST
@given(scenarios())
def test_statuses_are_consistent_with_the_date(s):
    talks = {k.id: k for k in s["talks"]}
    for o in run(s):
        assert o.period_start <= o.window_start <= o.due <= o.period_end
        assert o.window_start <= s["on"]  # nothing wholly in the future
        assert o.due <= o.deadline
        if o.status == DONE:
            talk = talks[o.satisfied_by_talk_id]
            assert o.window_start <= talk.date <= min(o.due, s["on"])
            assert o.talker_id in talk.talker_ids and o.talked_to_id in talk.talked_to_ids
            assert not o.never_talked and o.days_overdue == 0
        elif o.status == DUE:
            assert s["on"] <= o.deadline and o.satisfied_by_talk_id is None and o.days_overdue == 0
        else:
            assert o.status == OVERDUE
            assert o.days_overdue == (s["on"] - o.deadline).days > 0


@FAST
@given(scenarios())
def test_group_talks_count_only_where_the_rule_allows(s):
    as_group = [TalkHeld(k.id, k.date, k.kind, k.talker_ids, k.talked_to_ids, True) for k in s["talks"]]
    rules = {r.id: r for r in s["rules"]} | {r.id: r for r in s["trigger_rules"]}
    for o in run(s, talks=as_group):
        if o.status == DONE:
            assert rules[o.rule_id].collective_allowed
    # Allowing collective talks can only help.
    before = {key(o): o.status for o in run(s)}
    relaxed = [CadenceRule(**{**r.__dict__, "collective_allowed": True}) for r in s["rules"]]
    for o in run(s, rules=relaxed):
        assert RANK[o.status] >= RANK[before[key(o)]]


@FAST
@given(scenarios())
def test_triggered_obligations_fall_due_within_the_deadline(s):
    triggers = {t.id: t for t in s["triggers"]}
    rules = {r.id: r for r in s["trigger_rules"]}
    for o in run(s):
        if o.source != "trigger":
            continue
        trig, rule = triggers[o.trigger_id], rules[o.rule_id]
        assert trig.date <= s["on"] and rule.event == trig.event and o.talked_to_id == trig.person_id
        assert o.due == o.deadline == trig.date + timedelta(days=rule.deadline_days)
        assert o.window_start == trig.date - timedelta(days=rule.window_before_days)


@FAST
@given(
    move=st.integers(1, 300), on=st.integers(0, 330), grace=st.integers(0, 7),
    talk_days=st.lists(st.integers(0, 330), max_size=6),
)
def test_moving_someone_moves_the_obligation_on_the_move_date(move, on, grace, talk_days):
    # X moves from section A (chief 10) to section B (chief 20) on day `move`.
    memberships = [
        Membership(10, "A", "chief", d(0)), Membership(20, "B", "chief", d(0)),
        Membership("X", "A", "staff", d(0), d(move)), Membership("X", "B", "staff", d(move)),
    ]
    rule = CadenceRule("chief", "chief", Audience("own_sections"), "monthly", kinds={"routine"}, grace_days=grace)
    talks = [TalkHeld(i, d(day), "routine", {10, 20}, {"X"}) for i, day in enumerate(talk_days)]
    found = compute_obligations([rule], [], memberships, [], talks, [], d(on), since=BASE)
    old = [o for o in found if o.talked_to_id == "X" and o.talker_id == 10]
    new = [o for o in found if o.talked_to_id == "X" and o.talker_id == 20]
    assert all(o.due < d(move) for o in old)
    assert all(o.window_start >= d(move) for o in new)
    # Each month up to `on` is owed by the side(s) X belonged to in it: both in the month of a
    # mid-month move, once the new side's window has started.
    for ps, pe in periods_overlapping(BASE, d(on), "monthly"):
        sides = {o.talker_id for o in old + new if o.period_start == ps}
        expected = ({10} if ps < d(move) else set()) | ({20} if pe >= d(move) and max(ps, d(move)) <= d(on) else set())
        assert sides == expected
    # A talk counts only on the side of the move it was held.
    for o in old + new:
        if o.status == DONE:
            held = talks[o.satisfied_by_talk_id].date
            assert (held < d(move)) == (o.talker_id == 10)


def test_periods_tile_the_calendar():
    for frequency, n in [("monthly", None), ("quarterly", None), ("half_yearly", None), ("yearly", None),
                         ("every_n_weeks", 3)]:
        periods = periods_overlapping(date(2023, 12, 20), date(2025, 2, 3), frequency, n)
        for (a, b), (c, _) in zip(periods, periods[1:]):
            assert c == b + timedelta(days=1)
        for a, b in periods:
            assert period_containing(a, frequency, n) == (a, b) == period_containing(b, frequency, n)
    assert period_containing(date(2024, 8, 9), "half_yearly") == (date(2024, 7, 1), date(2024, 12, 31))
    assert period_containing(date(2000, 12, 31), "every_n_weeks", 2) == (date(2000, 12, 18), date(2000, 12, 31))


# --- the seed defaults, by example -----------------------------------------------------------

def office():
    """Head 1; deputy 2 oversees section A; chief 3 and staff 4, 5 in A; staff 6 in B (not overseen)."""
    memberships = [
        Membership(1, None, "head", date(2020, 1, 1)), Membership(2, "L", "deputy", date(2020, 1, 1)),
        Membership(3, "A", "chief", date(2020, 1, 1)), Membership(4, "A", "staff", date(2020, 1, 1)),
        Membership(5, "A", "staff", date(2020, 1, 1)), Membership(6, "B", "staff", date(2020, 1, 1)),
    ]
    return memberships, [Oversight(2, "A", date(2020, 1, 1))]


def seed(talks=(), triggers=(), on=date(2024, 5, 20), since=date(2024, 4, 1), memberships=None):
    ms, os_ = office()
    return compute_obligations(DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES, memberships or ms, os_,
                               list(talks), list(triggers), on, since=since)


def find(obligations, rule_id, talker, talked_to, period_start):
    [o] = [o for o in obligations if (o.rule_id, o.talker_id, o.talked_to_id, o.period_start)
           == (rule_id, talker, talked_to, period_start)]
    return o


def test_seed_deputy_talks_monthly_with_each_member_of_overseen_sections():
    found = seed([TalkHeld("t1", date(2024, 4, 10), "routine", {2}, {4})])
    deputy = {(o.talked_to_id, o.period_start) for o in found if o.rule_id == "deputy-monthly"}
    assert deputy == {(p, m) for p in (3, 4, 5) for m in (date(2024, 4, 1), date(2024, 5, 1))}
    april = find(found, "deputy-monthly", 2, 4, date(2024, 4, 1))
    assert (april.status, april.satisfied_by_talk_id) == (DONE, "t1")
    # April ended on the 30th; with 5 grace days it turned red on 6 May (1 day late): 15 on 20 May.
    assert find(found, "deputy-monthly", 2, 5, date(2024, 4, 1)).days_overdue == 15
    assert find(found, "deputy-monthly", 2, 4, date(2024, 5, 1)).status == DUE


def test_seed_head_talks_quarterly_with_everyone_and_a_collective_talk_counts():
    found = seed([TalkHeld("all", date(2024, 4, 2), "routine", {1}, {2, 3, 4, 5, 6}, collective=True)])
    head = [o for o in found if o.rule_id == "head-quarterly"]
    assert {o.talked_to_id for o in head} == {2, 3, 4, 5, 6}
    assert all(o.status == DONE and o.period_end == date(2024, 6, 30) for o in head)


def test_seed_chief_rule_refuses_a_collective_talk_and_a_reminder():
    found = seed([TalkHeld("meeting", date(2024, 5, 2), "routine", {3}, {4, 5}, collective=True),
                  TalkHeld("warn", date(2024, 5, 3), "reminder", {3}, {4})])
    assert find(found, "chief-monthly", 3, 4, date(2024, 5, 1)).status == DUE
    assert find(found, "chief-monthly", 3, 4, date(2024, 5, 1)).never_talked is False


def test_grace_days_delay_red_but_do_not_stretch_the_period():
    late = TalkHeld("late", date(2024, 5, 3), "routine", {3}, {4})
    for on, status in [(date(2024, 5, 5), DUE), (date(2024, 5, 6), OVERDUE)]:
        found = seed([late], on=on)
        assert find(found, "chief-monthly", 3, 4, date(2024, 4, 1)).status == status
        assert find(found, "chief-monthly", 3, 4, date(2024, 5, 1)).status == DONE


def test_talks_after_the_computation_date_do_not_count():
    future = TalkHeld("next-week", date(2024, 5, 27), "routine", {3}, {4})
    o = find(seed([future]), "chief-monthly", 3, 4, date(2024, 5, 1))
    assert (o.status, o.never_talked) == (DUE, True)
    reminder = TalkHeld("reminder", date(2024, 5, 6), "reminder", {3}, {4})  # a talk, but not a care talk
    o = find(seed([reminder, future]), "chief-monthly", 3, 4, date(2024, 5, 1))
    assert (o.status, o.never_talked) == (DUE, False)


def test_rotation_start_is_for_the_host_chief_and_return_for_the_home_chief():
    ms, _ = office()
    ms = [m for m in ms if m.person_id != 5] + [
        Membership(7, "B", "chief", date(2020, 1, 1)),
        Membership(5, "A", "staff", date(2020, 1, 1), date(2024, 4, 8)),
        Membership(5, "B", "staff", date(2024, 4, 8), date(2024, 5, 6)),  # rotation posting in B
        Membership(5, "A", "staff", date(2024, 5, 6)),
    ]
    triggers = [Trigger("go", 5, "rotation_start", date(2024, 4, 8)),
                Trigger("back", 5, "rotation_return", date(2024, 5, 6))]
    talks = [TalkHeld("host", date(2024, 4, 12), "routine", {7}, {5})]
    found = seed(talks, triggers, memberships=ms)
    start = [o for o in found if o.trigger_id == "go"]
    back = [o for o in found if o.trigger_id == "back"]
    assert [(o.talker_id, o.due, o.status) for o in start] == [(7, date(2024, 4, 14), DONE)]
    assert [(o.talker_id, o.due, o.status, o.days_overdue) for o in back] == [(3, date(2024, 5, 13), OVERDUE, 7)]
    # The chief's monthly obligation for 5 follows the posting: B's chief for April 8 - May 5.
    assert find(found, "chief-monthly", 7, 5, date(2024, 4, 1)).window_start == date(2024, 4, 8)
    assert find(found, "chief-monthly", 3, 5, date(2024, 4, 1)).due == date(2024, 4, 7)


def test_one_collective_pre_appointment_talk_covers_a_batch_of_appointees():
    triggers = [Trigger(f"appoint-{p}", p, "appointment", date(2024, 5, 10)) for p in (4, 5, 6)]
    batch = TalkHeld("batch", date(2024, 5, 8), "pre_appointment", {1}, {4, 5, 6}, collective=True)
    found = [o for o in seed([batch], triggers) if o.source == "trigger"]
    assert {(o.talked_to_id, o.status) for o in found} == {(4, DONE), (5, DONE), (6, DONE)}


def test_red_letter_order_puts_never_talked_first_then_the_most_overdue():
    talks = [TalkHeld("a", date(2024, 3, 5), "routine", {2}, {3}),
             TalkHeld("b", date(2024, 4, 25), "routine", {2}, {4})]
    mine = obligations_for_talker(2, DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES, *office(), talks, [],
                                  date(2024, 5, 20), since=date(2024, 4, 1))
    order = [(o.talked_to_id, o.period_start.month, o.status) for o in mine]
    assert order == [(5, 4, OVERDUE), (5, 5, DUE), (3, 4, OVERDUE), (3, 5, DUE), (4, 5, DUE), (4, 4, DONE)]


def test_one_leader_gets_the_same_obligations_as_the_whole_office_filtered():
    ms, os_ = office()
    talks = [TalkHeld(i, date(2024, 1, 1) + timedelta(days=3 * i), "routine", {1 + i % 3}, {3 + i % 4})
             for i in range(60)]
    whole = compute_obligations(DEFAULT_CADENCE_RULES, [], ms, os_, index_talks(talks), [], date(2024, 6, 1))
    for leader in (1, 2, 3):
        mine = obligations_for_talker(leader, DEFAULT_CADENCE_RULES, [], ms, os_, talks, [], date(2024, 6, 1))
        assert sorted(mine) == sorted(o for o in whole if o.talker_id == leader)


def test_rules_are_validated():
    with pytest.raises(ValueError):
        CadenceRule("x", "head", "everyone", "fortnightly")
    with pytest.raises(ValueError):
        CadenceRule("x", "head", "everyone", "every_n_weeks")
    with pytest.raises(ValueError):
        Audience("friends")
    with pytest.raises(ValueError):
        TriggerRule("x", "award", "best_friend")
    with pytest.raises(ValueError):
        Membership(1, "A", "staff", date(2024, 1, 2), date(2024, 1, 2))


def test_a_newcomer_is_talked_with_by_the_chief_of_the_section_joined_within_the_window():
    ms, _ = office()
    joins_soon = ms + [Membership(8, "A", "staff", date(2024, 5, 13))]
    joins_late = ms + [Membership(8, "A", "staff", date(2024, 5, 25))]
    trigger = [Trigger("new", 8, "award", date(2024, 5, 10))]  # award rule: section chief, 14 days
    assert [o.talker_id for o in seed([], trigger, memberships=joins_soon) if o.source == "trigger"] == [3]
    assert [o for o in seed([], trigger, memberships=joins_late) if o.source == "trigger"] == []


def test_a_trigger_before_the_horizon_still_counts_while_its_deadline_is_inside():
    # Penalty on 28 March, deputy has 7 days: due 4 April, after the horizon starts on 1 April.
    found = seed([], [Trigger("p", 4, "penalty", date(2024, 3, 28)), Trigger("old", 5, "penalty", date(2024, 3, 20))])
    assert [(o.trigger_id, o.talker_id, o.due, o.status) for o in found if o.source == "trigger"] == [
        ("p", 2, date(2024, 4, 4), OVERDUE)]


def test_a_talk_counts_only_on_days_the_relationship_holds_even_within_one_month():
    # 4 is lent to section B from 8 to 21 May and comes back: chief 3's May window has two spans.
    ms, _ = office()
    ms = [m for m in ms if m.person_id != 4] + [
        Membership(4, "A", "staff", date(2020, 1, 1), date(2024, 5, 8)),
        Membership(4, "B", "staff", date(2024, 5, 8), date(2024, 5, 22)),
        Membership(4, "A", "staff", date(2024, 5, 22)),
    ]
    away = TalkHeld("away", date(2024, 5, 10), "routine", {3}, {4})
    back = TalkHeld("back", date(2024, 5, 23), "routine", {3}, {4})
    may = find(seed([away, back], on=date(2024, 5, 31), memberships=ms), "chief-monthly", 3, 4, date(2024, 5, 1))
    assert (may.window_start, may.due, may.satisfied_by_talk_id) == (date(2024, 5, 1), date(2024, 5, 31), "back")
    may = find(seed([away], on=date(2024, 5, 31), memberships=ms), "chief-monthly", 3, 4, date(2024, 5, 1))
    assert may.status == DUE


_STATUS_OF_LATE = st.sampled_from([("done", 0), ("due", 0), ("overdue", 1), ("overdue", 3), ("overdue", 40)])


@settings(FAST, max_examples=200)
@given(st.lists(st.tuples(st.booleans(), _STATUS_OF_LATE, st.integers(0, 6), st.integers(0, 3)), max_size=60))
def test_red_letter_order_is_the_sort_by_its_key_and_stable(items):
    """The bucketed sort gives exactly ``sorted(key=red_letter_key)``, ties in input order."""
    base = date(2026, 1, 1)
    found = [Obligation("cadence", 1, None, 1, n, base + timedelta(days=ps), base, base, base,
                        base + timedelta(days=dl), status, None, late, never)
             for n, (never, (status, late), dl, ps) in enumerate(items)]
    assert red_letter_order(found) == sorted(found, key=red_letter_key)
    assert red_letter_order(iter(found)) == sorted(found, key=red_letter_key)
