"""Every database read of the approval pages, as named functions.

The routes never build a query: they call these, which call the store's read functions
(``mailwatch.views``, the backlog and the workers' table) or, for the two small reads
that have no store function yet, select here. One place to point at typed read models later.
Each function opens and closes its own session and is blocking: routes run it through
:meth:`mailwatch.web.pages.Pages.call`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings
from mailwatch.store.models import Draft, Mailbox, Message, Thread
from mailwatch.views.backlog import backlog_line, backlog_rows, read_started_at
from mailwatch.views.context import View
from mailwatch.views.promises import list_promises
from mailwatch.views.threads import list_threads, overdue_summary, waiting_page
from mailwatch.views.workers import WorkerInfo, list_workers

Factory = sessionmaker[Session]


@dataclass(frozen=True)
class MessageRead:
    """One message of a conversation, as the pages show it (the store's columns, no ORM)."""

    id: int
    direction: str
    from_name: str
    from_email: str
    to_addrs: list[Any]
    subject: str
    when: datetime | None
    content_type: str
    text_prefix: str
    new_text: str
    needs_reply: bool | None
    reason: str
    category: str


@dataclass(frozen=True)
class SyncState:
    """A mailbox's last successful sync and its last error (for /healthz and /metrics)."""

    last_sync_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True)
class ThreadLists:
    """The threads page's two lists and how many each has in all."""

    overdue: list[dict[str, Any]]
    waiting: list[dict[str, Any]]
    totals: dict[str, int]


def conversation(
    factory: Factory, view: View, thread_id: int, now: datetime
) -> tuple[dict[str, Any] | None, list[MessageRead]]:
    """One thread's row (None when there is no such thread) and its messages, oldest first."""
    with factory() as session:
        rows = [t.to_json() for t in list_threads(session, now, "all", view, thread_id=thread_id)]
        messages = [
            MessageRead(
                id=m.id,
                direction=m.direction,
                from_name=m.from_name or "",
                from_email=m.from_email or "",
                to_addrs=list(m.to_addrs or []),
                subject=m.subject,
                when=m.date or m.internal_date,
                content_type=m.content_type or "text/plain",
                text_prefix=m.text_prefix or "",
                new_text=m.new_text or "",
                needs_reply=m.needs_reply,
                reason=m.reason or "",
                category=m.category or "",
            )
            for m in session.scalars(
                select(Message)
                .where(Message.thread_id == thread_id)
                .order_by(Message.date, Message.id)
            )
        ]
    return (rows[0] if rows else None), messages


def thread_lists(
    factory: Factory, view: View, now: datetime, *, show_all: bool, first_page: int
) -> ThreadLists:
    """Overdue threads and those waiting for us (not overdue), longest waits first."""
    with factory() as session:
        if show_all:
            overdue = [
                t.to_json()
                for t in list_threads(session, now, "overdue", view, with_message_ids=False)
            ]
            waiting = [
                t.to_json()
                for t in list_threads(session, now, "awaiting_us", view, with_message_ids=False)
                if not t.overdue
            ]
            return ThreadLists(overdue, waiting, {"overdue": len(overdue), "waiting": len(waiting)})
        # the first page: counted in SQL, only the rows shown are read
        summary = overdue_summary(session, now, view, first_page)
        page, waiting_total = waiting_page(session, now, view, first_page)
        return ThreadLists(
            [t.to_json() for t in summary.top],
            [t.to_json() for t in page],
            {"overdue": summary.total, "waiting": waiting_total},
        )


def promises(
    factory: Factory, view: View, now: datetime, *, thread_id: int | None = None
) -> list[dict[str, Any]]:
    """Promises as of ``now`` (of one thread when ``thread_id`` is given), soonest due first."""
    with factory() as session:
        return [p.to_json() for p in list_promises(session, now, view, thread_id=thread_id)]


def promise(factory: Factory, view: View, now: datetime, promise_id: int) -> dict[str, Any] | None:
    """One promise with its status as of ``now``, or None."""
    return next((p for p in promises(factory, view, now) if p["id"] == promise_id), None)


def thread_subjects(factory: Factory, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Each thread's subject and the client's name (else address), for the promises list."""
    if not ids:
        return {}
    with factory() as session:
        return {
            tid: (subject, name or email or "")
            for tid, subject, name, email in session.execute(
                select(
                    Thread.id, Thread.subject, Thread.counterpart_name, Thread.counterpart_email
                ).where(Thread.id.in_(ids))
            )
        }


def backlog_summary(factory: Factory, settings: Settings, now: datetime) -> str:
    """The queue's line about the mail that waited before mailwatch started ("" when none)."""
    with factory() as session:
        rows = backlog_rows(session, settings, now)
        return backlog_line(len(rows), settings, read_started_at(session))


def backlog_thread_ids(factory: Factory, settings: Settings, now: datetime) -> list[int]:
    """The backlog threads that still have no acknowledgment draft."""
    with factory() as session:
        return [row.id for row in backlog_rows(session, settings, now)]


def workers(factory: Factory) -> list[WorkerInfo]:
    """Every worker seen in the last day, live ones first (the settings page)."""
    return list_workers(factory)


def sync_states(factory: Factory) -> dict[str, SyncState]:
    """Each stored mailbox's sync state, by the mailbox's name."""
    with factory() as session:
        return {
            m.name: SyncState(m.last_sync_at, m.last_error, m.last_error_at)
            for m in session.scalars(select(Mailbox))
        }


def draft_counts(factory: Factory) -> dict[str, int]:
    """How many drafts are in each status."""
    with factory() as session:
        return {
            status: count
            for status, count in session.execute(
                select(Draft.status, func.count(Draft.id)).group_by(Draft.status)
            )
        }
