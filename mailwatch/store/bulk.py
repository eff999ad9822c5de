"""Rows into one table, and rows out of a query, with less per-row work than SQLAlchemy's
generic execute path.

A backfill writes tens of thousands of message rows and thousands of new threads. Through
SQLAlchemy each statement builds its parameters through generic machinery (compiled-cache
lookup, per-row parameter dictionaries, per-value type dispatch): more than SQLite's own insert.
Here each column's bind processing (JSON, UTC datetimes, booleans) is resolved once per
statement shape and the driver gets plain tuples. The values stored are the same: each column's
own ``bind_processor`` converts them, exactly as SQLAlchemy would (``tests/unit/test_store_bulk.py``
compares the rows stored both ways). SQLite only; other databases take SQLAlchemy's path.

:func:`select_rows` is the same for reading, on SQLite and PostgreSQL: a backfill's tracking
pass reads every stored message of the threads it touched again, and the overdue list of a
large store thousands of threads; SQLAlchemy's Row objects and per-value result processing
were most of either. The rows come from the driver's cursor and only the columns that need it
are converted (a UTC datetime, SQLite's JSON text and 0/1 booleans), to the values
SQLAlchemy's own result gives (``tests/unit/test_store_bulk.py``,
``tests/integration/test_thread_list_fast_path.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Integer, String, Table, bindparam, insert, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select

from mailwatch.store.models import UTCDateTime
from mailwatch.store.raw import json_from_text, sqlite_time, utc_converter

__all__ = ["insert_many", "insert_one", "select_rows", "update_many"]


class _Prepared:
    """An INSERT for rows with given keys: its SQL, and how to turn a row into its tuple."""

    __slots__ = ("converted", "keys", "pick", "sql")

    def __init__(
        self, sql: str, keys: tuple[str, ...], processors: Sequence[Callable[[Any], Any] | None]
    ) -> None:
        self.sql = sql
        self.keys = keys
        self.pick = itemgetter(*keys)  # one C call for all values (a tuple, even of one key)
        self.converted = [(i, p) for i, p in enumerate(processors) if p is not None]

    def params(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = self.pick(row)
        if len(self.keys) == 1:
            values = (values,)
        if not self.converted:
            return values  # type: ignore[no-any-return]
        out = list(values)
        for i, processor in self.converted:
            out[i] = processor(out[i])
        return tuple(out)


_CACHE: dict[tuple[int, tuple[str, ...]], _Prepared | None] = {}


def _writer(column_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's own bind processor, with a shortcut for the values a backfill writes by
    the ten thousand (aware datetimes, lists and dicts, booleans); any other value goes to the
    column's own processor, so the stored text is the same either way."""
    own: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    if own is None:
        return None
    if isinstance(column_type, UTCDateTime):

        def utc_text(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is not None:
                return sqlite_time(value)  # SQLite's DATETIME text, as SQLAlchemy writes it
            return own(value)

        return utc_text
    if isinstance(column_type, JSON) and dialect._json_serializer is None:  # json.dumps

        def json_text(value: Any) -> Any:
            if type(value) is list or type(value) is dict:
                return json.dumps(value)
            return own(value)

        return json_text
    if isinstance(column_type, Boolean):

        def flag(value: Any) -> Any:
            if value is True or value is False:
                return int(value)
            return own(value)

        return flag
    return own


def _prepared(conn: Connection, table: Table, keys: tuple[str, ...]) -> _Prepared | None:
    """The statement and processors for rows with ``keys``, or None: use SQLAlchemy."""
    dialect = conn.dialect
    if dialect.name != "sqlite":
        return None
    cache_key = (id(table), keys)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    found: _Prepared | None = None
    # A column left out with a Python-side default: SQLAlchemy computes it per row.
    if not any(column.default is not None for column in table.columns if column.key not in keys):
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        order = tuple(compiled.positiontup or ())  # the table's column order
        if compiled.positional and sorted(order) == sorted(keys):
            found = _Prepared(
                compiled.string,
                order,
                tuple(_writer(table.c[key].type, dialect) for key in order),
            )
    _CACHE[cache_key] = found
    return found


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT every row (all with the same keys) in one executemany."""
    if not rows:
        return
    prepared = _prepared(conn, table, tuple(rows[0]))
    if prepared is None:
        conn.execute(insert(table), list(rows))
        return
    conn.exec_driver_sql(prepared.sql, [prepared.params(row) for row in rows])


def insert_one(conn: Connection, table: Table, row: Mapping[str, Any]) -> int:
    """INSERT one row and return its integer primary key."""
    prepared = _prepared(conn, table, tuple(row))
    if prepared is None:
        (primary,) = table.primary_key.columns
        return int(conn.execute(insert(table).returning(primary), dict(row)).scalar_one())
    result = conn.exec_driver_sql(prepared.sql, prepared.params(row))
    row_id = result.lastrowid
    if row_id is None:
        raise RuntimeError(f"no row id from an insert into {table.name}")
    return int(row_id)


_UPDATES: dict[tuple[int, str, tuple[str, ...]], _Prepared | None] = {}


def _prepared_update(
    conn: Connection, table: Table, key: str, columns: tuple[str, ...]
) -> _Prepared | None:
    """``UPDATE table SET columns WHERE key = ?`` for rows of ``(key, *columns)``, or None."""
    dialect = conn.dialect
    if dialect.name != "sqlite":
        return None
    cache_key = (id(table), key, columns)
    if cache_key in _UPDATES:
        return _UPDATES[cache_key]
    found: _Prepared | None = None
    statement = (
        update(table)
        .where(table.c[key] == bindparam("w_" + key))
        .values({name: bindparam("s_" + name) for name in columns})
    )
    compiled = statement.compile(dialect=dialect)
    order = tuple(name[2:] for name in compiled.positiontup or ())
    if compiled.positional and sorted(order) == sorted((key, *columns)):
        found = _Prepared(
            compiled.string, order, tuple(_writer(table.c[name].type, dialect) for name in order)
        )
    _UPDATES[cache_key] = found
    return found


def update_many(
    conn: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """UPDATE each row (all with the same keys) by its ``key`` column, in one executemany:
    every other key of the row is a column to set."""
    if not rows:
        return
    columns = tuple(name for name in rows[0] if name != key)
    prepared = _prepared_update(conn, table, key, columns)
    if prepared is None:
        statement = (
            update(table)
            .where(table.c[key] == bindparam("w_" + key))
            .values({name: bindparam("s_" + name) for name in columns})
        )
        conn.execute(
            statement,
            [
                {"w_" + key: row[key], **{"s_" + name: row[name] for name in columns}}
                for row in rows
            ],
        )
        return
    conn.exec_driver_sql(prepared.sql, [prepared.params(row) for row in rows])


_UNKNOWN = object()  # a column type with no plain reading


def _readers(query: Select[*tuple[Any, ...]], dialect: str) -> list[Any]:
    """Per column: a converter for its non-None driver values, None (as it comes), or
    ``_UNKNOWN``."""
    utc = utc_converter()  # one cache for every datetime column of this read
    readers: list[Any] = []
    for column in query.selected_columns:
        kind = column.type
        if isinstance(kind, UTCDateTime):
            readers.append(utc)
        elif isinstance(kind, JSON):
            readers.append(json_from_text if dialect == "sqlite" else None)
        elif isinstance(kind, Boolean):
            readers.append(bool if dialect == "sqlite" else None)
        elif isinstance(kind, Integer | String) and not isinstance(kind, Enum):
            readers.append(None)  # (Text is a String: a JSON column read as text too)
        else:
            readers.append(_UNKNOWN)
    return readers


def select_rows(
    conn: Connection,
    query: Select[*tuple[Any, ...]],
    *,
    strict: bool = False,
    make: Callable[[list[Any]], Any] = tuple,
) -> list[Any]:
    """The rows of ``query``, each made by ``make`` from its values, the values SQLAlchemy's
    result gives.

    SQLAlchemy still compiles the statement and binds its values; the rows are read from its
    DB-API cursor and converted here, column by column, only where the column's type needs it
    (SQLAlchemy's Row objects and its result processors were most of a long read: the
    tracking pass after a backfill, the overdue list of a 1M-message store). A column of
    another type makes the whole query go through SQLAlchemy's rows, or with ``strict``
    raises ``TypeError``.
    """
    readers = _readers(query, conn.dialect.name)
    unknown = [c for c, r in zip(query.selected_columns, readers, strict=True) if r is _UNKNOWN]
    if unknown:
        if strict:
            raise TypeError(f"no plain conversion for {unknown[0]} ({unknown[0].type!r})")
        return [make(list(row)) for row in conn.execute(query)]
    result = conn.execute(query)
    try:
        raw = result.cursor.fetchall()
    finally:
        result.close()
    plan = [(i, convert) for i, convert in enumerate(readers) if convert is not None]
    rows = []
    for fetched in raw:
        values = list(fetched)
        for i, convert in plan:
            value = values[i]
            if value is not None:  # (most times are missing: no call for them)
                values[i] = convert(value)
        rows.append(make(values))
    return rows
