"""One writer at a time on the SQLite file, queued by the kernel rather than by SQLite's busy handler.

SQLite lets one transaction write at a time. A second writer gets SQLITE_BUSY and its busy
handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries, however soon the lock is free: with
the web's threads, the worker and the scheduler writing small transactions (~1 ms each), writers
queued up in those sleeps (p99 150-250 ms for recording a talk under load, the machine half idle).

Here every connection of the engine takes an exclusive ``flock`` on ``<database>.writers`` before
its transaction's first write (any statement but SELECT, WITH or PRAGMA, and ``service.inserts``'
rows), and gives it back when the connection returns to the pool, which the session does at its
commit or rollback. ``flock`` blocks in the kernel and wakes the next writer as soon as the lock is
released; the lock belongs to each connection's own open file, so threads of one process queue as
processes do, and a crashed process's lock goes with it (a forked job process opens its own after
the pool is disposed: ``workers/base.py``). SQLite's own locking is unchanged underneath: a writer
that does not take the gate (another program) is still safe, it merely waits in the busy handler as
before.

Used only for a SQLite file (development and small single-machine setups); PostgreSQL needs none.
"""
from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import event

_KEY = "talkcare_write_gate"  # in the pool record's info: [file descriptor, holding thread or None]
_READS = ("SELECT", "PRAGMA", "WITH")
_holders: dict[int, int] = {}  # thread id -> gates it holds (0 or 1 in practice)


def install(engine) -> None:
    """Gate the writers of ``engine`` (a SQLite file; nothing for :memory: databases)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return
    lock_path = os.path.abspath(database) + ".writers"

    @event.listens_for(engine, "connect")
    def _open(dbapi_connection, record):
        record.info[_KEY] = [os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600), None]

    @event.listens_for(engine, "close")
    def _close(dbapi_connection, record):
        gate = record.info.pop(_KEY, None)
        if gate is not None:
            _leave(gate)
            os.close(gate[0])

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip()[:6].upper().startswith(_READS):
            enter(conn)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record):
        if record is not None:
            _leave(record.info.get(_KEY))


def enter(connection) -> None:
    """Take the gate for ``connection``'s transaction (a no-op when held, or when not gated).

    A thread that already holds the gate through another connection (a second transaction opened
    while its session's is writing) does not wait for itself: that connection is left to SQLite's
    busy timeout, as without the gate."""
    gate = connection.connection.info.get(_KEY)
    if gate is None or gate[1] is not None:
        return
    me = threading.get_ident()
    if _holders.get(me):
        return
    fcntl.flock(gate[0], fcntl.LOCK_EX)  # releases the GIL while it waits
    gate[1] = me
    _holders[me] = _holders.get(me, 0) + 1


def _leave(gate) -> None:
    if gate is not None and gate[1] is not None:
        holder, gate[1] = gate[1], None
        left = _holders.get(holder, 1) - 1
        if left > 0:
            _holders[holder] = left
        else:
            _holders.pop(holder, None)
        fcntl.flock(gate[0], fcntl.LOCK_UN)
