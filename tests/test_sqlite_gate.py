"""Concurrent writers (service/sqlite_gate.py). On a SQLite file a second writer waits in the
kernel until the first one's transaction is over, then goes on at once; reads never wait; a thread
never waits for itself. On PostgreSQL there is no gate: writers of different rows go on together.
Each test states what holds on the database it runs on."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError


@pytest.fixture
def engine(app):
    from service.extensions import db

    with app.app_context():
        return db.engine


def gated(engine) -> bool:
    return engine.dialect.name == "sqlite"


def _insert_section(conn, code: str) -> None:
    from service.people.models import Section

    conn.execute(insert(Section.__table__).values(code=code, name=f"Section {code}"))


def test_a_second_writer_waits_for_the_first_on_sqlite_only(engine):
    first = engine.connect()
    first.begin()
    _insert_section(first, "G1")  # on SQLite the first writer holds the gate until its connection goes back
    done = threading.Event()
    errors = []

    def second_writer():
        try:
            with engine.begin() as conn:
                _insert_section(conn, "G2")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        done.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        if gated(engine):
            assert not done.wait(0.5)  # waiting for the first writer
            with engine.connect() as reader:  # reads do not wait
                assert reader.execute(text("SELECT count(*) FROM section WHERE code = 'G2'")).scalar() == 0
        else:
            assert done.wait(5)  # PostgreSQL: another row, no wait
    finally:
        first.commit()
        first.close()
    started = time.monotonic()
    assert done.wait(5)
    assert time.monotonic() - started < 0.5  # woken at once, not after a busy-handler sleep
    thread.join()
    assert not errors
    with engine.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM section WHERE code IN ('G1', 'G2')")).scalars())
    assert codes == {"G1", "G2"}


def test_a_rolled_back_writer_lets_the_next_one_write(engine):
    conn = engine.connect()
    conn.begin()
    _insert_section(conn, "G3")
    conn.rollback()
    conn.close()
    finished = threading.Event()

    def writer():
        with engine.begin() as other:
            _insert_section(other, "G4")
        finished.set()

    threading.Thread(target=writer).start()
    assert finished.wait(2)


def test_a_thread_never_waits_for_itself(engine):
    """A second transaction opened by a thread whose first one is writing: on SQLite it is left to
    the busy timeout (an error after it), as without the gate; on PostgreSQL it writes. Never a
    deadlock."""
    first = engine.connect()
    try:
        first.begin()
        _insert_section(first, "G5")
        started = time.monotonic()
        with engine.connect() as second:
            if gated(engine):
                second.exec_driver_sql("PRAGMA busy_timeout=200")
                second.commit()
                try:
                    with pytest.raises(OperationalError, match="locked"):
                        _insert_section(second, "G6")
                    second.rollback()
                finally:
                    second.exec_driver_sql("PRAGMA busy_timeout=10000")
                    second.commit()
            else:
                _insert_section(second, "G6")
                second.commit()
        assert time.monotonic() - started < 5
    finally:
        first.rollback()
        first.close()


def test_rows_written_on_the_drivers_cursor_take_the_gate(engine):
    """service.inserts writes outside SQLAlchemy's events (recording a talk): on SQLite it takes
    the gate itself, and the connection's return to the pool gives it back; PostgreSQL has none."""
    from service.clock import now_utc
    from service.inserts import RowInsert
    from service.people.models import Section
    from service.sqlite_gate import _KEY

    rows = RowInsert(Section.__table__, ("code", "name", "min_base_staff", "created_at"), returning=("id",))
    conn = engine.connect()
    try:
        gate = conn.connection.info.get(_KEY)
        assert (gate is not None) == gated(engine)
        gate = gate or [None, None]
        conn.execute(select(Section.id).limit(1))
        conn.execute(text("WITH s AS (SELECT id FROM section) SELECT count(*) FROM s"))
        assert gate[1] is None  # reads do not take it
        new_id = rows.one(conn, {"code": "G8", "name": "G8", "min_base_staff": 0, "created_at": now_utc()})[0]
        assert new_id > 0
        assert gate[1] == (threading.get_ident() if gated(engine) else None)
        conn.commit()
    finally:
        conn.close()
    assert gate[1] is None
