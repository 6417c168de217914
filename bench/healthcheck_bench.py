"""Benchmark of the health-check slot assignment at the size of a large office.

10,000 people in 500 sections, 60 clinic days with AM/PM capacities summing to about
1.1 x the people, random leave blocks and days, date windows and preferred half-days,
a section share of 30 %. Measures the min-cost-flow solve (first run and a rerun
after changes) against a greedy first-fit baseline measured in the same run.

    .venv/bin/python bench/healthcheck_bench.py [--people 10000] [--seed 2025]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.care.healthcheck_slots import (  # noqa: E402
    AM,
    PM,
    Candidate,
    ClinicDay,
    Slot,
    assign_slots,
    section_day_cap,
)

SHARE = "0.3"


def working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def make_instance(n_people: int, n_sections: int, n_days: int, seed: int):
    rng = random.Random(seed)
    dates = working_days(date(2025, 3, 3), n_days)
    per_day = round(1.1 * n_people / n_days)
    clinic_days = []
    for d in dates:
        am = rng.randint(int(per_day * 0.5), int(per_day * 0.6))
        clinic_days.append(ClinicDay(d, {AM: am, PM: per_day - am}))
    people = []
    for i in range(n_people):
        unavailable = set(rng.sample(dates, rng.randint(0, 3)))
        if rng.random() < 0.3:  # a block of annual leave or a business trip
            first = rng.randrange(n_days)
            unavailable.update(dates[first : first + rng.randint(3, 10)])
        window = None
        if rng.random() < 0.05:  # pregnant, out of town part of the campaign
            first = rng.randrange(n_days - 10)
            window = (dates[first], dates[min(n_days - 1, first + rng.randint(10, 20))])
        people.append(
            Candidate(
                person_id=i,
                section_id=rng.randrange(n_sections),
                unavailable=frozenset(unavailable),
                window=window,
                preferred_half=rng.choice([None, None, None, None, AM, PM]),
            )
        )
    return clinic_days, people


def greedy_first_fit(clinic_days, people, share):
    """Baseline: each person in turn takes the earliest free slot they may have."""
    headcount = Counter(p.section_id for p in people)
    caps = {s: section_day_cap(n, share) for s, n in headcount.items()}
    left = {(c.day, h): n for c in clinic_days for h, n in c.capacity.items()}
    section_day = Counter()
    assignment = {}
    for p in people:
        for c in clinic_days:
            if c.day in p.unavailable or (p.window and not p.window[0] <= c.day <= p.window[1]):
                continue
            if section_day[(p.section_id, c.day)] >= caps[p.section_id]:
                continue
            halves = [p.preferred_half] if p.preferred_half else []
            halves += [h for h in (AM, PM) if h not in halves]
            half = next((h for h in halves if left.get((c.day, h), 0) > 0), None)
            if half is None:
                continue
            left[(c.day, half)] -= 1
            section_day[(p.section_id, c.day)] += 1
            assignment[p.person_id] = Slot(c.day, half)
            break
    return assignment


def timed(fn, *args, **kwargs):
    """Result, wall seconds and CPU seconds (the CPU figure is steadier on a busy machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start, time.process_time() - cpu)


def peak_python_memory(fn, *args, **kwargs) -> int:
    """Peak bytes allocated by Python code (OR-Tools' C++ heap is not traced)."""
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--sections", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    clinic_days, people = make_instance(args.people, args.sections, args.days, args.seed)
    capacity = sum(sum(c.capacity.values()) for c in clinic_days)
    print(
        f"instance: {len(people)} people, {args.sections} sections, {len(clinic_days)} clinic days, "
        f"{capacity} places ({capacity / len(people):.2f} x people), section share {SHARE}"
    )

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plan, seconds = timed(assign_slots, clinic_days, people, section_share=SHARE)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"min-cost flow: {seconds[0]:.3f} s wall, {seconds[1]:.3f} s CPU, "
        f"status {plan.status}, objective {tuple(plan.objective)}"
    )
    print(f"  {plan.objective._asdict()}")
    print(f"  unplaced: {dict(Counter(plan.unplaced.values()))}")

    baseline, greedy_seconds = timed(greedy_first_fit, clinic_days, people, SHARE)
    rank = {c.day: r for r, c in enumerate(clinic_days)}
    greedy_rank = sum(rank[s.day] for s in baseline.values())
    greedy_misses = sum(
        1 for p in people if p.person_id in baseline and p.preferred_half not in (None, baseline[p.person_id].half)
    )
    print(
        f"greedy first-fit baseline: {greedy_seconds[0]:.3f} s wall, {greedy_seconds[1]:.3f} s CPU, placed {len(baseline)}, "
        f"date_rank {greedy_rank}, half_mismatches {greedy_misses}"
    )

    # Rerun after changes: 100 people get leave on their booked date, 50 newcomers.
    rng = random.Random(args.seed + 1)
    victims = set(rng.sample(sorted(plan.assignment), 100))
    changed = []
    for p in people:
        previous = plan.assignment.get(p.person_id)
        p = replace(p, previous=previous)
        if p.person_id in victims:
            p = replace(p, unavailable=p.unavailable | {previous.day})
        changed.append(p)
    _, newcomers = make_instance(50, args.sections, args.days, args.seed + 2)
    changed += [replace(p, person_id=f"new{p.person_id}") for p in newcomers]
    replan, rerun_seconds = timed(assign_slots, clinic_days, changed, section_share=SHARE)
    print(
        f"rerun (100 new leaves on booked dates, 50 newcomers): {rerun_seconds[0]:.3f} s wall, "
        f"{rerun_seconds[1]:.3f} s CPU, status {replan.status}, "
        f"moved {len(replan.moved)} (of whom {len(replan.moved & victims)} with new leave), "
        f"objective {tuple(replan.objective)}"
    )

    peak = peak_python_memory(assign_slots, clinic_days, people, section_share=SHARE)
    print(
        f"memory: Python peak during solve {peak / 2**20:.1f} MiB (tracemalloc); "
        f"process max RSS {rss_after / 1024:.0f} MiB (was {rss_before / 1024:.0f} MiB before the first solve)"
    )


if __name__ == "__main__":
    main()
