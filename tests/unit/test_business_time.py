"""Business time: tables for the cases a sales team knows by heart, properties for the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import (
    BusinessCalendar,
    parse_business_days,
    parse_dates,
    parse_duration,
    parse_work_days,
    parse_work_hours,
)

CHISINAU = ZoneInfo("Europe/Chisinau")
NEW_YORK = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
MOSCOW = ZoneInfo("Europe/Moscow")

MD = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
RU = BusinessCalendar(tz_name="Europe/Moscow", holidays_country="RU")
ES = BusinessCalendar(tz_name="Europe/Madrid", holidays_country="ES")
US = BusinessCalendar(tz_name="America/New_York", holidays_country="US")
PLAIN = BusinessCalendar()  # UTC, 09:00-18:00, Mon-Fri, no holidays
# Every day open, night hours straddling the DST switch (which happens at night).
NIGHT_CHISINAU = BusinessCalendar(
    tz_name="Europe/Chisinau",
    work_start=time(2, 0),
    work_end=time(5, 0),
    work_days=frozenset(range(7)),
)
NIGHT_NEW_YORK = BusinessCalendar(
    tz_name="America/New_York",
    work_start=time(0, 0),
    work_end=time(6, 0),
    work_days=frozenset(range(7)),
)
SUN_THU = BusinessCalendar(tz_name="Asia/Jerusalem", work_days=parse_work_days("Sun-Thu"))
ODD_HOURS = BusinessCalendar(
    tz_name="Europe/Chisinau",
    work_start=time(8, 30),
    work_end=time(12, 15),
    work_days=frozenset({0, 2, 4}),
    extra_closed=frozenset({date(2026, 3, 13)}),
)


def at(
    tz: tzinfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tz)


# ------------------------------------------------------------------------ minutes between


@pytest.mark.parametrize(
    ("cal", "start", "end", "expected"),
    [
        # The acceptance example: Friday 17:55 answered Monday 09:30.
        pytest.param(MD, at(CHISINAU, 2026, 3, 13, 17, 55), at(CHISINAU, 2026, 3, 16, 9, 30), 35,
                     id="friday-evening-to-monday"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 11, 10), at(UTC, 2026, 3, 11, 12, 30), 150,
                     id="same-day"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 11, 7), at(UTC, 2026, 3, 11, 20), 540,
                     id="whole-day-from-outside-hours"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 14, 0), at(UTC, 2026, 3, 16, 9, 0), 0,
                     id="weekend-only"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 13, 18), at(UTC, 2026, 3, 16, 9), 0,
                     id="friday-close-to-monday-open"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 11, 19), at(UTC, 2026, 3, 12, 8, 59), 0,
                     id="overnight"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 12), at(UTC, 2026, 3, 11), 0, id="end-before-start"),
        pytest.param(PLAIN, at(UTC, 2026, 3, 11, 10), at(UTC, 2026, 3, 11, 10), 0, id="empty"),
        # Moldova: New Year and Orthodox Christmas (7-8 January).
        pytest.param(MD, at(CHISINAU, 2025, 12, 31, 17), at(CHISINAU, 2026, 1, 2, 10), 120,
                     id="md-new-year"),
        pytest.param(MD, at(CHISINAU, 2026, 1, 6, 17), at(CHISINAU, 2026, 1, 9, 10), 120,
                     id="md-orthodox-christmas"),
        # Russia: the long New Year break, 31 Dec 2025 to 9 Jan 2026.
        pytest.param(RU, at(MOSCOW, 2025, 12, 30, 17), at(MOSCOW, 2026, 1, 12, 10), 120,
                     id="ru-new-year-holidays"),
        # Spain: New Year and Epiphany.
        pytest.param(ES, at(MADRID, 2025, 12, 31, 17), at(MADRID, 2026, 1, 2, 10), 120,
                     id="es-new-year"),
        pytest.param(ES, at(MADRID, 2026, 1, 5, 17), at(MADRID, 2026, 1, 7, 10), 120,
                     id="es-epiphany"),
        pytest.param(US, at(NEW_YORK, 2025, 12, 24, 17), at(NEW_YORK, 2025, 12, 26, 10), 120,
                     id="us-christmas"),
        # DST: the weekend the clocks change does not change the count...
        pytest.param(MD, at(CHISINAU, 2026, 3, 27, 17), at(CHISINAU, 2026, 3, 30, 10), 120,
                     id="chisinau-spring-weekend"),
        pytest.param(MD, at(CHISINAU, 2026, 10, 23, 17), at(CHISINAU, 2026, 10, 26, 10), 120,
                     id="chisinau-autumn-weekend"),
        pytest.param(US, at(NEW_YORK, 2026, 3, 6, 17), at(NEW_YORK, 2026, 3, 9, 10), 120,
                     id="new-york-spring-weekend"),
        # ... but hours that straddle the switch are an hour shorter or longer in real time.
        pytest.param(NIGHT_CHISINAU, at(CHISINAU, 2026, 3, 29, 0), at(CHISINAU, 2026, 3, 30, 0),
                     120, id="chisinau-spring-forward-night"),
        pytest.param(NIGHT_CHISINAU, at(CHISINAU, 2026, 10, 25, 0),
                     at(CHISINAU, 2026, 10, 26, 0), 240, id="chisinau-fall-back-night"),
        pytest.param(NIGHT_NEW_YORK, at(NEW_YORK, 2026, 3, 8, 0), at(NEW_YORK, 2026, 3, 9, 0),
                     300, id="new-york-spring-forward-night"),
        pytest.param(NIGHT_NEW_YORK, at(NEW_YORK, 2026, 11, 1, 0), at(NEW_YORK, 2026, 11, 2, 0),
                     420, id="new-york-fall-back-night"),
        # Inputs in another timezone are seen on the calendar's clock.
        pytest.param(MD, at(UTC, 2026, 3, 13, 15, 55), at(NEW_YORK, 2026, 3, 16, 3, 30), 35,
                     id="mixed-input-timezones"),
        pytest.param(SUN_THU, at(ZoneInfo("Asia/Jerusalem"), 2026, 3, 12, 17),
                     at(ZoneInfo("Asia/Jerusalem"), 2026, 3, 15, 10), 120, id="sun-thu-week"),
        pytest.param(ODD_HOURS, at(CHISINAU, 2026, 3, 11, 12), at(CHISINAU, 2026, 3, 16, 9), 45,
                     id="extra-closed-day-and-odd-hours"),
    ],
)  # fmt: skip
def test_business_minutes_between(
    cal: BusinessCalendar, start: datetime, end: datetime, expected: int
) -> None:
    assert cal.business_minutes_between(start, end) == expected


def test_seconds_are_truncated_to_the_minute() -> None:
    start = at(UTC, 2026, 3, 11, 10, 0, 59)
    assert PLAIN.business_minutes_between(start, at(UTC, 2026, 3, 11, 10, 1, 0)) == 1
    assert PLAIN.business_minutes_between(start, at(UTC, 2026, 3, 11, 10, 0, 59, 999)) == 0


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.business_minutes_between(datetime(2026, 3, 11), at(UTC, 2026, 3, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        PLAIN.add_business_minutes(datetime(2026, 3, 11), 5)


def test_a_year_apart_round_trips() -> None:
    """Speed over long spans is measured by bench/analysis.py, not here."""
    start = at(CHISINAU, 2025, 3, 13, 17, 55)
    minutes = MD.business_minutes_between(start, at(CHISINAU, 2026, 3, 13, 17, 55))
    assert 240 * 540 < minutes < 260 * 540
    assert MD.business_minutes_between(start, MD.add_business_minutes(start, minutes)) == minutes


# ------------------------------------------------------------------------ adding minutes


@pytest.mark.parametrize(
    ("cal", "start", "minutes", "expected"),
    [
        pytest.param(MD, at(CHISINAU, 2026, 3, 13, 17, 55), 35, at(CHISINAU, 2026, 3, 16, 9, 30),
                     id="over-the-weekend"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 13, 17, 55), 5, at(CHISINAU, 2026, 3, 13, 18),
                     id="exactly-at-closing"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 14, 12), 60, at(CHISINAU, 2026, 3, 16, 10),
                     id="saturday-rolls-to-monday"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 11, 7), 30, at(CHISINAU, 2026, 3, 11, 9, 30),
                     id="before-opening"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 11, 7), 0, at(CHISINAU, 2026, 3, 11, 7),
                     id="zero-minutes"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 11, 10), 4 * 60, at(CHISINAU, 2026, 3, 11, 14),
                     id="four-hour-sla"),
        pytest.param(MD, at(CHISINAU, 2026, 3, 11, 16), 4 * 60, at(CHISINAU, 2026, 3, 12, 11),
                     id="four-hour-sla-overnight"),
        pytest.param(MD, at(CHISINAU, 2025, 12, 31, 17), 120, at(CHISINAU, 2026, 1, 2, 10),
                     id="md-new-year"),
        pytest.param(RU, at(MOSCOW, 2025, 12, 30, 17), 120, at(MOSCOW, 2026, 1, 12, 10),
                     id="ru-new-year-holidays"),
        pytest.param(NIGHT_NEW_YORK, at(NEW_YORK, 2026, 3, 8, 1), 120,
                     at(NEW_YORK, 2026, 3, 8, 4), id="new-york-spring-forward"),
    ],
)  # fmt: skip
def test_add_business_minutes(
    cal: BusinessCalendar, start: datetime, minutes: int, expected: datetime
) -> None:
    got = cal.add_business_minutes(start, minutes)
    assert got == expected
    assert got.tzinfo == cal.tz


def test_add_negative_minutes_is_an_error() -> None:
    with pytest.raises(ValueError):
        PLAIN.add_business_minutes(at(UTC, 2026, 3, 11, 10), -1)


# ------------------------------------------------------------------------ days


def test_is_business_day() -> None:
    assert MD.is_business_day(date(2026, 3, 11))
    assert not MD.is_business_day(date(2026, 3, 14))  # Saturday
    assert not MD.is_business_day(date(2026, 1, 1))
    assert not MD.is_business_day(date(2026, 1, 7))
    assert MD.is_business_day(date(2026, 1, 2))
    assert not RU.is_business_day(date(2026, 1, 9))  # substituted day off
    assert not ES.is_business_day(date(2026, 1, 6))
    assert not ODD_HOURS.is_business_day(date(2026, 3, 13))  # extra closed
    assert SUN_THU.is_business_day(date(2026, 3, 15))  # Sunday
    assert not SUN_THU.is_business_day(date(2026, 3, 13))  # Friday


def test_day_helpers() -> None:
    assert MD.end_of_business_day(date(2026, 3, 11)) == at(CHISINAU, 2026, 3, 11, 18)
    assert MD.next_business_day(date(2026, 3, 13)) == date(2026, 3, 16)
    assert MD.next_business_day(date(2025, 12, 31)) == date(2026, 1, 2)
    assert RU.next_business_day(date(2025, 12, 30)) == date(2026, 1, 12)
    assert MD.business_day_on_or_after(date(2026, 3, 11)) == date(2026, 3, 11)
    assert MD.business_day_on_or_after(date(2026, 3, 14)) == date(2026, 3, 16)
    assert MD.add_business_days(date(2026, 3, 13), 1) == date(2026, 3, 16)
    assert MD.add_business_days(date(2026, 3, 14), 1) == date(2026, 3, 16)
    assert MD.add_business_days(date(2026, 3, 11), 5) == date(2026, 3, 18)
    assert MD.add_business_days(date(2026, 3, 14), 0) == date(2026, 3, 16)
    assert MD.add_business_days(date(2026, 3, 16), -1) == date(2026, 3, 13)
    assert MD.add_business_days(date(2026, 1, 6), 1) == date(2026, 1, 9)


def test_end_of_business_day_is_dst_aware() -> None:
    assert MD.end_of_business_day(date(2026, 3, 27)).utcoffset() == timedelta(hours=2)
    assert MD.end_of_business_day(date(2026, 3, 30)).utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tz_name": "Mars/Olympus"},
        {"work_start": time(18), "work_end": time(9)},
        {"work_days": frozenset()},
        {"work_days": frozenset({7})},
        {"holidays_country": "XX"},
    ],
)
def test_bad_calendar_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ parsers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-18:00", (time(9), time(18))),
        ("9:30 - 17:45", (time(9, 30), time(17, 45))),
        ("9-18", (time(9), time(18))),
        ("08:00–16:00", (time(8), time(16))),
    ],
)
def test_parse_work_hours(text: str, expected: tuple[time, time]) -> None:
    assert parse_work_hours(text) == expected


@pytest.mark.parametrize("text", ["", "09:00", "18:00-09:00", "9:00-9:00", "25:00-26:00", "a-b"])
def test_parse_work_hours_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="work hours"):
        parse_work_hours(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon-Fri", {0, 1, 2, 3, 4}),
        ("Mon,Tue,Thu", {0, 1, 3}),
        ("Sun-Thu", {6, 0, 1, 2, 3}),
        ("sat-sun", {5, 6}),
        ("Monday - Wednesday, Friday", {0, 1, 2, 4}),
        ("Fri", {4}),
    ],
)
def test_parse_work_days(text: str, expected: set[int]) -> None:
    assert parse_work_days(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["", "Mon-", "Funday", "Mon,,Tue", "Mon-Tue-Wed"])
def test_parse_work_days_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="work days"):
        parse_work_days(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        ("2h 30m", timedelta(hours=2, minutes=30)),
        ("1d", timedelta(hours=24)),
        ("90", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("1.5h", timedelta(minutes=90)),
        ("3 hours", timedelta(hours=3)),
        ("45 min", timedelta(minutes=45)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "4x", "-4h", "4h-", "four hours", "4h30"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "expected"), [("2d", 2), ("2", 2), ("0", 0), ("3 days", 3)])
def test_parse_business_days(text: str, expected: int) -> None:
    assert parse_business_days(text) == expected


@pytest.mark.parametrize("text", ["", "-1", "2h", "1.5d", "two"])
def test_parse_business_days_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="business days"):
        parse_business_days(text)


def test_parse_dates() -> None:
    assert parse_dates("2026-12-24,2026-12-31") == frozenset(
        {date(2026, 12, 24), date(2026, 12, 31)}
    )
    assert parse_dates(" 2026-12-24 , 2026-12-31 ") == frozenset(
        {date(2026, 12, 24), date(2026, 12, 31)}
    )
    assert parse_dates("") == frozenset()
    with pytest.raises(ValueError, match="dates"):
        parse_dates("2026-12-24,24.12.2026")


# ------------------------------------------------------------------------ properties

CALENDARS = [MD, RU, ES, US, PLAIN, NIGHT_CHISINAU, NIGHT_NEW_YORK, SUN_THU, ODD_HOURS]
ZONES = [CHISINAU, NEW_YORK, MADRID, MOSCOW, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")]

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from(ZONES),
)
minutes = st.integers(min_value=0, max_value=200_000)


def _utc(value: datetime) -> datetime:
    """Real-time order: aware datetimes sharing a tzinfo compare by wall clock, ignoring fold."""
    return value.astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(calendars, instants, instants, instants)
def test_minutes_between_is_additive(
    cal: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c), key=_utc)
    assert cal.business_minutes_between(a, c) == (
        cal.business_minutes_between(a, b) + cal.business_minutes_between(b, c)
    )


@settings(max_examples=300, deadline=None)
@given(calendars, instants, instants)
def test_minutes_between_is_non_negative_and_bounded(
    cal: BusinessCalendar, a: datetime, b: datetime
) -> None:
    got = cal.business_minutes_between(a, b)
    assert got >= 0
    assert got <= max(0, (_utc(b) - _utc(a)).total_seconds() // 60 + 1)
    if _utc(b) <= _utc(a):
        assert got == 0


@settings(max_examples=300, deadline=None)
@given(calendars, st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_no_minutes_outside_business_time(cal: BusinessCalendar, d: date) -> None:
    # From one closing to the next opening nothing is counted...
    closing = cal.end_of_business_day(d)
    opening = cal.start_of_business_day(cal.next_business_day(d))
    assert cal.business_minutes_between(closing, opening) == 0
    # ... and a closed day counts nothing at all.
    if not cal.is_business_day(d):
        midnight = datetime.combine(d, time(0), tzinfo=cal.tz)
        assert cal.business_minutes_between(midnight, midnight + timedelta(days=1)) == 0


@settings(max_examples=300, deadline=None)
@given(calendars, instants, minutes)
def test_add_then_measure_roundtrips(cal: BusinessCalendar, start: datetime, m: int) -> None:
    assert cal.business_minutes_between(start, cal.add_business_minutes(start, m)) == m


@settings(max_examples=300, deadline=None)
@given(calendars, instants, minutes, minutes)
def test_add_is_monotonic_in_minutes(
    cal: BusinessCalendar, start: datetime, m1: int, m2: int
) -> None:
    m1, m2 = sorted((m1, m2))
    first, second = cal.add_business_minutes(start, m1), cal.add_business_minutes(start, m2)
    assert _utc(start) <= _utc(first) <= _utc(second)


@settings(max_examples=300, deadline=None)
@given(calendars, instants, instants, minutes)
def test_add_is_monotonic_in_start(
    cal: BusinessCalendar, s1: datetime, s2: datetime, m: int
) -> None:
    s1, s2 = sorted((s1, s2), key=_utc)
    assume(m > 0)
    assert _utc(cal.add_business_minutes(s1, m)) <= _utc(cal.add_business_minutes(s2, m))


@settings(max_examples=200, deadline=None)
@given(calendars, instants, minutes)
def test_add_lands_inside_business_hours(cal: BusinessCalendar, start: datetime, m: int) -> None:
    assume(m > 0)
    local = cal.add_business_minutes(start, m).astimezone(cal.tz)
    day = local.date()
    assert cal.is_business_day(day)
    assert _utc(cal.start_of_business_day(day)) < _utc(local) <= _utc(cal.end_of_business_day(day))
