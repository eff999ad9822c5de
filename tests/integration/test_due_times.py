"""Cost follows work: the SLA and follow-up checks read only the threads that are due.

Threads carry their next due time (``ack_due_at``, ``follow_up_due_at``, indexed), written
by tracking; a check costs the same few statements with 20 or 2,000 waiting threads that are
not due, and a handful more per due thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, select, update

from mailwatch.service.jobs import Jobs
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Mailbox, Thread
from tests.helpers import Harness, make_msg, make_settings, sqlite_url

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


class Statements:
    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1


def waiting_threads(factory, n: int, due_in: timedelta) -> None:
    with factory() as session, session.begin():
        mailbox_id = session.scalar(select(Mailbox.id))
        if mailbox_id is None:
            mailbox = Mailbox(name="main", username="sales@example.com")
            session.add(mailbox)
            session.flush()
            mailbox_id = mailbox.id
        session.execute(
            insert(Thread),
            [
                {
                    "mailbox_id": mailbox_id,
                    "subject": f"Request {i}",
                    "state": "awaiting_us",
                    "needs_reply": True,
                    "waiting_since": NOW - timedelta(minutes=30),
                    "last_message_at": NOW - timedelta(minutes=30),
                    "tracked_at": NOW - timedelta(minutes=29),
                    "ack_due_at": NOW + due_in,
                }
                for i in range(n)
            ],
        )


def check_cost(tmp_path, imap_user, n: int, monkeypatch=None) -> int:
    settings = make_settings(imap_user, f"sqlite:///{tmp_path / f'due{n}.db'}")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = session_factory(engine)
    waiting_threads(factory, n, timedelta(hours=1))
    jobs = Jobs(factory, settings)
    jobs.sla_check(NOW)  # the first check fills due times once for an upgraded database
    counter = Statements(engine)
    read: list[int] = []
    if monkeypatch is not None:
        from mailwatch.service import jobs as job_module

        real = job_module.list_threads

        def counting(*args, **kwargs):
            rows = real(*args, **kwargs)
            read.append(len(rows))
            return rows

        monkeypatch.setattr(job_module, "list_threads", counting)
    assert jobs.sla_check(NOW).created == []
    assert jobs.follow_up_check(NOW).created == []
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM threads WHERE ack_due_at <= ? "
                "ORDER BY ack_due_at, id",
                (NOW.replace(tzinfo=None),),
            )
        )
    engine.dispose()
    assert "ix_threads_ack_due_at" in plan, plan
    assert sum(read) == 0  # not one waiting thread was read: none is due
    return counter.count


def test_a_check_costs_the_same_with_20_or_2000_waiting_threads(tmp_path, imap_user, monkeypatch):
    small = check_cost(tmp_path, imap_user, 20, monkeypatch)
    large = check_cost(tmp_path, imap_user, 2000, monkeypatch)
    assert small == large
    assert large <= 12


def test_tracking_sets_the_due_time_and_the_check_clears_it(imap_user, tmp_path):
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(sender="Ana <ana@client.test>", date=NOW - timedelta(minutes=30)),
    )
    h = Harness(
        make_settings(
            imap_user,
            sqlite_url(tmp_path),
            reply_sla="4h",
            ack_after="2h",
            sender_name="Ion",
            signature="Ion",
        )
    )
    try:
        h.sync()
        with h.factory() as session:
            (thread,) = session.scalars(select(Thread))
        assert thread.ack_due_at == NOW + timedelta(minutes=90)  # 2 business hours in
        jobs = Jobs(h.factory, h.settings)
        assert jobs.sla_check(NOW).created == []
        assert len(jobs.sla_check(NOW + timedelta(minutes=90)).created) == 1
        with h.factory() as session:
            assert session.get_one(Thread, thread.id).ack_due_at is None
        # Re-tracking (a flag change) does not make it due again: the draft exists.
        h.tracker.refresh()
        with h.factory() as session:
            assert session.get_one(Thread, thread.id).ack_due_at is None
    finally:
        h.close()


def test_an_upgraded_database_gets_its_due_times_on_the_first_check(imap_user, tmp_path):
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(sender="Ana <ana@client.test>", date=NOW - timedelta(minutes=30)),
    )
    h = Harness(
        make_settings(
            imap_user, sqlite_url(tmp_path), ack_after="2h", sender_name="Ion", signature="Ion"
        )
    )
    try:
        h.sync()
        with h.factory() as session, session.begin():  # as a database from before 0005
            session.execute(update(Thread).values(ack_due_at=None))
        created = Jobs(h.factory, h.settings).sla_check(NOW + timedelta(hours=2))
        assert len(created.created) == 1
    finally:
        h.close()


def test_the_promise_check_reads_only_promises_due_soon(tmp_path, imap_user, monkeypatch):
    """2,000 open promises due in a month: the check reads none of them (a promise due within
    RENEGOTIATE_LEAD is still read and renegotiated: test_service_clock, test_working_week)."""
    from mailwatch.service import jobs as job_module
    from mailwatch.store.models import Promise

    settings = make_settings(imap_user, f"sqlite:///{tmp_path / 'promises.db'}")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = session_factory(engine)
    waiting_threads(factory, 1, timedelta(hours=1))
    with factory() as session, session.begin():
        mailbox_id = session.scalar(select(Mailbox.id))
        thread_id = session.scalar(select(Thread.id))
        session.execute(
            insert(Promise),
            [
                {
                    "mailbox_id": mailbox_id,
                    "thread_id": thread_id,
                    "text": f"I will send offer {i} next month.",
                    "made_at": NOW - timedelta(days=1),
                    "due_at": NOW + timedelta(days=30, minutes=i),
                    "source": "detected",
                }
                for i in range(2000)
            ],
        )
    read: list[int] = []
    real = job_module.list_promises

    def counting(*args, **kwargs):
        rows = real(*args, **kwargs)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(job_module, "list_promises", counting)
    assert Jobs(factory, settings).promise_check(NOW).created == []
    engine.dispose()
    assert read == [0]
