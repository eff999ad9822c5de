"""The thread list's fast path gives what SQLAlchemy gives, on SQLite and PostgreSQL.

The list reads its rows with plain SQL through ``store.raw.Reader`` (session 7): on a
SQLAlchemy session's connection (the service, the web page) or straight through the driver
(the ``threads`` command). Checked here, with PostgreSQL's session zone set elsewhere than
UTC: the rows value by value (and each datetime's zone) against SQLAlchemy's Row objects of
the same columns, and every listing's JSON text (all filters, pages, several instants
including ones that re-track threads) byte for byte between the two readers, with message
ids read a few threads at a time, and with the code before ``wait_and_due`` and
``threads_json`` (one ``business_minutes_between`` + ``add_business_minutes`` per thread, and
``to_json`` on each row).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

import mailwatch.views.threads as threads_view
from bench.store_gen import generate
from mailwatch.cli.output import json_text
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.models import Mailbox, Thread
from mailwatch.store.raw import open_reader, reader_of
from mailwatch.views.context import View
from mailwatch.views.threads import (
    _THREAD_COLUMNS,
    THREAD_FILTERS,
    ThreadCursor,
    _thread_rows,
    list_threads,
    threads_json,
)
from tests.helpers import engine_in_another_zone

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
INSTANTS = (NOW, NOW - timedelta(days=3, hours=5, seconds=7), NOW - timedelta(days=200))


def awkward_threads(url: str) -> None:
    """Rows no generator writes: every time missing, whole seconds, signs, a decision."""
    engine = make_engine(url)
    with engine.begin() as conn:
        mailbox_id = conn.scalar(select(Mailbox.id).limit(1))
        base = {"mailbox_id": mailbox_id, "subject": "awkward", "normalized_subject": "awkward"}
        conn.execute(insert(Thread).values(**base))  # no time at all, no state
        conn.execute(
            insert(Thread).values(
                **base,
                counterpart_name="Zoë «client»",
                state="awaiting_us",
                last_message_at=NOW - timedelta(days=40),
                last_inbound_at=NOW - timedelta(days=40),
                waiting_since=NOW - timedelta(days=40),  # whole seconds
                last_client_at=NOW - timedelta(days=40),
                requested_by=NOW - timedelta(days=38, microseconds=1),
                signs=[{"kind": "complaint", "evidence": "не работает", "message_id": "<a@x>"}],
                message_count=0,
            )
        )
        conn.execute(
            insert(Thread).values(
                **base,
                state="awaiting_us",
                last_message_at=NOW - timedelta(days=9),
                waiting_since=NOW - timedelta(days=9),
                last_client_at=NOW - timedelta(days=2),
                manual_state="closed",
                manual_state_at=NOW - timedelta(days=5),
                signs=[],
            )
        )
    engine.dispose()


def two_calls(self: BusinessCalendar, start, end, minutes):  # the code before: two calls
    return self.business_minutes_between(start, end), self.add_business_minutes(start, minutes)


def listings(source, view: View, fast: bool) -> list[str]:
    """Every filter at every instant, whole and in pages of 7, as the JSON the CLI prints
    (``fast``: as it prints it now, with threads_json and no search for floats)."""

    def text_of(rows: list) -> str:
        if fast:
            return json_text(threads_json(rows), floats=False)
        return json_text([r.to_json() for r in rows])

    texts = []
    for now in INSTANTS:
        for state in THREAD_FILTERS:
            texts.append(text_of(list_threads(source, now, state, view)))
            page = list_threads(source, now, state, view, limit=7)
            texts.append(text_of(page))
            if len(page) == 7:
                after = ThreadCursor.after(state, now, page[-1])
                more = list_threads(source, now, state, view, limit=7, after=after)
                texts.append(text_of(more))
    return texts


def check(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    generate(url, messages=2500, threads=700, seed=5, now=NOW)
    awkward_threads(url)
    engine = engine_in_another_zone(url)  # (on PostgreSQL: America/Santiago)
    view = View(BusinessCalendar(tz_name="Europe/Chisinau"), timedelta(hours=4))
    direct = open_reader(url)
    assert direct is not None and direct.dialect == engine.dialect.name
    try:
        with session_factory(engine)() as session:
            columns = [getattr(Thread, name) for name in _THREAD_COLUMNS]
            want = list(session.connection().execute(select(*columns).order_by(Thread.id)))
            for reader in (reader_of(session), direct):
                got = _thread_rows(reader, None, " ORDER BY threads.id")
                assert len(got) == len(want) > 700
                times = 0
                for new, old in zip(got, want, strict=True):
                    assert tuple(new) == tuple(old)
                    assert new._fields == old._fields
                    for a, b in zip(new, old, strict=True):
                        if isinstance(b, datetime):
                            assert a.tzinfo is b.tzinfo is UTC
                            times += 1
                assert times > 2000
                assert any(r.signs for r in got) and any(r.signs == [] for r in got)

            new_texts = listings(session, view, fast=True)
            assert listings(direct, view, fast=True) == new_texts
            with monkeypatch.context() as patch:  # message ids read 7 threads at a time
                patch.setattr(threads_view, "_IDS_CHUNK", 7)
                assert listings(direct, view, fast=True) == new_texts
            with monkeypatch.context() as patch:
                patch.setattr(BusinessCalendar, "wait_and_due", two_calls)
                old_texts = listings(session, view, fast=False)
            assert new_texts == old_texts
            assert sum(t.count('"overdue": true') for t in new_texts) > 100  # overdue seen
            assert sum(t.count('"message_ids": []') for t in new_texts) < len(new_texts)
    finally:
        direct.close()
        engine.dispose()


def test_the_fast_path_equals_sqlalchemys_on_sqlite(tmp_path, monkeypatch) -> None:
    check(f"sqlite:///{tmp_path / 'fast.db'}", monkeypatch)


def test_the_fast_path_equals_sqlalchemys_on_postgresql(pg_url: str, monkeypatch) -> None:
    check(pg_url, monkeypatch)
