"""The digest and the promises read with plain SQL give what SQLAlchemy gave, on SQLite and
PostgreSQL.

``digest/data.py``, ``views/promises.py``, ``views/backlog.py`` and ``views/jobs.py`` read
through ``store.raw.Reader`` (session 7): on a SQLAlchemy session's connection (the service,
the web page, the digest it sends) or straight through the driver (the ``digest`` and
``promises`` commands). Checked here on a generated store with the rows no generator writes
(drafts pending and uncertain with odd recipients, promises open, kept, renegotiated and
without a thread, failing jobs, mailboxes failing, never synced or silent, the backlog's
start), with PostgreSQL's session zone set elsewhere than UTC (psycopg then hands out times
in that zone):

* each read's rows, value by value (and each datetime's zone), against SQLAlchemy's own query
  of the same thing (the ORM objects and expressions the code used before);
* the whole digest (its JSON and its terminal text) and every promise listing, byte for
  byte, between the reader on a session and the direct reader, at several instants (some in
  the past, which re-track threads); the terminal text also against rich's own layout of
  every table (``cli.plain_table`` writes it without rich where it can).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import Text, cast, func, insert, or_, select
from sqlalchemy.orm import Session

import mailwatch.cli.plain_table as plain_table
import mailwatch.digest.data as data
from bench.store_gen import generate
from mailwatch.cli.digest_text import print_digest
from mailwatch.cli.jsonout import json_text
from mailwatch.config import Settings, settings_from_values
from mailwatch.core.scheduling import in_backlog
from mailwatch.digest.data import build_digest
from mailwatch.store.db import make_engine, session_factory
from mailwatch.store.models import Draft, JobRun, Mailbox, Message, Promise, ServiceState, Thread
from mailwatch.store.raw import Reader, open_reader, reader_of
from mailwatch.views.backlog import STARTED_KEY, backlog_rows, read_started_at
from mailwatch.views.context import View
from mailwatch.views.jobs import job_states
from mailwatch.views.promises import PROMISE_STATUSES, list_promises
from mailwatch.views.threads import list_threads
from tests.helpers import engine_in_another_zone

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
INSTANTS = (
    NOW,
    NOW - timedelta(days=3, hours=5, seconds=7),
    NOW - timedelta(days=200),
    NOW + timedelta(days=2, hours=3),
    datetime(2026, 11, 29, 20, 30, tzinfo=UTC),  # a Sunday
)


def _each(conn, table, rows) -> None:
    for row in rows:
        conn.execute(insert(table).values(**row))


def awkward_rows(url: str) -> None:
    """What the generator does not write: see the module's docstring."""
    engine = make_engine(url)
    with engine.begin() as conn:
        mailbox_id = conn.scalar(select(Mailbox.id).order_by(Mailbox.id).limit(1))
        tids = list(conn.scalars(select(Thread.id).order_by(Thread.id).limit(400)))
        _each(
            conn,
            Mailbox,
            [
                {
                    "name": "second",
                    "username": "b@example.com",
                    "last_sync_at": NOW - timedelta(hours=2),
                    "last_error": "LOGIN failed: AUTHENTICATIONFAILED",
                    "last_error_at": NOW - timedelta(minutes=5),
                },
                {"name": "third", "username": "c@example.com"},
                {
                    "name": "fourth",
                    "username": "d@example.com",
                    "last_sync_at": NOW - timedelta(days=3, seconds=1),
                },
                {
                    "name": "fifth",
                    "username": "e@example.com",
                    "last_sync_at": NOW - timedelta(minutes=3),
                    "last_error": "connection reset",
                    "last_error_at": NOW - timedelta(minutes=2, microseconds=5),
                },
            ],
        )
        promises = []
        for n, tid in enumerate(tids[::7]):
            made = NOW - timedelta(days=n % 20, hours=n % 5, microseconds=n)
            promises.append(
                {
                    "mailbox_id": mailbox_id,
                    "thread_id": tid,
                    "text": "We will call «you» tomorrow",
                    "made_at": made,
                    "due_at": made + timedelta(days=1 + n % 4, minutes=n),
                    "done_at": made + timedelta(hours=3) if n % 5 == 0 else None,
                    "renegotiated_at": made + timedelta(hours=9) if n % 6 == 1 else None,
                    "source": "manual" if n % 3 == 0 else "detected",
                }
            )
        promises.append(
            {
                "mailbox_id": mailbox_id,
                "thread_id": None,
                "text": "a call, no thread",
                "made_at": NOW - timedelta(days=1),
                "due_at": NOW + timedelta(hours=5),
                "source": "manual",
            }
        )
        _each(conn, Promise, promises)
        recipients = (
            [{"name": "Zoë [b]", "email": "z@c.example.net"}],
            [],
            ["raw@x.example.net"],
            [{"email": "only@x.example.net"}],
        )
        _each(
            conn,
            Draft,
            [
                {
                    "mailbox_id": mailbox_id,
                    "thread_id": tid if n % 9 else None,
                    "kind": ("reply", "acknowledgment", "followup")[n % 3],
                    "language": "en",
                    "status": ("pending", "uncertain", "sent", "pending")[n % 4],
                    "message_id": f"<awkward{n}@x>",
                    "from_addr": {"name": "S", "email": "s@x"},
                    "to_addrs": recipients[n % 4],
                    "subject": "Re: «offer»\n\u202enext" if n % 2 else "",
                    "body_text": "x",
                    "created_at": NOW - timedelta(days=n % 6, minutes=7 * n, microseconds=n),
                }
                for n, tid in enumerate(tids[3::11][:30])
            ],
        )
        waiting = conn.execute(
            select(Thread.id, Thread.waiting_since)
            .where(Thread.state == "awaiting_us", Thread.waiting_since.is_not(None))
            .order_by(Thread.waiting_since)
            .limit(8)
        ).all()
        _each(  # acknowledgments sent: after the wait began (it counts), or before (it does not)
            conn,
            Draft,
            [
                {
                    "mailbox_id": mailbox_id,
                    "thread_id": tid,
                    "kind": "acknowledgment",
                    "language": "en",
                    "status": "sent",
                    "message_id": f"<ack{n}@x>",
                    "from_addr": {"name": "S", "email": "s@x"},
                    "to_addrs": [],
                    "subject": "Re: ack",
                    "body_text": "x",
                    "created_at": since + timedelta(hours=1 if n % 2 else -1),
                }
                for n, (tid, since) in enumerate(waiting)
            ],
        )
        _each(
            conn,
            JobRun,
            [
                {
                    "job": "sla-check",
                    "last_run_at": NOW - timedelta(minutes=3),
                    "last_success_at": NOW - timedelta(days=1),
                    "last_failure_at": NOW - timedelta(minutes=3),
                    "last_error": "KeyError: 'x'\n  at line 3",
                    "consecutive_failures": 4,
                    "total_failures": 9,
                },
                {"job": "digest", "last_run_at": NOW - timedelta(hours=3)},
                {
                    "job": "ack",
                    "last_run_at": NOW - timedelta(hours=1),
                    "last_failure_at": NOW - timedelta(hours=1),
                    "last_error": "boom",
                    "consecutive_failures": 1,
                    "total_failures": 1,
                },
            ],
        )
        conn.execute(
            insert(ServiceState).values(
                key=STARTED_KEY, value=(NOW - timedelta(days=60)).isoformat()
            )
        )
    engine.dispose()


def team(url: str) -> Settings:
    return settings_from_values(
        {
            "MAILWATCH_DATABASE_URL": url,
            "MAILWATCH_IMAP_HOST": "imap.example.com",
            "MAILWATCH_IMAP_USERNAME": "sales@example.com",
            "MAILWATCH_IMAP_PASSWORD": "pw",
            "MAILWATCH_TIMEZONE": "Europe/Chisinau",
            "MAILWATCH_WEB_BIND": "127.0.0.1:8025",
            "MAILWATCH_INTERNAL_DOMAINS": "example.com",
        }
    )


def same_values(got: list, want: list) -> int:
    """Row by row, value by value; every datetime aware UTC on both sides. The count of
    datetimes compared."""
    assert len(got) == len(want)
    times = 0
    for new, old in zip(got, want, strict=True):
        assert tuple(new) == tuple(old)
        for a, b in zip(new, old, strict=True):
            if isinstance(b, datetime):
                assert a.tzinfo is b.tzinfo is UTC
                times += 1
    return times


def at_or_before(now: datetime):  # the SQLAlchemy expression the digest used before
    return or_(Message.date <= now, Message.date.is_(None) & (Message.internal_date <= now))


def backlog_before(session: Session, cfg: Settings, now: datetime) -> tuple[list[int], int]:
    """views.backlog.backlog_rows before: one count of acknowledgments per thread, in SQL;
    and how many threads an acknowledgment kept out."""
    started = read_started_at(session)
    assert started is not None
    found, kept_out = [], 0
    for row in list_threads(session, now, "awaiting_us", View.of(cfg), with_message_ids=False):
        since = row.waiting_since
        if since is None or not in_backlog(since, started, cfg.calendar, cfg.ack_backlog_limit):
            continue
        acknowledged = session.scalar(
            select(func.count(Draft.id)).where(
                Draft.thread_id == row.id,
                Draft.kind == "acknowledgment",
                Draft.created_at >= since,
            )
        )
        if not acknowledged:
            found.append(row.id)
        else:
            kept_out += 1
    return found, kept_out


def same_rows_as_sqlalchemy(session: Session, reader: Reader) -> None:
    """Each read of the digest and the promises against SQLAlchemy's own query."""
    backlog_seen = acknowledged = 0
    for now in INSTANTS:
        promises = list_promises(reader, now, View())
        orm = {p.id: p for p in session.scalars(select(Promise).where(Promise.made_at <= now))}
        assert sorted(p.id for p in promises) == sorted(orm)
        for p in promises:
            row = orm[p.id]
            assert (p.due_at, p.made_at, p.done_at) == (row.due_at, row.made_at, row.done_at)
            assert (p.thread_id, p.text, p.source) == (row.thread_id, row.text, row.source)

        drafts = data._pending_drafts(reader, now)
        want_drafts = session.scalars(
            select(Draft)
            .where(Draft.status.in_(("pending", "uncertain")), Draft.created_at <= now)
            .order_by(Draft.created_at, Draft.id)
        )
        fields = ("id", "kind", "thread_id", "language", "status", "to_addrs", "subject")
        same_values(
            list(drafts),
            [(*(getattr(d, f) for f in fields), d.created_at) for d in want_drafts],
        )

        since = now - timedelta(days=data.WARNING_DAYS)
        signs_text = func.coalesce(cast(Thread.signs, Text), "null")
        want_signed = set(
            session.scalars(
                select(Thread.id).where(
                    Thread.last_message_at >= since,
                    Thread.signs.is_not(None),
                    signs_text.not_in(["null", "[]"]),
                )
            )
        )
        assert data._threads_with_signs(reader, since) == want_signed

        ids = list(session.scalars(select(Thread.id)))
        client = select(Message.thread_id).where(
            Message.thread_id.in_(ids),
            Message.direction == "inbound",
            Message.category == "client",
            at_or_before(now),
        )
        assert data._client_threads(reader, now, ids) == set(session.scalars(client))
        inbound = select(Message.thread_id).where(
            Message.thread_id.in_(ids), Message.direction == "inbound", at_or_before(now)
        )
        assert data._inbound_threads(reader, now, ids) == set(session.scalars(inbound))

        cfg = team("sqlite://")
        backlog = [row.id for row in backlog_rows(reader, cfg, now)]
        want, kept_out = backlog_before(session, cfg, now)
        assert backlog == want
        backlog_seen += len(backlog)
        acknowledged += kept_out
    assert backlog_seen > 10 and acknowledged > 0

    mailboxes = [
        (m.name, m.last_sync_at, m.last_error, m.last_error_at)
        for m in session.scalars(select(Mailbox).order_by(Mailbox.id))
    ]
    got = reader.rows(
        "SELECT mailboxes.name, mailboxes.last_sync_at, mailboxes.last_error,"
        " mailboxes.last_error_at FROM mailboxes ORDER BY mailboxes.id"
    )
    convert = reader.times()
    got = [tuple(convert(v) if i in (1, 3) and v is not None else v for i, v in enumerate(r))
           for r in got]  # fmt: skip
    assert same_values(got, mailboxes) >= 4

    jobs = [
        (j.job, j.last_run_at, j.last_success_at, j.last_failure_at, j.last_error,
         j.consecutive_failures, j.total_failures)
        for j in session.scalars(select(JobRun).order_by(JobRun.job))
    ]  # fmt: skip
    states = [
        (s.job, s.last_run_at, s.last_success_at, s.last_failure_at, s.last_error,
         s.consecutive_failures, s.total_failures)
        for s in job_states(reader)
    ]  # fmt: skip
    assert same_values(states, jobs) >= 6
    started = session.get(ServiceState, STARTED_KEY)
    assert started is not None
    assert read_started_at(reader) == datetime.fromisoformat(started.value)


def everything(source: Session | Reader, cfg: Settings) -> list[str]:
    """The digest's JSON and terminal text, and the promise listings, at every instant."""
    view = View.of(cfg)
    texts = []
    for now in INSTANTS:
        built = build_digest(source, cfg, now)
        texts.append(json_text(built.to_json()))
        out = io.StringIO()
        print_digest(built, Console(file=out, width=400))
        texts.append(out.getvalue())
        texts.append(json_text(build_digest(source, cfg, now, top=3, missed_days=60).to_json()))
        for status in (None, *PROMISE_STATUSES):
            texts.append(json_text([p.to_json() for p in list_promises(source, now, view, status)]))
    return texts


def check(url: str) -> None:
    generate(url, messages=3000, threads=800, seed=5, now=NOW)
    awkward_rows(url)
    engine = engine_in_another_zone(url)  # (on PostgreSQL: America/Santiago)
    cfg = team(url)
    direct = open_reader(url)
    assert direct is not None and direct.dialect == engine.dialect.name
    try:
        with session_factory(engine)() as session:
            for reader in (reader_of(session), direct):
                same_rows_as_sqlalchemy(session, reader)
            on_session = everything(session, cfg)
            assert everything(direct, cfg) == on_session
            with pytest.MonkeyPatch.context() as patch:  # every table laid out by rich
                patch.setattr(plain_table, "plain_lines", lambda console, table: None)
                assert everything(direct, cfg) == on_session
        digest = on_session[0]
        for seen in (
            '"status": "uncertain"',
            '"status": "auth_error"',
            '"status": "never"',
            '"status": "gap"',
            "job sla-check",
            "BACKLOG",
            '"promises_missed": 2',
        ):
            assert seen in "".join(on_session), seen  # fmt: skip
        assert '"warning_clients": [\n    {' in digest and '"drafts": [\n    {' in digest
    finally:
        direct.close()
        engine.dispose()


def test_the_digest_reads_equal_sqlalchemys_on_sqlite(tmp_path) -> None:
    check(f"sqlite:///{tmp_path / 'digest.db'}")


def test_the_digest_reads_equal_sqlalchemys_on_postgresql(pg_url: str) -> None:
    check(pg_url)
