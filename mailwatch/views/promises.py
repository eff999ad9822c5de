"""Promises we made, each with its status as of an instant: ``PromiseView``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailwatch.core.promise_status import promise_status
from mailwatch.store.models import Message, Promise
from mailwatch.views.context import View, iso_text

__all__ = ["PROMISE_STATUSES", "PromiseStatus", "PromiseView", "list_promises"]


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    MISSED = "missed"
    RENEGOTIATED = "renegotiated"


PROMISE_STATUSES = tuple(s.value for s in PromiseStatus)


@dataclass(frozen=True, slots=True)
class PromiseView:
    """One promise as of an instant. Times are aware, in the team's timezone.

    ``message_id`` is the Message-ID of the mail it was found in (detected promises only).
    """

    id: int
    thread_id: int | None
    message_id: str | None
    text: str
    due_at: datetime
    status: PromiseStatus
    source: str  # detected | manual
    made_at: datetime
    done_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The ``promises --json`` shape (docs/cli.md): key names and order are the contract."""
        return {
            "id": self.id,
            "thread_id": self.thread_id,
            "message_id": self.message_id,
            "text": self.text,
            "due_at": iso_text(self.due_at),
            "status": self.status.value,
            "source": self.source,
            "made_at": iso_text(self.made_at),
            "done_at": iso_text(self.done_at),
        }


def list_promises(
    session: Session,
    now: datetime,
    view: View | None = None,
    status: str | None = None,
    thread_id: int | None = None,
    *,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
) -> list[PromiseView]:
    """Promises made by ``now``, each with its status as of ``now``, soonest due first;
    ``due_from`` / ``due_to`` keep those due in that window (both ends included)."""
    view = view or View()
    tz = view.calendar.tz
    # plain rows, not ORM objects: building 2,000 mapped instances cost ~100 ms on a large store
    query = (
        select(
            Promise.id,
            Promise.thread_id,
            Promise.message_row_id,
            Promise.text,
            Promise.due_at,
            Promise.source,
            Promise.made_at,
            Promise.done_at,
            Promise.renegotiated_at,
        )
        .where(Promise.made_at <= now)
        .order_by(Promise.due_at, Promise.id)
    )
    if thread_id is not None:
        query = query.where(Promise.thread_id == thread_id)
    if due_from is not None:
        query = query.where(Promise.due_at >= due_from)
    if due_to is not None:
        query = query.where(Promise.due_at <= due_to)
    promises = list(session.execute(query))
    thread_ids = {p.thread_id for p in promises if p.thread_id is not None}
    ours: dict[int, list[datetime]] = defaultdict(list)
    anchors: dict[int, str] = {}
    if thread_ids:
        for tid, when, internal in session.execute(
            select(Message.thread_id, Message.date, Message.internal_date).where(
                Message.thread_id.in_(thread_ids), Message.direction == "outbound"
            )
        ):
            at = when or internal
            if tid is not None and at is not None:  # the IN list holds no NULL thread id
                ours[tid].append(at)
    row_ids = {p.message_row_id for p in promises if p.message_row_id is not None}
    if row_ids:
        anchors = {
            row_id: message_id
            for row_id, message_id in session.execute(
                select(Message.id, Message.message_id).where(Message.id.in_(row_ids))
            )
        }
    result: list[PromiseView] = []
    for promise in promises:
        later = sorted(t for t in ours.get(promise.thread_id or -1, []) if t > promise.made_at)
        current = promise_status(
            promise.due_at,
            now,
            later,
            marked_done=promise.done_at is not None and promise.done_at <= now,
            renegotiated=promise.renegotiated_at is not None and promise.renegotiated_at <= now,
        )
        if status is not None and current != status:
            continue
        result.append(
            PromiseView(
                id=promise.id,
                thread_id=promise.thread_id,
                message_id=anchors.get(promise.message_row_id or -1)
                if promise.source == "detected"
                else None,
                text=promise.text,
                due_at=promise.due_at.astimezone(tz),
                status=PromiseStatus(current),
                source=promise.source,
                made_at=promise.made_at.astimezone(tz),
                done_at=view.at(promise.done_at),
            )
        )
    return result
