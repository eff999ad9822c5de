"""Read models for the CLI and the web page: conversations as the contract's JSON shape."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailwatch.store.models import Mailbox, Message, Thread

STATES = ("awaiting_us", "awaiting_them", "closed", "snoozed", "ignored")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def simple_state(thread: Thread, last_inbound_answered: bool) -> str:
    """Who holds the ball, from the last message's direction and the \\Answered flag."""
    if thread.state in ("closed", "snoozed", "ignored"):
        return thread.state
    if thread.last_inbound_at is None:
        return "awaiting_them"
    if thread.last_outbound_at is not None and thread.last_outbound_at >= thread.last_inbound_at:
        return "awaiting_them"
    return "awaiting_them" if last_inbound_answered else "awaiting_us"


def thread_rows(session: Session, now: datetime, state: str = "all") -> list[dict[str, Any]]:
    mailboxes = {row.id: row.name for row in session.execute(select(Mailbox.id, Mailbox.name))}
    threads = list(session.scalars(select(Thread).order_by(Thread.last_message_at.desc())))
    ids: dict[int, list[str]] = defaultdict(list)
    last_inbound: dict[int, tuple[datetime | None, bool]] = {}
    rows = session.execute(
        select(
            Message.thread_id,
            Message.message_id,
            Message.direction,
            Message.date,
            Message.internal_date,
            Message.answered,
        )
        .where(Message.thread_id.is_not(None))
        .order_by(Message.thread_id, Message.date, Message.id)
    )
    for thread_id, message_id, direction, date, internal, answered in rows:
        ids[thread_id].append(message_id)
        when = date or internal
        if direction == "inbound":
            previous = last_inbound.get(thread_id)
            if (
                previous is None
                or previous[0] is None
                or (when is not None and when >= previous[0])
            ):
                last_inbound[thread_id] = (when, bool(answered))
    result = []
    for thread in threads:
        current = simple_state(thread, last_inbound.get(thread.id, (None, False))[1])
        if state not in ("all", current) and state != "overdue":
            continue
        if state == "overdue":
            continue  # business-time overdue arrives with the tracking work
        result.append(
            {
                "id": thread.id,
                "mailbox": mailboxes.get(thread.mailbox_id),
                "subject": thread.subject,
                "counterpart": {
                    "name": thread.counterpart_name or None,
                    "email": thread.counterpart_email,
                },
                "state": current,
                "needs_reply": None,
                "overdue": None,
                "overdue_business_minutes": None,
                "last_inbound_at": iso(thread.last_inbound_at),
                "last_outbound_at": iso(thread.last_outbound_at),
                "first_response_business_minutes": None,
                "language": thread.language,
                "message_ids": ids.get(thread.id, []),
                "warning_signs": [],
                "message_count": thread.message_count,
                "last_message_at": iso(thread.last_message_at),
            }
        )
    return result
