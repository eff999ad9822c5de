"""The digest's response times: first client message and our first answer after it, per
thread, are now two aggregates in SQL (plain SQL text through a ``store.raw.Reader``, on a
session or straight through the driver). They must equal what reading every message in Python
gave (the code before), on SQLite and PostgreSQL, with the awkward cases: no Date (INTERNALDATE
counts), neither time, an answer at the very instant of the client's message (not after it),
mail from non-clients, and mail after "now"."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

import mailwatch.store.raw as raw
from bench.store_gen import generate
from mailwatch.digest.data import _first_responses
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.models import Mailbox, Message, Thread
from mailwatch.store.raw import open_reader, reader_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def reference(
    session, thread_ids: list[int], now: datetime
) -> list[tuple[datetime, datetime | None]]:
    """The code before this change (digest/data.py's loop over every message)."""
    rows = session.execute(
        select(
            Message.thread_id,
            Message.direction,
            Message.date,
            Message.internal_date,
            Message.category,
        ).where(Message.thread_id.in_(thread_ids))
    )
    messages: dict[int, list[tuple[datetime, str, bool]]] = defaultdict(list)
    for tid, direction, when, internal, category in rows:
        at = when or internal
        if tid is None or at is None or at > now:
            continue
        messages[tid].append((at, direction, direction == "inbound" and category == "client"))
    found = []
    for items in messages.values():
        items.sort(key=lambda m: (m[0], m[1] == "inbound"))
        first = next((m for m in items if m[2]), None)
        if first is None:
            continue
        reply = next((m for m in items if m[1] == "outbound" and m[0] > first[0]), None)
        found.append((first[0], reply[0] if reply else None))
    return found


def awkward_threads(url: str, seed: int) -> None:
    """300 short threads of random mail on a coarse time grid, so that instants tie."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with engine.begin() as conn:
        mailbox_id = conn.scalar(select(Mailbox.id).limit(1))
        for t in range(300):
            tid = conn.execute(
                insert(Thread)
                .values(
                    mailbox_id=mailbox_id,
                    subject="awkward",
                    normalized_subject="awkward",
                    last_message_at=NOW,
                )
                .returning(Thread.id)
            ).scalar_one()
            rows = []
            for i in range(rng.randint(1, 7)):
                at = NOW - timedelta(days=9) + timedelta(hours=6 * rng.randint(0, 45))
                outbound = rng.random() < 0.45
                date, internal = at, at
                roll = rng.random()
                if roll < 0.15:
                    date = None  # no Date header: INTERNALDATE counts
                elif roll < 0.2:
                    date, internal = None, None  # no time at all: left out
                elif roll < 0.25:
                    internal = at + timedelta(days=3)  # a Date that differs from INTERNALDATE
                rows.append(
                    {
                        "mailbox_id": mailbox_id,
                        "thread_id": tid,
                        "message_key": f"<aw{seed}-{t}-{i}@x>",
                        "message_id": f"<aw{seed}-{t}-{i}@x>",
                        "subject": "awkward",
                        "normalized_subject": "awkward",
                        "to_addrs": [],
                        "date": date,
                        "internal_date": internal,
                        "direction": "outbound" if outbound else "inbound",
                        "text_prefix": "",
                        "new_text": "",
                        "category": "own"
                        if outbound
                        else rng.choice(["client", "client", "colleague", "bulk", None]),
                    }
                )
            conn.execute(insert(Message), rows)
    engine.dispose()


def check(url: str) -> None:
    generate(url, messages=3000, threads=800, seed=11, now=NOW)
    awkward_threads(url, seed=3)
    engine = make_engine(url)
    factory = session_factory(engine)
    direct = open_reader(url)
    assert direct is not None
    try:
        with factory() as session:
            ids = list(session.scalars(select(Thread.id)))
            compared = 0
            for now in (
                NOW,
                NOW - timedelta(days=4, hours=5),
                NOW - timedelta(days=30),
                NOW + timedelta(days=9),
            ):
                got = sorted(_first_responses(reader_of(session), ids, now), key=repr)
                want = sorted(reference(session, ids, now), key=repr)
                assert got == want
                # (the ``digest`` command reads straight through the driver)
                assert sorted(_first_responses(direct, ids, now), key=repr) == want
                compared += len(want)
            assert compared > 1000  # the comparison saw threads, answered and not
    finally:
        direct.close()
        engine.dispose()


def test_first_responses_equal_the_message_loop_on_sqlite(tmp_path) -> None:
    check(f"sqlite:///{tmp_path / 'responses.db'}")


def test_first_responses_equal_the_message_loop_on_postgresql(pg_url: str) -> None:
    check(pg_url)


@pytest.mark.parametrize("chunk", [7])
def test_first_responses_in_chunks(tmp_path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Many threads are read a chunk of ids at a time; the chunks add up to the same."""
    monkeypatch.setattr(raw, "IN_CHUNK", chunk)
    check(f"sqlite:///{tmp_path / 'chunks.db'}")
