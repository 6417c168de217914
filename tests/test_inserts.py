"""service.inserts.RowInsert writes what SQLAlchemy's Core would: the same conversions per column
(UTC timestamps, dates, JSON, booleans), RETURNING values, one or many rows, on both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, select


def test_rows_read_back_as_core_writes_them(app, office):
    from service.audit.models import AuditEntry
    from service.extensions import db
    from service.inserts import RowInsert

    columns = ("at", "actor_id", "via", "remote_addr", "action", "resource", "resource_id", "changes")
    beijing = timezone(timedelta(hours=8))
    row = {"at": datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=beijing), "actor_id": office["deputy"],
           "via": "api", "remote_addr": None, "action": "create", "resource": "inserts-test", "resource_id": "7",
           "changes": {"kind": [None, "routine"], "名字": ["旧", "新"], "n": 3, "ok": True}}
    with app.app_context():
        conn = db.session.connection()
        fast = RowInsert(AuditEntry.__table__, columns, returning=("id",)).one(conn, row)[0]
        core = conn.execute(insert(AuditEntry.__table__).values(**row).returning(AuditEntry.id)).scalar_one()
        db.session.commit()
        a, b = (db.session.get(AuditEntry, i) for i in (fast, core))
        for c in columns:
            assert getattr(a, c) == getattr(b, c), c
        assert a.at == datetime(2026, 11, 20, 1, 30, 15, 250000, tzinfo=timezone.utc)
        db.session.remove()


def test_many_and_together_return_every_row(app, office):
    from service.extensions import db
    from service.inserts import RowInsert
    from service.clock import now_utc
    from service.talks.models import Talk, TalkParticipant

    now = now_utc()
    talk_row = dict(kind="routine", status="held", held_at=datetime(2026, 11, 19, 14, 5), held_on=date(2026, 11, 19),
                    duration_minutes=30, place="A", topic="T", collective=True, version=1,
                    created_by_id=office["deputy"], created_at=now, updated_at=now)
    with app.app_context():
        conn = db.session.connection()
        talk_id = RowInsert(Talk.__table__, tuple(talk_row), returning=("id",)).one(conn, talk_row)[0]
        people = [office["deputy"], office["staff_a"], office["chief_a"]]
        rows = [{"talk_id": talk_id, "person_id": p, "role": r}
                for p, r in zip(people, ("talker", "talked_to", "recorder"))]
        parts = RowInsert(TalkParticipant.__table__, ("talk_id", "person_id", "role"),
                          returning=("id", "person_id", "role"))
        together = parts.together(conn, rows)
        assert sorted((p, r) for _, p, r in together) == sorted((x["person_id"], x["role"]) for x in rows)
        more = [{"talk_id": talk_id, "person_id": office["staff_b"], "role": "present"},
                {"talk_id": talk_id, "person_id": office["chief_b"], "role": "present"}]
        ids = parts.many(conn, more)
        assert [(p, r) for _, p, r in ids] == [(x["person_id"], x["role"]) for x in more]  # in the rows' order
        db.session.commit()
        talk = db.session.get(Talk, talk_id)
        assert (talk.held_at, talk.held_on, talk.collective, talk.created_at) == (
            datetime(2026, 11, 19, 14, 5), date(2026, 11, 19), True, now)
        stored = {(p.id, p.person_id, p.role) for p in db.session.scalars(
            select(TalkParticipant).where(TalkParticipant.talk_id == talk_id))}
        assert stored == {tuple(r) for r in together} | {tuple(r) for r in ids}
        db.session.remove()


def test_more_rows_than_one_statement_takes(app, office):
    """Rows beyond ``CHUNK`` go in further statements; every row is written once."""
    from service.audit.models import AuditEntry
    from service.clock import now_utc
    from service.extensions import db
    from service.inserts import CHUNK, RowInsert

    columns = ("at", "actor_id", "via", "remote_addr", "action", "resource", "resource_id", "changes")
    n = 2 * CHUNK + 7
    rows = [{"at": now_utc(), "actor_id": None, "via": "job", "remote_addr": None, "action": "test",
             "resource": "inserts-chunks", "resource_id": str(i), "changes": {"i": i}} for i in range(n)]
    with app.app_context():
        conn = db.session.connection()
        RowInsert(AuditEntry.__table__, columns).many(conn, rows[:CHUNK + 3])
        back = RowInsert(AuditEntry.__table__, columns, returning=("id", "resource_id")).together(conn, rows[CHUNK + 3:])
        assert sorted(int(r) for _, r in back) == list(range(CHUNK + 3, n)) and len({i for i, _ in back}) == len(back)
        db.session.commit()
        stored = db.session.scalars(select(AuditEntry).where(AuditEntry.resource == "inserts-chunks")).all()
        assert sorted(int(a.resource_id) for a in stored) == list(range(n))
        assert all(a.changes == {"i": int(a.resource_id)} for a in stored)
        db.session.remove()
