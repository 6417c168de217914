"""The SQLite writers' gate (service/sqlite_gate.py): a second writer waits in the kernel until the
first one's transaction is over, then goes on at once; reads never wait; a thread never waits for
itself. SQLite only (the gate is not installed on PostgreSQL)."""
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
        engine = db.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the gate is for a SQLite file; PostgreSQL has row locks")
    return engine


def _section_row(code: str) -> dict:
    return {"code": code, "name": f"Section {code}"}


def _insert_section(conn, code: str) -> None:
    from service.people.models import Section

    conn.execute(insert(Section.__table__).values(**_section_row(code)))


def test_a_second_writer_waits_for_the_first_to_commit_then_goes_on(engine):
    first = engine.connect()
    first.begin()
    _insert_section(first, "G1")  # the first writer holds the gate until its connection goes back
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
    assert not done.wait(0.5)  # waiting for the first writer
    with engine.connect() as reader:  # reads do not wait
        assert reader.execute(text("SELECT count(*) FROM section WHERE code = 'G2'")).scalar() == 0
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


def test_a_rolled_back_writer_gives_the_gate_back(engine):
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
    """A second transaction opened by a thread whose first one is writing is left to SQLite's busy
    timeout (an error after it), as without the gate: no deadlock."""
    first = engine.connect()
    try:
        first.begin()
        _insert_section(first, "G5")
        started = time.monotonic()
        with engine.connect() as second:
            second.exec_driver_sql("PRAGMA busy_timeout=200")
            second.commit()
            try:
                with pytest.raises(OperationalError, match="locked"):
                    _insert_section(second, "G6")
                second.rollback()
            finally:
                second.exec_driver_sql("PRAGMA busy_timeout=10000")
                second.commit()
        assert time.monotonic() - started < 5
    finally:
        first.rollback()
        first.close()


def test_rows_written_on_the_drivers_cursor_take_the_gate(engine):
    """service.inserts writes outside SQLAlchemy's events (recording a talk): it takes the gate
    itself, and the connection's return to the pool gives it back."""
    from service.inserts import RowInsert
    from service.people.models import Section
    from service.sqlite_gate import _KEY

    rows = RowInsert(Section.__table__, ("code", "name", "min_base_staff", "created_at"), returning=("id",))
    from service.clock import now_utc

    conn = engine.connect()
    try:
        gate = conn.connection.info[_KEY]
        assert gate[1] is None
        conn.execute(select(Section.id).limit(1))
        conn.execute(text("WITH s AS (SELECT id FROM section) SELECT count(*) FROM s"))
        assert gate[1] is None  # reads do not take it
        new_id = rows.one(conn, {"code": "G8", "name": "G8", "min_base_staff": 0, "created_at": now_utc()})[0]
        assert new_id > 0 and gate[1] == threading.get_ident()
        conn.commit()
    finally:
        conn.close()
    assert gate[1] is None
