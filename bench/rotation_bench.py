"""Benchmark of the rotation solver: time, memory, objective, lower bound and gap.

    .venv/bin/python bench/rotation_bench.py            # full run (about a minute)
    .venv/bin/python bench/rotation_bench.py --quick    # smaller sizes, no CP-SAT

Rows:
* the large office (500 sections / 10,000 staff / 12 months) - baseline (month-by-month
  assignment only) and the full solver (with re-solves), both against the lower bound computed in
  the same run, and against the earlier, weaker bound (``lower_bound(inp, chains=False)``) on the
  same input; time (wall and CPU) without tracing, memory as tracemalloc peak in a second run
  and as the growth of the process's peak RSS; the load average is printed, since the machine
  is shared;
* a 20-section office (the usual size) - time per solve;
* small offices where OR-Tools CP-SAT proves the optimum of the same model (bench extra:
  ``ortools``): heuristic vs optimum vs bound.

Offices are synthetic but shaped like real ones: uneven sections with leaders outside the
candidate pool, a minimum base staff of about 60 %, some staff on leave each month, new joiners,
exempt staff, long-tenure staff, two years of earlier rotation (counts, visited hosts, sender->
host history), a few avoidance pairs and encouraged exchange pairs.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.rotation import (  # noqa: E402
    Candidate, PlanInput, PlanRules, Section, lower_bound, plan_cost, solve, violations,
)
from service.rotation.rules import local_limits, month_ordinal, sends_of, valid_pins  # noqa: E402


def make_office(n_sections: int, n_staff: int, seed: int = 1, year: int = 2025, n_months: int = 12,
                host_cap: int = 1, sends: int = 1) -> PlanInput:
    """A synthetic office, reproducible from its seed."""
    rng = random.Random(seed)
    sids = [f"S{i:03d}" for i in range(n_sections)]
    sizes = [1] * n_sections
    for _ in range(n_staff - n_sections):
        sizes[rng.randrange(n_sections)] += 1
    months = tuple((year, m) for m in range(1, n_months + 1))
    sections, candidates, history = [], [], {}
    for i, sid in enumerate(sids):
        leaders = rng.choice((1, 1, 2))
        headcount = sizes[i] + leaders
        absent = {m: 1 for m in months if rng.random() < 0.05}
        sections.append(Section(sid, min_base_staff=max(1, round(0.6 * headcount)), headcount=headcount,
                                absent=absent))
        for k in range(sizes[i]):
            pid = f"{sid}-{k:02d}"
            new = rng.random() < 0.03
            joined = (date(year - 1, rng.randint(8, 12), rng.randint(1, 28)) if new
                      else date(rng.randint(year - 30, year - 2), rng.randint(1, 12), rng.randint(1, 28)))
            long_post = rng.random() < 0.08
            post_year = rng.randint(max(joined.year, year - 25), year - 10) if long_post and joined.year <= year - 10 \
                else rng.randint(max(joined.year, year - 9), year - 1)
            post_since = max(joined, date(post_year, rng.randint(1, 12), rng.randint(1, 28)))
            count = 0 if new else rng.choice((0, 1, 1, 1, 2))
            last = None
            visited = set()
            if count:
                back = rng.randint(1, 24)
                o = month_ordinal((year, 1)) - back
                last = (o // 12, o % 12 + 1)
                while len(visited) < count:
                    h = rng.choice(sids)
                    if h != sid:
                        visited.add(h)
                for h in visited:
                    history[(sid, h)] = history.get((sid, h), 0) + 1
            leave = frozenset(m for m in months if rng.random() < 0.04)
            avoid = frozenset(rng.sample(sids, 2)) - {sid} if rng.random() < 0.03 else frozenset()
            candidates.append(Candidate(pid, sid, joined, post_since, exempt=rng.random() < 0.02,
                                        rotation_count=count, last_rotation_month=last,
                                        hosts_visited=frozenset(visited), unavailable_months=leave,
                                        avoid_hosts=avoid))
    shuffled = sids[:]
    rng.shuffle(shuffled)
    pairs = tuple((shuffled[2 * i], shuffled[2 * i + 1]) for i in range(n_sections // 20))
    rules = PlanRules(sends_per_month=sends, host_cap_per_month=host_cap, encouraged_pairs=pairs)
    return PlanInput(tuple(sections), tuple(candidates), months, rules, history)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(inp: PlanInput, **kw) -> dict:
    """Solve twice: once timed (no tracing), once under tracemalloc for the peak."""
    gc.collect()
    rss0 = _rss_mb()
    c0 = time.process_time()
    t0 = time.perf_counter()
    plan = solve(inp, **kw)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    rss_growth = _rss_mb() - rss0
    gc.collect()
    tracemalloc.start()
    solve(inp, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"plan": plan, "seconds": seconds, "cpu": cpu, "peak_mb": peak / 2**20, "rss_growth_mb": rss_growth}


def check_lawful(inp: PlanInput, plan) -> None:
    broken = violations(inp, plan.postings)
    assert not broken, broken[:5]
    cost = plan_cost(inp, plan.postings)
    assert abs(cost - plan.objective) < 1e-6 * max(1.0, cost), (cost, plan.objective)


def _row(name, seconds, peak, rss, objective, bound, gap, note=""):
    g = "-" if gap is None else f"{100 * gap:.2f} %"
    return (f"{name:<38} {seconds:>8.3f} {peak:>9.1f} {rss:>8.1f} {objective:>12.2f} "
            f"{bound:>12.2f} {g:>9}  {note}")


def large(n_sections, n_staff, seeds, host_cap=1) -> list:
    lines = []
    for seed in seeds:
        inp = make_office(n_sections, n_staff, seed=seed, host_cap=host_cap)
        base = measure(inp, improve=False)
        full = measure(inp)
        t0 = time.perf_counter()
        plain = lower_bound(inp, chains=False)  # the earlier bound, same input, same run
        plain_seconds = time.perf_counter() - t0
        for label, r in (("baseline (per-month LSA)", base), ("solver (LSA + re-solves)", full)):
            plan = r["plan"]
            check_lawful(inp, plan)
            note = (f"cpu={r['cpu']:.3f}s bound-s={plan.stats.get('bound_seconds', 0):.3f} "
                    f"passes={plan.stats['passes']} status={plan.status} | earlier bound {plain:.2f} "
                    f"({plain_seconds:.2f}s): gap {100 * (plan.objective - plain) / plain:.2f} %")
            lines.append(_row(f"{n_sections}x{n_staff} K={host_cap} s{seed} {label}", r["seconds"],
                              r["peak_mb"], r["rss_growth_mb"], plan.objective, plan.lower_bound,
                              plan.gap, note))
    return lines


def small_office(seeds) -> list:
    lines = []
    for seed in seeds:
        inp = make_office(20, 300, seed=seed)
        solve(inp)  # warm-up
        times, cpus = [], []
        for _ in range(5):
            c0 = time.process_time()
            t0 = time.perf_counter()
            plan = solve(inp)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        check_lawful(inp, plan)
        plain = lower_bound(inp, chains=False)
        lines.append(_row(f"20x300 s{seed} solver (median of 5)", sorted(times)[2], 0, 0,
                          plan.objective, plan.lower_bound, plan.gap,
                          f"cpu={sorted(cpus)[2]:.3f}s status={plan.status} | earlier bound {plain:.2f}: gap "
                          f"{100 * (plan.objective - plain) / plain:.2f} %"))
    return lines


# --- CP-SAT: the same model, solved to proven optimality on small offices ---------------------

def cpsat_optimum(inp: PlanInput, time_limit: float = 60.0):
    """Minimum of the exact model with OR-Tools CP-SAT: (objective, proven, seconds, postings)."""
    from ortools.sat.python import cp_model

    from service.rotation.model import Posting
    from service.rotation.rules import eligibility, host_refusal, is_long_tenure, partners

    rules = inp.rules
    w = rules.weights
    scale = 100 * max(1, rules.recent_months)  # makes the default weights' costs integers
    people = list(inp.candidates)
    months = list(inp.months)
    sids = [s.id for s in inp.sections]
    pins = valid_pins(inp)[0]
    limits = local_limits(inp)
    mates = partners(inp)
    model = cp_model.CpModel()
    x = {}
    for c in people:
        for t, mo in enumerate(months):
            if eligibility(inp, c, mo, c.hosts_visited, pins):
                continue
            for h in sids:
                if host_refusal(inp, c, mo, h, c.hosts_visited) is None:
                    x[(c.person_id, t, h)] = model.NewBoolVar("")
    for pin in pins:
        t = months.index(pin.month)
        model.Add(x[(pin.person_id, t, pin.host_id)] == 1)
    y = {(c.person_id, t): model.NewBoolVar("") for c in people for t in range(len(months))}
    for (pid, t), var in y.items():
        model.Add(sum(v for (p, u, _), v in x.items() if p == pid and u == t) == var)
    for c in people:
        for h in sids:
            model.Add(sum(v for (p, _, hh), v in x.items() if p == c.person_id and hh == h) <= 1)
    objective = []
    for t, mo in enumerate(months):
        for h in sids:
            model.Add(sum(v for (_, u, hh), v in x.items() if u == t and hh == h) <= rules.host_cap_per_month)
        for s in inp.sections:
            sent = sum(y[(c.person_id, t)] for c in people if c.section_id == s.id)
            limit = limits[(s.id, mo)][0]
            room = sum(1 for c in people if c.section_id == s.id)
            model.Add(sent <= min(sends_of(inp, s.id), room))
            headcount = s.headcount if s.headcount is not None else room
            present = headcount - s.absent.get(mo, 0) - sum(mo in c.unavailable_months for c in people
                                                             if c.section_id == s.id)
            model.Add(sent <= max(0, present - s.min_base_staff))  # a section already below its base sends nobody
            short = model.NewIntVar(0, max(limit, 0), "")
            model.Add(short >= limit - sent)
            objective.append(round(w.shortfall * scale) * short)
    # Fairness with exact eligibility (hosts visited inside the plan close hosts).
    count = {}
    for c in people:
        for t in range(len(months)):
            count[(c.person_id, t)] = c.rotation_count + sum(y[(c.person_id, u)] for u in range(t))
    elig = {}
    for c in people:
        for t, mo in enumerate(months):
            if eligibility(inp, c, mo, c.hosts_visited, pins):
                elig[(c.person_id, t)] = None
                continue
            e = model.NewBoolVar("")
            opens = [h for h in sids if host_refusal(inp, c, mo, h, c.hosts_visited) is None]
            used = []
            for h in opens:
                v = model.NewBoolVar("")
                before = [x[(c.person_id, u, h)] for u in range(t) if (c.person_id, u, h) in x]
                model.Add(sum(before) == v) if before else model.Add(v == 0)
                used.append(v)
            model.AddBoolOr([u.Not() for u in used]).OnlyEnforceIf(e)
            for u in used:
                model.AddImplication(e.Not(), u)
            elig[(c.person_id, t)] = e
    out_before = {}

    def lt_term(c, t, mo):
        """1, or 0 for long tenure not yet out in this plan before month t."""
        if not is_long_tenure(inp, c, mo):
            return 1
        if t == 0:
            return 0
        if (c.person_id, t) not in out_before:
            b = model.NewBoolVar("")
            model.AddMaxEquality(b, [y[(c.person_id, u)] for u in range(t)])
            out_before[(c.person_id, t)] = b
        return out_before[(c.person_id, t)]

    for t, mo in enumerate(months):
        for s in inp.sections:
            mem = [c for c in people if c.section_id == s.id]
            for p in mem:
                kp = 2 * count[(p.person_id, t)] + lt_term(p, t, mo)
                for q in mem:
                    if q is p or elig[(q.person_id, t)] is None:
                        continue
                    kq = 2 * count[(q.person_id, t)] + lt_term(q, t, mo)
                    model.Add(kq >= kp).OnlyEnforceIf([y[(p.person_id, t)], y[(q.person_id, t)].Not(),
                                                       elig[(q.person_id, t)]])
    # Recency with the last rotation inside the plan when there is one.
    horizon = max(1, rules.recent_months)

    def rec(waited):
        return round(w.recent * max(0, horizon - waited) / horizon * scale)

    for c in people:
        last0 = c.last_rotation_month or (c.joined_on.year, c.joined_on.month)
        for t, mo in enumerate(months):
            base = rec(month_ordinal(mo) - month_ordinal(last0))
            objective.append(base * y[(c.person_id, t)])
            for u in range(t):
                z = model.NewBoolVar("")
                between = [y[(c.person_id, v)] for v in range(u + 1, t)]
                model.AddBoolAnd([y[(c.person_id, u)], y[(c.person_id, t)]] + [b.Not() for b in between]).OnlyEnforceIf(z)
                model.AddBoolOr([y[(c.person_id, u)].Not(), y[(c.person_id, t)].Not()] + between).OnlyEnforceIf(z.Not())
                objective.append((rec(month_ordinal(mo) - month_ordinal(months[u])) - base) * z)
    # Pairing and convex spread.
    for s in sids:
        for h in sids:
            vs = [v for (p, _, hh), v in x.items() if hh == h and _section_of(inp, p) == s]
            if not vs:
                continue
            if mates.get(s) and h not in mates[s]:
                objective.append(round(w.pair * scale) * sum(vs))
            n = model.NewIntVar(0, len(vs), "")
            model.Add(n == sum(vs))
            h0 = inp.history_pairs.get((s, h), 0)
            table = [round(w.spread * scale * (k * h0 + k * (k - 1) / 2)) for k in range(len(vs) + 1)]
            cost = model.NewIntVar(0, max(table), "")
            model.AddElement(n, table, cost)
            objective.append(cost)
    model.Minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    t0 = time.perf_counter()
    status = solver.Solve(model)
    seconds = time.perf_counter() - t0
    postings = [Posting(p, _section_of(inp, p), h, months[t]) for (p, t, h), v in x.items()
                if solver.Value(v)]
    return plan_cost(inp, postings), status == cp_model.OPTIMAL, seconds, postings


_SECTION_CACHE: dict = {}


def _section_of(inp, person_id):
    if _SECTION_CACHE.get("inp") is not inp:
        _SECTION_CACHE.clear()
        _SECTION_CACHE.update(inp=inp, map={c.person_id: c.section_id for c in inp.candidates})
    return _SECTION_CACHE["map"][person_id]


def cpsat_rows(cases) -> list:
    lines = []
    try:
        import ortools.sat.python.cp_model  # noqa: F401
    except ImportError:
        return ["(CP-SAT comparison skipped: pip install ortools)"]
    for n_sections, n_staff, n_months, seed in cases:
        inp = make_office(n_sections, n_staff, seed=seed, n_months=n_months)
        t0 = time.perf_counter()
        plan = solve(inp)
        seconds = time.perf_counter() - t0
        check_lawful(inp, plan)
        opt, proven, cp_seconds, cp_postings = cpsat_optimum(inp)
        assert not violations(inp, cp_postings)
        assert plan.lower_bound <= opt + 1e-6 <= plan.objective + 2e-6 or not proven, (plan.lower_bound, opt, plan.objective)
        excess = (plan.objective - opt) / opt if opt > 0 else 0.0
        lines.append(_row(f"{n_sections}x{n_staff}x{n_months}m s{seed} solver", seconds, 0, 0, plan.objective,
                          plan.lower_bound, plan.gap,
                          f"CP-SAT {'optimum' if proven else 'best (not proven)'} {opt:.2f} in "
                          f"{cp_seconds:.1f}s; solver {100 * excess:.2f} % above it"))
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, no CP-SAT")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    print(f"python {sys.version.split()[0]}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':<38} {'seconds':>8} {'peak MB':>9} {'RSS+MB':>8} {'objective':>12} {'bound':>12} {'gap':>9}")
    if args.quick:
        for line in large(100, 2000, seeds):
            print(line, flush=True)
    else:
        for line in large(500, 10_000, seeds):
            print(line, flush=True)
        for line in large(500, 10_000, [1], host_cap=2):
            print(line, flush=True)
    for line in small_office(seeds):
        print(line, flush=True)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if not args.quick:
        cases = [(4, 12, 4, 1), (4, 12, 4, 2), (5, 15, 4, 3), (6, 18, 3, 4), (6, 24, 4, 5)]
        for line in cpsat_rows(cases):
            print(line, flush=True)


if __name__ == "__main__":
    main()
