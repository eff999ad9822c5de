"""When the service acts on its own: acknowledgment, renegotiation and follow-up times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.scheduling import (
    acknowledgment_due,
    asks_or_proposes,
    follow_up_due,
    in_backlog,
    proposed_new_date,
    renegotiation_due,
    renegotiation_horizon,
    renegotiation_lead_minutes,
)

CAL = BusinessCalendar()  # UTC, 09:00-18:00, Mon-Fri


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # the 20th is a Friday


def test_acknowledgment_comes_ack_after_into_the_wait_in_business_time():
    assert acknowledgment_due(utc(20, 17), CAL, timedelta(hours=2)) == utc(23, 10)


def test_renegotiation_one_business_day_before_a_distant_promise():
    made, due = utc(16, 10), utc(27, 18)  # a Monday promise for Friday of next week
    assert renegotiation_lead_minutes(made, due, CAL, 1) == 9 * 60
    assert renegotiation_due(made, due, CAL, 1) == utc(26, 18)


def test_renegotiation_lead_is_a_quarter_of_a_short_promise():
    made, due = utc(23, 10), utc(23, 18)  # "by tonight": 8 business hours
    assert renegotiation_lead_minutes(made, due, CAL, 1) == 120
    assert renegotiation_due(made, due, CAL, 1) == utc(23, 16)


@given(
    st.integers(min_value=0, max_value=60 * 24 * 40),
    st.integers(min_value=1, max_value=60 * 24 * 40),
    st.integers(min_value=0, max_value=5),
)
def test_renegotiation_is_never_after_the_due_time_nor_before_the_promise(start, span, lead):
    made = utc(2, 0) + timedelta(minutes=start)
    due = made + timedelta(minutes=span)
    when = renegotiation_due(made, due, CAL, lead)
    assert when <= due
    assert CAL.business_minutes_between(made, when) >= 0
    # Exactly the lead is left between the warning and the due time.
    lead_minutes = renegotiation_lead_minutes(made, due, CAL, lead)
    assert CAL.business_minutes_between(when, due) == lead_minutes
    assert lead_minutes <= lead * 9 * 60
    assert lead_minutes <= CAL.business_minutes_between(made, due) // 4


def test_proposed_new_date_is_a_business_day_end_after_the_old_one():
    assert proposed_new_date(utc(20, 18), CAL, 1) == utc(24, 18)


def test_follow_up_after_business_days():
    assert follow_up_due(utc(20, 17), CAL, 3) == utc(25, 17)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please find our proposal attached.", True),
        ("Could you confirm the quantity?", True),
        ("Направляю коммерческое предложение.", True),
        ("Vă trimit oferta noastră.", True),
        ("Le adjunto el presupuesto.", True),
        ("Thank you, have a nice weekend.", False),
        ("Спасибо, всего доброго.", False),
    ],
)
def test_asks_or_proposes(text, expected):
    assert asks_or_proposes(text) is expected


def test_backlog_is_a_wait_longer_than_the_limit_in_business_days_at_the_start():
    start = utc(23, 10)  # Monday 10:00
    assert in_backlog(utc(2, 9), start, CAL, 1)  # three weeks
    assert in_backlog(utc(20, 9), start, CAL, 1)  # Friday 09:00: 10 business hours
    assert not in_backlog(utc(20, 11), start, CAL, 1)  # Friday 11:00: 8 h, under a 9 h day
    assert not in_backlog(utc(20, 9), start, CAL, 2)
    assert not in_backlog(utc(2, 9), start, CAL, 0)  # 0 turns the policy off
    assert not in_backlog(utc(23, 11), start, CAL, 1)  # came after the start


@given(
    since=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    started=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    days=st.integers(min_value=0, max_value=10),
)
def test_backlog_only_for_mail_older_than_the_start_and_monotone_in_the_limit(since, started, days):
    result = in_backlog(since, started, CAL, days)
    if since >= started or days == 0:
        assert not result
    if result:  # a shorter limit keeps it in the backlog
        assert all(in_backlog(since, started, CAL, d) for d in range(1, days + 1))


# -- the promise check's window ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    made=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1)),
    span_minutes=st.integers(min_value=1, max_value=60 * 24 * 40),
    now_offset=st.integers(min_value=-60 * 24 * 10, max_value=60 * 24 * 40),
    lead=st.integers(min_value=0, max_value=3),
)
def test_no_promise_due_after_the_horizon_needs_renegotiating_yet(
    made: datetime, span_minutes: int, now_offset: int, lead: int
) -> None:
    """The promise check reads only promises due by renegotiation_horizon(now): any promise
    due later must not have reached its renegotiation time."""
    cal = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
    made_at = made.replace(tzinfo=UTC)
    due_at = made_at + timedelta(minutes=span_minutes)
    now = made_at + timedelta(minutes=now_offset)
    if due_at > renegotiation_horizon(now, cal, lead):
        assert renegotiation_due(made_at, due_at, cal, lead) > now
