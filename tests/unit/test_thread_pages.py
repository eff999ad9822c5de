"""Keyset pages of ``list_threads`` (``threads --limit N --after CURSOR``): following the cursors
gives every row of the unpaged list exactly once, in its order, for every filter; and the
cheap schema check agrees with Alembic."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bench.store_gen import generate
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.errors import UsageError
from mailwatch.store.db import head_revisions, is_current, make_engine, session_factory
from mailwatch.store.models import Thread
from mailwatch.views import threads as threads_view
from mailwatch.views.context import View
from mailwatch.views.threads import THREAD_FILTERS, ThreadCursor, list_threads

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
VIEW = View(BusinessCalendar(tz_name="Europe/Chisinau"), timedelta(hours=4))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """A generated mailbox, plus the awkward cases: tied last messages and threads without one."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'pages.db'}"
    generate(url, messages=900, threads=300, seed=11, now=NOW)
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as session, session.begin():
        ids = list(session.scalars(select(Thread.id).order_by(Thread.id)))
        for group in range(0, 60, 6):  # ten groups of six threads with one last-message time
            tied = ids[group : group + 6]
            when = NOW - timedelta(days=group)
            session.execute(update(Thread).where(Thread.id.in_(tied)).values(last_message_at=when))
        session.execute(update(Thread).where(Thread.id.in_(ids[-8:])).values(last_message_at=None))
        for i, tid in enumerate(ids[100:140]):  # forty overdue, in tied groups of waits
            since = NOW - timedelta(days=10 + i % 4)
            session.execute(
                update(Thread)
                .where(Thread.id == tid)
                .values(state="awaiting_us", waiting_since=since, manual_state=None)
            )
    yield factory
    engine.dispose()


def all_pages(session, now: datetime, state: str, limit: int) -> list:
    """Follow the cursors as a script would (each one through its text form)."""
    rows: list = []
    cursor: ThreadCursor | None = None
    for _ in range(1000):
        page = list_threads(session, now, state, VIEW, limit=limit, after=cursor)
        assert len(page) <= limit
        rows += page
        if len(page) < limit:
            return rows
        cursor = ThreadCursor.decode(ThreadCursor.after(state, now, page[-1]).encode())
    raise AssertionError("the pages never ended")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    state=st.sampled_from(THREAD_FILTERS),
    limit=st.integers(min_value=6, max_value=90),
    days_back=st.sampled_from([0, 3, 45, 400]),
)
def test_pages_give_every_row_once_in_order(store, state: str, limit: int, days_back: int) -> None:
    now = NOW - timedelta(days=days_back)  # in the past: threads with later mail are re-tracked
    with store() as session:
        want = list_threads(session, now, state, VIEW)
        got = all_pages(session, now, state, limit)
    assert [r.id for r in got] == [r.id for r in want]
    assert [r.to_json() for r in got] == [r.to_json() for r in want]


def test_the_cases_the_pages_must_handle_occur(store) -> None:
    with store() as session:
        rows = list_threads(session, NOW, "all", VIEW)
        overdue = list_threads(session, NOW, "overdue", VIEW)
        earlier = list_threads(session, NOW - timedelta(days=45), "all", VIEW)
    times = [r.last_message_at for r in rows if r.last_message_at is not None]
    assert len(set(times)) < len(times)  # ties
    assert any(r.last_message_at is None for r in rows)
    minutes = [r.waiting_business_minutes for r in overdue]
    assert len(overdue) > 6 and len(set(minutes)) < len(minutes)  # tied waits
    assert any(r.last_message_at and r.last_message_at > NOW - timedelta(days=45) for r in earlier)


def test_a_page_reads_only_its_rows_in_sql_order(store) -> None:
    """The first page of a large filter is the head of the whole list (not a sorted sample)."""
    with store() as session:
        want = list_threads(session, NOW, "closed", VIEW, with_message_ids=False)
        page = list_threads(session, NOW, "closed", VIEW, with_message_ids=False, limit=10)
    assert page == want[:10]


@given(
    state=st.sampled_from(THREAD_FILTERS),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    key=st.lists(st.integers(min_value=-(1 << 62), max_value=1 << 62), min_size=3, max_size=3),
)
def test_cursor_text_round_trips(state: str, now: datetime, key: list[int]) -> None:
    cursor = ThreadCursor(state, now, tuple(key[: 3 if state == "overdue" else 2]))
    text = cursor.encode()
    assert text.isascii() and " " not in text
    assert ThreadCursor.decode(text) == cursor


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor",
        base64.urlsafe_b64encode(b'[1,"all","2026-01-01T00:00:00",[1,2]]').decode(),  # naive
        base64.urlsafe_b64encode(b'[1,"overdue","2026-01-01T00:00:00+00:00",[1,2]]').decode(),
        base64.urlsafe_b64encode(b'[2,"all","2026-01-01T00:00:00+00:00",[1,2]]').decode(),
        base64.urlsafe_b64encode(b'[1,"nope","2026-01-01T00:00:00+00:00",[1,2]]').decode(),
    ],
)
def test_a_bad_cursor_is_one_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        ThreadCursor.decode(text)
    assert caught.value.user_line.startswith("--after: ")


def test_a_cursor_of_another_filter_is_refused(store) -> None:
    with store() as session:
        page = list_threads(session, NOW, "all", VIEW, limit=5)
        cursor = ThreadCursor.after("all", NOW, page[-1])
        with pytest.raises(UsageError, match="--state all"):
            list_threads(session, NOW, "closed", VIEW, limit=5, after=cursor)


def test_head_revisions_are_alembics(tmp_path) -> None:
    """The schema check reads the migration files' text; Alembic must agree."""
    from alembic.script import ScriptDirectory

    from mailwatch.store.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert head_revisions() == frozenset(script.get_heads())


def test_is_current_sees_a_schema_behind_or_missing(store, tmp_path) -> None:
    engine = store.kw["bind"]
    assert is_current(engine)
    (head,) = head_revisions()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        assert not is_current(engine)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = ?", (head,))
    assert not is_current(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))


@pytest.mark.parametrize("days_back", [0, 3, 45])
def test_overdue_pages_of_every_size(store, days_back: int) -> None:
    """Overdue pages are read by the start of the wait in SQL: every page size, including
    ones that end inside a group of tied waits, gives the unpaged list."""
    now = NOW - timedelta(days=days_back)
    with store() as session:
        want = [r.id for r in list_threads(session, now, "overdue", VIEW)]
        assert len(want) > 12
        for limit in range(1, 13):
            assert [r.id for r in all_pages(session, now, "overdue", limit)] == want


@pytest.mark.parametrize("few", [0, 5, 100_000])
def test_both_ways_of_filling_a_page_agree(store, monkeypatch, few: int) -> None:
    """A filter with few candidates is sorted in Python, a big one read in the recency
    index's order: the threshold decides which, never what the pages hold."""
    monkeypatch.setattr(threads_view, "_FEW", few)
    now = NOW - timedelta(days=3)
    with store() as session:
        for state in THREAD_FILTERS:
            want = [r.id for r in list_threads(session, now, state, VIEW)]
            for limit in (7, 40):
                assert [r.id for r in all_pages(session, now, state, limit)] == want, state
