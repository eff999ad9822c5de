"""Read models for the CLI and the web page: conversations and promises as the contract's JSON.

Everything is evaluated "as of" an instant: lateness and promise status always, and a thread
whose newest message is later than that instant is re-tracked from the messages it had then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.message import Direction
from mailwatch.core.promises import promise_status
from mailwatch.core.tracking import (
    AWAITING_US,
    MessageFacts,
    effective_state,
    lateness,
    track_thread,
)
from mailwatch.store.models import Mailbox, Message, Promise, Thread

STATES = ("awaiting_us", "awaiting_them", "closed", "snoozed", "ignored")
THREAD_FILTERS = (*STATES, "overdue", "all")
PROMISE_STATUSES = ("open", "kept", "missed", "renegotiated")


@dataclass(frozen=True)
class View:
    """The settings a read needs: business calendar, SLA, default language."""

    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    sla: timedelta = timedelta(hours=4)
    default_language: str = "en"
    internal_domains: frozenset[str] = frozenset()
    own_addresses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Any) -> View:
        languages = getattr(settings, "languages", ()) or ("en",)
        internal = frozenset(getattr(settings, "internal_domains", ()) or ())
        own = frozenset(getattr(settings, "own_addresses", ()) or ())
        return cls(settings.calendar, settings.reply_sla, languages[0], internal, own)

    def iso(self, value: datetime | None) -> str | None:
        """ISO 8601 with the offset of the team's timezone."""
        return value.astimezone(self.calendar.tz).isoformat() if value is not None else None


def _signs(values: Any) -> list[dict[str, Any]]:
    return [dict(v) for v in values or () if isinstance(v, dict)]


def thread_rows(
    session: Session,
    now: datetime,
    state: str = "all",
    view: View | None = None,
    thread_id: int | None = None,
) -> list[dict[str, Any]]:
    """Conversations as of ``now``; ``state`` filters (``overdue``: awaiting us past the SLA)."""
    from mailwatch.track.tracker import load_facts, signs_json

    view = view or View()
    mailboxes = {row.id: row.name for row in session.execute(select(Mailbox.id, Mailbox.name))}
    query = select(Thread).order_by(Thread.last_message_at.desc(), Thread.id.desc())
    if thread_id is not None:
        query = query.where(Thread.id == thread_id)
    wanted = "awaiting_us" if state == "overdue" else state
    if wanted in STATES:
        # Only threads that can be in that state as of ``now``: tracked so, decided so by the
        # user, or changed after ``now`` (re-tracked below). The scheduler asks every minute.
        could_be = (
            (Thread.state == wanted)
            | (Thread.manual_state == wanted)
            | (Thread.last_message_at > now)
        )
        if wanted == "awaiting_them":
            could_be = could_be | Thread.state.is_(None)  # not tracked yet counts as theirs
        query = query.where(could_be)
    threads = list(session.scalars(query))
    ids: dict[int, list[tuple[datetime | None, str]]] = defaultdict(list)
    message_query = (
        select(Message.thread_id, Message.message_id, Message.date, Message.internal_date)
        .where(Message.thread_id.is_not(None))
        .order_by(Message.thread_id, Message.date, Message.id)
    )
    if thread_id is not None:
        message_query = message_query.where(Message.thread_id == thread_id)
    elif wanted in STATES:
        message_query = message_query.where(
            Message.thread_id.in_(select(Thread.id).where(could_be))  # a subquery: no id list
        )
    for tid, message_id, date, internal in session.execute(message_query):
        ids[tid].append((date or internal, message_id))
    # Threads that changed after ``now`` are re-tracked from what they held at ``now``.
    later = [t.id for t in threads if t.last_message_at is not None and t.last_message_at > now]
    facts_then: dict[int, list[MessageFacts]] = {}
    if later:
        for tid, facts in load_facts(
            session, later, view.internal_domains, view.own_addresses
        ).items():
            facts_then[tid] = [f for f in facts if f.at is None or f.at <= now]

    result = []
    for thread in threads:
        tracked_state = thread.state or "awaiting_them"
        reason = thread.needs_reply_reason or "not tracked yet"
        waiting_since = thread.waiting_since
        last_client_at = thread.last_client_at
        first_response = thread.first_response_business_minutes
        language = thread.language
        requested_by = thread.requested_by
        answered_by = thread.answered_by
        signs = _signs(thread.signs)
        last_inbound, last_outbound = thread.last_inbound_at, thread.last_outbound_at
        message_ids = [mid for when, mid in ids.get(thread.id, [])]
        if thread.id in facts_then:
            facts = facts_then[thread.id]
            if not facts:
                continue  # the conversation had not started yet
            status = track_thread(facts, view.calendar, view.sla, view.default_language)
            tracked_state, reason = status.state, status.reason
            waiting_since, last_client_at = status.waiting_since, status.last_client_at
            first_response, language = status.first_response_business_minutes, status.language
            requested_by, signs = status.requested_by, signs_json(status.signs)
            answered_by = status.answered_by
            last_inbound = _latest(facts, Direction.INBOUND)
            last_outbound = _latest(facts, Direction.OUTBOUND)
            message_ids = [
                mid for when, mid in ids.get(thread.id, []) if when is None or when <= now
            ]
        current = effective_state(
            tracked_state,
            thread.manual_state,
            thread.manual_state_at,
            thread.snoozed_until,
            last_client_at,
            now,
        )
        if current != tracked_state:
            reason = _manual_reason(thread, current, view)
        late = lateness(current, waiting_since, now, view.calendar, view.sla)
        if state == "overdue":
            if not late.overdue:
                continue
        elif state not in ("all", current):
            continue
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
                "needs_reply": current == AWAITING_US,
                "needs_reply_reason": reason,
                "overdue": late.overdue,
                "overdue_business_minutes": late.overdue_business_minutes,
                "waiting_business_minutes": late.waiting_business_minutes,
                "waiting_since": view.iso(waiting_since) if current == AWAITING_US else None,
                "reply_due_at": view.iso(late.reply_due_at),
                "last_inbound_at": view.iso(last_inbound),
                "last_outbound_at": view.iso(last_outbound),
                "first_response_business_minutes": first_response,
                "language": language,
                "message_ids": message_ids,
                "warning_signs": signs,
                "requested_by": view.iso(requested_by),
                "answered_by": answered_by if current != AWAITING_US else None,
                "snoozed_until": view.iso(thread.snoozed_until) if current == "snoozed" else None,
                "message_count": len(message_ids),
                "last_message_at": view.iso(thread.last_message_at),
            }
        )
    if state == "overdue":
        result.sort(key=lambda r: -int(r["waiting_business_minutes"]))
    return result


def _latest(facts: list[MessageFacts], direction: Direction) -> datetime | None:
    times = [f.at for f in facts if f.direction is direction and f.at is not None]
    return max(times) if times else None


def _manual_reason(thread: Thread, state: str, view: View) -> str:
    since = view.iso(thread.manual_state_at) or "an unknown time"
    if state == "snoozed":
        return f"snoozed by the user until {view.iso(thread.snoozed_until)}"
    return f"{state} by the user at {since}"


def promise_rows(
    session: Session,
    now: datetime,
    view: View | None = None,
    status: str | None = None,
    thread_id: int | None = None,
) -> list[dict[str, Any]]:
    """Promises made by ``now``, each with its status as of ``now``, soonest due first."""
    view = view or View()
    query = select(Promise).where(Promise.made_at <= now).order_by(Promise.due_at, Promise.id)
    if thread_id is not None:
        query = query.where(Promise.thread_id == thread_id)
    promises = list(session.scalars(query))
    thread_ids = {p.thread_id for p in promises if p.thread_id is not None}
    ours: dict[int, list[datetime]] = defaultdict(list)
    anchors: dict[int, str] = {}
    if thread_ids:
        for tid, when, internal in session.execute(
            select(Message.thread_id, Message.date, Message.internal_date).where(
                Message.thread_id.in_(thread_ids), Message.direction == "outbound"
            )
        ):
            if (when or internal) is not None:
                ours[tid].append(when or internal)
    row_ids = {p.message_row_id for p in promises if p.message_row_id is not None}
    if row_ids:
        anchors = {
            row_id: message_id
            for row_id, message_id in session.execute(
                select(Message.id, Message.message_id).where(Message.id.in_(row_ids))
            )
        }
    result = []
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
            {
                "id": promise.id,
                "thread_id": promise.thread_id,
                "message_id": anchors.get(promise.message_row_id or -1)
                if promise.source == "detected"
                else None,
                "text": promise.text,
                "due_at": view.iso(promise.due_at),
                "status": current,
                "source": promise.source,
                "made_at": view.iso(promise.made_at),
                "done_at": view.iso(promise.done_at),
            }
        )
    return result
