"""Command line: ``talkcare dev`` runs everything on embedded defaults; flask commands for admins."""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

DEMO_PASSWORD = "talkcare-demo"


def register_commands(app) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(apply_postings_command)
    app.cli.add_command(talks_cli)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Fill an empty database with the demo office."""
    from service.demo.seed import seed_demo

    created = seed_demo(DEMO_PASSWORD)
    click.echo(f"demo office: {created} people" if created else "database not empty; nothing seeded")


@click.command("create-admin")
@click.option("--employee-no", required=True)
@click.option("--name", required=True)
@click.option("--email", required=True)
@with_appcontext
def create_admin_command(employee_no, name, email):
    """Create an HR administrator and print a link to set the password."""
    from service.auth.accounts import password_link_token
    from service.clock import unit_today
    from service.extensions import db
    from service.people.register import apply_person

    person, _ = apply_person({"employee_no": employee_no, "name": name, "email": email,
                              "is_hr_admin": True}, unit_today())
    db.session.commit()
    click.echo(current_app.config["PUBLIC_URL"].rstrip("/") + "/set-password/" + password_link_token(person))


@click.command("apply-postings")
@with_appcontext
def apply_postings_command():
    """Apply dated postings that took effect today (the scheduler does this daily)."""
    from service.clock import unit_today
    from service.people.register import sync_current_postings

    click.echo(f"{sync_current_postings(unit_today())} people updated")


def _interrupt(*_):
    raise KeyboardInterrupt


def _dev(args) -> int:
    """Migrate, seed the demo office, start embedded Redis, web, worker and scheduler."""
    from flask_migrate import upgrade

    from service import create_app
    from service.redis_server import redis_url

    app = create_app()
    url = redis_url(app)  # starts the embedded Redis in this process when REDIS_URL is unset
    with app.app_context():
        upgrade(revision="heads")
        from service.demo.seed import seed_demo

        seed_demo(DEMO_PASSWORD)
    env = dict(os.environ, REDIS_URL=url, TZ=app.config["TALKCARE_TIMEZONE"], PYTHONUNBUFFERED="1",
               PUBLIC_URL=os.environ.get("PUBLIC_URL", f"http://{args.host}:{args.port}"))
    bindir = os.path.dirname(sys.executable)
    gunicorn = shutil.which("gunicorn", path=bindir) or "gunicorn"
    rq = shutil.which("rq", path=bindir) or "rq"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commands = {
        "web": [gunicorn, "--bind", f"{args.host}:{args.port}", "--workers", "2", "--threads", "4",
                "--no-control-socket", "--access-logfile", "-", "wsgi:app"],
        "worker": [rq, "worker", "--worker-class", "workers.base.Worker", "--url", url, "default"],
        "scheduler": [rq, "cron", "workers/cron.py", "--url", url],
    }
    # SIGTERM (systemd, docker, timeout) and a closed terminal stop everything as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    # Each in its own process group: Ctrl-C reaches this process only, which stops each one once
    # (SIGTERM). A gunicorn worker that got the terminal's SIGINT and then its master's signal
    # on top could hang in its thread pool's shutdown and outlive everything.
    procs = {name: subprocess.Popen(cmd, env=env, cwd=root, process_group=0) for name, cmd in commands.items()}
    print(f"\ntalkcare is running at http://{args.host}:{args.port}/  (API docs: /api/docs)")
    print(f"demo logins (password {DEMO_PASSWORD}): HR admin HR001, head L001, deputy L002, "
          f"section chief C101, staff S101")
    print("Ctrl-C stops the web app, worker, scheduler and the embedded Redis.\n", flush=True)
    code = 0
    try:
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping everything", file=sys.stderr)
                    code = proc.returncode or 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 15
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            # Whatever of its group is still there (a stuck master, a worker or work horse it
            # left behind) is killed: nothing outlives `talkcare dev`.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        from service.redis_server import stop_embedded

        stop_embedded()
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="talkcare")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run web + worker + scheduler on embedded defaults with demo data")
    dev.add_argument("--host", default=os.environ.get("TALKCARE_HOST", "127.0.0.1"))
    dev.add_argument("--port", type=int, default=int(os.environ.get("TALKCARE_PORT", 5000)))
    args = parser.parse_args(argv)
    if args.command == "dev":
        return _dev(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())


@click.group("talks")
def talks_cli():
    """Talk records: maintenance."""


@talks_cli.command("rebuild-pairs")
@with_appcontext
def rebuild_pairs_command():
    """Derive talk_pair again from talks and participants (after a bulk load, or to repair it)."""
    from service.extensions import db
    from service.talks.pairs import rebuild_pairs

    count = rebuild_pairs(db.session.connection())
    db.session.commit()
    click.echo(f"talk_pair: {count} rows")
