"""Start-up: configuration rules, the embedded Redis, migrations from empty, the job registry,
and the whole service (web + worker + scheduler) started by `talkcare dev`."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mail_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_production_refuses_development_defaults(monkeypatch, tmp_path):
    from service.config import ConfigError, load_config

    monkeypatch.setenv("TALKCARE_ENV", "production")
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path))
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_URL"):
        assert name in str(err.value)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MAIL_URL", "smtp://127.0.0.1:25")
    with pytest.raises(ConfigError, match="PostgreSQL"):
        load_config(str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/talkcare")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["SESSION_COOKIE_SECURE"] is True


def test_development_secret_key_is_generated_once(monkeypatch, tmp_path):
    from service.config import load_config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("TALKCARE_ENV", "development")
    first = load_config(str(tmp_path))["SECRET_KEY"]
    assert len(first) >= 32 and first == load_config(str(tmp_path))["SECRET_KEY"]


def test_embedded_redis_starts_on_demand_under_instance_and_stops(tmp_path):
    import redis

    from service.redis_server import start_embedded, stop_embedded

    client = start_embedded(str(tmp_path))
    assert client.ping()
    socket = tmp_path / "redis.socket"
    assert socket.exists()
    other = redis.Redis.from_url(f"unix://{socket}")
    other.set("k", "v")
    assert client.get("k") == b"v"
    stop_embedded()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(f"unix://{socket}", socket_connect_timeout=1).ping()


def test_migrations_from_empty_match_the_models(app):
    """The session database was built by `flask db upgrade` from empty; nothing is missing."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from service.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, db.metadata) == []


def test_migrations_have_one_head():
    """Production runs plain `flask db upgrade` (to "head"): branches must be joined."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrations_downgrade_and_upgrade_again(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from service.extensions import db

    with app.app_context():
        downgrade(revision="base")
        assert "person" not in inspect(db.engine).get_table_names()
        upgrade(revision="heads")
        assert "person" in inspect(db.engine).get_table_names()


def test_cron_registry_loads_every_periodic_job(app):
    from rq.cron import CronScheduler

    from service.redis_server import connect

    scheduler = CronScheduler(connection=connect(app))
    scheduler.load_config_from_file(str(ROOT / "workers" / "cron.py"))
    names = {job.func_name for job in scheduler._cron_jobs}
    assert {"workers.outbox.relay_outbox", "workers.people.apply_postings"} <= names


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except Exception:
        return 0


def _embedded_redis(folder):
    import psutil

    return [p for p in psutil.process_iter(["cmdline"])
            if "redis-server" in " ".join(p.info["cmdline"] or []) and str(folder) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded"] + (
    ["configured"] if os.environ.get("DATABASE_URL", "").startswith("postgresql") else []))
def test_talkcare_dev_runs_everything_and_stops_cleanly(app, tmp_path, backend):
    """The quick-start command: migrate, seed, web + worker + scheduler; SIGINT stops them all."""
    import psutil

    env = dict(os.environ, TALKCARE_INSTANCE=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    if backend == "embedded":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    port = free_port()
    talkcare = str(Path(sys.executable).with_name("talkcare"))
    proc = subprocess.Popen([talkcare, "dev", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and _get(f"http://127.0.0.1:{port}/login") != 200:
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.5)
        assert _get(f"http://127.0.0.1:{port}/login") == 200
        assert _get(f"http://127.0.0.1:{port}/api/openapi.json") == 200
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "gunicorn" in names and " worker " in names and " cron " in names
        if backend == "embedded":
            assert _embedded_redis(tmp_path), "the embedded Redis is not running"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, _ = proc.communicate(timeout=60)
    text = out.decode()
    assert "HR001" in text and f"http://127.0.0.1:{port}/" in text
    assert _embedded_redis(tmp_path) == [], "the embedded Redis was left running"
    gone = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert gone == [], f"left running: {[c.cmdline() for c in gone]}"
