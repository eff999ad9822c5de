"""Promises we made, each with its status as of an instant: ``PromiseView``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mailwatch.core.promise_status import promise_status
from mailwatch.store.raw import Cond, Reader, ids_in, reader_of
from mailwatch.views.context import View, iso_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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
    session: Session | Reader,
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
    db = reader_of(session)
    view = view or View()
    tz = view.calendar.tz
    where = Cond("promises.made_at <= ?", (db.time(now),))
    if thread_id is not None:
        where = where & Cond("promises.thread_id = ?", (thread_id,))
    if due_from is not None:
        where = where & Cond("promises.due_at >= ?", (db.time(due_from),))
    if due_to is not None:
        where = where & Cond("promises.due_at <= ?", (db.time(due_to),))
    convert = db.times()

    def at(value: Any) -> datetime | None:
        return convert(value) if value is not None else None

    promises = [
        (pid, tid, row_id, text, convert(due), source, convert(made), at(done), at(renegotiated))
        for pid, tid, row_id, text, due, source, made, done, renegotiated in db.rows(
            "SELECT promises.id, promises.thread_id, promises.message_row_id, promises.text,"
            " promises.due_at, promises.source, promises.made_at, promises.done_at,"
            f" promises.renegotiated_at FROM promises WHERE {where.sql}"
            " ORDER BY promises.due_at, promises.id",
            where.params,
        )
    ]
    thread_ids = {p[1] for p in promises if p[1] is not None}
    ours: dict[int, list[datetime]] = defaultdict(list)
    anchors: dict[int, str] = {}
    if thread_ids:
        in_threads = ids_in("messages.thread_id", sorted(thread_ids))
        for tid, when, internal in db.rows(
            "SELECT messages.thread_id, messages.date, messages.internal_date FROM messages"
            f" WHERE {in_threads.sql} AND messages.direction = 'outbound'",
            in_threads.params,
        ):
            stamp = when if when is not None else internal
            if tid is not None and stamp is not None:  # the IN list holds no NULL thread id
                ours[tid].append(convert(stamp))
    row_ids = {p[2] for p in promises if p[2] is not None}
    if row_ids:
        in_rows = ids_in("messages.id", sorted(row_ids))
        anchors = dict(
            db.rows(
                f"SELECT messages.id, messages.message_id FROM messages WHERE {in_rows.sql}",
                in_rows.params,
            )
        )
    result: list[PromiseView] = []
    for pid, tid, row_id, text, due_at, source, made_at, done_at, renegotiated_at in promises:
        later = sorted(t for t in ours.get(tid or -1, []) if t > made_at)
        current = promise_status(
            due_at,
            now,
            later,
            marked_done=done_at is not None and done_at <= now,
            renegotiated=renegotiated_at is not None and renegotiated_at <= now,
        )
        if status is not None and current != status:
            continue
        result.append(
            PromiseView(
                id=pid,
                thread_id=tid,
                message_id=anchors.get(row_id or -1) if source == "detected" else None,
                text=text,
                due_at=due_at.astimezone(tz),
                status=PromiseStatus(current),
                source=source,
                made_at=made_at.astimezone(tz),
                done_at=view.at(done_at),
            )
        )
    return result
