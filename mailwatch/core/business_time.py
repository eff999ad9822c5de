"""Business time: the clock that reply SLAs and promise due dates are measured on.

A client who writes on Friday evening has not been waiting all weekend as far as the sales team
is concerned, so everything here counts only minutes inside work hours, on work days that are not
public holidays, in the mailbox's own timezone (wall-clock hours, DST-correct elapsed time).

All functions are pure: time is always passed in, nothing reads the clock.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessCalendar",
    "business_duration",
    "parse_business_days",
    "parse_dates",
    "parse_duration",
    "parse_work_days",
    "parse_work_hours",
]

_ONE_DAY = timedelta(days=1)
# How far add_business_minutes / next_business_day may search before deciding that the
# calendar has no open day at all (e.g. every day listed as closed). Ten years is plenty.
_MAX_SEARCH_DAYS = 3660


@lru_cache(maxsize=512)
def _country_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays of one country and year; cached because the lookup builds a big table.

    ``holidays`` is imported here, on first use: it is large, and `mailwatch --help` or a
    calendar without a country never needs it."""
    import holidays  # lazy: large; --help and calendars without a country never need it

    table = holidays.country_holidays(country, years=year)
    return frozenset(table.keys())


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    return ZoneInfo(name)


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value!r}")


@dataclass(frozen=True)
class BusinessCalendar:
    """When the sales team is at work: timezone, daily hours, week days, holidays, closures."""

    tz_name: str = "UTC"
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: frozenset[int] = frozenset(range(5))  # 0 = Monday
    holidays_country: str | None = None  # e.g. "MD", "RU", "ES", "US" (the `holidays` package)
    extra_closed: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Fail at configuration time, not in the middle of an SLA check at 3 a.m.
        try:
            _zone(self.tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.tz_name!r}") from exc
        if self.work_start.tzinfo is not None or self.work_end.tzinfo is not None:
            raise ValueError("work hours must be plain wall-clock times without tzinfo")
        if not self.work_start < self.work_end:
            raise ValueError(
                f"work hours must start before they end, got {self.work_start}-{self.work_end}"
            )
        if not self.work_days:
            raise ValueError("at least one work day is needed")
        if any(not 0 <= d <= 6 for d in self.work_days):
            got = sorted(self.work_days)
            raise ValueError(f"work days are 0 (Monday) to 6 (Sunday), got {got}")
        if self.holidays_country is not None:
            try:
                _country_holidays(self.holidays_country, 2000)
            except NotImplementedError as exc:
                raise ValueError(
                    f"no public holiday data for country {self.holidays_country!r}"
                ) from exc

    # ------------------------------------------------------------------ days

    @property
    def tz(self) -> tzinfo:
        return _zone(self.tz_name)

    def is_business_day(self, d: date) -> bool:
        """A work day that is neither a public holiday nor a day the user closed."""
        if d.weekday() not in self.work_days or d in self.extra_closed:
            return False
        if self.holidays_country is not None:
            return d not in _country_holidays(self.holidays_country, d.year)
        return True

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after ``d``."""
        return self.business_day_on_or_after(d + _ONE_DAY)

    def previous_business_day(self, d: date) -> date:
        """The last business day strictly before ``d``."""
        cur = d - _ONE_DAY
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_business_day(cur):
                return cur
            cur -= _ONE_DAY
        raise ValueError("the calendar has no business day in the ten years before " + str(d))

    def business_day_on_or_after(self, d: date) -> date:
        """``d`` itself when it is a business day, else the next one."""
        cur = d
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_business_day(cur):
                return cur
            cur += _ONE_DAY
        raise ValueError("the calendar has no business day in the ten years after " + str(d))

    def add_business_days(self, d: date, n: int) -> date:
        """Step ``n`` business days from ``d`` (backwards when negative).

        ``n == 0`` gives ``business_day_on_or_after(d)``, so "within 0 days" is still a day the
        team works; Friday + 1 is Monday, Saturday + 1 is Monday too.
        """
        if n == 0:
            return self.business_day_on_or_after(d)
        cur = d
        if n > 0:
            for _ in range(n):
                cur = self.next_business_day(cur)
        else:
            for _ in range(-n):
                cur = self.previous_business_day(cur)
        return cur

    def start_of_business_day(self, d: date) -> datetime:
        """Opening time on ``d`` in the calendar's timezone (whether or not ``d`` is open)."""
        return datetime.combine(d, self.work_start, tzinfo=self.tz)

    def end_of_business_day(self, d: date) -> datetime:
        """Closing time on ``d`` in the calendar's timezone: a date-only due time means this."""
        return datetime.combine(d, self.work_end, tzinfo=self.tz)

    def local(self, value: datetime) -> datetime:
        """``value`` seen on the calendar's wall clock."""
        _require_aware(value, "datetime")
        return value.astimezone(self.tz)

    def _open_interval_utc(self, d: date) -> tuple[datetime, datetime]:
        # Elapsed time must be measured in UTC: subtracting two datetimes that share a
        # ZoneInfo is wall-clock arithmetic and would be off by an hour on DST days.
        return (
            self.start_of_business_day(d).astimezone(UTC),
            self.end_of_business_day(d).astimezone(UTC),
        )

    # --------------------------------------------------------------- minutes

    def business_minutes_between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes in ``[start, end)``; 0 when ``end <= start``.

        Both ends are truncated to the minute on the local clock first, which keeps the measure
        exactly additive (f(a, c) == f(a, b) + f(b, c)). Closed form: a difference of two
        cumulative counts read from per-year prefix sums, so a wait of ten years costs the same
        as a wait of ten minutes (a bisection inside each year's table).
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        # Compare in UTC: two datetimes sharing a tzinfo compare by wall clock, ignoring fold.
        if end.astimezone(UTC) <= start.astimezone(UTC):
            return 0
        lo_local = self.local(start).replace(second=0, microsecond=0)
        hi_local = self.local(end).replace(second=0, microsecond=0)
        lo, hi = _micros(lo_local), _micros(hi_local)
        if hi <= lo:
            return 0
        table = self._table
        done = table.cumulative(lo_local.year, lo)
        upto = table.cumulative(hi_local.year, hi)
        return (upto - done) // _MINUTE_US

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """The instant at which ``minutes`` business minutes have elapsed since ``start``.

        Outside work hours the clock is stopped, so a start on Saturday counts from Monday's
        opening; ending exactly at closing time returns the closing instant, not next morning.
        The result is in the calendar's timezone. Closed form, like ``business_minutes_between``:
        the target cumulative count is located by bisection, not by walking the days.
        """
        _require_aware(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        local = self.local(start)
        if minutes == 0:
            return local
        table = self._table
        cursor = _micros(local)
        target = table.cumulative(local.year, cursor) + minutes * _MINUTE_US
        found = table.instant_of(target, local.year)
        return (_EPOCH + timedelta(microseconds=found)).astimezone(self.tz)

    def wait_and_due(self, start: datetime, end: datetime, minutes: int) -> tuple[int, datetime]:
        """``(business_minutes_between(start, end), add_business_minutes(start, minutes))``.

        The pair a lateness check needs, from one conversion of ``start`` and one look-up of its
        year; the count up to ``end`` is remembered for the next call with the same ``end``
        object (a list evaluated as of one instant asks it thousands of times): ~2.5x faster
        than the two calls (docs/benchmarks.md, session 6).
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        tz = self.tz
        table = self._table
        local = start.astimezone(tz)
        year = local.year
        cursor = _micros(start)
        memo = table.end_memo
        if memo is not None and memo[0] is end:
            end_us, hi_year, hi = memo[1], memo[2], memo[3]
        else:
            end_us = _micros(end)
            hi_local = end.astimezone(tz).replace(second=0, microsecond=0)
            hi_year, hi = hi_local.year, _micros(hi_local)
            memo = None
        waiting = end_us > cursor
        base, years, running = table.snapshot(year, max(year, hi_year) if waiting else year)
        k = year - base
        row, before = years[k], running[k]
        waited = 0
        if waiting:
            if memo is not None and memo[4] == base:
                upto = memo[5]
            else:
                upto = running[hi_year - base] + years[hi_year - base].within(hi)
                table.end_memo = (end, end_us, hi_year, hi, base, upto)
            offset = local.utcoffset()
            if year >= 1980 and offset is not None and not offset.seconds % 60:
                # Since 1980 every offset and so every transition is on a whole minute: the
                # local minute starts at the UTC minute (offsets with seconds, local mean
                # time, ended in 1972 with Monrovia's: those take the general way).
                lo = cursor - cursor % _MINUTE_US
            else:
                lo = _micros(local.replace(second=0, microsecond=0))
            done = before + row.within(lo)
            if hi > lo:
                waited = (upto - done) // _MINUTE_US
        if minutes == 0:
            return waited, local
        target = before + row.within(cursor) + minutes * _MINUTE_US
        if running[k + 1] >= target:
            found = row.instant_of(target - before)
        else:
            found = table.instant_of(target, year)
        return waited, (_EPOCH + timedelta(microseconds=found)).astimezone(tz)

    @property
    def _table(self) -> _BusinessTable:
        # A frozen dataclass has no place for a cache, so the table lives beside it, keyed by
        # the calendar's value (equal calendars share one table).
        return _table_for(self)


# ------------------------------------------------------------- prefix sums

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_US = 60_000_000
# A calendar with no open minute for this many consecutive years has no business time at all.
_MAX_EMPTY_YEARS = 11


def _micros(value: datetime) -> int:
    """Microseconds since the epoch, exact (no float): the unit the tables are kept in."""
    span = value - _EPOCH
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


@dataclass(frozen=True, slots=True)
class _Year:
    """One local year's business days: open and close instants (µs) and prefix sums."""

    opens: tuple[int, ...]
    closes: tuple[int, ...]
    before: tuple[int, ...]  # before[i]: open µs of days 0..i-1; before[-1] is the year's total

    @property
    def total(self) -> int:
        return self.before[-1]

    def within(self, t: int) -> int:
        """Business µs of this year before instant ``t``."""
        i = bisect_right(self.closes, t)  # days closed by t count whole
        done = self.before[i]
        if i < len(self.opens) and self.opens[i] < t:
            done += t - self.opens[i]
        return done

    def instant_of(self, amount: int) -> int:
        """The first instant at which ``amount`` (0 < amount <= total) µs have elapsed."""
        i = bisect_left(self.before, amount) - 1  # before[i] < amount <= before[i + 1]
        return self.opens[i] + (amount - self.before[i])


class _BusinessTable:
    """Per-year prefix sums of working time for one calendar, built lazily and cached.

    ``years[k]`` is the table of local year ``base + k``; ``running[k]`` the business µs of the
    years before it (from ``base``), so the count between any two instants is two bisections
    and a subtraction. The three are one immutable snapshot, replaced whole under a lock when
    a year is added: the service reads calendars from several threads, and a read of covered
    years takes no lock.
    """

    def __init__(self, calendar: BusinessCalendar) -> None:
        self._calendar = calendar
        self._lock = threading.Lock()
        self._snap: tuple[int, tuple[_Year, ...], tuple[int, ...]] = (0, (), (0,))
        # BusinessCalendar.wait_and_due's last ``end``: (end, its µs, its local year and µs
        # truncated to the minute, the base year of the count, the count)
        self.end_memo: tuple[datetime, int, int, int, int, int] | None = None

    def _build(self, year: int) -> _Year:
        cal = self._calendar
        opens: list[int] = []
        closes: list[int] = []
        before = [0]
        day = date(year, 1, 1)
        while day.year == year:
            if cal.is_business_day(day):
                o, c = cal._open_interval_utc(day)
                a, b = _micros(o), _micros(c)
                if b > a:
                    opens.append(a)
                    closes.append(b)
                    before.append(before[-1] + b - a)
            day += _ONE_DAY
        return _Year(tuple(opens), tuple(closes), tuple(before))

    def _cover(self, year: int) -> None:
        """Make sure ``year`` has a table (called with the lock held)."""
        base, years, _running = self._snap
        if not years:
            base, years = year, (self._build(year),)
        elif year < base:
            years = tuple(self._build(y) for y in range(year, base)) + years
            base = year
        elif base + len(years) <= year:
            added = tuple(self._build(y) for y in range(base + len(years), year + 1))
            years = years + added
        else:
            return
        running = [0]
        for y in years:
            running.append(running[-1] + y.total)
        self._snap = (base, years, tuple(running))

    def snapshot(
        self, year: int, last: int | None = None
    ) -> tuple[int, tuple[_Year, ...], tuple[int, ...]]:
        """(base, years, running) covering ``year`` to ``last``: without the lock when it does."""
        last = year if last is None else last
        snap = self._snap
        if snap[1] and snap[0] <= year and last < snap[0] + len(snap[1]):
            return snap
        with self._lock:
            self._cover(year)
            self._cover(last)
            return self._snap

    def cumulative(self, year: int, t: int) -> int:
        """Business µs from the start of the base year to ``t`` (which falls in local ``year``)."""
        base, years, running = self.snapshot(year)
        k = year - base
        return running[k] + years[k].within(t)

    def instant_of(self, target: int, from_year: int) -> int:
        """The first instant at which the cumulative count reaches ``target``."""
        base, years, running = self.snapshot(from_year)
        k = from_year - base
        empty = 0
        while running[k + 1] < target:
            k += 1
            if base + k > 9998:
                raise ValueError("the calendar has no business hours to add minutes to")
            base, years, running = self.snapshot(base + k)
            empty = empty + 1 if years[k].total == 0 else 0
            if empty >= _MAX_EMPTY_YEARS:
                raise ValueError("the calendar has no business hours to add minutes to")
        return years[k].instant_of(target - running[k])


@lru_cache(maxsize=64)
def _table_for(calendar: BusinessCalendar) -> _BusinessTable:
    return _BusinessTable(calendar)


def business_duration(minutes: int) -> str:
    """Business minutes as "2h 05m" (a work day is not 24 hours, so no days); one spelling for
    the CLI, the digest and the web page."""
    hours, rest = divmod(max(0, int(minutes)), 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


# ------------------------------------------------------------------ parsers

_TIME_RE = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*$")


def _parse_clock(text: str, whole: str) -> time:
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(f"work hours {whole!r}: {text.strip()!r} is not a time like 09:00")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"work hours {whole!r}: {text.strip()!r} is not a valid time of day")
    return time(hour, minute)


def parse_work_hours(text: str) -> tuple[time, time]:
    """``"09:00-18:00"`` -> (09:00, 18:00); also accepts ``"9-18"`` and an en dash."""
    parts = re.split(r"\s*[-–—]\s*|\s+to\s+", text.strip())
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"work hours {text!r}: expected START-END such as 09:00-18:00")
    start, end = _parse_clock(parts[0], text), _parse_clock(parts[1], text)
    if not start < end:
        raise ValueError(f"work hours {text!r}: the start must be before the end")
    return start, end


_DAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday"),
        ("tue", "tues", "tuesday"),
        ("wed", "weds", "wednesday"),
        ("thu", "thur", "thurs", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
        ("sun", "sunday"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = _index


def _day_index(token: str, whole: str) -> int:
    key = token.strip().lower().rstrip(".")
    if key not in _DAY_NAMES:
        raise ValueError(f"work days {whole!r}: {token.strip()!r} is not a day name such as Mon")
    return _DAY_NAMES[key]


def parse_work_days(text: str) -> frozenset[int]:
    """``"Mon-Fri"``, ``"Mon,Tue,Thu"``, ``"Sun-Thu"`` (ranges wrap) -> {0..6}, 0 = Monday."""
    if not text.strip():
        raise ValueError("work days: empty value, expected e.g. Mon-Fri")
    days: set[int] = set()
    for item in text.split(","):
        if not item.strip():
            raise ValueError(f"work days {text!r}: empty item between commas")
        bounds = re.split(r"\s*[-–]\s*", item.strip())
        if len(bounds) == 1:
            days.add(_day_index(bounds[0], text))
        elif len(bounds) == 2:
            first, last = _day_index(bounds[0], text), _day_index(bounds[1], text)
            span = (last - first) % 7
            days.update((first + i) % 7 for i in range(span + 1))
        else:
            raise ValueError(f"work days {text!r}: {item.strip()!r} is not a day or a range")
    return frozenset(days)


_DURATION_PART_RE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(d|days?|h|hrs?|hours?|m|mins?|minutes?)", re.IGNORECASE
)
_DURATION_FULL_RE = re.compile(
    r"^\s*(?:\d+(?:\.\d+)?\s*(?:d|days?|h|hrs?|hours?|m|mins?|minutes?)\s*)+$", re.IGNORECASE
)


def parse_duration(text: str) -> timedelta:
    """``"4h"``, ``"30m"``, ``"2h30m"``, ``"1d"``, ``"90"`` -> timedelta.

    A bare number is minutes. ``d`` is a plain 24 hours (this is a clock duration); counting in
    business days is done with :func:`parse_business_days` instead, so "1d" never silently
    means "one work day of 9 hours".
    """
    raw = text.strip()
    if re.fullmatch(r"\d+", raw):
        return timedelta(minutes=int(raw))
    if not _DURATION_FULL_RE.match(raw):
        raise ValueError(
            f"duration {text!r}: expected something like 4h, 30m, 2h30m, 1d or 90 (minutes)"
        )
    total = timedelta()
    for number, unit in _DURATION_PART_RE.findall(raw):
        value = float(number)
        u = unit[0].lower()
        if u == "d":
            total += timedelta(days=value)
        elif u == "h":
            total += timedelta(hours=value)
        else:
            total += timedelta(minutes=value)
    return total


def parse_business_days(text: str) -> int:
    """``"2d"``, ``"2"`` or ``"2 days"`` -> 2 (a count of business days, never negative)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:d|days?|bd|business\s+days?)?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(f"business days {text!r}: expected a whole number such as 2 or 2d")
    return int(m.group(1))


def parse_dates(text: str) -> frozenset[date]:
    """``"2026-12-24,2026-12-31"`` -> those dates; an empty value means none."""
    result: set[date] = set()
    for item in re.split(r"[,;\s]+", text.strip()):
        if not item:
            continue
        try:
            result.add(date.fromisoformat(item))
        except ValueError as exc:
            raise ValueError(f"dates {text!r}: {item!r} is not a date like 2026-12-24") from exc
    return frozenset(result)
