"""Thread state, waiting time and lateness from a conversation's messages (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.message import Direction
from mailwatch.core.tracking import (
    AWAITING_THEM,
    AWAITING_US,
    CLOSED,
    IGNORED,
    SNOOZED,
    MessageFacts,
    effective_state,
    lateness,
    track_thread,
)
from mailwatch.core.warning_signs import SignKind, WarningSign

TZ = ZoneInfo("Europe/Chisinau")
CAL = BusinessCalendar(tz_name="Europe/Chisinau")
SLA = timedelta(hours=4)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """November 2026: the 20th is a Friday, the 23rd a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def client(
    when: datetime | None, answered: bool = False, mid: str = "c", **kw: object
) -> MessageFacts:
    return MessageFacts(
        message_id=f"<{mid}-{when}>",
        direction=Direction.INBOUND,
        at=when,
        needs_reply=True,
        reason="from client ana@client.test",
        answered=answered,
        **kw,  # type: ignore[arg-type]
    )


def auto(when: datetime) -> MessageFacts:
    return MessageFacts(
        "<auto>", Direction.INBOUND, when, False, "automatic reply: Auto-Submitted: auto-replied"
    )


def ours(when: datetime | None) -> MessageFacts:
    return MessageFacts(f"<ours-{when}>", Direction.OUTBOUND, when, False, "sent by us")


def test_a_client_message_waits_for_us_since_it_arrived():
    status = track_thread([client(at(23, 10))], CAL, SLA)
    assert status.state == AWAITING_US
    assert status.needs_reply
    assert status.waiting_since == at(23, 10)
    assert "from client ana@client.test" in status.reason


def test_our_reply_found_in_sent_hands_the_ball_to_them():
    status = track_thread([client(at(23, 10)), ours(at(23, 11))], CAL, SLA)
    assert status.state == AWAITING_THEM
    assert not status.needs_reply
    assert status.waiting_since is None
    assert status.first_response_business_minutes == 60


def test_arrival_order_does_not_matter():
    messages = [ours(at(23, 11)), client(at(23, 10)), client(at(23, 12), mid="d")]
    status = track_thread(messages, CAL, SLA)
    assert status.state == AWAITING_US
    assert status.waiting_since == at(23, 12)


def test_answered_flag_counts_as_a_reply_from_a_phone():
    status = track_thread([client(at(23, 10), answered=True)], CAL, SLA)
    assert status.state == AWAITING_THEM
    assert "\\Answered" in status.reason


def test_a_newer_client_message_after_an_answered_one_waits_again():
    status = track_thread(
        [client(at(23, 10), answered=True), client(at(23, 15), mid="d")], CAL, SLA
    )
    assert status.state == AWAITING_US
    assert status.waiting_since == at(23, 15)


def test_waiting_starts_at_the_first_unanswered_client_message():
    messages = [ours(at(20, 9)), client(at(20, 10)), client(at(23, 9), mid="d")]
    assert track_thread(messages, CAL, SLA).waiting_since == at(20, 10)


def test_automatic_mail_alone_leaves_nobody_waiting_and_says_why():
    status = track_thread([auto(at(23, 10))], CAL, SLA)
    assert status.state == CLOSED
    assert not status.needs_reply
    assert "Auto-Submitted" in status.reason


def test_an_auto_reply_to_our_message_does_not_hand_the_ball_back():
    status = track_thread([client(at(23, 9)), ours(at(23, 10)), auto(at(23, 10, 1))], CAL, SLA)
    assert status.state == AWAITING_THEM


def test_first_response_over_a_weekend_counts_business_minutes_only():
    # Friday 17:55, answered Monday 09:30 with 09:00-18:00 hours: 5 + 30 = 35 minutes.
    status = track_thread([client(at(20, 17, 55)), ours(at(23, 9, 30))], CAL, SLA)
    assert status.first_response_business_minutes == 35


def test_first_response_is_none_until_we_answer():
    assert track_thread([client(at(20, 17, 55))], CAL, SLA).first_response_business_minutes is None


def test_language_comes_from_the_newest_client_message_that_has_one():
    messages = [client(at(23, 9), language="ru"), client(at(23, 10), mid="d", language=None)]
    assert track_thread(messages, CAL, SLA).language == "ru"
    assert track_thread([ours(at(23, 9))], CAL, SLA, default_language="ro").language == "ro"


def test_requested_deadline_of_the_waiting_message_is_kept():
    asked = at(27, 18)
    messages = [client(at(23, 9), requested_by=asked)]
    assert track_thread(messages, CAL, SLA).requested_by == asked


def test_slow_client_demanding_urgency_is_a_measured_warning_sign():
    urgent = (WarningSign(SignKind.URGENCY, "need it ASAP", "<x>"),)
    messages = []
    day = 2
    for i in range(4):
        messages.append(ours(at(day, 10)))
        # They answer three business days later each time, and ask us to hurry.
        messages.append(client(at(day + 3, 10), mid=f"r{i}", signs=urgent))
        day += 4
    status = track_thread(messages, CAL, SLA)
    kinds = [s.kind for s in status.signs]
    assert SignKind.URGENCY in kinds
    assert SignKind.SLOW_BUT_DEMANDING in kinds


def test_lateness_is_measured_in_business_time():
    friday_afternoon = at(20, 16)
    # 2 business hours on Friday, none at the weekend: not overdue on Sunday night.
    sunday = lateness(AWAITING_US, friday_afternoon, at(22, 23), CAL, SLA)
    assert not sunday.overdue
    assert sunday.waiting_business_minutes == 120
    assert sunday.reply_due_at == at(23, 11)
    monday = lateness(AWAITING_US, friday_afternoon, at(23, 12), CAL, SLA)
    assert monday.overdue
    assert monday.overdue_business_minutes == 60
    assert not lateness(AWAITING_THEM, friday_afternoon, at(23, 12), CAL, SLA).overdue


def test_user_decisions_and_when_they_lapse():
    decided = at(23, 10)
    now = at(23, 12)
    assert effective_state(AWAITING_US, CLOSED, decided, None, at(23, 9), now) == CLOSED
    # The client writes again after the thread was closed: it needs an answer again.
    assert effective_state(AWAITING_US, CLOSED, decided, None, at(23, 11), now) == AWAITING_US
    snoozed = effective_state(AWAITING_US, SNOOZED, decided, at(24, 9), at(23, 9), now)
    assert snoozed == SNOOZED
    assert effective_state(AWAITING_US, SNOOZED, decided, at(24, 9), at(23, 9), at(24, 9)) == (
        AWAITING_US
    )
    assert effective_state(AWAITING_US, IGNORED, decided, None, at(23, 11), now) == IGNORED
    assert effective_state(AWAITING_THEM, None, None, None, None, now) == AWAITING_THEM


_times = st.integers(min_value=0, max_value=60 * 24 * 30).map(
    lambda m: datetime(2026, 11, 2, tzinfo=UTC) + timedelta(minutes=m)
)
_facts = st.lists(
    st.tuples(st.sampled_from(["client", "ours", "auto"]), _times, st.booleans()),
    max_size=12,
)


def _build(spec: list[tuple[str, datetime, bool]]) -> list[MessageFacts]:
    result = []
    for i, (kind, when, answered) in enumerate(spec):
        if kind == "client":
            result.append(client(when, answered=answered, mid=str(i)))
        elif kind == "ours":
            result.append(ours(when))
        else:
            result.append(auto(when))
    return result


@given(_facts)
def test_state_never_depends_on_arrival_order(spec):
    messages = _build(spec)
    forward = track_thread(messages, CAL, SLA)
    backward = track_thread(list(reversed(messages)), CAL, SLA)
    assert (forward.state, forward.waiting_since) == (backward.state, backward.waiting_since)


@given(_facts, _times)
def test_our_latest_reply_always_hands_the_ball_over(spec, reply_at):
    messages = _build(spec)
    latest = max([m.at for m in messages if m.at is not None] + [reply_at])
    status = track_thread([*messages, ours(latest + timedelta(minutes=1))], CAL, SLA)
    assert status.state == AWAITING_THEM
    assert not status.needs_reply


@given(_facts)
def test_waiting_since_is_a_client_message_that_is_not_answered(spec):
    messages = _build(spec)
    status = track_thread(messages, CAL, SLA)
    if status.state == AWAITING_US:
        assert any(
            m.at == status.waiting_since and m.needs_reply and not m.answered for m in messages
        )
        assert status.needs_reply
    else:
        assert status.waiting_since is None


def test_a_reply_dated_the_same_second_comes_after_what_it_answers():
    question = client(at(23, 10), mid="q")
    reply = MessageFacts(
        "<r>", Direction.OUTBOUND, at(23, 10), False, "sent by us", parents=(question.message_id,)
    )
    assert track_thread([reply, question], CAL, SLA).state == AWAITING_THEM
    # Without that link a tie is read the cautious way: the client may still be waiting.
    unlinked = MessageFacts("<r>", Direction.OUTBOUND, at(23, 10), False, "sent by us")
    assert track_thread([unlinked, question], CAL, SLA).state == AWAITING_US


# -- issue #16: clocks that lie --------------------------------------------------------------


def test_our_reply_naming_a_client_message_answers_it_whatever_the_clocks_say():
    question = client(at(23, 10, 20))  # the client's clock is 20 minutes ahead
    reply = MessageFacts(
        "<ours-1>",
        Direction.OUTBOUND,
        at(23, 10, 5),
        False,
        "sent by us",
        parents=(question.message_id,),
    )
    status = track_thread([question, reply], CAL, SLA)
    assert status.state == AWAITING_THEM and not status.needs_reply
    assert "names the client's message" in status.reason


def test_a_reply_naming_an_older_message_leaves_a_newer_one_waiting():
    old = client(at(23, 9), mid="old")
    newer = client(at(23, 11), mid="new")
    reply = MessageFacts(
        "<ours-1>",
        Direction.OUTBOUND,
        at(23, 10),
        False,
        "sent by us",
        parents=(old.message_id,),
    )
    status = track_thread([old, newer, reply], CAL, SLA)
    assert status.state == AWAITING_US and status.waiting_since == at(23, 11)


@given(st.integers(min_value=-24 * 60, max_value=10**6))
def test_any_skew_of_the_question_is_answered_by_a_reply_that_names_it(skew_minutes):
    question = client(at(23, 10) + timedelta(minutes=skew_minutes))
    reply = MessageFacts(
        "<ours-1>",
        Direction.OUTBOUND,
        at(23, 10, 30),
        False,
        "sent by us",
        parents=("<root@x>", question.message_id),
    )
    assert track_thread([reply, question], CAL, SLA).state == AWAITING_THEM


def test_message_time_is_never_after_arrival():
    from mailwatch.core.message import message_time

    arrived = at(23, 10)
    assert message_time(at(23, 10, 20), arrived) == arrived
    assert message_time(datetime(2099, 1, 1, tzinfo=UTC), arrived) == arrived
    assert message_time(at(23, 9), arrived) == at(23, 9)
    assert message_time(None, arrived) is None
    assert message_time(at(23, 11), None) == at(23, 11)


def test_a_date_from_before_email_is_not_used():
    """A spammer's "year 102" would make business time build 1,900 years of tables."""
    from mailwatch.core.message import message_time

    arrived = at(23, 10)
    assert message_time(datetime(102, 2, 2, 9, 39, tzinfo=UTC), arrived) is None
    assert message_time(datetime(1979, 12, 31, 23, 59, tzinfo=UTC), arrived) is None
    assert message_time(datetime(102, 2, 2, 9, 39), arrived.replace(tzinfo=None)) is None
    # archived mail is old but real: kept
    archived = datetime(2002, 3, 1, 12, 0, tzinfo=UTC)
    assert message_time(archived, arrived) == archived
    assert message_time(datetime(1980, 1, 1, tzinfo=UTC), arrived) == datetime(
        1980, 1, 1, tzinfo=UTC
    )


def test_a_client_message_in_the_same_second_as_a_close_reopens_it():
    closed_at = at(23, 10).replace(microsecond=600_000)
    same_second = at(23, 10)  # INTERNALDATE has whole seconds; min(Date, INTERNALDATE)
    later = at(23, 12)
    assert effective_state(AWAITING_US, CLOSED, closed_at, None, same_second, later) == AWAITING_US
    earlier = at(23, 9, 59)
    assert effective_state(AWAITING_US, CLOSED, closed_at, None, earlier, later) == CLOSED
