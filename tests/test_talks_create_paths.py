"""A new talk's rows: on PostgreSQL one statement writes them (records._write_in_one), on SQLite a
statement per table (records._write_each). Either way the rows are the same whichever path is
asked for, and the ids in the answer are the rows' ids, follow-ups in their order."""
from __future__ import annotations

from sqlalchemy import select

from tests.sql_trace import driver_statements
from tests.test_talks_api import clock, talk_body  # noqa: F401 - the fixture sets the unit's today


def _rows(app, talk_id: int) -> dict:
    from service.extensions import db
    from service.talks.models import FollowUp, Talk, TalkPair, TalkParticipant, TalkVersion

    def plain(obj, skip=("id", "talk_id", "created_at", "updated_at")):
        return {c.key: getattr(obj, c.key) for c in obj.__mapper__.column_attrs if c.key not in skip}

    with app.app_context():
        talk = db.session.get(Talk, talk_id)
        out = {
            "talk": plain(talk),
            "participants": sorted((p.person_id, p.role) for p in db.session.scalars(
                select(TalkParticipant).where(TalkParticipant.talk_id == talk_id))),
            "pairs": sorted(tuple(plain(p).items()) for p in db.session.scalars(
                select(TalkPair).where(TalkPair.talk_id == talk_id))),
            "versions": [plain(v) for v in db.session.scalars(
                select(TalkVersion).where(TalkVersion.talk_id == talk_id))],
            "follow_ups": [plain(f) for f in db.session.scalars(
                select(FollowUp).where(FollowUp.talk_id == talk_id).order_by(FollowUp.id))],
        }
        db.session.remove()
    return out


def test_one_statement_writes_what_a_statement_per_table_writes(app, office, token_for, monkeypatch):
    from service.extensions import db
    from service.talks import records

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    deputy = token_for(office["deputy"])
    body = talk_body(office, collective=True, talker_ids=[office["deputy"], office["chief_a"]],
                     talked_to_ids=[office["staff_a"], office["staff_b"]], present_ids=[office["chief_b"]],
                     follow_ups=[{"owner_id": office["staff_b"], "description": "第二", "due_on": "2026-12-01"},
                                 {"owner_id": office["deputy"], "description": "first", "due_on": "2026-11-30"},
                                 {"owner_id": office["staff_a"], "description": "third", "due_on": "2026-12-02"}])
    deputy.post("/api/talks", json=body)  # caches warm: the statements below are the create's
    answers, writes = {}, {}
    for one in (True, False):
        monkeypatch.setattr(records, "WRITE_IN_ONE", one)
        with driver_statements(app) as seen:
            r = deputy.post("/api/talks", json=body)
        assert r.status_code == 201, r.get_json()
        answers[one] = r.get_json()
        writes[one] = [s_.split("(")[0].strip() for s_ in seen if s_.startswith(("INSERT", "WITH"))]
    # One statement for the talk's rows on PostgreSQL when asked; a statement per table otherwise.
    per_table = ["INSERT INTO talk", "INSERT INTO talk_participant", "INSERT INTO talk_pair",
                 "INSERT INTO talk_version", "INSERT INTO talk_follow_up", "INSERT INTO talk_follow_up",
                 "INSERT INTO talk_follow_up", "INSERT INTO audit_entry"]
    assert writes[False] == per_table
    assert writes[True] == (["WITH t AS", "INSERT INTO audit_entry"] if postgres else per_table)
    fast, each = (_rows(app, answers[k]["id"]) for k in (True, False))
    assert fast == each
    assert len(fast["pairs"]) == 4 and all(dict(p)["is_group"] for p in fast["pairs"])
    # The answer's ids are the rows': follow-ups in the order given.
    assert [f["description"] for f in answers[True]["follow_up_items"]] == ["第二", "first", "third"]
    read = deputy.get(f"/api/talks/{answers[True]['id']}").get_json()
    assert read == answers[True]


def test_a_scheduled_talk_has_no_pairs_and_no_follow_ups(app, office, token_for):
    r = token_for(office["deputy"]).post("/api/talks", json=talk_body(
        office, status="scheduled", held_at="2026-11-25T10:00", follow_ups=[]))
    assert r.status_code == 201, r.get_json()
    rows = _rows(app, r.get_json()["id"])
    assert rows["pairs"] == [] and rows["follow_ups"] == [] and len(rows["versions"]) == 1
