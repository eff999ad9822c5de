"""The closed-form business clock equals the day-by-day reference, whatever the span.

The reference below is the original implementation (one loop iteration per calendar day). It
lives here only, as the definition the fast version is proved against.
"""

from __future__ import annotations

import time as wallclock
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar

_ONE_DAY = timedelta(days=1)


def reference_minutes_between(cal: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Day-by-day: sum each business day's open interval clipped to [start, end)."""
    if end.astimezone(UTC) <= start.astimezone(UTC):
        return 0
    lo = cal.local(start).replace(second=0, microsecond=0).astimezone(UTC)
    hi = cal.local(end).replace(second=0, microsecond=0).astimezone(UTC)
    if hi <= lo:
        return 0
    total = timedelta()
    day = lo.astimezone(cal.tz).date()
    last_day = hi.astimezone(cal.tz).date()
    while day <= last_day:
        if cal.is_business_day(day):
            opens = cal.start_of_business_day(day).astimezone(UTC)
            closes = cal.end_of_business_day(day).astimezone(UTC)
            seg_start, seg_end = max(opens, lo), min(closes, hi)
            if seg_end > seg_start:
                total += seg_end - seg_start
        day += _ONE_DAY
    return int(total.total_seconds()) // 60


def reference_add_minutes(cal: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """Day-by-day: consume each business day's remaining open time until ``minutes`` are used."""
    if minutes == 0:
        return cal.local(start)
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(cal.tz).date()
    for _ in range(366 * 100):  # the original bound (3660 + minutes days) was too short for
        # a calendar open one minute a week; the closed form has no such artefact
        if cal.is_business_day(day):
            opens = cal.start_of_business_day(day).astimezone(UTC)
            closes = cal.end_of_business_day(day).astimezone(UTC)
            seg_start = max(opens, cursor)
            if closes > seg_start:
                available = closes - seg_start
                if remaining <= available:
                    return (seg_start + remaining).astimezone(cal.tz)
                remaining -= available
        day += _ONE_DAY
    raise ValueError("no business hours")


# Zones with DST at 02:00/03:00 (Chisinau, New York), a 30-minute DST (Lord Howe), a
# half-hour offset without DST (Kolkata), the southern hemisphere (Sydney, Santiago) and UTC.
ZONE_NAMES = [
    "UTC",
    "Europe/Chisinau",
    "America/New_York",
    "Europe/Madrid",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "America/Santiago",
    "Asia/Kolkata",
]
COUNTRIES = [None, "MD", "US", "ES", "RU"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    start_minute = draw(st.integers(min_value=0, max_value=23 * 60 + 58))
    end_minute = draw(st.integers(min_value=start_minute + 1, max_value=23 * 60 + 59))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    closed = draw(
        st.frozensets(
            st.dates(min_value=date(2023, 1, 1), max_value=date(2030, 12, 31)), max_size=8
        )
    )
    return BusinessCalendar(
        tz_name=draw(st.sampled_from(ZONE_NAMES)),
        work_start=time(*divmod(start_minute, 60)),
        work_end=time(*divmod(end_minute, 60)),
        work_days=days,
        holidays_country=draw(st.sampled_from(COUNTRIES)),
        extra_closed=closed,
    )


instants = st.datetimes(
    min_value=datetime(2023, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from(ZONE_NAMES).map(lambda n: BusinessCalendar(tz_name=n).tz),
)
short_minutes = st.integers(min_value=0, max_value=3_000)
long_minutes = st.integers(min_value=0, max_value=600_000)


def _about_five_years(cal: BusinessCalendar) -> int:
    span = (cal.work_end.hour * 60 + cal.work_end.minute) - (
        cal.work_start.hour * 60 + cal.work_start.minute
    )
    return 5 * 48 * len(cal.work_days) * span


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), instants, instants)
def test_minutes_between_equals_reference(cal: BusinessCalendar, a: datetime, b: datetime) -> None:
    assert cal.business_minutes_between(a, b) == reference_minutes_between(cal, a, b)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), instants, short_minutes | long_minutes)
def test_add_minutes_equals_reference(cal: BusinessCalendar, start: datetime, m: int) -> None:
    m %= _about_five_years(cal) + 1  # a calendar open 2 minutes a week needs no century walk
    got = cal.add_business_minutes(start, m)
    want = reference_add_minutes(cal, start, m)
    assert got.astimezone(UTC) == want.astimezone(UTC)
    assert got.utcoffset() == want.utcoffset()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), instants, st.integers(min_value=0, max_value=59), short_minutes)
def test_near_opening_and_closing_equals_reference(
    cal: BusinessCalendar, start: datetime, jitter: int, m: int
) -> None:
    # Instants a few minutes either side of opening and closing, where off-by-one errors live.
    day = cal.local(start).date()
    for edge in (cal.start_of_business_day(day), cal.end_of_business_day(day)):
        for instant in (edge - timedelta(minutes=jitter), edge + timedelta(seconds=jitter)):
            assert cal.business_minutes_between(start, instant) == reference_minutes_between(
                cal, start, instant
            )
            assert cal.business_minutes_between(instant, start) == reference_minutes_between(
                cal, instant, start
            )
            assume(m > 0)
            got = cal.add_business_minutes(instant, m)
            assert got.astimezone(UTC) == reference_add_minutes(cal, instant, m).astimezone(UTC)


def test_cost_does_not_grow_with_the_span() -> None:
    """A 25-year wait costs about what a 1-hour wait costs once the years are tabulated."""
    cal = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
    old = datetime(2001, 3, 5, 10, tzinfo=UTC)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    cal.business_minutes_between(old, now)  # build the tables once
    n = 2000
    t0 = wallclock.perf_counter()
    for _ in range(n):
        cal.business_minutes_between(old, now)
    long_span = wallclock.perf_counter() - t0
    t0 = wallclock.perf_counter()
    for _ in range(n):
        cal.business_minutes_between(now - timedelta(hours=1), now)
    short_span = wallclock.perf_counter() - t0
    # Day by day, the long span is ~9,400 iterations per call; closed form it is two bisections.
    assert long_span < 3 * short_span + 0.05
    assert long_span / n < 0.0005


def test_a_calendar_that_never_opens_is_an_error() -> None:
    cal = BusinessCalendar(
        work_days=frozenset({0}),
        extra_closed=frozenset(date(2026, 1, 5) + timedelta(weeks=w) for w in range(53 * 14)),
    )
    with pytest.raises(ValueError, match="no business hours"):
        cal.add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 1)
    assert (
        cal.business_minutes_between(
            datetime(2026, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
        )
        == 0
    )


def _same_instant(got: datetime, want: datetime) -> None:
    """The same instant, offset, fold and text: what a lateness check shows is unchanged."""
    assert got.astimezone(UTC) == want.astimezone(UTC)
    assert (got.utcoffset(), got.fold, got.tzinfo) == (want.utcoffset(), want.fold, want.tzinfo)
    assert got.isoformat() == want.isoformat()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), st.lists(instants, min_size=1, max_size=6), instants, short_minutes)
def test_wait_and_due_equals_the_two_calls(
    cal: BusinessCalendar, starts: list[datetime], end: datetime, m: int
) -> None:
    """Many starts against one ``end`` object (the remembered count), in any order of years
    (a start in an earlier year moves the tables' base: the remembered count must follow)."""
    for start in starts:
        waited, due = cal.wait_and_due(start, end, m)
        assert waited == cal.business_minutes_between(start, end)
        _same_instant(due, cal.add_business_minutes(start, m))


def test_wait_and_due_follows_a_base_that_moves_earlier() -> None:
    """The count up to ``end`` is remembered with the base year it was counted from."""
    cal = BusinessCalendar(tz_name="Europe/Chisinau", extra_closed=frozenset({date(2011, 1, 3)}))
    end = datetime(2026, 3, 29, 12, 30, 17, tzinfo=UTC)
    late = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    early = datetime(2011, 1, 4, 8, 0, tzinfo=UTC)
    assert cal.wait_and_due(late, end, 240)[0] == cal.business_minutes_between(late, end)
    waited, due = cal.wait_and_due(early, end, 240)  # builds 2011-2025 before the base
    assert waited == reference_minutes_between(cal, early, end)
    _same_instant(due, reference_add_minutes(cal, early, 240))
    assert cal.wait_and_due(late, end, 240)[0] == reference_minutes_between(cal, late, end)


def test_wait_and_due_refuses_what_the_two_calls_refuse() -> None:
    cal = BusinessCalendar()
    aware = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        cal.wait_and_due(datetime(2026, 3, 2, 8, 0), aware, 5)
    with pytest.raises(ValueError, match="naive"):
        cal.wait_and_due(aware, datetime(2026, 3, 2, 8, 0), 5)
    with pytest.raises(ValueError, match="negative"):
        cal.wait_and_due(aware, aware, -1)
