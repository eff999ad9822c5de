"""A colleague's answer to the client, seen because we were copied, answers the thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.message import Direction
from mailwatch.core.tracking import (
    AWAITING_THEM,
    AWAITING_US,
    MessageFacts,
    is_colleague_reply,
    track_thread,
)

CAL = BusinessCalendar()
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
INTERNAL = frozenset({"nordpack.md"})


def _client(at: datetime, mid: str = "c1") -> MessageFacts:
    return MessageFacts(
        mid, Direction.INBOUND, at, True, "from client ana@firma.ro", sender="ana@firma.ro"
    )


def _colleague(at: datetime, to_client: bool) -> MessageFacts:
    return MessageFacts(
        "k1",
        Direction.INBOUND,
        at,
        False,
        "internal sender ion@nordpack.md",
        sender="ion@nordpack.md",
        colleague_reply=to_client,
        recipients=("ana@firma.ro",) if to_client else ("elena@nordpack.md",),
    )


def test_a_colleagues_reply_answers_the_thread_and_says_who() -> None:
    status = track_thread(
        [_client(T0), _colleague(T0 + timedelta(hours=1), True)], CAL, timedelta(hours=4)
    )
    assert status.state == AWAITING_THEM and not status.needs_reply
    assert status.answered_by == "ion@nordpack.md"
    assert "colleague ion@nordpack.md" in status.reason


def test_an_internal_note_is_not_an_answer() -> None:
    status = track_thread(
        [_client(T0), _colleague(T0 + timedelta(hours=1), False)], CAL, timedelta(hours=4)
    )
    assert status.state == AWAITING_US and status.answered_by is None


def test_the_client_writing_again_waits_again() -> None:
    messages = [
        _client(T0),
        _colleague(T0 + timedelta(hours=1), True),
        _client(T0 + timedelta(hours=2), "c2"),
    ]
    status = track_thread(messages, CAL, timedelta(hours=4))
    assert status.state == AWAITING_US and status.answered_by is None


def test_a_colleague_writing_to_someone_else_is_not_an_answer() -> None:
    other = MessageFacts(
        "k2",
        Direction.INBOUND,
        T0 + timedelta(hours=1),
        False,
        "internal sender ion@nordpack.md",
        sender="ion@nordpack.md",
        colleague_reply=True,
        recipients=("supplier@paper.example",),
    )
    status = track_thread([_client(T0), other], CAL, timedelta(hours=4))
    assert status.state == AWAITING_US


def test_is_colleague_reply() -> None:
    assert is_colleague_reply("ion@nordpack.md", ["ana@firma.ro", "elena@nordpack.md"], INTERNAL)
    assert is_colleague_reply("ion@sales.nordpack.md", ["ana@firma.ro"], INTERNAL)
    assert not is_colleague_reply("ion@nordpack.md", ["elena@nordpack.md"], INTERNAL)
    assert not is_colleague_reply("ana@firma.ro", ["ion@nordpack.md"], INTERNAL)
    assert not is_colleague_reply(None, ["ana@firma.ro"], INTERNAL)
    # a colleague writing to our own mailbox (another domain) is not answering a client
    own = frozenset({"sales@nordpack.com"})
    assert not is_colleague_reply("ion@nordpack.md", ["sales@nordpack.com"], INTERNAL, own)
