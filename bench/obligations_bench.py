"""Benchmark: all talk obligations of a large office on one date, and one leader's.

The issue's target office: 10,000 staff in 500 sections, 50 leaders (1 head and 49 deputies, each
overseeing about 10 sections), 500 section chiefs, two years of talks (about 300,000 records),
with moves, rotation postings, an oversight reshuffle and a few thousand triggers. Targets: all
obligations for one date <= 2 s; one leader a few ms (the dashboard's p95 budget is 200 ms).

Baselines in the same run: copying and touching the talk list (the floor for anything that reads
all talks), and a naive satisfaction check (every obligation scans every talk) on a 1/100 sample.

Run:  .venv/bin/python bench/obligations_bench.py [--quick]
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.talks.cadence import (  # noqa: E402
    TalkHeld, Trigger, compute_obligations, index_talks, obligations_for_talker,
)
from service.talks.defaults import DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES  # noqa: E402
from service.talks.register import Membership, Oversight, Register  # noqa: E402

START = date(2023, 7, 1)
ON = date(2025, 6, 20)
DAYS = (ON - START).days
HEAD = 0
DEPUTIES = range(1, 50)


def build_office(n_staff=10_000, n_sections=500, seed=42):
    """Register, oversight, talks and triggers for a synthetic office."""
    rng = random.Random(seed)
    long_ago = date(2015, 1, 1)
    memberships = [Membership(HEAD, "L", "head", long_ago)]
    memberships += [Membership(d, "L", "deputy", long_ago) for d in DEPUTIES]
    chiefs = {s: 50 + s for s in range(n_sections)}
    memberships += [Membership(c, s, "chief", long_ago) for s, c in chiefs.items()]
    staff = list(range(50 + n_sections, n_staff))

    home = {}
    for i, p in enumerate(staff):
        home[p] = i % n_sections
        r = rng.random()
        if r < 0.05:  # moved once
            when = START + timedelta(days=rng.randrange(DAYS))
            to = rng.randrange(n_sections)
            memberships += [Membership(p, home[p], "staff", long_ago, when), Membership(p, to, "staff", when)]
            home[p] = to
        elif r < 0.07:  # a three-month rotation posting, then back home
            go = START + timedelta(days=rng.randrange(DAYS - 100))
            back = go + timedelta(days=91)
            host = rng.randrange(n_sections)
            memberships += [Membership(p, home[p], "staff", long_ago, go), Membership(p, host, "staff", go, back),
                            Membership(p, home[p], "staff", back)]
        else:
            memberships.append(Membership(p, home[p], "staff", long_ago))

    # Each deputy oversees ~10 sections; a reshuffle a year in swaps one section between neighbours.
    reshuffle = date(2024, 7, 1)
    oversights = []
    overseer = {s: DEPUTIES[s % len(DEPUTIES)] for s in range(n_sections)}
    for s, d in overseer.items():
        if s % 50 == 0:
            other = DEPUTIES[(s + 1) % len(DEPUTIES)]
            oversights += [Oversight(d, s, long_ago, reshuffle), Oversight(other, s, reshuffle)]
        else:
            oversights.append(Oversight(d, s, long_ago))

    members_of = {s: [] for s in range(n_sections)}
    for p, s in home.items():
        members_of[s].append(p)

    talks = []

    def talk(day, kind, talkers, talked_to, collective=False):
        talks.append(TalkHeld(len(talks), day, kind, frozenset(talkers), frozenset(talked_to), collective))

    months = []
    m = START
    while m <= ON:
        months.append(m)
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    for month in months:
        span = min(28, (ON - month).days + 1)
        for s, members in members_of.items():
            for p in members:
                if rng.random() < 0.65:
                    talk(month + timedelta(days=rng.randrange(span)), "routine", [chiefs[s]], [p])
                if rng.random() < 0.55:
                    talk(month + timedelta(days=rng.randrange(span)), "routine", [overseer[s]], [p])
                if rng.random() < 0.01:
                    talk(month + timedelta(days=rng.randrange(span)), rng.choice(["reminder", "political_birthday"]),
                         [chiefs[s]], [p])
            talk(month + timedelta(days=rng.randrange(span)), "integrity", [chiefs[s]], members, collective=True)
            if month.month in (1, 4, 7, 10):  # the head's quarterly talk with each section, collective
                talk(month + timedelta(days=rng.randrange(span)), "routine", [HEAD], members + [chiefs[s]],
                     collective=True)
    for d in DEPUTIES:  # the head with each deputy, one to one, most quarters
        for month in months[::3]:
            if rng.random() < 0.8:
                talk(month + timedelta(days=rng.randrange(60)), "routine", [HEAD], [d])

    triggers = []
    events = ["award", "penalty", "hospitalisation", "family_hardship", "post_change", "appointment"]
    for i in range(3_000):
        triggers.append(Trigger(f"e{i}", rng.choice(staff), rng.choice(events),
                                START + timedelta(days=rng.randrange(DAYS))))
    return memberships, oversights, talks, triggers


def timed(fn, repeat):
    """Median and best wall time over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def naive_check(obligations, talks, rules):
    """The O(obligations x talks) way: for each obligation scan every talk."""
    by_id = {r.id: r for r in rules}
    done = 0
    for o in obligations:
        rule = by_id[o.rule_id]
        for k in talks:
            if (o.talker_id in k.talker_ids and o.talked_to_id in k.talked_to_ids
                    and o.window_start <= k.date <= o.due and k.date <= ON and k.kind in rule.kinds
                    and (rule.collective_allowed or not k.is_group)):
                done += 1
                break
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repeat per measurement")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3

    t0 = time.perf_counter()
    memberships, oversights, talks, triggers = build_office()
    print(f"office built in {time.perf_counter() - t0:.1f} s: {len(memberships):,} memberships, "
          f"{len(oversights):,} oversights, {len(talks):,} talks, {len(triggers):,} triggers; on {ON}")

    rules, trigger_rules = DEFAULT_CADENCE_RULES, DEFAULT_TRIGGER_RULES

    def touch():
        copy = list(talks)
        return sum(k.date.toordinal() for k in copy)

    med, best, _ = timed(touch, repeat)
    print(f"baseline  copy + touch every talk          {med * 1e3:8.1f} ms (best {best * 1e3:.1f})")

    med, best, index = timed(lambda: index_talks(talks), repeat)
    print(f"          index_talks                      {med * 1e3:8.1f} ms (best {best * 1e3:.1f})")

    def cold():
        return compute_obligations(rules, trigger_rules, memberships, oversights, talks, triggers, ON)

    med, best, everything = timed(cold, repeat)
    statuses = Counter(o.status for o in everything)
    print(f"all       compute_obligations (cold)       {med * 1e3:8.1f} ms (best {best * 1e3:.1f})  "
          f"target <= 2000 ms; {len(everything):,} obligations {dict(statuses)}")

    def warm():
        return compute_obligations(rules, trigger_rules, memberships, oversights, index, triggers, ON)

    med, best, again = timed(warm, repeat)
    assert sorted(again) == sorted(everything)
    print(f"          compute_obligations (indexed)    {med * 1e3:8.1f} ms (best {best * 1e3:.1f})")

    register = Register(memberships, oversights)
    for label, leader in [("head", HEAD), ("deputy", 7), ("chief", 60)]:
        med, best, mine = timed(lambda: obligations_for_talker(
            leader, rules, trigger_rules, register, (), index, triggers, ON), max(repeat, 5))
        med2, _, _ = timed(lambda: obligations_for_talker(
            leader, rules, trigger_rules, memberships, oversights, index, triggers, ON), max(repeat, 5))
        print(f"leader    {label:<7} (indexed)               {med * 1e3:8.1f} ms (best {best * 1e3:.1f}; "
              f"{med2 * 1e3:.1f} building the register)  {len(mine):,} obligations")
    med, best, mine = timed(lambda: obligations_for_talker(
        7, rules, trigger_rules, memberships, oversights, talks, triggers, ON), repeat)
    print(f"          deputy  (cold: scans all talks)  {med * 1e3:8.1f} ms (best {best * 1e3:.1f})")

    # Naive baseline on a 1/100 sample: 5 sections (~100 people), their leaders and their talks.
    sample_sections = set(range(5))
    people = {m.person_id for m in memberships if m.section_id in sample_sections} | {HEAD} | set(DEPUTIES)
    s_members = [m for m in memberships if m.person_id in people and (m.section_id in sample_sections
                                                                       or m.section_id == "L")]
    s_talks = [k for k in talks if k.talked_to_ids & people and k.talker_ids & people]
    s_oversights = [o for o in oversights if o.section_id in sample_sections]
    med, _, sample = timed(lambda: compute_obligations(rules, [], s_members, s_oversights, s_talks, [], ON), repeat)
    print(f"sample    1/100: {len(s_members)} memberships, {len(s_talks):,} talks, {len(sample):,} obligations")
    print(f"          compute_obligations              {med * 1e3:8.1f} ms")
    t0 = time.perf_counter()
    naive_done = naive_check(sample, s_talks, rules)
    naive = time.perf_counter() - t0
    assert naive_done == sum(o.status == "done" for o in sample)
    print(f"          naive satisfaction check alone   {naive * 1e3:8.1f} ms "
          f"(x{naive / med:.0f}; grows with obligations x talks, ~10^4 times this at full size)")

    tracemalloc.start()
    cold()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory    peak allocated during compute    {peak / 2**20:8.1f} MiB (tracemalloc); "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
