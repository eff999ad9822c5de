"""What the user decides about a conversation or a promise (CLI now, the web page later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.core.tracking import CLOSED, IGNORED, SNOOZED
from mailwatch.errors import UsageError
from mailwatch.i18n import _
from mailwatch.store.db import transaction
from mailwatch.store.models import Message, Promise, Thread


class ActionError(UsageError, ValueError):
    """A request that cannot be done (unknown id, a date in the past); the text says why."""


def _thread(session: Session, thread_id: int) -> Thread:
    thread = session.get(Thread, thread_id)
    if thread is None:
        raise ActionError(_("no thread with id %(id)d", id=thread_id))
    return thread


def set_thread_state(
    factory: sessionmaker[Session],
    thread_id: int,
    state: str | None,
    now: datetime,
    until: datetime | None = None,
) -> None:
    """``closed`` / ``snoozed`` (needs ``until``) / ``ignored``, or None to reopen."""
    if state not in (CLOSED, SNOOZED, IGNORED, None):
        raise ActionError(_("unknown state %(state)r", state=state))
    if state == SNOOZED:
        if until is None:
            raise ActionError(_("snooze needs --until"))
        if until <= now:
            raise ActionError(_("--until %(when)s is not in the future", when=until.isoformat()))
    with transaction(factory) as session:
        thread = _thread(session, thread_id)
        thread.manual_state = state
        thread.manual_state_at = now if state else None
        thread.snoozed_until = until if state == SNOOZED else None


def add_promise(
    factory: sessionmaker[Session], thread_id: int, due_at: datetime, text: str, now: datetime
) -> int:
    """A promise the user records by hand; it is anchored to the thread's newest message."""
    text = " ".join(text.split())
    if not text:
        raise ActionError(_("--text must not be empty"))
    with transaction(factory) as session:
        thread = _thread(session, thread_id)
        anchor = session.scalar(
            select(Message.id)
            .where(Message.thread_id == thread_id)
            .order_by(Message.date.desc(), Message.id.desc())
            .limit(1)
        )
        promise = Promise(
            mailbox_id=thread.mailbox_id,
            thread_id=thread_id,
            message_row_id=anchor,
            text=text[:1000],
            made_at=now,
            due_at=due_at,
            time_given=True,
            source="manual",
        )
        session.add(promise)
        session.flush()
        return int(promise.id)


def mark_promise_done(factory: sessionmaker[Session], promise_id: int, now: datetime) -> None:
    with transaction(factory) as session:
        promise = session.get(Promise, promise_id)
        if promise is None:
            raise ActionError(_("no promise with id %(id)d", id=promise_id))
        if promise.done_at is None:
            promise.done_at = now
