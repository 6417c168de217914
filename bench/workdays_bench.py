"""Working-day range counts: cached prefix sums vs a naive day-by-day loop, in one run.

    .venv/bin/python bench/workdays_bench.py [--n 1000000] [--naive-n 200] [--seed 1]

Both sides count the same random inclusive ranges drawn from 2004-2030 (years after the
published calendar are weekends-only, as in the service). The naive loop asks chinese_calendar
about each day, as a straightforward implementation would; it is too slow for a million
ranges, so it runs on the first ``--naive-n`` ranges and its total is extrapolated.
Every naive answer is checked against the cached one.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import chinese_calendar  # noqa: E402

from service.workdays import count_working_days, is_provisional_year  # noqa: E402

LOW, HIGH = date(2004, 1, 1).toordinal(), date(2030, 12, 31).toordinal()


def naive_count(start: date, end: date) -> int:
    """Day-by-day count, the baseline."""
    n = 0
    d = start
    while d <= end:
        if is_provisional_year(d.year):
            n += d.weekday() < 5
        else:
            n += chinese_calendar.is_workday(d)
        d += timedelta(days=1)
    return n


def ranges(count: int, seed: int) -> list[tuple[date, date]]:
    """Random ranges: half short (up to 30 days, like a leave), half anywhere in 2004-2030."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        a = rnd.randint(LOW, HIGH)
        b = min(HIGH, a + rnd.randint(0, 29)) if i % 2 == 0 else rnd.randint(LOW, HIGH)
        a, b = min(a, b), max(a, b)
        out.append((date.fromordinal(a), date.fromordinal(b)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--naive-n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = ranges(args.n, args.seed)
    mean_days = sum((b - a).days + 1 for a, b in work) / len(work)

    t0 = time.perf_counter()
    count_working_days(date(2004, 1, 1), date(2030, 12, 31))  # builds the 27 year tables
    warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    cached = [count_working_days(a, b).days for a, b in work]
    t_cached = time.perf_counter() - t0

    sample = work[: args.naive_n]
    t0 = time.perf_counter()
    naive = [naive_count(a, b) for a, b in sample]
    t_naive = time.perf_counter() - t0
    assert naive == cached[: len(sample)], "naive and cached counts differ"

    per_cached = t_cached / len(work)
    per_naive = t_naive / len(sample)
    print(f"ranges: {len(work):,} (mean {mean_days:.0f} days), seed {args.seed}")
    print(f"year tables built once: {warm * 1e3:.1f} ms")
    print(f"cached prefix sums: {t_cached:.2f} s total, {per_cached * 1e6:.2f} us per range")
    print(
        f"naive day-by-day:   {t_naive:.2f} s for {len(sample):,} ranges, "
        f"{per_naive * 1e6:.0f} us per range, ~{per_naive * len(work):.0f} s for {len(work):,}"
    )
    print(f"speed-up: ~{per_naive / per_cached:,.0f}x (answers agree on the sample)")


if __name__ == "__main__":
    main()
