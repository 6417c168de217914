"""INSERTs run on the driver's cursor, for the few hot write paths (recording a talk).

SQLAlchemy's Core costs 60-100 us of Python per statement (cache key, execution context, result
wrapping) before the driver is called; the driver itself takes 5-30 us. A talk is six or seven
INSERTs, so on the create path that overhead was a third of the request. ``RowInsert`` compiles
its statement with SQLAlchemy once per dialect (the SQL text, the parameter order and each
column's bind processor: the same conversions the Core would apply, e.g. UTC for timestamps) and
then hands rows straight to the driver's cursor of the session's connection, in the session's
transaction.

Nothing about these rows passes through the ORM or the engine's cursor events: the ORM hooks that
keep derived data in step (``service.talks.pairs``, ``service.generations``) do not see them, so a
caller must do that work itself, as ``records.create_talk`` does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlalchemy import Table, bindparam, insert

from service import sqlite_gate


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters' order (a named paramstyle's statement is made positional)
    processors: tuple[tuple[str, Callable], ...]


CHUNK = 100  # rows per multi-row statement: at most this many compiled statements per table
_NAMED = re.compile(r"%\((\w+)\)s")


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A ``%(name)s`` (pyformat) statement as ``%s`` (format) and its parameter names in order:
    psycopg takes a tuple without mapping names on every call (``%%`` is the same in both)."""
    names = tuple(_NAMED.findall(sql))
    return _NAMED.sub("%s", sql), names


class RowInsert:
    """``INSERT INTO table (columns) VALUES (...) [RETURNING returning]`` for one row at a time."""

    def __init__(self, table: Table, columns: Sequence[str], returning: Sequence[str] = ()):
        self.table = table
        self.columns = tuple(columns)
        self.returning = tuple(returning)
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect, count: int = 0) -> _Compiled:
        """The statement for one row (``count=0``) or for ``count`` rows in one VALUES list."""
        found = self._by_dialect.get((dialect.name, count))
        if found is None:
            table = self.table
            types = {c: table.c[c].type for c in self.columns}
            if count:
                stmt = insert(table).values([{c: bindparam(f"{c}_{i}", type_=types[c]) for c in self.columns}
                                             for i in range(count)])
            else:
                stmt = insert(table).values({c: bindparam(c, type_=types[c]) for c in self.columns})
            if self.returning:
                stmt = stmt.returning(*(table.c[c] for c in self.returning))
            compiled = stmt.compile(dialect=dialect)
            processors = []
            for c in self.columns:
                proc = types[c].dialect_impl(dialect).bind_processor(dialect)
                if proc is not None:
                    processors.append((c, proc))
            if compiled.positional:
                sql, names = str(compiled), tuple(compiled.positiontup or ())
            else:
                sql, names = positional(str(compiled))
            found = _Compiled(sql, names, tuple(processors))
            self._by_dialect[(dialect.name, count)] = found
        return found

    @staticmethod
    def _convert(compiled: _Compiled, row: dict) -> dict:
        if compiled.processors:
            row = dict(row)
            for c, proc in compiled.processors:
                row[c] = proc(row[c])
        return row

    def _params(self, compiled: _Compiled, row: dict) -> tuple:
        row = self._convert(compiled, row)
        return tuple(row[n] for n in compiled.names)

    def one(self, connection, row: dict):
        """Insert ``row`` (every column named) and return its RETURNING values (a tuple), or None."""
        compiled = self._compiled(connection.dialect)
        sqlite_gate.enter(connection)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, self._params(compiled, row))
            return cursor.fetchone() if self.returning else None
        finally:
            cursor.close()

    def together(self, connection, rows: list[dict]) -> list[tuple]:
        """Insert ``rows`` with one statement per ``CHUNK`` rows (one VALUES list); the RETURNING
        values come in no promised order (SQLite promises none), so return something that
        identifies each row."""
        out = []
        for start in range(0, len(rows), CHUNK):
            out.extend(self._values_list(connection, rows[start:start + CHUNK]))
        return out

    def _values_list(self, connection, rows: list[dict]) -> list[tuple]:
        compiled = self._compiled(connection.dialect, len(rows))
        named = {}
        for i, row in enumerate(rows):
            for c, value in self._convert(compiled, row).items():
                named[f"{c}_{i}"] = value
        params = tuple(named[n] for n in compiled.names)
        sqlite_gate.enter(connection)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, params)
            return cursor.fetchall() if self.returning else []
        finally:
            cursor.close()

    def many(self, connection, rows: list[dict]) -> list[tuple]:
        """Insert ``rows`` in order; their RETURNING values in the same order. Without RETURNING,
        one statement per ``CHUNK`` rows (one VALUES list); with it, one statement per row, the
        only order SQLite promises (psycopg's pipelined executemany cost more than it saved for
        the few rows these paths write)."""
        if not rows:
            return []
        if not self.returning:
            self.together(connection, rows)
            return []
        return [self.one(connection, row) for row in rows]
