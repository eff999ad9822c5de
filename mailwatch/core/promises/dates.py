"""Date and time phrases: what a match means, resolved against the message's local time.

The handlers turn a regex match on the folded sentence into a :class:`Hit` (a day, a time of
day, an instant or "end of the business day"). The per-language modules pair their patterns
with these handlers; the engine runs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import dateparser

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.text import fold


def rx(pattern: str) -> re.Pattern[str]:
    """Compile a pattern written with natural spelling against the folded text.

    Only non-ASCII characters are folded, so regex escapes such as ``\\b`` survive.
    """
    return re.compile("".join(fold(c, keep_offsets=True) if ord(c) > 127 else c for c in pattern))


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a date phrase is resolved against: the message's local date and time."""

    today: date
    now: datetime  # naive local wall clock of the message
    calendar: BusinessCalendar
    lang: str


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    kind: str  # "date" | "time" | "eod" | "instant"
    day: date | None = None
    clock: time | None = None
    instant: datetime | None = None


Handler = Callable[[re.Match[str], Ctx], Hit | None]


def _count(m: re.Match[str], number_words: Mapping[str, int]) -> int:
    groups = m.groupdict()
    if groups.get("n"):
        return int(groups["n"])
    word = groups.get("w")
    return number_words.get(re.sub(r"\s+", " ", word), 1) if word else 1


def _week_start_weekday(calendar: BusinessCalendar) -> int:
    """The day a work week begins on: Monday usually, Sunday for a Sun-Thu team."""
    starts = [d for d in sorted(calendar.work_days) if (d - 1) % 7 not in calendar.work_days]
    if not starts or 0 in starts:
        return 0

    def gap_before(d: int) -> int:
        gap = 1
        while (d - gap - 1) % 7 not in calendar.work_days and gap < 7:
            gap += 1
        return gap

    return max(starts, key=gap_before)


def _week_bounds(ctx: Ctx, weeks_ahead: int) -> tuple[date, date]:
    """First and last calendar day of this (0) or a following work week."""
    offset = (ctx.today.weekday() - _week_start_weekday(ctx.calendar)) % 7
    first = ctx.today - timedelta(days=offset) + timedelta(days=7 * weeks_ahead)
    return first, first + timedelta(days=6)


def _weekday_date(ctx: Ctx, weekday: int, next_week: bool) -> date:
    """Next occurrence after the message's date (never today), or that day of next week."""
    if next_week:
        first, _ = _week_bounds(ctx, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7)
    delta = (weekday - ctx.today.weekday()) % 7 or 7
    return ctx.today + timedelta(days=delta)


def _last_business_day_in(cal: BusinessCalendar, first: date, last: date) -> date | None:
    d = last
    while d >= first:
        if cal.is_business_day(d):
            return d
        d -= timedelta(days=1)
    return None


def _end_of_week(ctx: Ctx, weeks_ahead: int) -> date:
    """The last work day of the week; a week already over points at the next one."""
    for ahead in (weeks_ahead, weeks_ahead + 1, weeks_ahead + 2):
        first, last = _week_bounds(ctx, ahead)
        found = _last_business_day_in(ctx.calendar, max(first, ctx.today), last)
        if found is not None:
            return found
    return ctx.calendar.business_day_on_or_after(ctx.today)


def _start_of_week(ctx: Ctx, weeks_ahead: int) -> date:
    first, _ = _week_bounds(ctx, weeks_ahead)
    return ctx.calendar.business_day_on_or_after(first)


def _end_of_month(ctx: Ctx, months_ahead: int) -> date:
    year, month = ctx.today.year, ctx.today.month + months_ahead
    while True:
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        first = date(year, month, 1)
        nxt = date(year + month // 12, month % 12 + 1, 1)
        found = _last_business_day_in(ctx.calendar, max(first, ctx.today), nxt - timedelta(1))
        if found is not None:
            return found
        month += 1


def _future_ymd(ctx: Ctx, day: int, month: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        candidate = date(ctx.today.year, month, day)
        if candidate < ctx.today:
            candidate = date(ctx.today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _day_of_month(ctx: Ctx, day: int) -> date | None:
    if not 1 <= day <= 31:
        return None
    year, month = ctx.today.year, ctx.today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= ctx.today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def h_offset(days: int) -> Handler:
    def handler(m: re.Match[str], ctx: Ctx) -> Hit:
        return Hit(m.start(), m.end(), "date", day=ctx.today + timedelta(days=days))

    return handler


def h_today_eod(m: re.Match[str], ctx: Ctx) -> Hit:
    return Hit(m.start(), m.end(), "eod", day=ctx.today)


def h_eod(m: re.Match[str], ctx: Ctx) -> Hit:
    return Hit(m.start(), m.end(), "eod")


def h_week(weeks_ahead: int, start: bool = False) -> Handler:
    def handler(m: re.Match[str], ctx: Ctx) -> Hit:
        day = _start_of_week(ctx, weeks_ahead) if start else _end_of_week(ctx, weeks_ahead)
        return Hit(m.start(), m.end(), "date", day=day)

    return handler


def h_month_end(months_ahead: int) -> Handler:
    def handler(m: re.Match[str], ctx: Ctx) -> Hit:
        return Hit(m.start(), m.end(), "date", day=_end_of_month(ctx, months_ahead))

    return handler


def h_clock(hour: int, minute: int = 0) -> Handler:
    def handler(m: re.Match[str], ctx: Ctx) -> Hit:
        return Hit(m.start(), m.end(), "time", clock=time(hour, minute))

    return handler


def h_weekday(names: dict[str, int], next_week_words: re.Pattern[str]) -> Handler:
    def handler(m: re.Match[str], ctx: Ctx) -> Hit | None:
        name = m.group("wd")
        weekday = next((v for k, v in names.items() if name.startswith(k)), None)
        if weekday is None:
            return None
        next_week = bool(next_week_words.search(m.group(0)))
        return Hit(m.start(), m.end(), "date", day=_weekday_date(ctx, weekday, next_week))

    return handler


# "in 2 days from receipt", "в течение 3 дней после оплаты", "în 2 zile de la primirea lor",
# "en 5 días desde la aprobación": counted from an event that has not happened yet, so the
# phrase gives no due date.
_EVENT_ANCHOR_RE = rx(
    r"\s*,?\s*(?:"
    r"(?:of|from|after|upon|following)\s+(?:the\s+|your\s+|our\s+|their\s+)?"
    r"(?:receiv\w*|receipt|approv\w*|confirm\w*|payment|order\w*|sign\w*|delivery)"
    r"|(?:с\s+момента|после|со\s+дня|с\s+даты|от\s+даты)\s+(?:\w+\s+)?"
    r"(?:получени\w*|оплат\w*|предоплат\w*|подписани\w*|согласовани\w*|утверждени\w*"
    r"|заказ\w*|подтверждени\w*)"
    r"|(?:de\s+la|dupa|din\s+momentul)\s+(?:\w+\s+)?"
    r"(?:primir\w*|confirmar\w*|aprobar\w*|plat\w*|comand\w*|semnar\w*)"
    r"|(?:desde|tras|despues\s+de|a\s+partir\s+de)\s+(?:la\s+|el\s+|su\s+|que\s+)?"
    r"(?:recepcion|recib\w*|aprobacion|aprueb\w*|confirmacion|confirm\w*|pago|pedido|firma)"
    r")"
)


def h_in(number_words: Mapping[str, int]) -> Handler:
    """A count of days, weeks, months, hours or minutes ahead ("in 3 days", "через 2 недели").

    ``number_words`` gives the value of a written-out count ("three", "пару", "câteva").
    """

    def handler(m: re.Match[str], ctx: Ctx) -> Hit | None:
        if _EVENT_ANCHOR_RE.match(m.string, m.end()):
            return None
        n = _count(m, number_words)
        unit = m.group("u")
        business = bool(m.groupdict().get("biz"))
        if unit == "d":
            unit = "days"
        if unit.startswith(("h", "ч", "or", "час")):
            return Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(hours=n))
        if unit.startswith(("min", "мин")):
            return Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(minutes=n))
        if unit.startswith(("mon", "мес", "lun", "mes")):
            month = ctx.today.month - 1 + n
            year = ctx.today.year + month // 12
            month = month % 12 + 1
            day = min(ctx.today.day, _days_in_month(year, month))
            target = ctx.calendar.business_day_on_or_after(date(year, month, day))
            return Hit(m.start(), m.end(), "date", day=target)
        if unit.startswith(("w", "нед", "sapt", "sem")):
            days = 7 * n
            business = False
        else:
            days = n
        if business:
            return Hit(m.start(), m.end(), "date", day=ctx.calendar.add_business_days(ctx.today, n))
        target = ctx.calendar.business_day_on_or_after(ctx.today + timedelta(days=days))
        return Hit(m.start(), m.end(), "date", day=target)

    return handler


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def h_half_hour(m: re.Match[str], ctx: Ctx) -> Hit:
    return Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(minutes=30))


def h_within_day(m: re.Match[str], ctx: Ctx) -> Hit:
    return Hit(m.start(), m.end(), "eod", day=ctx.today)


_DP_LANG_SETTINGS: dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "STRICT_PARSING": False,
}


def _dateparse(phrase: str, ctx: Ctx) -> date | None:
    """Month-name dates go to dateparser, always with the language given explicitly."""
    settings = dict(_DP_LANG_SETTINGS, RELATIVE_BASE=ctx.now)
    try:
        parsed = dateparser.parse(phrase, languages=[ctx.lang], settings=settings)
    except (ValueError, OverflowError):  # pragma: no cover - dateparser edge cases
        return None
    if not isinstance(parsed, datetime):
        return None
    return parsed.date()


def h_named_date(m: re.Match[str], ctx: Ctx) -> Hit | None:
    phrase = m.string[m.start() : m.end()]
    phrase = re.sub(r"(\d)(?:-?(?:го|е|ое)|st|nd|rd|th)\b", r"\1", phrase)
    phrase = re.sub(r"\s*(?:г\.?|года)$", "", phrase)
    day = _dateparse(phrase, ctx)
    if day is None:
        return None
    return Hit(m.start(), m.end(), "date", day=day)


def h_numeric_date(m: re.Match[str], ctx: Ctx) -> Hit | None:
    if m.group("sep") == "." and len(m.group("b")) == 1 and not m.group("y"):
        return None  # "1.5 million" is not the 1st of May
    a, b = int(m.group("a")), int(m.group("b"))
    year = int(m.group("y")) if m.group("y") else None
    day = None
    if b <= 12:
        day = _future_ymd(ctx, a, b, year)
    if day is None and ctx.lang == "en" and a <= 12:
        day = _future_ymd(ctx, b, a, year)  # US order, only when day-first is impossible
    if day is None:
        return None
    return Hit(m.start(), m.end(), "date", day=day)


def h_iso_date(m: re.Match[str], ctx: Ctx) -> Hit | None:
    try:
        day = date.fromisoformat(m.group(0))
    except ValueError:
        return None
    return Hit(m.start(), m.end(), "date", day=day)


def h_day_of_month(m: re.Match[str], ctx: Ctx) -> Hit | None:
    group = "d" if m.groupdict().get("d") else "d2"
    day = _day_of_month(ctx, int(m.group(group)))
    if day is None:
        return None
    return Hit(m.start(group), m.end(), "date", day=day)


def h_time(m: re.Match[str], ctx: Ctx) -> Hit | None:
    hour = int(m.group("h"))
    minutes_given = m.groupdict().get("mi")
    minute = int(minutes_given or 0)
    ampm = (m.groupdict().get("ap") or "").replace(".", "").strip()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    elif not ampm and not minutes_given and 1 <= hour <= 7:
        hour += 12  # a bare "at 3" in business mail means the afternoon; "07:30" stays morning
    if hour > 23 or minute > 59:
        return None
    return Hit(m.start(), m.end(), "time", clock=time(hour, minute))


# Shared patterns -------------------------------------------------------------------------

NUMERIC_DATE = (
    r"(?<![\w:.,/])(?P<a>[0-3]?\d)(?P<sep>[./])(?P<b>[01]?\d)(?:(?P=sep)(?P<y>\d{4}|\d{2}))?"
    r"(?![\d:/]|\.\d)",
    h_numeric_date,
)
ISO_DATE = (r"\b\d{4}-\d{2}-\d{2}\b", h_iso_date)
COLON_TIME = (
    r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?!\d)(?:\s*(?P<ap>[ap]\.?m\.?)(?!\w))?",
    h_time,
)
_NUM = r"(?:(?P<n>\d{1,3})|(?P<w>{words}))"


def num(words: str) -> str:
    return _NUM.replace("{words}", words)
