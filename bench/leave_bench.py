"""Leave balances of 10,000 staff over five years of ledger, with the service's real query, on
SQLite and PostgreSQL; baselines measured in the same run.

    .venv/bin/python bench/leave_bench.py [--people 10000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/tc_leave]

The ledger is what an office accumulates in five years (2021-2025): each January an allocation
(5, 10 or 15 days by years of work), three to five takings of half a day to five days, a
cancellation now and then, carry-over out of the old year and into the new one (at most five days),
the rest lapsing, and an occasional HR adjustment - about 11 rows per person and year.

Measured (best of 5 runs, after one warm-up):
* ``query``: ``service.leave.ledger.balances(2025, 2025-12-31)``, one GROUP BY over the ledger
  using the covering index (account, year, person_id, effective_on, days) - what the API and the
  reminder job call.
* ``query, all years``: the same sum without the year filter (the compensatory account's shape).
* ``python sum``: the same rows fetched and summed in Python (baseline 1).
* ``per-person loop``: one SELECT per person and the pure core's ``balance()`` (baseline 2, the
  naive ORM way); timed on 1,000 people and extrapolated.
Every method's answers are checked equal. PostgreSQL uses its own schema ``leave_bench`` in the
given database and drops it at the end; SQLite a temporary file.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

YEARS = range(2021, 2026)
AS_OF = date(2025, 12, 31)


def make_rows(people: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for pid in range(1, people + 1):
        tier = rng.choice((5, 10, 10, 15))
        carried_in = Decimal(0)
        for year in YEARS:
            def add(kind, days, on, reason):
                rows.append(dict(person_id=pid, account="annual", year=year, kind=kind, days=Decimal(days),
                                 effective_on=on, reason=reason, dedupe_key=None))
            add("allocation", tier, date(year, 1, 1), f"Annual leave for {year}: {tier} days.")
            if carried_in:
                add("carry_in", carried_in, date(year, 1, 1), f"carried over from {year - 1}")
            left = Decimal(tier) + carried_in
            for _ in range(rng.randint(3, 5)):
                days = Decimal(rng.choice((1, 1, 2, 3, 5))) - (Decimal("0.5") if rng.random() < .2 else 0)
                days = min(days, left)
                if days <= 0:
                    break
                on = date(year, 1, 1) + timedelta(days=rng.randint(20, 350))
                add("taken", -days, on, f"Annual leave {on}, request")
                left -= days
                if rng.random() < .08:
                    add("cancelled", days, on, "cancelled leave")
                    left += days
            if rng.random() < .05:
                add("adjustment", Decimal(1), date(year, 6, 30), "correction by HR")
                left += 1
            carried_in = Decimal(0)
            if left > 0 and year < max(YEARS):
                carried_in = min(left, Decimal(5))
                add("carry_out", -carried_in, date(year + 1, 1, 1), f"carried into {year + 1}")
                if left > carried_in:
                    add("lapse", -(left - carried_in), date(year + 1, 1, 1), "unused days")
    return rows


def timed(fn, repeat: int = 5):
    fn()  # warm-up: caches, plans
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(url: str, people: int, label: str) -> dict:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import func, insert, select

    from service import create_app
    from service.extensions import db
    from service.leave import entitlement as core
    from service.leave.ledger import as_core, balances
    from service.leave.models import LedgerEntryRow
    from service.people.models import Person

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        t0 = time.perf_counter()
        db.session.execute(insert(Person), [dict(employee_no=f"E{i:05d}", name=f"员工{i}", role="staff")
                                            for i in range(1, people + 1)])
        rows = make_rows(people)
        for i in range(0, len(rows), 20000):
            db.session.execute(insert(LedgerEntryRow), rows[i:i + 20000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        else:
            db.session.execute(db.text("ANALYZE"))
        load = time.perf_counter() - t0
        count = db.session.scalar(select(func.count()).select_from(LedgerEntryRow))

        t_query, by_db = timed(lambda: balances(2025, AS_OF))
        t_all, by_db_all = timed(lambda: balances(None, AS_OF))

        def python_sum():
            out: dict[int, Decimal] = {}
            for pid, days in db.session.execute(select(LedgerEntryRow.person_id, LedgerEntryRow.days).where(
                    LedgerEntryRow.account == "annual", LedgerEntryRow.year == 2025,
                    LedgerEntryRow.effective_on <= AS_OF)):
                out[pid] = out.get(pid, Decimal(0)) + Decimal(days)
            return out

        t_py, by_py = timed(python_sum)
        sample = min(people, 1000)

        def per_person():
            out = {}
            for pid in range(1, sample + 1):
                entries = [as_core(r) for r in db.session.scalars(select(LedgerEntryRow).where(
                    LedgerEntryRow.person_id == pid, LedgerEntryRow.account == "annual"))]
                out[pid] = core.balance(entries, AS_OF, 2025)
                db.session.expunge_all()
            return out

        t_loop, by_loop = timed(per_person, repeat=2)
        assert by_db == by_py, "database and Python sums differ"
        assert all(by_loop[p] == by_db.get(p, 0) for p in by_loop), "per-person loop differs"
        assert len(by_db) == people and len(by_db_all) == people
        db.session.remove()  # end the session's transaction before DROP waits on its locks
        db.drop_all()
        db.engine.dispose()
    return {"label": label, "rows": count, "load": load, "query": t_query, "query_all": t_all,
            "python": t_py, "loop": t_loop * people / sample, "sample": sample}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--pg", default=os.environ.get("LEAVE_BENCH_PG",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/tc_leave"))
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TALKCARE_INSTANCE", tempfile.mkdtemp(prefix="leave-bench-"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run(f"sqlite:///{tmp}/bench.db", args.people, "SQLite"))
    if not args.no_pg:
        import sqlalchemy

        engine = sqlalchemy.create_engine(args.pg)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA IF EXISTS leave_bench CASCADE"))
            conn.execute(sqlalchemy.text("CREATE SCHEMA leave_bench"))
        sep = "&" if "?" in args.pg else "?"
        try:
            results.append(run(f"{args.pg}{sep}options=-csearch_path%3Dleave_bench", args.people, "PostgreSQL"))
        finally:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text("DROP SCHEMA IF EXISTS leave_bench CASCADE"))
            engine.dispose()
    print(f"Leave balances: {args.people} people, five years of ledger (target <= 1 s for the query)")
    print(f"{'backend':<11} {'rows':>8} {'query':>9} {'all years':>10} {'python sum':>11} {'per-person loop':>16}")
    for r in results:
        print(f"{r['label']:<11} {r['rows']:>8} {r['query']:>8.3f}s {r['query_all']:>9.3f}s {r['python']:>10.3f}s "
              f"{r['loop']:>15.2f}s  (loop extrapolated from {r['sample']} people; load {r['load']:.1f}s)")
    worst = max(r["query"] for r in results)
    print(f"{'PASS' if worst <= 1.0 else 'FAIL'}: slowest real query {worst:.3f}s")


if __name__ == "__main__":
    main()
