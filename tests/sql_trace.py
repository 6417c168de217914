"""Every SQL statement the database driver runs, for tests that bound a request's statements.

SQLAlchemy's cursor events do not see the INSERTs that ``service.inserts.RowInsert`` runs on the
driver's cursor, so statements are taken from the driver itself: SQLite's trace callback (each
statement as executed, one per row of an executemany), or on PostgreSQL a psycopg cursor class
that notes each ``execute`` and each row of an ``executemany``. Transaction control (BEGIN,
COMMIT, ROLLBACK, SAVEPOINT) and PRAGMAs are left out.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


def _keep(seen: list, statement) -> None:
    text = " ".join(str(statement).split())
    if text and not text.upper().startswith(_CONTROL):
        seen.append(text)


@contextmanager
def driver_statements(app):
    """A list filled with the statements run inside the block, in order."""
    from service.extensions import db

    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    dialect = engine.dialect.name
    installed = []

    if dialect == "postgresql":
        import psycopg

        class Tracing(psycopg.Cursor):
            def execute(self, query, params=None, **kwargs):
                _keep(seen, query if isinstance(query, str) else query.as_string(self))
                return super().execute(query, params, **kwargs)

            def executemany(self, query, params_seq, **kwargs):
                params_seq = list(params_seq)
                for _ in params_seq:
                    _keep(seen, query if isinstance(query, str) else query.as_string(self))
                return super().executemany(query, params_seq, **kwargs)

    def install(dbapi_connection):
        if dialect == "sqlite":
            dbapi_connection.set_trace_callback(lambda statement: _keep(seen, statement))
            installed.append((dbapi_connection, None))
        else:
            installed.append((dbapi_connection, dbapi_connection.cursor_factory))
            dbapi_connection.cursor_factory = Tracing

    def on_checkout(dbapi_connection, record, proxy):
        install(dbapi_connection)

    def on_checkin(dbapi_connection, record):
        if dialect == "sqlite":
            dbapi_connection.set_trace_callback(None)

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
        for dbapi_connection, factory in installed:
            if dialect == "sqlite":
                dbapi_connection.set_trace_callback(None)
            else:
                dbapi_connection.cursor_factory = factory
