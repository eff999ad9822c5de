"""The fast insert path stores byte for byte what SQLAlchemy's own insert stores.

``store.bulk.insert_many``/``insert_one`` hand SQLite plain tuples built with each column's
own bind processor; the rows read back with plain sqlite3 (no type processing) must equal the
rows SQLAlchemy writes for the same values: JSON, UTC datetimes from any offset, booleans,
None, non-ASCII text.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, insert, select, type_coerce, update

from mailwatch.store.bulk import (
    _prepared,
    _prepared_update,
    insert_many,
    insert_one,
    select_rows,
    update_many,
)
from mailwatch.store.db import make_engine, upgrade
from mailwatch.store.models import Mailbox, Message, Thread, table_of

T0 = datetime(2026, 11, 30, 9, 15, 7, 123456, tzinfo=UTC)


def _db(path: Path) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(table_of(Mailbox)), {"name": "main", "username": "u", "created_at": T0})
    return engine


def _message_rows(texts: list[str], offsets: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n, (text, minutes) in enumerate(zip(texts, offsets, strict=True)):
        zone = timezone(timedelta(minutes=minutes))
        rows.append(
            {
                "mailbox_id": 1,
                "thread_id": None,
                "message_key": f"<{n}@x>",
                "message_id": f"<{n}@x>",
                "message_id_synthetic": n % 2 == 0,
                "in_reply_to": None,
                "references": [f"<p{n}@x>", "<ü@x>"],
                "thread_index": None,
                "thread_topic": text or None,
                "subject": text,
                "normalized_subject": text.lower(),
                "from_name": text,
                "from_email": "a@b.c",
                "to_addrs": [{"name": text, "email": "d@e.f"}],
                "cc_addrs": [],
                "reply_to": [],
                "date": (T0 + timedelta(seconds=n)).astimezone(zone),
                "header_date": None if n % 3 else T0.astimezone(zone),
                "internal_date": T0.replace(microsecond=0),
                "direction": "inbound",
                "counterpart_email": None,
                "content_type": "text/plain",
                "markers": {"list-id": text},
                "text_prefix": text,
                "new_text": text,
                "size": n,
                "answered": n % 2 == 1,
                "seen": False,
                "parse_error": None,
                "created_at": T0,
                "analysis_version": 2,
                "needs_reply": True,
                "category": "client",
                "reason": text,
                "language": None,
                "requested_by": T0 + timedelta(days=n),
                "signs": [{"kind": "price", "evidence": text}] if n % 2 else None,
            }
        )
    return rows


def _dump(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


@settings(max_examples=25, deadline=None)
@given(
    texts=st.lists(st.text(max_size=30), min_size=1, max_size=8),
    offsets=st.lists(st.integers(min_value=-720, max_value=840), min_size=8, max_size=8),
)
def test_insert_many_stores_what_sqlalchemy_stores(tmp_path_factory, texts, offsets):
    base = tmp_path_factory.mktemp("bulk")
    rows = _message_rows(texts, offsets[: len(texts)])
    fast, slow = _db(base / "fast.db"), _db(base / "slow.db")
    with fast.begin() as conn:
        assert _prepared(conn, table_of(Message), tuple(rows[0])) is not None  # the fast path
        insert_many(conn, table_of(Message), rows)
    with slow.begin() as conn:
        conn.execute(insert(table_of(Message)), rows)
    fast.dispose()
    slow.dispose()
    assert _dump(base / "fast.db", "messages") == _dump(base / "slow.db", "messages")


def test_insert_one_returns_the_new_id_and_stores_what_sqlalchemy_stores(tmp_path):
    fast, slow = _db(tmp_path / "fast.db"), _db(tmp_path / "slow.db")
    row = {
        "mailbox_id": 1,
        "subject": "Offre n° 5",
        "normalized_subject": "offre n° 5",
        "counterpart_name": None,
        "counterpart_email": "c@acme.test",
        "message_count": 0,
        "needs_reply": False,
        "created_at": T0,
        "updated_at": T0.astimezone(timezone(timedelta(hours=3))),
    }
    with fast.begin() as conn:
        assert _prepared(conn, table_of(Thread), tuple(row)) is not None
        ids = [insert_one(conn, table_of(Thread), row) for _ in range(3)]
    with slow.begin() as conn:
        for _ in range(3):
            conn.execute(insert(table_of(Thread)), row)
    fast.dispose()
    slow.dispose()
    assert ids == [1, 2, 3]
    assert _dump(tmp_path / "fast.db", "threads") == _dump(tmp_path / "slow.db", "threads")


def test_a_left_out_column_with_a_python_default_takes_sqlalchemys_path(tmp_path):
    """created_at left out: SQLAlchemy computes its default; the fast path must not skip it."""
    engine = _db(tmp_path / "mw.db")
    with engine.begin() as conn:
        thread_id = insert_one(
            conn, table_of(Thread), {"mailbox_id": 1, "subject": "s", "normalized_subject": "s"}
        )
    engine.dispose()
    with sqlite3.connect(tmp_path / "mw.db") as conn:
        created, count = conn.execute(
            "SELECT created_at, message_count FROM threads WHERE id = ?", (thread_id,)
        ).fetchone()
    assert created is not None and count == 0


# -- reading: select_rows gives what SQLAlchemy's result gives ----------------------------------


def _read_query(ids: list[int]) -> Any:
    return (
        select(
            Message.id,
            Message.thread_id,
            Message.message_id,
            Message.date,
            Message.header_date,
            Message.internal_date,
            Message.requested_by,
            Message.answered,
            Message.message_id_synthetic,
            Message.needs_reply,
            Message.size,
            Message.subject,
            type_coerce(Message.references, Text),
            type_coerce(Message.signs, Text),
        )
        .where(Message.id.in_(ids))
        .order_by(Message.id)
    )


@settings(max_examples=25, deadline=None)
@given(
    texts=st.lists(st.text(max_size=30), min_size=1, max_size=8),
    offsets=st.lists(st.integers(min_value=-720, max_value=840), min_size=8, max_size=8),
    wanted=st.sets(st.integers(min_value=1, max_value=10)),
)
def test_select_rows_reads_what_sqlalchemy_reads(tmp_path_factory, texts, offsets, wanted):
    engine = _db(tmp_path_factory.mktemp("read") / "mw.db")
    with engine.begin() as conn:
        insert_many(conn, table_of(Message), _message_rows(texts, offsets[: len(texts)]))
    query = _read_query(sorted(wanted) or [0])
    with engine.connect() as conn:
        fast = select_rows(conn, query)
        slow = [tuple(row) for row in conn.execute(query)]
    engine.dispose()
    assert fast == slow
    assert all(
        type(a) is type(b)
        for f, s in zip(fast, slow, strict=True)
        for a, b in zip(f, s, strict=True)
    )
    for row in fast:  # aware UTC datetimes, real booleans
        assert row[3] is None or row[3].tzinfo is UTC
        assert isinstance(row[7], bool)


def test_select_rows_with_other_bound_values_reads_what_sqlalchemy_reads(tmp_path):
    """Bound datetimes and text (a quote in it) are not rendered into SQL text: SQLAlchemy
    binds them, and the rows are the same."""
    engine = _db(tmp_path / "mw.db")
    with engine.begin() as conn:
        insert_many(conn, table_of(Message), _message_rows(["a", "O'Brien", "c"], [0, 60, -60]))
    by_time = select(Message.id, Message.date).where(Message.date >= T0 + timedelta(seconds=1))
    by_text = select(Message.id, Message.subject).where(Message.subject == "O'Brien")
    with engine.connect() as conn:
        for query, ids in ((by_time, [2, 3]), (by_text, [2])):
            rows = select_rows(conn, query)
            assert rows == [tuple(r) for r in conn.execute(query)]
            assert [r[0] for r in rows] == ids
    engine.dispose()


@settings(max_examples=25, deadline=None)
@given(
    subjects=st.lists(st.text(max_size=30), min_size=1, max_size=6),
    offsets=st.lists(st.integers(min_value=-720, max_value=840), min_size=6, max_size=6),
)
def test_update_many_stores_what_sqlalchemy_stores(tmp_path_factory, subjects, offsets):
    base = tmp_path_factory.mktemp("update")
    fast, slow = _db(base / "fast.db"), _db(base / "slow.db")
    for engine in (fast, slow):
        with engine.begin() as conn:
            for _ in subjects:
                insert_one(
                    conn,
                    table_of(Thread),
                    {
                        "mailbox_id": 1,
                        "subject": "s",
                        "normalized_subject": "s",
                        "created_at": T0,
                        "updated_at": T0,
                    },
                )
    changes = [
        {
            "id": n + 1,
            "subject": subject,
            "message_count": n,
            "last_message_at": T0.astimezone(timezone(timedelta(minutes=offsets[n]))),
            "last_inbound_at": None,
            "signs": [{"kind": "price", "evidence": subject}] if n % 2 else None,
            "needs_reply": n % 2 == 0,
            "tracked_at": None,
        }
        for n, subject in enumerate(subjects)
    ]
    threads = table_of(Thread)
    with fast.begin() as conn:
        assert _prepared_update(conn, threads, "id", tuple(changes[0])[1:]) is not None
        update_many(conn, threads, "id", changes)
    with slow.begin() as conn:
        for change in changes:
            conn.execute(
                update(threads)
                .where(threads.c.id == change["id"])
                .values({k: v for k, v in change.items() if k != "id"})
            )
    fast.dispose()
    slow.dispose()
    assert _dump(base / "fast.db", "threads") == _dump(base / "slow.db", "threads")
