"""Who holds the ball in a conversation, since when, and whether we are late: pure, time as input.

The sync stores messages; the classifier says which inbound ones a client wrote and waits on.
From that list this module derives a thread's state (``awaiting_us`` / ``awaiting_them`` /
``closed``), the instant the client started waiting, first-response time in business minutes,
and the client's own reply times (for the "slow but demanding" sign). The user's decisions
(close, snooze, ignore) are applied on top by :func:`effective_state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.language import thread_language
from mailwatch.core.message import Direction
from mailwatch.core.signs import (
    SignKind,
    WarningSign,
    detect_slow_but_demanding,
    thread_signs,
)
from mailwatch.core.timefmt import local

AWAITING_US = "awaiting_us"
AWAITING_THEM = "awaiting_them"
CLOSED = "closed"
SNOOZED = "snoozed"
IGNORED = "ignored"
MANUAL_STATES = (CLOSED, SNOOZED, IGNORED)
STATES = (AWAITING_US, AWAITING_THEM, CLOSED, SNOOZED, IGNORED)


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """One stored message as the tracker needs it (``needs_reply`` is False for our own mail)."""

    message_id: str
    direction: Direction
    at: datetime | None
    needs_reply: bool
    reason: str
    answered: bool = False
    language: str | None = None
    requested_by: datetime | None = None
    signs: tuple[WarningSign, ...] = ()
    sender: str | None = None
    parents: tuple[str, ...] = ()  # In-Reply-To and References: orders same-second messages
    colleague_reply: bool = False  # a colleague (INTERNAL_DOMAINS) wrote outside the company
    recipients: tuple[str, ...] = ()  # To and Cc addresses


@dataclass(frozen=True, slots=True)
class ThreadStatus:
    state: str  # awaiting_us | awaiting_them | closed
    needs_reply: bool
    reason: str
    waiting_since: datetime | None  # the first client message we have not answered yet
    last_client_at: datetime | None
    first_response_business_minutes: int | None
    client_reply_business_minutes: tuple[int, ...]
    requested_by: datetime | None
    language: str
    signs: tuple[WarningSign, ...]
    answered_by: str | None = None  # who wrote the answer the client has now (us or a colleague)


def _ordered(messages: Sequence[MessageFacts]) -> list[MessageFacts]:
    """By time, whatever order they arrived in; undated messages after the dated ones.

    Messages dated the same second: a reply after what it replies to; otherwise the cautious
    way (our message before the client's, an answered one before an unanswered one), so a
    tie never hides a waiting client.
    """
    by_instant: dict[datetime | None, set[str]] = {}
    for m in messages:
        by_instant.setdefault(m.at, set()).add(m.message_id)

    def key(m: MessageFacts) -> tuple[int, float, bool, bool, bool, str]:
        when = m.at.timestamp() if m.at is not None else 0.0
        same_instant = by_instant.get(m.at, set()) - {m.message_id}
        replies_to_tie = any(p in same_instant for p in m.parents)
        return (
            m.at is None,
            when,
            replies_to_tie,
            m.direction is Direction.INBOUND,
            not m.answered,
            m.message_id,
        )

    return sorted(messages, key=key)


def _when(value: datetime | None, calendar: BusinessCalendar) -> str:
    """A moment in the reason a person reads: the team's local time, to the minute."""
    return local(value, calendar.tz, missing="an unknown time")


def track_thread(
    messages: Sequence[MessageFacts],
    calendar: BusinessCalendar,
    sla: timedelta,
    default_language: str = "en",
) -> ThreadStatus:
    """The state of one conversation from its messages, whatever order they arrived in."""
    ordered = _ordered(messages)
    client = [m for m in ordered if m.direction is Direction.INBOUND and m.needs_reply]
    ours = [m for m in ordered if m.direction is Direction.OUTBOUND]
    # a colleague's mail answers the thread when it goes to a client who wrote in it
    clients = {m.sender.lower() for m in client if m.sender}

    def answers_client(m: MessageFacts) -> bool:
        if m.direction is Direction.OUTBOUND:
            return True
        return m.colleague_reply and any(r.lower() in clients for r in m.recipients)

    answers = [m for m in ordered if answers_client(m)]
    last_out = answers[-1] if answers else None
    last_out_position = max((i for i, m in enumerate(ordered) if answers_client(m)), default=-1)
    pending = [
        m
        for i, m in enumerate(ordered)
        if i > last_out_position and m.direction is Direction.INBOUND and m.needs_reply
    ]
    # A reply of ours that names a client message (In-Reply-To/References) answers it, whatever
    # the clocks say: a client clock ahead must not put our answer "before" the question.
    named_by_ours = {p for m in ours for p in m.parents}
    answered_upto = max(
        (i for i, m in enumerate(pending) if m.answered or m.message_id in named_by_ours),
        default=-1,
    )
    unanswered = pending[answered_upto + 1 :]

    waiting_since: datetime | None = None
    if unanswered:
        state, needs_reply = AWAITING_US, True
        waiting_since = unanswered[0].at
        latest = unanswered[-1]
        reason = f"{latest.reason}, waiting since {_when(waiting_since, calendar)}"
    elif pending and pending[answered_upto].message_id in named_by_ours:
        state, needs_reply = AWAITING_THEM, False
        reason = (
            f"answered: our reply names the client's message of "
            f"{_when(pending[answered_upto].at, calendar)} (In-Reply-To/References), although its clock "
            "puts it after our reply"
        )
    elif pending:
        state, needs_reply = AWAITING_THEM, False
        reason = (
            f"answered from another mail client: the \\Answered flag is set on the message of "
            f"{_when(pending[answered_upto].at, calendar)}"
        )
    elif last_out is not None and last_out.colleague_reply:
        state, needs_reply = AWAITING_THEM, False
        reason = (
            f"answered by our colleague {last_out.sender or '?'} at {_when(last_out.at, calendar)}"
        )
    elif last_out is not None:
        state, needs_reply = AWAITING_THEM, False
        reason = f"we wrote last, at {_when(last_out.at, calendar)}"
    else:
        state, needs_reply = CLOSED, False
        inbound = [m for m in ordered if m.direction is Direction.INBOUND]
        reason = (
            f"no client is waiting: {inbound[-1].reason}"
            if inbound
            else "no client is waiting: no inbound message"
        )

    requested: datetime | None = None
    for m in reversed(unanswered or client):
        if m.requested_by is not None:
            requested = m.requested_by
            break

    # The client's language; when they never wrote (or only "OK"), the one we wrote to them in.
    language = (
        thread_language(
            [m.language for m in client], default=thread_language([m.language for m in ours], "")
        )
        or default_language
    )

    signs = list(thread_signs([m.signs for m in client]))
    urgency = sum(1 for m in client for s in m.signs if s.kind is SignKind.URGENCY)
    replies = _client_reply_minutes(ordered, calendar)
    slow = detect_slow_but_demanding(replies, _minutes(sla), urgency)
    if slow is not None:
        signs.append(slow)

    return ThreadStatus(
        state=state,
        needs_reply=needs_reply,
        reason=reason,
        waiting_since=waiting_since,
        last_client_at=client[-1].at if client else None,
        first_response_business_minutes=_first_response(ordered, calendar),
        client_reply_business_minutes=tuple(replies),
        requested_by=requested,
        language=language,
        signs=tuple(signs),
        answered_by=last_out.sender if last_out is not None and not unanswered else None,
    )


def is_colleague_reply(
    sender: str | None,
    recipients: Sequence[str],
    internal_domains: frozenset[str],
    own_addresses: frozenset[str] = frozenset(),
) -> bool:
    """A colleague's mail to someone outside the company (a client), seen because we were copied
    or it sits in a watched folder: it answers the client as much as our own would."""
    if not sender or "@" not in sender:
        return False
    domain = sender.rpartition("@")[2].lower()
    domains = internal_domains or frozenset({domain})

    def internal(address: str) -> bool:
        host = address.rpartition("@")[2].lower()
        return any(host == d or host.endswith("." + d) for d in domains)

    if not internal(sender):
        return False
    own = {a.lower() for a in own_addresses}
    return any("@" in r and r.lower() not in own and not internal(r) for r in recipients)


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _first_response(ordered: Sequence[MessageFacts], calendar: BusinessCalendar) -> int | None:
    """Business minutes from the first client message to our first reply after it."""
    first = next(
        (m for m in ordered if m.direction is Direction.INBOUND and m.needs_reply and m.at),
        None,
    )
    if first is None or first.at is None:
        return None
    for m in ordered:
        if m.direction is Direction.OUTBOUND and m.at is not None and m.at > first.at:
            return calendar.business_minutes_between(first.at, m.at)
    return None


def _client_reply_minutes(ordered: Sequence[MessageFacts], calendar: BusinessCalendar) -> list[int]:
    """How long the client took to answer each of our messages, in business minutes."""
    result: list[int] = []
    our_last: datetime | None = None
    for m in ordered:
        if m.at is None:
            continue
        if m.direction is Direction.OUTBOUND:
            our_last = our_last or m.at  # measured from our first unanswered message
        elif m.needs_reply and our_last is not None:
            result.append(calendar.business_minutes_between(our_last, m.at))
            our_last = None
    return result


@dataclass(frozen=True, slots=True)
class Lateness:
    overdue: bool
    waiting_business_minutes: int
    overdue_business_minutes: int  # past the SLA; 0 when not overdue
    reply_due_at: datetime | None  # when the SLA runs out


def lateness(
    state: str,
    waiting_since: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    sla: timedelta,
) -> Lateness:
    """Whether a client has waited longer than ``sla`` of business time, as of ``now``."""
    if state != AWAITING_US or waiting_since is None:
        return Lateness(False, 0, 0, None)
    sla_minutes = _minutes(sla)
    waited, due = calendar.wait_and_due(waiting_since, now, sla_minutes)
    over = max(0, waited - sla_minutes)
    return Lateness(waited > sla_minutes, waited, over, due)


def effective_state(
    tracked_state: str,
    manual_state: str | None,
    manual_state_at: datetime | None,
    snoozed_until: datetime | None,
    last_client_at: datetime | None,
    now: datetime,
) -> str:
    """The user's decision, unless it has lapsed.

    ``ignored`` lasts. ``closed`` and ``snoozed`` end when the client writes again after the
    decision (a closed conversation that the client reopens needs an answer again); a snooze
    also ends at its date.
    """
    if manual_state == IGNORED:
        return IGNORED
    if manual_state in (CLOSED, SNOOZED):
        # Message times have whole seconds (INTERNALDATE, and a Date never after it): one in
        # the same second as the decision counts as after it, so no waiting client is hidden.
        client_wrote_since = (
            last_client_at is not None
            and manual_state_at is not None
            and last_client_at > manual_state_at - timedelta(seconds=1)
            and last_client_at <= now
        )
        if client_wrote_since:
            return tracked_state
        if manual_state == SNOOZED and snoozed_until is not None and now >= snoozed_until:
            return tracked_state
        return manual_state
    return tracked_state
