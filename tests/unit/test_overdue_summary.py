"""The overdue summary (counted in SQL, only the longest waits read) equals reading every
overdue thread: on a generated store with user decisions, mail after "now" and tied waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bench.store_gen import generate
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.models import Message, Thread
from mailwatch.views.context import View
from mailwatch.views.threads import (
    ThreadView,
    list_threads,
    overdue_cutoff,
    overdue_summary,
    waiting_page,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('overdue') / 'big.db'}"
    stats = generate(url, messages=4000, threads=1500, seed=5, now=NOW)
    assert stats["awaiting_us"] > 20 and stats["manual"] > 20
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


def reference(session, now, view, top) -> list[ThreadView]:
    clients = set(
        session.scalars(
            select(Message.thread_id).where(
                Message.direction == "inbound", Message.category == "client", Message.date <= now
            )
        )
    )
    rows = [
        r
        for r in list_threads(session, now, "overdue", view, with_message_ids=False)
        if r.id in clients
    ]
    rows.sort(key=lambda r: (-r.waiting_business_minutes, r.id))
    return rows


VIEWS = [
    View(BusinessCalendar(), timedelta(hours=4)),
    View(BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD"), timedelta(hours=8)),
    View(BusinessCalendar(tz_name="America/New_York"), timedelta(minutes=30)),
]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("now", [NOW, NOW - timedelta(days=40), NOW - timedelta(days=200, hours=5)])
def test_summary_equals_reading_every_overdue_thread(store, view: View, now: datetime) -> None:
    with store() as session:
        want = reference(session, now, view, None)
        assert want  # the store has overdue clients at every instant tested
        for top in (1, 7, 20, len(want) + 5):
            got = overdue_summary(session, now, view, top, client_only=True)
            assert got.total == len(want)
            assert list(got.top) == want[:top]
            assert [t.to_json() for t in got.top] == [r.to_json() for r in want[:top]]
            # the same instants (the summary's from SQL in UTC, the rows' in the team's zone)
            assert sorted(got.waiting_since) == sorted(
                r.waiting_since for r in want if r.waiting_since is not None
            )


def test_waits_are_tied_and_decisions_lapse_in_the_sample(store) -> None:
    """The cases the summary must get right really occur in the generated store."""
    view = VIEWS[0]
    with store() as session:
        rows = reference(session, NOW - timedelta(days=40), view, None)
    minutes = [r.waiting_business_minutes for r in rows]
    assert len(set(minutes)) < len(minutes)  # ties (weekends stop the clock)
    with store() as session:
        rows = list_threads(session, NOW, "overdue", view, with_message_ids=False)
    assert any("by the user" not in r.needs_reply_reason for r in rows)


def test_cutoff_is_the_exact_boundary() -> None:
    cal = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
    sla = timedelta(hours=4)
    now = datetime(2026, 3, 30, 10, 17, tzinfo=UTC)  # a Monday, the day after DST starts
    cutoff = overdue_cutoff(cal, sla, now, now - timedelta(days=30))
    assert cutoff is not None
    before, at = cutoff - timedelta(seconds=1), cutoff
    assert cal.business_minutes_between(before, now) > 240
    assert cal.business_minutes_between(at, now) <= 240
    assert overdue_cutoff(cal, sla, now, now - timedelta(minutes=10)) is None


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("now", [NOW, NOW - timedelta(days=40)])
def test_waiting_page_equals_the_full_list(store, view: View, now: datetime) -> None:
    with store() as session:
        # Just after some client began to wait: that thread is waiting, not yet overdue.
        starts = sorted(
            session.scalars(
                select(Thread.waiting_since).where(
                    Thread.waiting_since < now,
                    Thread.manual_state.is_(None),
                    Thread.state == "awaiting_us",
                )
            )
        )
        now = starts[len(starts) // 2] + timedelta(minutes=20)
        want = [
            r
            for r in list_threads(session, now, "awaiting_us", view, with_message_ids=False)
            if not r.overdue
        ]
        assert want
        for limit in (1, 20, len(want) + 3):
            rows, total = waiting_page(session, now, view, limit)
            assert total == len(want)
            assert rows == want[:limit]
