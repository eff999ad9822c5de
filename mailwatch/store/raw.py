"""Plain SQL reads over the DB-API: what the read models (``views``) ask of the store.

Why not SQLAlchemy here: importing it, its ORM and the models is ~0.2 s, more than a whole
read command may take (``threads --state overdue --json`` at 1M messages, docs/benchmarks.md).
A read model writes its SQL with ``?`` placeholders and runs it through a :class:`Reader`:

* :func:`reader_of` wraps a SQLAlchemy ``Session`` (the service, the web page, the digest):
  the SQL runs on the session's own connection, in its transaction;
* :func:`open_reader` connects to the database URL directly with sqlite3 or psycopg2, for a
  read command that is the whole process; it returns None for a URL it does not handle
  plainly, and the caller then takes the SQLAlchemy path.

Why psycopg2 there, when SQLAlchemy connects with psycopg 3: importing psycopg 3 is ~60 ms
(its Python layers, asyncio, a package-metadata scan), psycopg2 ~20 ms; both are libpq, so
they read the same URL the same way, and the rows come back as the same Python values.

Values come back as the models' types give them: ``UTCDateTime`` columns as aware UTC
datetimes (:meth:`Reader.times`), JSON columns decoded (:meth:`Reader.json`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mailwatch.store.files import sqlite_path
from mailwatch.store.revisions import is_head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "IN_CHUNK",
    "Cond",
    "NotCurrent",
    "Reader",
    "ids_in",
    "ids_in_chunks",
    "json_from_text",
    "open_reader",
    "reader_of",
    "sqlite_time",
    "utc_converter",
]


@functools.lru_cache(maxsize=512)  # bounded: SQL with ids written in varies per call
def _pg_sql(sql: str) -> str:
    """SQL with ``?`` placeholders as psycopg takes it (``%s``)."""
    if "%" in sql:  # (psycopg would read it as a placeholder)
        raise ValueError("a read model's SQL holds no '%': use a bound value")
    return sql.replace("?", "%s")


def sqlite_time(value: datetime) -> str:
    """An aware datetime as SQLAlchemy's SQLite ``DateTime`` stores it (naive UTC text with
    microseconds), so that text comparisons in SQL order instants correctly. The one writer
    of that text: ``store.bulk``'s inserts and updates write it too."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def utc_converter(tz: tzinfo = UTC) -> Callable[[Any], datetime]:
    """A converter of a ``UTCDateTime`` column's non-None driver values to aware datetimes
    in ``tz``: by default UTC, as SQLAlchemy's result gives them. SQLite keeps naive UTC
    text; psycopg gives aware datetimes in its session's zone, or ISO text with the offset
    (:meth:`Reader.time_column`). Each distinct value is
    converted once per converter (a thread's times recur within a row and across rows), so
    a read shares one object per instant."""
    seen: dict[Any, datetime] = {}

    def convert(value: Any) -> datetime:
        found = seen.get(value)
        if found is None:
            when = datetime.fromisoformat(value) if isinstance(value, str) else value
            if not isinstance(when, datetime):
                raise TypeError(f"not a stored time: {value!r}")
            found = when.replace(tzinfo=UTC) if when.tzinfo is None else when
            if found.tzinfo is not tz:
                found = found.astimezone(tz)
            seen[value] = found
        return found

    return convert


def json_from_text(value: Any) -> Any:
    """What SQLAlchemy's ``JSON`` makes of SQLite's text (psycopg decodes JSON itself).

    orjson reads it ~3x faster than ``json.loads`` (a thread list decodes thousands of sign
    lists) and gives the same values for what mailwatch writes; what orjson refuses and
    ``json.loads`` takes (``NaN``, an integer beyond 64 bits) goes to ``json.loads``."""
    if value == "null":
        return None
    if not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


@dataclass(frozen=True, slots=True)
class Cond:
    """A piece of SQL (``?`` placeholders) and its bound values, in order: read models build
    their WHERE clauses from these (``&``, ``|``) and run them with a :class:`Reader`."""

    sql: str
    params: tuple[Any, ...] = ()

    def __and__(self, other: Cond) -> Cond:
        return Cond(f"({self.sql} AND {other.sql})", self.params + other.params)

    def __or__(self, other: Cond) -> Cond:
        return Cond(f"({self.sql} OR {other.sql})", self.params + other.params)


def ids_in(column: str, ids: Iterable[int]) -> Cond:
    """``column IN (1, 2, ...)``, the ids written in (integers only): no limit on how many
    values one statement may bind (SQLite's), no statement per list length."""
    listed = ", ".join(str(int(i)) for i in ids)
    return Cond(f"{column} IN ({listed})") if listed else Cond("1 = 0")


#: ids per IN (...) list of :func:`ids_in_chunks`: short statements for either planner
IN_CHUNK = 5000


def ids_in_chunks(column: str, ids: Sequence[int], size: int | None = None) -> Iterator[Cond]:
    """:func:`ids_in` of ``ids`` ``size`` (default :data:`IN_CHUNK`) at a time, in their
    order (none for no ids)."""
    size = size or IN_CHUNK
    for start in range(0, len(ids), size):
        yield ids_in(column, ids[start : start + size])


class Reader:
    """A database to read from with plain SQL (``?`` placeholders) on either dialect."""

    def __init__(
        self,
        dialect: str,
        fetch: Callable[[str, Sequence[Any]], list[Any]],
        session: Callable[[], Session],
        close: Callable[[], None] = lambda: None,
        *,
        times_as_text: bool = False,
    ) -> None:
        self.dialect = dialect
        self._fetch = fetch
        self._session = session
        self._close = close
        self._times_as_text = times_as_text

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows, as the driver gives them (tuples); bind times with :meth:`time`."""
        return self._fetch(_pg_sql(sql) if self.dialect == "postgresql" else sql, params)

    def column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return [row[0] for row in self.rows(sql, params)]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(sql, params)
        return found[0][0] if found else None

    def time(self, value: datetime) -> Any:
        """An aware datetime as a bound value compared with a ``UTCDateTime`` column."""
        if self.dialect == "sqlite":
            return sqlite_time(value)
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value

    def placeholders(self, count: int) -> str:
        """``?, ?, ...`` for an ``IN (...)`` list of ``count`` values."""
        return ", ".join("?" * count)

    def times(self, tz: tzinfo = UTC) -> Callable[[Any], datetime]:
        """:func:`utc_converter`: stored times as aware datetimes in ``tz``, each distinct
        value converted once."""
        return utc_converter(tz)

    def json(self, value: Any) -> Any:
        """A JSON column's driver value, decoded (None stays None)."""
        if value is None or self.dialect != "sqlite":
            return value
        return json_from_text(value)

    def time_column(self, column: str) -> str:
        """SQL selecting ``column`` (a ``UTCDateTime``) for :meth:`times` to convert: as its
        ISO text on the direct PostgreSQL connection, whose session is set to print it so.
        psycopg2 builds a timestamp ~2x slower than ``datetime.fromisoformat`` parses it (the
        6,851 thread rows of the 1M overdue list: 34 -> 21 ms to fetch); a session's own
        connection, whose DateStyle is not ours to know, reads it typed."""
        return f"CAST({column} AS TEXT)" if self._times_as_text else column

    @staticmethod
    def json_as_text(column: str) -> str:
        """SQL selecting JSON ``column`` as its text, for :func:`json_from_text` to decode on
        either dialect: cheaper for many rows than psycopg2's decoding (``json.loads``)."""
        return f"CAST({column} AS TEXT)"

    def session(self) -> Session:
        """A SQLAlchemy session on the same database, for the rare read that needs the ORM
        (re-tracking a thread as of an earlier instant). Opened on first use."""
        return self._session()

    def close(self) -> None:
        """Close what this reader opened (a reader on a session leaves it to its owner)."""
        self._close()


def reader_of(source: Session | Reader) -> Reader:
    """A reader on a SQLAlchemy session's connection (a reader is returned as it is)."""
    if isinstance(source, Reader):
        return source
    session = source
    dialect = session.get_bind().dialect.name

    def fetch(sql: str, params: Sequence[Any]) -> list[Any]:
        result = session.connection().exec_driver_sql(sql, tuple(params))
        try:
            return list(result.cursor.fetchall())
        finally:
            result.close()

    return Reader(dialect, fetch, lambda: session)


def _sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL that exists; None otherwise."""
    if "?" in url or "%" in url:
        return None
    path = sqlite_path(url)
    return path if path is not None and path.is_file() else None


def _libpq_url(url: str) -> str | None:
    """The libpq URI of a ``postgresql+psycopg://`` (or ``+psycopg2``) URL: libpq reads the
    same user, password, host, port, database and query parameters as SQLAlchemy's driver
    does; None for any other driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql+psycopg", "postgresql+psycopg2"):
        return None
    return "postgresql://" + rest


#: How a direct read connection to PostgreSQL sets its session (JIT: as store.db's engine;
#: the zone and DateStyle: how Reader.time_column's text comes out).
_PG_SESSION = "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'; SET jit = off"


class NotCurrent(Exception):
    """The store has no schema, or not the newest one."""


def open_reader(url: str) -> Reader | None:
    """A reader connected straight to ``url`` (a SQLite file, or PostgreSQL via psycopg2),
    once the schema revision is checked as ``store.db.is_current`` does; None when the URL is
    not one of those plain forms (the caller then uses SQLAlchemy, which reads every URL).
    The caller closes it.

    Raises :class:`NotCurrent` for a missing or old schema and lets the driver's own error
    rise when it cannot connect.
    """
    sqlite_file = _sqlite_file(url) if url.startswith("sqlite") else None
    pg_url = _libpq_url(url) if sqlite_file is None else None
    if sqlite_file is None and pg_url is None:
        return None
    sessions: list[Session] = []

    def session() -> Session:
        if not sessions:
            from mailwatch.store.db import make_engine, session_factory  # lazy: rare

            sessions.append(session_factory(make_engine(url))())
        return sessions[0]

    if sqlite_file is not None:
        import sqlite3  # lazy: one of the two drivers

        conn: Any = sqlite3.connect(sqlite_file, timeout=30)
        dialect = "sqlite"
        version_table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        import psycopg2  # lazy: one of the two drivers (why psycopg2: the module's docstring)

        assert pg_url is not None
        conn = psycopg2.connect(pg_url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            # Only this connection's session, in one round trip: times come back as ISO text
            # in UTC (Reader.time_column), and no JIT compilation, which PostgreSQL starts for
            # any query its planner costs high (the digest's first-response read at 1M
            # messages: 13 ms of compiling for a 35 ms query).
            cursor.execute(_PG_SESSION)
        dialect = "postgresql"
        version_table = "SELECT 1 WHERE to_regclass(%s) IS NOT NULL"  # (on the search path)

    def fetch(sql: str, params: Sequence[Any]) -> list[Any]:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close() -> None:
        for opened in sessions:
            opened.close()
        conn.close()

    try:
        current = bool(fetch(version_table, ("alembic_version",))) and is_head(
            row[0] for row in fetch("SELECT version_num FROM alembic_version", ())
        )
    except BaseException:
        close()
        raise
    if not current:
        close()
        raise NotCurrent(url)
    return Reader(dialect, fetch, session, close, times_as_text=dialect == "postgresql")
