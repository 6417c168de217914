"""talk_pair, the cadence core's copy of the held talks, stays equal to the talks themselves after
every way a talk is written: created over the API (Core INSERTs), edited, held, rejected, deleted,
bulk-loaded and rebuilt, and after the migration that creates it on a database holding talks."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.test_talks_api import talk_body


def stored(app) -> set[tuple]:
    from service.extensions import db
    from service.talks.models import TalkPair

    with app.app_context():
        rows = db.session.execute(select(TalkPair.talk_id, TalkPair.talker_id, TalkPair.talked_to_id,
                                         TalkPair.held_on, TalkPair.kind, TalkPair.is_group)).all()
        db.session.remove()
    found = [(a, b, c, d, e, bool(f)) for a, b, c, d, e, f in rows]
    assert len(found) == len(set(found)), "a pair is stored twice"
    return set(found)


def expected(app) -> set[tuple]:
    """Read from the ORM objects, in Python: what the pairs must be."""
    from service.extensions import db
    from service.talks.models import Talk

    with app.app_context():
        pairs = set()
        for t in db.session.scalars(select(Talk)).unique():
            if t.status != "held":
                continue
            talked = t.ids("talked_to")
            for a in t.ids("talker"):
                for b in talked:
                    pairs.add((t.id, a, b, t.held_on, t.kind, bool(t.collective or len(talked) > 1)))
        db.session.remove()
    return pairs


def test_pairs_follow_every_write_of_a_talk(app, office, token_for):
    deputy = token_for(office["deputy"])
    one = deputy.post("/api/talks", json=talk_body(office)).get_json()["id"]
    group = deputy.post("/api/talks", json=talk_body(
        office, talked_to_ids=[office["staff_a"], office["chief_a"]], collective=True, recorder_id=None,
        follow_ups=[])).get_json()["id"]
    later = deputy.post("/api/talks", json=talk_body(
        office, status="scheduled", held_at="2026-11-30T10:00:00", follow_ups=[])).status_code
    assert later == 201
    pairs = stored(app)
    assert pairs == expected(app) and len(pairs) == 3  # one + two of the collective talk; none scheduled
    assert {p[5] for p in pairs if p[0] == group} == {True} and {p[5] for p in pairs if p[0] == one} == {False}

    # Edits of what the pairs are made of: kind, day, the people.
    for change in ({"kind": "integrity"}, {"held_at": "2026-10-20T09:30:00"},
                   {"talked_to_ids": [office["staff_a"]], "collective": False},
                   {"talker_ids": [office["deputy"], office["head"]]}):
        r = deputy.patch(f"/api/talks/{group}", json=change)
        assert r.status_code == 200, r.get_json()
        assert stored(app) == expected(app), change
    assert {(p[1], p[2], p[4], p[5]) for p in stored(app) if p[0] == group} == {
        (office["deputy"], office["staff_a"], "integrity", False), (office["head"], office["staff_a"], "integrity", False)}

    # A rejected edit changes nothing.
    before = stored(app)
    assert deputy.patch(f"/api/talks/{one}", json={"talked_to_ids": [office["deputy"]]}).status_code == 422
    assert stored(app) == before


def test_a_scheduled_talk_gets_its_pairs_when_it_is_held_and_loses_them_when_deleted(app, office, token_for):
    from service.extensions import db
    from service.talks.models import Talk
    from service.talks.records import update_talk

    deputy = token_for(office["deputy"])
    talk_id = deputy.post("/api/talks", json=talk_body(
        office, status="scheduled", held_at="2026-11-30T10:00:00", follow_ups=[])).get_json()["id"]
    assert stored(app) == set()
    with app.test_request_context():
        from service.people.models import Person

        talk = db.session.get(Talk, talk_id)
        update_talk(talk, {"status": "held"}, db.session.get(Person, office["deputy"]), date(2026, 12, 1))
        db.session.commit()
    assert stored(app) == expected(app) != set()
    with app.app_context():
        db.session.delete(db.session.get(Talk, talk_id))
        db.session.commit()
    assert stored(app) == set()


def test_bulk_loads_are_derived_by_rebuild_pairs(app, office, runner):
    """A write that bypasses the ORM and the create path (a bulk import) leaves talk_pair behind
    until ``flask talks rebuild-pairs`` derives it; the command repairs any difference."""
    from datetime import datetime

    from sqlalchemy import delete, insert

    from service.extensions import db
    from service.talks.models import Talk, TalkPair, TalkParticipant

    with app.app_context():
        for day in (3, 4):
            talk_id = db.session.execute(insert(Talk).returning(Talk.id), [dict(
                kind="routine", status="held", held_at=datetime(2026, 11, day, 9), held_on=date(2026, 11, day),
                duration_minutes=30, place="x", topic="y", collective=False)]).scalar_one()
            db.session.execute(insert(TalkParticipant), [
                dict(talk_id=talk_id, person_id=office["chief_a"], role="talker"),
                dict(talk_id=talk_id, person_id=office["staff_a"], role="talked_to")])
        db.session.commit()
    assert stored(app) == set() != expected(app)
    result = runner.invoke(args=["talks", "rebuild-pairs"])
    assert result.exit_code == 0 and "talk_pair: 2 rows" in result.output
    assert stored(app) == expected(app)
    with app.app_context():  # damage: a pair lost
        db.session.execute(delete(TalkPair).where(TalkPair.held_on == date(2026, 11, 3)))
        db.session.commit()
    assert runner.invoke(args=["talks", "rebuild-pairs"]).exit_code == 0
    assert stored(app) == expected(app)


def test_the_migration_derives_the_pairs_of_talks_already_held(app, office, token_for):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from service.extensions import db

    deputy = token_for(office["deputy"])
    deputy.post("/api/talks", json=talk_body(office))
    deputy.post("/api/talks", json=talk_body(office, talked_to_ids=[office["staff_a"], office["chief_a"]],
                                             collective=True, recorder_id=None, follow_ups=[]))
    deputy.post("/api/talks", json=talk_body(office, status="scheduled", held_at="2026-11-30T10:00:00",
                                             follow_ups=[]))
    want = expected(app)
    assert len(want) == 3
    with app.app_context():
        db.session.remove()
        downgrade(revision="i1_join_domains")
        assert "talk_pair" not in inspect(db.engine).get_table_names()
        upgrade(revision="heads")
    assert stored(app) == want
