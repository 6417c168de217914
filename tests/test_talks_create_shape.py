"""The shape of recording a talk over the API (the create-talk throughput goal, issue 3): one
commit per POST, a bounded number of statements, an answer built from what was written that
matches a fresh read, and a rejected request that writes nothing."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import event, func, select

from tests.sql_trace import driver_statements
from tests.test_talks_api import clock, talk_body  # noqa: F401 - the fixture sets the unit's today


@contextmanager
def engine_events(app):
    """{"statements": [...], "commits": n} for what runs inside the block (statements as the
    driver runs them: the create path's INSERTs bypass SQLAlchemy's cursor events)."""
    from service.extensions import db

    with app.app_context():
        engine = db.engine

    with driver_statements(app) as statements:
        seen = {"statements": statements, "commits": 0}

        def commit(conn):
            seen["commits"] += 1

        event.listen(engine, "commit", commit)
        try:
            yield seen
        finally:
            event.remove(engine, "commit", commit)


def counts(app) -> dict:
    from service.audit.models import AuditEntry
    from service.extensions import db
    from service.talks.models import FollowUp, Talk, TalkParticipant, TalkVersion

    with app.app_context():
        out = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
               for m in (Talk, TalkParticipant, TalkVersion, FollowUp, AuditEntry)}
        db.session.remove()
    return out


def test_one_commit_and_few_statements_per_post(app, office, token_for):
    deputy = token_for(office["deputy"])
    deputy.post("/api/talks", json=talk_body(office))  # first use: seeds the kinds, stamps the token
    with engine_events(app) as seen:
        r = deputy.post("/api/talks", json=talk_body(office))
    assert r.status_code == 201, r.get_json()
    assert seen["commits"] == 1  # the talk and the audited read of its content, together
    # token, kind, people, settings; talk, 3 participants, version, follow-up; 2 audit entries
    assert len(seen["statements"]) <= 12, seen["statements"]
    first_write = next(i for i, s in enumerate(seen["statements"]) if s.startswith("INSERT"))
    # Everything is read before the first write (on SQLite the write lock is held from there on).
    assert not any(s.startswith("SELECT") for s in seen["statements"][first_write:]), seen["statements"]


def test_the_answer_is_what_a_fresh_read_returns(app, office, token_for):
    deputy = token_for(office["deputy"])
    body = talk_body(office, present_ids=[office["chief_b"]])
    created = deputy.post("/api/talks", json=body)
    assert created.status_code == 201, created.get_json()
    read = deputy.get(created.headers["Location"])
    assert read.status_code == 200
    assert created.get_json() == read.get_json()
    answer = created.get_json()
    assert answer["record"]["views"] == "希望调整值班" and answer["follow_up_items"][0]["id"] > 0


def test_create_writes_the_talk_and_two_audit_entries(app, office, token_for, hr_api):
    before = counts(app)
    talk_id = token_for(office["deputy"]).post("/api/talks", json=talk_body(office)).get_json()["id"]
    after = counts(app)
    assert {k: after[k] - before[k] for k in after} == {
        "talk": 1, "talk_participant": 3, "talk_version": 1, "talk_follow_up": 1, "audit_entry": 2}
    audit = hr_api.get("/api/audit?page_size=100").get_json()
    mine = {(a["action"], a["resource"]) for a in audit
            if a["resource_id"] == str(talk_id) and a["resource"].startswith("talk")}
    assert mine == {("create", "talk"), ("read", "talk_content")}


def test_a_rejected_post_writes_nothing(app, office, token_for):
    deputy = token_for(office["deputy"])
    deputy.post("/api/talks", json=talk_body(office))  # the token's first use is stamped, kinds seeded
    before = counts(app)
    outsider = office["staff_b"]
    r = deputy.post("/api/talks", json=talk_body(office, follow_ups=[
        {"owner_id": outsider, "description": "x", "due_on": "2026-11-30"}]))
    assert r.status_code == 422 and "follow_ups.0.owner_id" in r.get_json()["errors"]["json"]
    assert counts(app) == before


def test_the_web_form_can_attach_to_a_new_talk(app, office):
    """create_talk's objects are in the session as if loaded: an attachment joins the new talk."""
    from service.extensions import db
    from service.people.models import Person
    from service.talks.records import attach, create_talk
    from service.talks.models import Talk
    from tests.test_talks_api import PNG, TODAY

    with app.test_request_context():
        actor = db.session.get(Person, office["deputy"])
        data = {"kind": "routine", "held_at": datetime(2026, 11, 10, 9, 30),
                "duration_minutes": 30, "place": "A", "topic": "T", "talker_ids": [office["deputy"]],
                "talked_to_ids": [office["staff_a"]], "recorder_id": None, "present_ids": [],
                "content": "c", "follow_ups": []}
        talk = create_talk(data, actor, TODAY)
        assert not db.session.dirty and not db.session.new  # audit entries are written at the commit, with Core
        attach(talk, "scan.png", PNG, actor)
        db.session.commit()
        talk_id = talk.id
        db.session.remove()
    with app.app_context():
        talk = db.session.get(Talk, talk_id)
        assert [a.filename for a in talk.attachments] == ["scan.png"]
        assert [(p.person_id, p.role) for p in talk.participants] == [
            (office["deputy"], "talker"), (office["staff_a"], "talked_to")]
        assert talk.current.content == "c"
        db.session.remove()
