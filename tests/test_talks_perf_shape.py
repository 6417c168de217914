"""The shape of the talks pages' work, not their speed: a leader's dashboard and recording a talk
issue a bounded number of SQL statements however large the unit is; a leader's obligations are
computed from that leader's own pairs and are exactly the leader's share of everyone's; "who sees
which talk" in SQL is ``permissions.leads``; the person picker searches instead of listing."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from tests.conftest import csrf_of
from tests.sql_trace import driver_statements

TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    import service.talks.api
    import service.talks.web

    monkeypatch.setattr(service.talks.api, "unit_today", lambda: TODAY)
    monkeypatch.setattr(service.talks.web, "unit_today", lambda: TODAY, raising=False)


@contextmanager
def statements(app):
    """The SQL statements run inside the block (a list, filled as they run)."""
    from service.extensions import db

    seen = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(app, office, n: int, start: int) -> None:
    """``n`` more staff in each section, a move between the sections, and a month of talks of the
    chief and the deputy with every one of them (written directly: this is the unit growing)."""
    from service.extensions import db
    from service.people.register import apply_person
    from service.talks.models import Talk, TalkParticipant

    with app.test_request_context():
        new = []
        for i in range(n):
            for key in ("section_a", "section_b"):
                p, _ = apply_person({"employee_no": f"G{start + i}{key[-1]}", "name": f"新人{start + i}{key[-1]}",
                                     "joined_on": date(2020, 1, 1), "section_id": office[key]}, date(2026, 1, 1))
                new.append((p, key))
        db.session.flush()
        for k, (p, key) in enumerate(new):
            chief = office["chief_a"] if key == "section_a" else office["chief_b"]
            for talker in (chief, office["deputy"]) if key == "section_a" else (chief,):
                day = TODAY - timedelta(days=1 + k % 40)
                t = Talk(kind="routine", status="held", held_at=datetime_of(day), held_on=day, duration_minutes=30,
                         place="办公室", topic="近况", collective=False, version=1, created_by_id=talker)
                t.participants = [TalkParticipant(person_id=talker, role="talker"),
                                  TalkParticipant(person_id=p.id, role="talked_to")]
                db.session.add(t)
        db.session.commit()


def datetime_of(day: date):
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 9, 30)


def dashboard_statements(app, client, login, who: str) -> int:
    login(who)
    client.get("/talks/")  # first use seeds the kinds and rules: not counted
    client.get("/talks/")  # nor filling the per-process caches (talk configuration, people)
    with statements(app) as seen:
        r = client.get("/talks/")
    assert r.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(r)})
    return len(seen)


def test_dashboard_statements_do_not_grow_with_the_unit(app, client, office, login):
    grow(app, office, 2, 50)
    before = {who: dashboard_statements(app, client, login, no) for who, no in (("deputy", "L2"), ("chief", "CA"))}
    grow(app, office, 15, 100)
    after = {who: dashboard_statements(app, client, login, no) for who, no in (("deputy", "L2"), ("chief", "CA"))}
    assert after == before
    assert max(after.values()) <= 25


def test_recording_a_talk_is_a_bounded_number_of_statements(app, office, token_for):
    from tests.test_talks_api import talk_body

    deputy = token_for(office["deputy"])
    deputy.post("/api/talks", json=talk_body(office))  # first use seeds the kinds: not counted
    deputy.post("/api/talks", json=talk_body(office))  # nor filling the per-process caches
    with driver_statements(app) as seen:
        r = deputy.post("/api/talks", json=talk_body(office))
    assert r.status_code == 201 and r.get_json()["record"]["content"]
    small = len(seen)
    grow(app, office, 15, 200)
    deputy.post("/api/talks", json=talk_body(office))  # people changed: the caches refill, not counted
    with driver_statements(app) as seen:
        assert deputy.post("/api/talks", json=talk_body(office)).status_code == 201
    assert len(seen) == small <= 18  # was 23: a query per person and a reload per collection


def test_a_leaders_obligations_are_that_leaders_share_of_everyones(app, office, token_for):
    """Loading only the leader's pairs (loading.register_scope) changes nothing in the answer,
    with moves, an oversight handed over and triggers in the history."""
    from service.extensions import db
    from service.people.models import Oversight, Posting
    from service.talks.loading import obligations
    from service.talks.models import TalkTrigger
    from tests.test_talks_api import talk_body

    grow(app, office, 4, 300)
    with app.test_request_context():
        # staff_b moves to section A on 2026-09-15; section B is overseen by the deputy until 2026-10-01.
        move = date(2026, 9, 15)
        for posting in db.session.scalars(select(Posting).where(Posting.person_id == office["staff_b"])):
            posting.valid_to = move
            db.session.add(Posting(person_id=office["staff_b"], section_id=office["section_a"], role="staff",
                                   valid_from=move, reason="move"))
        db.session.add(Oversight(deputy_id=office["deputy"], section_id=office["section_b"],
                                 valid_from=date(2026, 1, 1), valid_to=date(2026, 10, 1)))
        for person, event_ in ((office["staff_a"], "penalty"), (office["staff_b"], "award")):
            db.session.add(TalkTrigger(person_id=person, event=event_, on=date(2026, 10, 20)))
        db.session.commit()
    token_for(office["deputy"]).post("/api/talks", json=talk_body(office))
    with app.test_request_context():
        since = date(2026, 6, 1)
        everyone = obligations(TODAY, since=since)
        for key in ("head", "deputy", "chief_a", "chief_b", "staff_a"):
            mine = obligations(TODAY, office[key], since=since)
            assert mine == [o for o in everyone if o.talker_id == office[key]], key
        assert any(o.talker_id == office["deputy"] and o.source == "trigger" for o in everyone)


def test_visible_talks_in_sql_is_leads(app, office, token_for):
    """The SQL form of "talks with the people I lead" sees exactly what ``leads()`` says."""
    from service.auth.permissions import leads
    from service.extensions import db
    from service.people.models import Person
    from service.talks.access import visible_talks
    from service.talks.models import Talk
    from tests.test_talks_api import talk_body

    grow(app, office, 3, 400)
    token_for(office["chief_b"]).post("/api/talks", json=talk_body(
        office, talker_ids=[office["chief_b"]], talked_to_ids=[office["staff_b"]], recorder_id=None,
        follow_ups=[]))
    with app.test_request_context():
        talks = db.session.scalars(select(Talk)).unique().all()
        people = db.session.scalars(select(Person)).unique().all()
        for key in ("head", "deputy", "chief_a", "chief_b", "staff_a", "hr"):
            actor = db.session.get(Person, office[key])
            seen = set(db.session.scalars(visible_talks(actor, select(Talk.id))))
            expected = {t.id for t in talks
                        if actor.access_role == "hr" or actor.id in {p.person_id for p in t.participants}
                        or (actor.access_role == "leader"
                            and any(leads(actor, p) for p in people if p.id in t.ids("talked_to") and p.active))}
            assert seen == expected, key


def test_the_picker_searches_and_the_form_lists_nobody_else(app, client, office, login):
    grow(app, office, 15, 500)
    login("L2")
    page = client.get("/talks/new").get_data(as_text=True)
    assert 'list="people-list"' in page and "新人500a" not in page  # not the whole unit
    found = client.get("/talks/people.json?q=新人5").get_json()["people"]
    assert 0 < len(found) <= 20 and all("新人5" in p["label"] for p in found)
    assert client.get("/talks/people.json?q=G501a").get_json()["people"][0]["label"] == "G501a 新人501a"
    assert client.get("/talks/people.json?q=%25").get_json()["people"] == []  # % is a character, not a wildcard
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/talks/new"))})
    assert client.get("/talks/people.json?q=新人").status_code in (302, 401)
