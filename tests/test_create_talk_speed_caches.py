"""The per-process caches of the create-talk path (issue 3, throughput) and what ends them.

API tokens, the people a request names and the talk configuration (settings, kinds) are kept per
process, each under a generation token in Redis that any committed change bumps. ``other`` is a
second app on the same database and Redis, with its own engine and cache: another gunicorn worker.
Each test warms ``other``'s cache, changes something through the API of the first app, and checks
that ``other`` sees the change on its very next request. Real Redis, real database, no mocks.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.conftest import Api
from tests.test_talks_api import clock, talk_body  # noqa: F401 - the fixture sets the unit's today


@pytest.fixture
def other(app):
    """Another worker: a second app of the same configuration (own engine, own caches)."""
    from service import create_app
    from service.extensions import db

    keys = ("TESTING", "WTF_CSRF_ENABLED", "MAIL_DIR", "PUBLIC_URL", "RATELIMIT_KEY_PREFIX")
    worker = create_app({k: app.config[k] for k in keys})
    assert worker.config["SQLALCHEMY_DATABASE_URI"] == app.config["SQLALCHEMY_DATABASE_URI"]
    yield worker
    with worker.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(app, person_id: int, scope: str = "write") -> tuple[int, str]:
    from service.auth.models import ApiToken
    from service.extensions import db

    with app.app_context():
        token, clear = ApiToken.issue(person_id, "test", scope)
        db.session.add(token)
        db.session.commit()
        return token.id, clear


def _post_ok(api: Api, office, **over):
    r = api.post("/api/talks", json=talk_body(office, **over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_revoked_token_is_refused_by_the_other_worker_on_its_next_request(app, office, other):
    token_id, clear = _token(app, office["deputy"])
    worker = Api(other.test_client(), clear)
    _post_ok(worker, office)  # the other worker now holds the token and its owner
    assert worker.get("/api/talks").status_code == 200
    owner = Api(app.test_client(), clear)
    assert owner.delete(f"/api/tokens/{token_id}").status_code == 204
    r = worker.post("/api/talks", json=talk_body(office))
    assert r.status_code == 401, r.get_json()
    assert worker.get("/api/talks").status_code == 401
    assert owner.get("/api/talks").status_code == 401  # the worker that revoked it too


def test_an_owner_who_left_is_refused_by_the_other_worker(app, office, other, hr_api):
    _, clear = _token(app, office["chief_a"])
    worker = Api(other.test_client(), clear)
    assert worker.get("/api/talks").status_code == 200
    r = hr_api.patch(f"/api/people/{office['chief_a']}", json={"left_on": "2026-11-19"})
    assert r.status_code == 200, r.get_json()
    assert worker.get("/api/talks").status_code == 401


def test_a_person_who_left_cannot_be_named_in_a_new_talk_on_the_other_worker(app, office, other, hr_api):
    _, clear = _token(app, office["deputy"])
    worker = Api(other.test_client(), clear)
    _post_ok(worker, office)  # staff_a, chief_a and the deputy are in the other worker's snapshot
    assert hr_api.patch(f"/api/people/{office['staff_a']}", json={"left_on": "2026-11-19"}).status_code == 200
    r = worker.post("/api/talks", json=talk_body(office))
    assert r.status_code == 422 and "talked_to_ids" in r.get_json()["errors"]["json"], r.get_json()


def test_new_rights_take_effect_on_the_other_worker(app, office, other, hr_api):
    """A person's snapshot is their permissions too: HR rights granted are seen at once."""
    _, clear = _token(app, office["staff_b"], "read")
    worker = Api(other.test_client(), clear)
    anyone_else = f"/api/tokens?person_id={office['staff_a']}"  # HR reads anyone's tokens
    assert worker.get(anyone_else).status_code == 403
    r = hr_api.patch(f"/api/people/{office['staff_b']}", json={"is_hr_admin": True})
    assert r.status_code == 200, r.get_json()
    assert worker.get(anyone_else).status_code == 200


def test_a_kind_deactivated_or_added_by_hr_applies_on_the_next_request(app, office, other, hr_api):
    _, clear = _token(app, office["deputy"])
    worker = Api(other.test_client(), clear)
    _post_ok(worker, office, kind="integrity")
    kinds = {k["code"]: k["id"] for k in hr_api.get("/api/talks/kinds").get_json()}
    assert hr_api.patch(f"/api/talks/kinds/{kinds['integrity']}", json={"active": False}).status_code == 200
    r = worker.post("/api/talks", json=talk_body(office, kind="integrity"))
    assert r.status_code == 422 and "kind" in r.get_json()["errors"]["json"], r.get_json()
    r = worker.post("/api/talks", json=talk_body(office, kind="family_visit"))
    assert r.status_code == 422
    created = hr_api.post("/api/talks/kinds", json={"code": "family_visit", "name": "家访谈话"})
    assert created.status_code == 201, created.get_json()
    _post_ok(worker, office, kind="family_visit")


def test_a_discipline_reader_named_by_hr_reads_content_on_the_next_request(app, office, other, hr_api):
    _, deputy = _token(app, office["deputy"])
    _, head = _token(app, office["head"], "read")
    talk_id = _post_ok(Api(app.test_client(), deputy), office)["id"]
    reader = Api(other.test_client(), head)
    assert "record" not in reader.get(f"/api/talks/{talk_id}").get_json()  # the head leads, reads no content
    r = hr_api.patch("/api/talks/settings", json={"discipline_reader_ids": [office["head"]]})
    assert r.status_code == 200, r.get_json()
    assert reader.get(f"/api/talks/{talk_id}").get_json()["record"]["content"] == "谈话内容：家里老人身体欠佳"
    assert hr_api.patch("/api/talks/settings", json={"discipline_reader_ids": []}).status_code == 200
    assert "record" not in reader.get(f"/api/talks/{talk_id}").get_json()


def test_a_redis_flush_ends_every_cache(app, office, other):
    """Generation tokens are random, not counters: after a flush no old entry can match again.
    (A change behind the ORM's back, here a Core UPDATE, is not seen until then: such writes must
    call ``generations.bump`` themselves.)"""
    from service.auth.models import ApiToken
    from service.clock import now_utc
    from service.extensions import db
    from service.redis_server import connect

    token_id, clear = _token(app, office["deputy"])
    worker = Api(other.test_client(), clear)
    assert worker.get("/api/talks").status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=now_utc()))
        db.session.commit()
    assert worker.get("/api/talks").status_code == 200  # cached: nobody bumped
    connect(app).flushdb()
    assert worker.get("/api/talks").status_code == 401


def test_audit_entries_commit_and_roll_back_with_the_change(app, office):
    from service import audit
    from service.audit.models import AuditEntry
    from service.extensions import db

    with app.test_request_context():
        audit.record("test", "thing", 1, {"a": [None, 1]}, via="cli")
        db.session.rollback()
        audit.record("test", "thing", 2, {"a": [None, 2]}, via="cli")
        db.session.commit()
        db.session.remove()
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.resource_id, AuditEntry.via, AuditEntry.changes)
                                  .where(AuditEntry.resource == "thing")).all()
        db.session.remove()
    assert [tuple(r) for r in rows] == [("2", "cli", {"a": [None, 2]})]
