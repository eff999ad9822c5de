"""``store.raw``: plain SQL reads that see the store as SQLAlchemy and the models do.

The read models bind times as text on SQLite and compare them in SQL; that is only right if
the text is byte for byte what SQLAlchemy stores. A direct reader is opened only for the URLs
it reads plainly, and only on a store at the current schema.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from bench.store_gen import generate
from mailwatch.errors import DatabaseNotReady
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.files import sqlite_path
from mailwatch.store.models import Mailbox, Thread
from mailwatch.store.raw import NotCurrent, Reader, open_reader, reader_of, sqlite_time
from mailwatch.store.revisions import head_revisions

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('raw') / 'raw.db'}"
    generate(url, messages=60, threads=20, seed=3, now=NOW)
    return url


aware = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.builds(
    lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1)),
    st.integers(-23 * 60, 23 * 60),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(aware, min_size=1, max_size=5))
def test_a_bound_time_is_the_text_sqlalchemy_stores(url: str, times: list[datetime]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            mailbox_id = conn.scalar(select(Mailbox.id).limit(1))
            ids = [
                conn.scalar(
                    insert(Thread)
                    .values(mailbox_id=mailbox_id, subject="t", last_message_at=when)
                    .returning(Thread.id)
                )
                for when in times
            ]
            stored = [
                conn.exec_driver_sql(
                    "SELECT last_message_at FROM threads WHERE id = ?", (tid,)
                ).scalar()
                for tid in ids
            ]
            for tid in ids:
                conn.exec_driver_sql("DELETE FROM threads WHERE id = ?", (tid,))
        assert stored == [sqlite_time(when) for when in times]
        # and text order is instant order
        assert sorted(stored) == [sqlite_time(w) for w in sorted(times)]
    finally:
        engine.dispose()


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_time(datetime(2026, 1, 1))


def test_the_direct_reader_reads_what_the_session_reads(url: str) -> None:
    direct = open_reader(url)
    assert direct is not None and direct.dialect == "sqlite"
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            via_session = reader_of(session)
            assert reader_of(via_session) is via_session
            sql = "SELECT id, last_message_at, signs FROM threads ORDER BY id"
            assert direct.rows(sql) == via_session.rows(sql)
            want = list(session.execute(select(Thread.last_message_at).order_by(Thread.id)))
            convert = direct.times()
            got = [convert(v) if v is not None else None for (_id, v, _s) in direct.rows(sql)]
            assert got == [row[0] for row in want]
            assert all(t is None or t.tzinfo is UTC for t in got)
            # a recurring value is one object (a read shares one object per instant)
            first = direct.rows(sql)[0][1]
            assert convert(first) is convert(str(first))
            assert direct.scalar("SELECT count(*) FROM threads WHERE id > ?", (0,)) == len(want)
            assert direct.json('[{"kind": "complaint"}]') == [{"kind": "complaint"}]
            assert direct.json("null") is None and direct.json(None) is None
            assert direct.session().execute(select(Thread.id).limit(1)).scalar() is not None
    finally:
        direct.close()
        engine.dispose()


@pytest.mark.parametrize(
    "odd",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///{dir}/x.db?mode=ro",
        "sqlite:///{dir}/100%25.db",
        "sqlite:///{dir}/missing.db",
        "postgresql://u:p@127.0.0.1:1/db",  # (psycopg2's URL: SQLAlchemy's job)
        "postgresql+asyncpg://u:p@127.0.0.1:1/db",
        "mysql://u@h/db",
    ],
)
def test_other_urls_are_left_to_sqlalchemy(odd: str, tmp_path: Path) -> None:
    assert open_reader(odd.format(dir=tmp_path)) is None


def test_a_store_without_schema_or_behind_it_is_not_read(url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(NotCurrent):
        open_reader(f"sqlite:///{empty}")
    engine = make_engine(url)
    (head,) = head_revisions()
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        with pytest.raises(NotCurrent):
            open_reader(url)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = ?", (head,))
        engine.dispose()
    reader = open_reader(url)
    assert reader is not None
    reader.close()


def test_read_store_says_a_store_is_not_ready_in_one_line(tmp_path: Path) -> None:
    from mailwatch.cli.context import read_store
    from mailwatch.config import settings_from_values

    empty = tmp_path / "empty.db"
    empty.touch()
    cfg = settings_from_values(
        {
            "MAILWATCH_DATABASE_URL": f"sqlite:///{empty}",
            "MAILWATCH_IMAP_HOST": "imap.example.com",
            "MAILWATCH_IMAP_USERNAME": "sales@example.com",
            "MAILWATCH_IMAP_PASSWORD": "x",
        }
    )
    with pytest.raises(DatabaseNotReady, match="mailwatch init"), read_store(cfg):
        pass


def test_postgresql_sql_holds_no_percent_sign() -> None:
    reader = Reader("postgresql", lambda sql, params: [(sql, params)], lambda: None)  # type: ignore[arg-type,return-value]
    assert reader.rows("SELECT ? + ?", (1, 2)) == [("SELECT %s + %s", (1, 2))]
    with pytest.raises(ValueError, match="%"):
        reader.rows("SELECT 5 % 2")


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00?#%"), min_size=1, max_size=30),
    st.sampled_from(["sqlite:///", "sqlite:////", "sqlite+pysqlite:///"]),
)
def test_the_quick_sqlite_path_is_sqlalchemys(name: str, prefix: str) -> None:
    url = prefix + name
    database = make_url(url).database
    want = None
    if database and database != ":memory:" and not database.startswith("file:"):
        want = Path(database)
    assert sqlite_path(url) == want


def test_ids_in_chunks_covers_every_id_once_in_order() -> None:
    from mailwatch.store.raw import ids_in_chunks

    ids = list(range(1, 12))
    chunks = list(ids_in_chunks("t.id", ids, 5))
    assert [c.sql for c in chunks] == [
        "t.id IN (1, 2, 3, 4, 5)",
        "t.id IN (6, 7, 8, 9, 10)",
        "t.id IN (11)",
    ]
    assert list(ids_in_chunks("t.id", [], 5)) == []
    assert [c.sql for c in ids_in_chunks("t.id", [7])] == ["t.id IN (7)"]
