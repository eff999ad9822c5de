"""Promises we make in outgoing mail, and deadlines clients ask of us.

A promise that nobody tracks is the one that slips: "I'll send the proposal by Wednesday" is
written in a hurry and forgotten. This module finds such commitments in the *new* text of our
outgoing mail (English, Russian, Romanian, Spanish) and resolves their due time against the
message's own date in the mailbox timezone.

Design, for speed and predictability:

* sentences are matched with precompiled regexes on a lower-cased, accent-folded copy of the
  text (so "pana vineri" matches like "până vineri"; the copy keeps every character position);
* a sentence counts only with a first-person commitment by us *and* a date expression; negations
  ("I can't promise Friday"), questions, conditionals ("If you confirm today, ...") and plain
  statements are ignored;
* the date phrase is extracted here; weekdays and relative expressions are computed directly
  (a weekday is always its *next* occurrence, never today), month-name dates are handed to
  dateparser with the language set explicitly (never its auto-detection, which is slow and reads
  "me" or "are" as dates).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

import dateparser

from mailwatch.core.business_time import BusinessCalendar

__all__ = [
    "LANGUAGES",
    "DetectedPromise",
    "detect_promises",
    "detect_requested_deadline",
    "promise_status",
]

LANGUAGES: tuple[str, ...] = ("en", "ru", "ro", "es")


@dataclass(frozen=True, slots=True)
class DetectedPromise:
    text: str  # the sentence holding the commitment, trimmed
    due_at: datetime  # aware, in the calendar's timezone
    time_given: bool  # True when the text named a time of day


# --------------------------------------------------------------------------- text folding


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    low = c.lower()
    if len(low) != 1:
        low = c
    base = "".join(ch for ch in unicodedata.normalize("NFD", low) if not unicodedata.combining(ch))
    return base if len(base) == 1 else low


def _fold(text: str) -> str:
    """Lower-case and strip accents, one character for one, so match offsets stay valid."""
    return "".join(map(_fold_char, text))


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile a pattern written with natural spelling against the folded text.

    Only non-ASCII characters are folded, so regex escapes such as ``\\b`` survive.
    """
    folded = "".join(_fold_char(c) if ord(c) > 127 else c for c in pattern)
    return re.compile(folded)


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "nr", "vs", "etc", "approx", "incl", "e.g",
    "i.e", "a.m", "p.m", "г", "гг", "т.е", "т.к", "т.д", "т.п", "ул", "д", "стр", "тел", "др",
    "пр", "см", "s.a", "dl", "dna", "sr", "sra", "sres", "srta", "ud", "uds", "pág", "núm",
    "tel",
})  # fmt: skip
_SENT_END_RE = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s)")


def _sentences(text: str) -> list[str]:
    """Split mail text into sentences, keeping hard-wrapped lines of one sentence together."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    # Paragraphs: blank lines, bullets and lines ending a clause (greetings "Hi John,") split.
    blocks: list[str] = []
    current: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        if current and re.match(r"^(?:[-*•·–]|\d{1,2}[.)])\s", line):
            blocks.append(" ".join(current))
            current = []
        current.append(line)
        if len(line) <= 30 or line.endswith((":", ";")):
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))

    sentences: list[str] = []
    for block in blocks:
        block = re.sub(r"\s+", " ", block).strip()
        start = 0
        for m in _SENT_END_RE.finditer(block):
            end = m.end()
            rest = block[end:].lstrip()
            word = re.findall(r"[\w.]+$", block[start : m.start() + 1].rstrip(".!?…"))
            last = word[0].lower() if word else ""
            if m.group(0).startswith(".") and (
                last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())
            ):
                continue
            if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in '¿¡"«“-'):
                continue
            sentences.append(block[start:end].strip())
            start = end
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return [s for s in sentences if s]


# --------------------------------------------------------------------------- date hits


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What a date phrase is resolved against: the message's local date and time."""

    today: date
    now: datetime  # naive local wall clock of the message
    calendar: BusinessCalendar
    lang: str


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    kind: str  # "date" | "time" | "eod" | "instant"
    day: date | None = None
    clock: time | None = None
    instant: datetime | None = None


_Handler = Callable[[re.Match[str], _Ctx], _Hit | None]

_NUMBER_WORDS: dict[str, int] = {
    # en
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2,
    "a few": 3, "few": 3,
    # ru (folded)
    "один": 1, "одну": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3, "трех": 3,
    "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "пару": 2, "пары": 2, "несколько": 3, "нескольких": 3,
    # ro
    "o": 1, "un": 1, "una": 1, "doua": 2, "doi": 2, "trei": 3, "patru": 4, "cinci": 5,
    "sase": 6, "sapte": 7, "opt": 8, "noua": 9, "zece": 10, "cateva": 3, "cativa": 3,
    # es
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "un par de": 2, "unos": 3, "unas": 3,
    "unos pocos": 3, "unas pocas": 3,
}  # fmt: skip


def _count(m: re.Match[str]) -> int:
    groups = m.groupdict()
    if groups.get("n"):
        return int(groups["n"])
    word = groups.get("w")
    return _NUMBER_WORDS.get(re.sub(r"\s+", " ", word), 1) if word else 1


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


def _week_bounds(ctx: _Ctx, weeks_ahead: int) -> tuple[date, date]:
    """First and last calendar day of this (0) or a following work week."""
    offset = (ctx.today.weekday() - _week_start_weekday(ctx.calendar)) % 7
    first = ctx.today - timedelta(days=offset) + timedelta(days=7 * weeks_ahead)
    return first, first + timedelta(days=6)


def _weekday_date(ctx: _Ctx, weekday: int, next_week: bool) -> date:
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


def _end_of_week(ctx: _Ctx, weeks_ahead: int) -> date:
    """The last work day of the week; a week already over points at the next one."""
    for ahead in (weeks_ahead, weeks_ahead + 1, weeks_ahead + 2):
        first, last = _week_bounds(ctx, ahead)
        found = _last_business_day_in(ctx.calendar, max(first, ctx.today), last)
        if found is not None:
            return found
    return ctx.calendar.business_day_on_or_after(ctx.today)


def _start_of_week(ctx: _Ctx, weeks_ahead: int) -> date:
    first, _ = _week_bounds(ctx, weeks_ahead)
    return ctx.calendar.business_day_on_or_after(first)


def _end_of_month(ctx: _Ctx, months_ahead: int) -> date:
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


def _future_ymd(ctx: _Ctx, day: int, month: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        candidate = date(ctx.today.year, month, day)
        if candidate < ctx.today:
            candidate = date(ctx.today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _day_of_month(ctx: _Ctx, day: int) -> date | None:
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


def _h_offset(days: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Hit:
        return _Hit(m.start(), m.end(), "date", day=ctx.today + timedelta(days=days))

    return handler


def _h_today_eod(m: re.Match[str], ctx: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), "eod", day=ctx.today)


def _h_eod(m: re.Match[str], ctx: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), "eod")


def _h_week(weeks_ahead: int, start: bool = False) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Hit:
        day = _start_of_week(ctx, weeks_ahead) if start else _end_of_week(ctx, weeks_ahead)
        return _Hit(m.start(), m.end(), "date", day=day)

    return handler


def _h_month_end(months_ahead: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Hit:
        return _Hit(m.start(), m.end(), "date", day=_end_of_month(ctx, months_ahead))

    return handler


def _h_clock(hour: int, minute: int = 0) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Hit:
        return _Hit(m.start(), m.end(), "time", clock=time(hour, minute))

    return handler


def _h_weekday(names: dict[str, int], next_week_words: re.Pattern[str]) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
        name = m.group("wd")
        weekday = next((v for k, v in names.items() if name.startswith(k)), None)
        if weekday is None:
            return None
        next_week = bool(next_week_words.search(m.group(0)))
        return _Hit(m.start(), m.end(), "date", day=_weekday_date(ctx, weekday, next_week))

    return handler


# "in 2 days from receipt", "в течение 3 дней после оплаты", "în 2 zile de la primirea lor",
# "en 5 días desde la aprobación": counted from an event that has not happened yet, so the
# phrase gives no due date.
_EVENT_ANCHOR_RE = _rx(
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


def _h_in(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
    if _EVENT_ANCHOR_RE.match(m.string, m.end()):
        return None
    n = _count(m)
    unit = m.group("u")
    business = bool(m.groupdict().get("biz"))
    if unit == "d":
        unit = "days"
    if unit.startswith(("h", "ч", "or", "час")):
        return _Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(hours=n))
    if unit.startswith(("min", "мин")):
        return _Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(minutes=n))
    if unit.startswith(("mon", "мес", "lun", "mes")):
        month = ctx.today.month - 1 + n
        year = ctx.today.year + month // 12
        month = month % 12 + 1
        day = min(ctx.today.day, _days_in_month(year, month))
        target = ctx.calendar.business_day_on_or_after(date(year, month, day))
        return _Hit(m.start(), m.end(), "date", day=target)
    if unit.startswith(("w", "нед", "sapt", "sem")):
        days = 7 * n
        business = False
    else:
        days = n
    if business:
        return _Hit(m.start(), m.end(), "date", day=ctx.calendar.add_business_days(ctx.today, n))
    target = ctx.calendar.business_day_on_or_after(ctx.today + timedelta(days=days))
    return _Hit(m.start(), m.end(), "date", day=target)


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _h_half_hour(m: re.Match[str], ctx: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), "instant", instant=ctx.now + timedelta(minutes=30))


def _h_within_day(m: re.Match[str], ctx: _Ctx) -> _Hit:
    return _Hit(m.start(), m.end(), "eod", day=ctx.today)


_DP_LANG_SETTINGS: dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "STRICT_PARSING": False,
}


def _dateparse(phrase: str, ctx: _Ctx) -> date | None:
    """Month-name dates go to dateparser, always with the language given explicitly."""
    settings = dict(_DP_LANG_SETTINGS, RELATIVE_BASE=ctx.now)
    try:
        parsed = dateparser.parse(phrase, languages=[ctx.lang], settings=settings)
    except (ValueError, OverflowError):  # pragma: no cover - dateparser edge cases
        return None
    if not isinstance(parsed, datetime):
        return None
    return parsed.date()


def _h_named_date(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
    phrase = m.string[m.start() : m.end()]
    phrase = re.sub(r"(\d)(?:-?(?:го|е|ое)|st|nd|rd|th)\b", r"\1", phrase)
    phrase = re.sub(r"\s*(?:г\.?|года)$", "", phrase)
    day = _dateparse(phrase, ctx)
    if day is None:
        return None
    return _Hit(m.start(), m.end(), "date", day=day)


def _h_numeric_date(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
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
    return _Hit(m.start(), m.end(), "date", day=day)


def _h_iso_date(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
    try:
        day = date.fromisoformat(m.group(0))
    except ValueError:
        return None
    return _Hit(m.start(), m.end(), "date", day=day)


def _h_day_of_month(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
    group = "d" if m.groupdict().get("d") else "d2"
    day = _day_of_month(ctx, int(m.group(group)))
    if day is None:
        return None
    return _Hit(m.start(group), m.end(), "date", day=day)


def _h_time(m: re.Match[str], ctx: _Ctx) -> _Hit | None:
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
    return _Hit(m.start(), m.end(), "time", clock=time(hour, minute))


# Shared patterns -------------------------------------------------------------------------

_NUMERIC_DATE = (
    r"(?<![\w:.,/])(?P<a>[0-3]?\d)(?P<sep>[./])(?P<b>[01]?\d)(?:(?P=sep)(?P<y>\d{4}|\d{2}))?"
    r"(?![\d:/]|\.\d)",
    _h_numeric_date,
)
_ISO_DATE = (r"\b\d{4}-\d{2}-\d{2}\b", _h_iso_date)
_COLON_TIME = (
    r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?!\d)(?:\s*(?P<ap>[ap]\.?m\.?)(?!\w))?",
    _h_time,
)
_NUM = r"(?:(?P<n>\d{1,3})|(?P<w>{words}))"


def _num(words: str) -> str:
    return _NUM.replace("{words}", words)


# English ---------------------------------------------------------------------------------

_EN_WD = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
_EN_WD_RE = (
    r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|weds?|"
    r"thu(?:rs?)?|fri)"
)
_EN_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
)
_EN_NEXT = re.compile(r"\bnext\b|\bfollowing\b|\bafter next\b")

_EN_DATES: list[tuple[str, _Handler]] = [
    (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", _h_offset(2)),
    (r"\b(?:tomorrow|tmrw|tmr)\b", _h_offset(1)),
    (r"\b(?:today|tonight|later\s+today|this\s+(?:afternoon|evening))\b", _h_offset(0)),
    (
        r"\b(?:(?:next|this|coming|the\s+following)\s+)?" + _EN_WD_RE + r"\b"
        r"(?:\s+(?:of\s+)?(?:next|the\s+following|this)\s+week)?",
        _h_weekday(_EN_WD, _EN_NEXT),
    ),
    (
        r"\b(?:next|the\s+following)\s+week\s+(?:on\s+)?" + _EN_WD_RE + r"\b",
        _h_weekday(_EN_WD, _EN_NEXT),
    ),
    (
        r"\b(?:(?:the\s+)?(?:end|close)\s+of\s+(?:the\s+)?(?:business\s+|working\s+)?day|eod|cob"
        r"|close\s+of\s+business)\b",
        _h_eod,
    ),
    (r"\b(?:early|(?:the\s+)?(?:beginning|start)\s+of)\s+next\s+week\b", _h_week(1, start=True)),
    (
        r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+)?(?:next|following)\s+week|next\s+week|the\s+"
        r"following\s+week|the\s+week\s+after)\b(?!\s+on\b)",
        _h_week(1),
    ),
    (
        r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?week|this\s+week|eow|later\s+this\s+week)"
        r"\b",
        _h_week(0),
    ),
    (r"\b(?:the\s+)?end\s+of\s+next\s+month\b", _h_month_end(1)),
    (r"\b(?:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?month|eom)\b", _h_month_end(0)),
    (
        r"\b(?:in|within|in\s+the\s+next)\s+"
        + _num(
            r"an?|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|couple\s+of"
            r"|a\s+few|few"
        )
        + r"\s+(?P<biz>business\s+|working\s+|work\s+)?"
        r"(?P<u>days?|weeks?|months?|hours?|hrs?|minutes?|mins?)\b",
        _h_in,
    ),
    (r"\b(?:in|within)\s+(?P<n>\d{1,3})\s*(?P<u>h|hrs?|d)\b", _h_in),
    (r"\b(?:in|within)\s+half\s+an\s+hour\b", _h_half_hour),
    (
        r"\b(?:[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _EN_MONTH + r"\b\.?(?:,?\s+\d{4})?"
        r"|\b" + _EN_MONTH + r"\.?\s+(?:[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+\d{4})?",
        _h_named_date,
    ),
    _ISO_DATE,
    _NUMERIC_DATE,
    (
        r"\b(?:on|by|before|until|till|for)\s+the\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b",
        _h_day_of_month,
    ),
    _COLON_TIME,
    (r"\b(?P<h>1[0-2]|0?[1-9])(?:[.:](?P<mi>[0-5]\d))?\s*(?P<ap>[ap]\.?m\.?)(?!\w)", _h_time),
    (r"\b(?:at|by|before|until|till)\s+(?P<h>[01]?\d|2[0-3])\.(?P<mi>[0-5]\d)\b", _h_time),
    (
        r"\b(?:at|by|before|until|till|around)\s+(?P<h>1[0-2]|[1-9])"
        r"(?!\s*(?:[\d:/]|\.\d|st|nd|rd|th|days?|weeks?|hours?|%))\b",
        _h_time,
    ),
    (r"\b(?:noon|midday|lunch\s*time|lunch)\b", _h_clock(12)),
    (r"\bmorning\b", _h_clock(12)),
]  # fmt: skip

# Russian (patterns written normally; folded on compile: й->и, ё->е) --------------------

_RU_WD = {
    "понедел": 0, "вторник": 1, "сред": 2, "четверг": 3, "пятниц": 4, "суббот": 5,
    "воскрес": 6,
}  # fmt: skip
_RU_WD_FOLDED = {_fold(k): v for k, v in _RU_WD.items()}
_RU_WD_RE = (
    r"(?P<wd>понедельник\w*|вторник\w*|сред[аыуе]|четверг\w*|пятниц\w*|суббот\w*|воскресень\w*)"
)
_RU_MONTH = r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_RU_NEXT = _rx(r"следующ|будущ")

_RU_DATES: list[tuple[str, _Handler]] = [
    (r"\bпослезавтра\b", _h_offset(2)),
    (r"\bзавтра(?:шнего\s+дня)?\b", _h_offset(1)),
    (r"\b(?:до|к)\s+конц[ау]\s+(?:сегодняшнего\s+|этого\s+)?(?:рабочего\s+)?дня\b", _h_today_eod),
    (r"\bв\s+течени[ея]\s+(?:сегодняшнего\s+|этого\s+)?(?:рабочего\s+)?дня\b", _h_within_day),
    (r"\b(?:сегодня|сегодняшнего\s+дня)\b", _h_offset(0)),
    (
        r"\bна\s+следующей\s+неделе\s+(?:в|во)\s+" + _RU_WD_RE + r"\b",
        _h_weekday(_RU_WD_FOLDED, _RU_NEXT),
    ),
    (
        r"(?:\b(?:следующ|будущ)\w*\s+)?" + _RU_WD_RE + r"\b(?:\s+на\s+следующей\s+неделе)?",
        _h_weekday(_RU_WD_FOLDED, _RU_NEXT),
    ),
    (r"\b(?:в\s+)?начал[ео]\s+следующей\s+недели\b", _h_week(1, start=True)),
    (
        r"\b(?:(?:до|к)\s+)?конц[ау]\s+следующей\s+недели\b|\bна\s+следующей\s+неделе\b"
        r"(?!\s+(?:в|во)\s+" + _RU_WD_RE + r")",
        _h_week(1),
    ),
    (
        r"\b(?:(?:до|к)\s+)?конц[ау]\s+(?:этой\s+|текущей\s+)?недели\b|\bна\s+этой\s+неделе\b",
        _h_week(0),
    ),
    (r"\b(?:(?:до|к)\s+)?конц[ау]\s+следующего\s+месяца\b", _h_month_end(1)),
    (r"\b(?:(?:до|к)\s+)?конц[ау]\s+(?:этого\s+|текущего\s+)?месяца\b", _h_month_end(0)),
    (r"\bчерез\s+полчаса\b", _h_half_hour),
    (
        r"\b(?:через|в\s+течени[ея]|в\s+ближайшие)\s+(?:"
        + _num(
            r"один|одну|одного|два|две|двух|три|трех|четыре|пять|шесть|семь|восемь|девять"
            r"|десять|пару|пары|несколько|нескольких"
        )
        + r"\s+)?(?P<biz>рабоч\w+\s+)?(?P<u>дн\w+|день|недел\w+|месяц\w*|час\w*|минут\w*)",
        _h_in,
    ),
    (
        r"\b[0-3]?\d(?:-?(?:го|е|ое))?\s+" + _RU_MONTH + r"(?:\s+\d{4}(?:\s*(?:г\.?|года))?)?",
        _h_named_date,
    ),
    _ISO_DATE,
    _NUMERIC_DATE,
    (
        r"(?:\b(?:до|к|на)\s+)?(?P<d>[0-3]?\d)-?(?:го|му)\b|\b(?P<d2>[0-3]?\d)\s+числа\b",
        _h_day_of_month,
    ),
    _COLON_TIME,
    (r"\b(?:в|до|к|на)\s+(?P<h>[01]?\d|2[0-3])[.](?P<mi>[0-5]\d)\b", _h_time),
    (r"\b(?P<h>[01]?\d|2[0-3])(?:[.:](?P<mi>[0-5]\d))?\s*(?:ч\b\.?|час(?:а|ов)?\b)", _h_time),
    (
        r"\b(?:до\s+обеда|к\s+обеду|утром|с\s+утра|до\s+полудня|к\s+полудню|в\s+полдень)\b",
        _h_clock(12),
    ),
]  # fmt: skip

# Romanian (patterns in folded spelling: no diacritics) ------------------------------------

_RO_WD = {
    "luni": 0, "lunea": 0, "marti": 1, "martea": 1, "miercur": 2, "joi": 3, "viner": 4,
    "sambat": 5, "duminic": 6,
}  # fmt: skip
_RO_WD_RE = (
    r"(?P<wd>luni|lunea|marti|martea|miercuri|miercurea|joi|joia|vineri|vinerea|sambata|"
    r"duminica)"
)
_RO_MONTH = (
    r"(?:ianuarie|februarie|martie|aprilie|mai|iunie|iulie|august|septembrie|octombrie|"
    r"noiembrie|decembrie|ian|feb|mar|apr|iun|iul|aug|sept?|oct|noi|dec)"
)
_RO_NEXT = re.compile(r"viitoare|urmatoare|care\s+vine")

_RO_DATES: list[tuple[str, _Handler]] = [
    (r"\bpoimaine\b", _h_offset(2)),
    (r"\bmaine\b", _h_offset(1)),
    (r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+(?:acestei\s+)?zilei\b", _h_today_eod),
    (r"\b(?:azi|astazi|in\s+cursul\s+zilei(?!\s+de\s+maine)(?:\s+de\s+azi)?)\b", _h_offset(0)),
    (
        r"\b(?:in(?:\s+cel\s+mult|\s+maxim(?:um)?)?|peste|in\s+urmatoarele|in\s+decurs\s+de"
        r"|timp\s+de)\s+"
        + _num(r"o|un|una|doua|doi|trei|patru|cinci|sase|sapte|opt|noua|zece|cateva|cativa")
        + r"\s+(?:de\s+)?(?P<u>zile|zi|saptamani|saptamana|luni|luna|ore|ora|minute)"
        r"(?P<biz>\s+lucratoare)?\b",
        _h_in,
    ),
    (
        r"\bsaptamana\s+(?:viitoare|urmatoare|care\s+vine),?\s+(?:pe\s+|in\s+)?"
        + _RO_WD_RE
        + r"\b",
        _h_weekday(_RO_WD, _RO_NEXT),
    ),
    (
        r"\b" + _RO_WD_RE + r"\b(?:\s+(?:viitoare|urmatoare|care\s+vine"
        r"|din\s+saptamana\s+(?:viitoare|urmatoare)))?",
        _h_weekday(_RO_WD, _RO_NEXT),
    ),
    (
        r"\b(?:la\s+)?(?:inceputul|debutul)\s+saptamanii\s+(?:viitoare|urmatoare)\b",
        _h_week(1, start=True),
    ),
    (
        r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+saptamanii\s+(?:viitoare|urmatoare)\b"
        r"|\b(?:in\s+|pe\s+)?saptamana\s+(?:viitoare|urmatoare|care\s+vine)\b"
        r"(?!,?\s+(?:pe\s+|in\s+)?" + _RO_WD_RE + ")",
        _h_week(1),
    ),
    (
        r"\b(?:pana\s+)?(?:la\s+)?(?:sfarsitul|finalul)\s+(?:acestei\s+)?saptamanii\b"
        r"|\b(?:in\s+)?saptamana\s+(?:aceasta|asta|curenta)\b",
        _h_week(0),
    ),
    (r"\b(?:sfarsitul|finalul)\s+lunii\s+(?:viitoare|urmatoare)\b", _h_month_end(1)),
    (r"\b(?:sfarsitul|finalul)\s+(?:acestei\s+)?lunii\b", _h_month_end(0)),
    (r"\b(?:in|peste)\s+jumatate\s+de\s+ora\b", _h_half_hour),
    (r"\b[0-3]?\d\s+" + _RO_MONTH + r"\b\.?(?:\s+\d{4})?", _h_named_date),
    _ISO_DATE,
    _NUMERIC_DATE,
    (
        r"\b(?:pe|pana\s+pe|pana\s+in|pe\s+data\s+de|in\s+data\s+de)\s+(?P<d>[0-3]?\d)\b"
        r"(?!\s*(?:[:.,]\d|%|ore|ora|zile|de\s+zile))",
        _h_day_of_month,
    ),
    _COLON_TIME,
    (r"\b(?:la\s+)?ora\s+(?P<h>[01]?\d|2[0-3])(?:[.:](?P<mi>[0-5]\d))?\b", _h_time),
    (r"\b(?:la|pana\s+la)\s+(?P<h>[01]?\d|2[0-3])[.](?P<mi>[0-5]\d)\b", _h_time),
    (
        r"\b(?:pranz|pranzului|(?<!dupa-)(?<!dupa\s)amiaza|dimineata|in\s+cursul\s+diminetii)\b",
        _h_clock(12),
    ),
]  # fmt: skip

# Spanish (folded spelling) ------------------------------------------------------------------

_ES_WD = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
    "domingo": 6,
}  # fmt: skip
_ES_WD_RE = r"(?P<wd>lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
_ES_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    r"noviembre|diciembre)"
)
_ES_NEXT_WEEK = (
    r"(?:la\s+semana\s+que\s+viene|la\s+proxima\s+semana|la\s+semana\s+proxima|la"
    r"\s+siguiente\s+semana)"
)
# "el próximo viernes" is the coming Friday in Spanish usage; "de la semana que viene" moves it.
_ES_NEXT = re.compile(r"semana")

_ES_DATES: list[tuple[str, _Handler]] = [
    (r"\bpasado\s+manana\b", _h_offset(2)),
    (r"(?<!la\s)(?<!esta\s)(?<!por\s)\bmanana\b", _h_offset(1)),
    (
        r"\b(?:antes\s+de(?:l)?\s+|a\s+)?(?:(?:el\s+)?final|fin)\s+del\s+dia(?:\s+de\s+hoy)?\b"
        r"|\bantes\s+de\s+que\s+(?:termine|acabe)\s+el\s+dia\b",
        _h_today_eod,
    ),
    (
        r"\b(?:hoy(?:\s+mismo)?|esta\s+tarde|a\s+lo\s+largo\s+del\s+dia|durante\s+el\s+dia)\b",
        _h_offset(0),
    ),
    (
        r"\b(?:(?:proximo|este|siguiente)\s+)?" + _ES_WD_RE
        + r"\b(?!\s+pasad[oa]\b)(?:\s+(?:proximo|que\s+viene|de\s+" + _ES_NEXT_WEEK + r"))?",
        _h_weekday(_ES_WD, _ES_NEXT),
    ),
    (
        r"\b(?:a\s+)?(?:principios|comienzos|inicios)\s+de\s+" + _ES_NEXT_WEEK + r"\b",
        _h_week(1, start=True),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+de\s+" + _ES_NEXT_WEEK + r"\b|\b(?:durante\s+|en\s+)?"
        + _ES_NEXT_WEEK + r"\b",
        _h_week(1),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+de\s+(?:esta\s+|la\s+)?semana\b|\besta\s+(?:misma"
        r"\s+)?semana\b",
        _h_week(0),
    ),
    (
        r"\b(?:a\s+)?(?:finales|final|fin)\s+del\s+(?:proximo\s+mes|mes\s+que\s+viene)\b",
        _h_month_end(1),
    ),
    (r"\b(?:a\s+)?(?:finales|final|fin)\s+de(?:l|\s+este)?\s+mes\b", _h_month_end(0)),
    (
        r"\b(?:en|dentro\s+de|en\s+los\s+proximos|en\s+las\s+proximas|en\s+un\s+plazo\s+de|en"
        r"\s+el\s+plazo\s+de|en\s+un\s+maximo\s+de)\s+"
        + _num(
            r"un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|un\s+par\s+de"
            r"|unos\s+pocos|unas\s+pocas|unos|unas"
        )
        + r"\s+(?P<u>dias|dia|semanas|semana|meses|mes|horas|hora|minutos)"
        r"(?P<biz>\s+(?:habiles|laborables|laborales))?\b",
        _h_in,
    ),
    (r"\b(?:en|dentro\s+de)\s+media\s+hora\b", _h_half_hour),
    (r"\b[0-3]?\d\s+(?:de\s+)?" + _ES_MONTH + r"\b(?:\s+de(?:l)?\s+\d{4})?", _h_named_date),
    _ISO_DATE,
    _NUMERIC_DATE,
    (
        r"\b(?:el|antes\s+del|hasta\s+el|para\s+el)\s+(?:dia\s+)?(?P<d>[0-3]?\d)\b"
        r"(?!\s*(?:[:.%,]\d|%|h\b|horas|dias|de\s+\w+))",
        _h_day_of_month,
    ),
    _COLON_TIME,
    (
        r"\b(?:a|antes\s+de|hasta|para|sobre)\s+las\s+(?P<h>[01]?\d|2[0-3])(?![\d.,]\d|\d)"
        r"(?:[.:](?P<mi>[0-5]\d))?(?:\s*(?:h|hs|horas)\b)?",
        _h_time,
    ),
    (
        r"\b(?:al\s+)?mediodia\b|\bpor\s+la\s+manana\b|\besta\s+manana\b|\bantes\s+de\s+comer\b",
        _h_clock(12),
    ),
]  # fmt: skip


@cache
def _date_rules(lang: str) -> tuple[tuple[re.Pattern[str], _Handler], ...]:
    table = {"en": _EN_DATES, "ru": _RU_DATES, "ro": _RO_DATES, "es": _ES_DATES}[lang]
    return tuple((_rx(p), h) for p, h in table)


def _find_hits(folded: str, ctx: _Ctx) -> list[_Hit]:
    """All non-overlapping date/time phrases; earlier rules win over later ones."""
    taken: list[tuple[int, int]] = []
    hits: list[_Hit] = []
    for rx, handler in _date_rules(ctx.lang):
        for m in rx.finditer(folded):
            if m.end() == m.start():
                continue
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            hit = handler(m, ctx)
            if hit is None:
                continue
            taken.append((m.start(), m.end()))
            hits.append(hit)
    hits.sort(key=lambda h: h.start)
    return hits


# "before Friday" means by the end of Thursday; "by", "until", "до", "până" include the day.
_STRICT_BEFORE = {
    "en": re.compile(r"\b(?:before|prior\s+to)\s+(?:the\s+)?$"),
    "ru": _rx(r"\b(?:перед|ранее|раньше)\s+$"),
    "ro": re.compile(r"\b(?:inainte\s+de|inaintea)\s+(?:ziua\s+de\s+|data\s+de\s+)?$"),
    "es": re.compile(r"\bantes\s+(?:del?|de\s+el|de\s+la)\s+(?:dia\s+)?$"),
}


# --------------------------------------------------------------------------- commitments

_EN_SUBJ = (
    r"(?:\bi|\bwe|\bour\s+(?:\w+\s+){0,2}?(?:team|managers?|lawyers?|accountants?|accounting|"
    r"engineers?|colleagues?|department|office|company|specialists?|director|logistics|support|"
    r"staff|people|designers?|developers?|partners?|warehouse|factory))"
)
_EN_AWAY = (
    r"(?!\s+(?:not|never|be\s+(?:out|away|off|on\s+(?:vacation|holiday|leave|a\s+trip|the\s+road|"
    r"a\s+call|site)|in\s+the\s+office|at\s+the\s+office|unavailable|closed|travel\w*|offline|"
    r"absent|back)))"
)
_COMMIT: dict[str, list[str]] = {
    "en": [
        _EN_SUBJ
        + r"(?:\s+(?:will|shall)|\s*['’]ll|\s+(?:am|are)\s+going\s+to|\s*['’](?:m|re)\s+going\s+to"
        r"|\s+(?:promise|commit|undertake|guarantee|plan|intend|aim)\s+to)\b" + _EN_AWAY,
        r"\b(?:i|we)\b[^,;]{0,60}?\band\s+(?:will|shall)\b" + _EN_AWAY,
        r"\blet\s+(?:me|us)\s+(?!know\b)(?:get|send|come|revert|follow|check|confirm|prepare|"
        r"circle|update)\b",
        r"\b(?:i['’]m|i\s+am|we['’]re|we\s+are)\s+(?:\w+ly\s+)?(?:sending|preparing|shipping|"
        r"delivering|finali[sz]ing|finishing|drafting|putting\s+together|dispatching)\b",
        r"\byou(?:\s+will|['’]ll|\s+should|\s+can\s+expect\s+to)\s+(?:\w+ly\s+)?"
        r"(?:receive|get|have(?!\s+to\b))\b",
        r"\byou\s+can\s+expect\b|^expect\s+(?:it|them|the|our|my|an?)\b",
        r"^(?:will|shall)\s+(?!you\b|they\b|he\b|she\b|it\b|this\b|that\b|the\b|there\b)\w+",
        r"\b(?:i|we)\s+promise\b",
    ],
    "ru": [
        r"\b(?:(?:при|вы|от|пере|до|за|по)?шлю|(?:при|вы|от|пере|до|за|по)?шлём"
        r"|(?:от|на|пере)правлю|(?:от|на|пере)правим|подготовлю|подготовим|сделаю|сделаем"
        r"|переделаю|переделаем|доделаю|доделаем|предоставлю|предоставим|передам|передадим|сообщу"
        r"|сообщим|свяжусь|свяжемся|вернусь|вернёмся|отвечу|ответим|(?:пере|по)звоню"
        r"|(?:пере|по)звоним|согласую|согласуем|уточню|уточним|проверю|проверим|подтвержу"
        r"|подтвердим|доставлю|доставим|отгружу|отгрузим|поставлю|поставим|(?:рас|по|пере)считаю"
        r"|(?:рас|по|пере)считаем|скину|скинем|закончу|закончим|завершу|завершим|обновлю|обновим"
        r"|исправлю|исправим|выставлю|выставим|покажу|покажем|оформлю|оформим|доработаю"
        r"|доработаем|внесу|внесём|добавлю|добавим|(?:дам|дадим)\s+(?:знать|ответ|обратную)"
        r"|постараюсь|постараемся|обещаю|обещаем|обязуюсь|обязуемся|планирую|планируем|выполню"
        r"|выполним|приеду|приедем|привезу|привезём|подпишу|подпишем|оплатим|оплачу|организую"
        r"|организуем|загружу|загрузим|напишу|напишем|решу|решим|соберу|соберём|предложу"
        r"|предложим|представлю|представим|займусь|займёмся|вышлю|вышлем|перешлю|перешлём"
        r"|отвезу|отвезём|передам|подготовлю|пришлю|пришлём)\b",
        r"\b(?:будет|будут)\s+у\s+(?:вас|тебя)\b|\b(?:вы\s+)?получите\b|\bожидайте\b",
    ],
    "ro": [
        r"\b(?:voi|vom)\s+(?:mai\s+)?(?!fi\b|ati\b|aveti\b|\w*ti\b)\w{2,}",
        r"\b(?:o|am)\s+sa\s+(?:(?:va|iti|ti|te|vi|il|o|le|ii|i|ne|ma|mai)\s+)*"
        r"(?:{ro1})\b",
        r"\b(?:va|iti|ti|te|vi|vi-l|vi-o|vi-le|i-l|i-o|le|ii|il|o)\s+(?:mai\s+)?(?:{ro1})\b",
        r"\b(?:trimit|pregatesc|livrez|expediez|finalizez)\b(?!\s+(?:azi|astazi)\b)",
        r"\bconfirm\b(?!\s+(?:primirea|receptia|receptionarea|ca\s+am\s+primit)\b)",
        r"\b(?:revin|revenim|trimitem|pregatim|livram|expediem|confirmam|transmitem|finalizam"
        r"|ne\s+intoarcem|ma\s+intorc|ma\s+ocup|ne\s+ocupam|ma\s+angajez|ne\s+angajam|promit"
        r"|promitem|garantez|garantam)\b",
        r"\b(?:veti|vei)\s+(?:primi|avea(?!\s+de)|gasi)\b|\bo\s+sa\s+(?:primiti|aveti|primesti)\b",
    ],
    "es": [
        # "le envío", "te mando": present tense with a future meaning, clitic required because
        # "el envío", "el paso", "el mando" are nouns.
        r"\b(?:le|les|te|os|se)\s+(?:lo\s+|la\s+|los\s+|las\s+)?(?:envio|mando|paso|confirmo"
        r"|escribo|llamo|aviso|respondo|contesto|hago\s+llegar|remito|preparo|entrego|comento"
        r"|digo\s+algo|facilito|traslado|doy\s+respuesta)\b",
        # the same with "we" ("se la enviamos el martes"); as a past tense ("se la enviamos el
        # lunes pasado") it carries no future date and so makes no promise
        r"\b(?:le|les|te|os|se)\s+(?:lo\s+|la\s+|los\s+|las\s+)?(?:enviamos|mandamos|pasamos"
        r"|confirmamos|preparamos|entregamos|remitimos|hacemos\s+llegar|llamamos|escribimos"
        r"|avisamos)\b",
        r"(?<!el\s)(?<!un\s)(?<!su\s)(?<!mi\s)\b(?:confirmo|respondo|contesto|preparo|entrego"
        r"|remito|escribo)\b",
        r"\b(?:me|nos)\s+(?:pongo|ponemos|pondre|pondremos)\s+en\s+contacto\b",
        r"\b(?:(?:le|les|te|os)\s+)?vuelvo\s+a\s+(?:escribir|contactar|llamar)\w*",
        r"\b(?:(?:le|les|te|os|se\s+lo|se\s+la|se\s+los|se\s+las|lo|la|los|las)\s+)?(?:voy|vamos)"
        r"\s+a\s+(?!estar\b|ser\b)\w+(?:ar|er|ir)(?:le|les|lo|la|los|las|selo|sela|selos|selas)?\b",
        r"\b(?:me\s+comprometo|nos\s+comprometemos)\s+a\b|\bquedo\s+en\b"
        r"|\b(?:(?:le|les|te)\s+)?prometo\b",
        r"\b(?:usted\s+)?(?:tendra|recibira|tendran|recibiran|tendras|recibiras)\b(?!\s+que\b)",
        r"\b(?:le|les|te)\s+llegara(?:n)?\b",
        r"\b(?:(?:le|les|te|os)\s+)?(?:(?:se\s+)?(?:lo|la|los|las)\s+)?(?:enviare|mandare|preparare"
        r"|confirmare|llamare|escribire|respondere|contestare|pasare|avisare|entregare"
        r"|tendre|pondre|remitire|comunicare|informare|revisare|terminare|finalizare|volvere"
        r"|facilitare|enviaremos|mandaremos|prepararemos|confirmaremos|llamaremos|escribiremos"
        r"|responderemos|haremos|daremos|pasaremos|avisaremos|entregaremos|tendremos|pondremos"
        r"|remitiremos|comunicaremos|informaremos|revisaremos|terminaremos|finalizaremos"
        r"|volveremos|facilitaremos|podre|podremos)\b",
    ],
}
_RO_1ST = (
    "trimit|trimitem|transmit|transmitem|expediez|expediem|confirm|confirmam|raspund|raspundem|"
    "scriu|scriem|sun|sunam|anunt|anuntam|pregatesc|pregatim|livrez|livram|dau|dam|comunic|"
    "comunicam|prezint|prezentam|ofer|oferim|furnizez|furnizam|fac|facem|aduc|aducem|revin|"
    "revenim|contactez|contactam|finalizez|finalizam|verific|verificam|semnez|semnam|platesc|"
    "platim|rezolv|rezolvam|actualizez|actualizam|incarc|incarcam|calculez|calculam|organizez|"
    "organizam|ocup|ocupam|transfer|transferam"
)
# Spanish first-person future needs its accent to be told from nouns ("nombre", "sobre"); it is
# matched on the lower-cased text that keeps accents, the rest on the folded text.
_ES_FUTURE_ACCENT = re.compile(
    r"\b(?:(?:se\s+)?(?:le|les|te|os|lo|la|los|las|me|nos)\s+)?(?!(?:estar|ser)(?:é|emos)\b)"
    r"\w{2,}ré\b"
)
_ES_NOT_FUTURE = frozenset({"puré"})

# Negations anywhere in the sentence that take the commitment back.
_NEGATION: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"\b(?:can['’]?t|cannot|can\s+not|won['’]t|will\s+not|shall\s+not|unable|not\s+able|"
        r"not\s+sure|no\s+promises?|not\s+promise|couldn['’]t|could\s+not|don['’]t\s+think|"
        r"do\s+not\s+think|i\s+doubt|unlikely|impossible|not\s+possible|not\s+going\s+to|never)\b"
    ),
    "ru": _rx(
        r"\bне\s+(?:смогу|сможем|успею|успеем|получится|выйдет|обещаю|обещаем|могу|можем|"
        r"гарантирую|гарантируем|уверен\w*|буду|будем|удастся)\b|\b(?:вряд\s+ли|невозможно)\b"
    ),
    "ro": re.compile(
        r"\bnu\s+(?:(?:va|iti|ti|te|vi|le|il|o|mai)\s+)*(?:pot|putem|reusesc|reusim|cred|sunt|"
        r"suntem|promit|promitem|garantez|garantam|voi|vom|o\s+sa|am\s+sa|este|e|se\s+poate)\b"
        r"|\b(?:imposibil|putin\s+probabil)\b"
    ),
    "es": re.compile(
        r"\bno\s+(?:(?:le|les|te|os|se|lo|la|los|las|me|nos)\s+)*(?:puedo|podemos|podre|"
        r"podremos|prometo|prometemos|garantizo|garantizamos|creo|estoy|estamos|sera|es|llego|"
        r"llegamos|llegare|llegaremos|voy|vamos)\b|\b(?:imposible|dificilmente)\b"
    ),
}
# A negation right in front of the verb: "не пришлю", "nu vă trimit", "no le enviaré".
_NEG_BEFORE: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\b(?:not|never)\s+$"),
    "ru": _rx(r"\b(?:не|никогда\s+не)\s+$"),
    "ro": re.compile(r"\b(?:nu|niciodata\s+nu)\s+(?:(?:va|iti|ti|te|vi|le|il|o|mai)\s+)*$"),
    "es": re.compile(r"\b(?:no|nunca)\s+(?:(?:le|les|te|os|se|lo|la|los|las|me|nos)\s+)*$"),
}
# A promise that depends on the client acting first is not yet ours to keep.
_CONDITIONAL: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"^(?:if|unless|once|as\s+soon\s+as|in\s+case|when|provided)\b"),
    "ru": _rx(r"^(?:если|в\s+случае|как\s+только|когда|при\s+условии)\b"),
    "ro": re.compile(r"^(?:daca|in\s+cazul\s+in\s+care|in\s+caz\s+ca|de\s+indata\s+ce|imediat"
    r"\s+ce|cand)\b"),
    "es": re.compile(r"^(?:si\s|en\s+caso\s+de\s+que|cuando|en\s+cuanto|tan\s+pronto\s+como|una"
    r"\s+vez\s+que)"),
}  # fmt: skip

_REQUEST: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"\b(?:could|can|would|will)\s+(?:you|u)\b|\bplease\b|\bpls\b|\bkindly\b|"
        r"\b(?:we|i)\s+(?:really\s+|urgently\s+)?(?:need|require|would\s+like|want|expect)\b|"
        r"\b(?:we|i)['’]d\s+like\b|\bneed(?:ed)?\s+(?:it|them|this|that|the|your)\b|\bdeadline\b|"
        r"\bno\s+later\s+than\b|\bat\s+the\s+latest\b|\b(?:is|would)\s+it\s+(?:be\s+)?possible\b|"
        r"\bmust\b|\brequired\b|\bhas\s+to\b|\bhave\s+to\b"
    ),
    "ru": _rx(
        r"\b(?:нужн\w*|надо|необходим\w*|прошу|просим|просьба|пришлите|вышлите|отправьте|"
        r"направьте|подготовьте|сделайте|сможете|можете|могли\s+бы|хотелось\s+бы|хотим|"
        r"хотели\s+бы|требуется|срок\w*|дедлайн|не\s+позднее|пожалуйста|ждём|ожидаем|крайний)\b"
    ),
    "ro": re.compile(
        r"\b(?:va\s+rog|te\s+rog|rog|avem\s+nevoie|am\s+nevoie|ne\s+trebuie|imi\s+trebuie|puteti|"
        r"ati\s+putea|ai\s+putea|poti|trimiteti\w*|doresc|dorim|termen\w*|cel\s+tarziu|"
        r"necesar\w*|asteptam|este\s+posibil|e\s+posibil|urgent)\b"
    ),
    "es": re.compile(
        r"\b(?:por\s+favor|podria|podrian|podrias|puede|pueden|puedes|necesito|necesitamos|"
        r"necesitaria|necesitariamos|nos\s+hace\s+falta|me\s+hace\s+falta|envie\w*|mande\w*|"
        r"quisiera|quisieramos|nos\s+gustaria|me\s+gustaria|plazo|a\s+mas\s+tardar|urge|debe|"
        r"deben|es\s+posible|seria\s+posible|agradeceria\w*|esperamos)\b"
    ),
}


@cache
def _commit_rules(lang: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_rx(p.replace("{ro1}", _RO_1ST)) for p in _COMMIT[lang])


def _find_commitments(sentence: str, folded: str, lang: str) -> list[re.Match[str]]:
    """The non-negated first-person commitments of the sentence, in order, not overlapping."""
    candidates: list[re.Match[str]] = []
    for rx in _commit_rules(lang):
        candidates.extend(rx.finditer(folded))
    if lang == "es":
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in sentence)
        for m in _ES_FUTURE_ACCENT.finditer(lowered):
            word = m.group(0).split()[-1]
            if word not in _ES_NOT_FUTURE:
                candidates.append(m)
    candidates.sort(key=lambda m: (m.start(), -m.end()))
    found: list[re.Match[str]] = []
    for m in candidates:
        if found and m.start() < found[-1].end():
            continue
        if not _NEG_BEFORE[lang].search(folded[: m.start()]):
            found.append(m)
    return found


def _find_commitment(sentence: str, folded: str, lang: str) -> re.Match[str] | None:
    """First non-negated first-person commitment in the sentence, if any."""
    found = _find_commitments(sentence, folded, lang)
    return found[0] if found else None


# Where one clause of a sentence ends and the next begins (on the folded text).
_CLAUSE_SPLIT_RE = re.compile(r"[,;:](?=\s)|\s(?:and|but|и|а|но|iar|si|dar|y|pero)\s")


def _clauses(folded: str, commitments: list[re.Match[str]]) -> list[tuple[int, int, int]]:
    """``(start, end, anchor)`` per clause holding its own commitment.

    "We will courier the samples tomorrow, and I'll send the price by the end of next week" and
    "Отгрузим в пятницу, счёт вышлю в течение часа" are two promises each: a later commitment
    starts a clause of its own when a clause break separates it from the previous one, and each
    clause keeps the dates written in it. Commitments with no break between them ("I'll check
    and get back to you tomorrow") stay one clause, anchored at the first.
    """
    clauses: list[tuple[int, int, int]] = []
    start, anchor = 0, commitments[0].start()
    previous_end = commitments[0].end()
    for m in commitments[1:]:
        breaks = list(_CLAUSE_SPLIT_RE.finditer(folded, previous_end, m.start()))
        if breaks:
            cut = breaks[-1].start()
            clauses.append((start, cut, anchor))
            start, anchor = cut, m.start()
        previous_end = m.end()
    clauses.append((start, len(folded), anchor))
    return clauses


# --------------------------------------------------------------------------- resolution


def _normalize_language(language: str | None) -> tuple[str, ...]:
    if language:
        code = language.strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return (code,)
    return LANGUAGES


def _guess_order(text: str, langs: tuple[str, ...]) -> tuple[str, ...]:
    """Cheap script check so Cyrillic text does not run through the Latin rules first."""
    if len(langs) == 1:
        return langs
    if re.search(r"[а-яё]", text, re.IGNORECASE):
        return ("ru", *tuple(x for x in langs if x != "ru"))
    return (*tuple(x for x in langs if x != "ru"), "ru")


_OPENING_RE = re.compile(r"^[\W_]*(?:\w+[\W_]+)?$")
_CLAUSE_BREAK_RE = re.compile(r"[,;:—–()]")
_STRONG_BREAK_RE = re.compile(r"[;:](?=\s)")
_TAG_QUESTION_RE = _rx(
    r"[,;]?\s*¿?\s*(?:ok|okay|alright|all\s+right|right|is\s+that\s+ok(?:ay)?|does\s+that\s+"
    r"work(?:\s+for\s+you)?|sounds?\s+good|ок|окей|хорошо|годится|устроит|договорились|bine|"
    r"e\s+bine|este\s+in\s+regula|vale|de\s+acuerdo|(?:le|te)\s+parece(?:\s+bien)?)\s*\?+$"
)


def _is_question(folded: str) -> bool:
    """A real question; a closing tag such as "..., OK?" leaves a statement a statement."""
    text = _TAG_QUESTION_RE.sub("", folded.rstrip())
    return text.rstrip().endswith("?") or "¿" in text


def _resolve(
    hits: list[_Hit], anchor: int, folded: str, ctx: _Ctx, sent_local: datetime
) -> tuple[datetime, bool] | None:
    """Due time from the phrases of one sentence: the date nearest after the verb wins."""
    cal = ctx.calendar
    dated = [h for h in hits if h.kind in ("date", "instant") or (h.kind == "eod" and h.day)]
    # "vă scriu dumneavoastră: mostrele au plecat astăzi" - a date past a colon or semicolon
    # belongs to another statement, not to the verb.
    after = [
        h
        for h in dated
        if h.start >= anchor and not _STRONG_BREAK_RE.search(folded, anchor, h.start)
    ]
    # A date before the verb belongs to the promise only when it opens the sentence ("Tomorrow
    # I'll send", "Завтра вышлю") or sits in the same clause; "As discussed on Monday, I will
    # send the offer" has no due date.
    before = [
        h
        for h in dated
        if h.start < anchor
        and (
            _OPENING_RE.match(folded[: h.start])
            or not _CLAUSE_BREAK_RE.search(folded[h.end : anchor])
        )
    ]
    chosen = after[0] if after else (before[-1] if before else None)
    times = [h for h in hits if h.kind == "time"]
    eod = any(h.kind == "eod" for h in hits)
    if chosen is None and not times and not eod:
        return None
    if chosen is not None and chosen.kind == "instant" and chosen.instant is not None:
        return chosen.instant.replace(tzinfo=cal.tz), True

    clock: time | None = None
    if times:
        ref = chosen.start if chosen is not None else anchor
        clock = min(times, key=lambda h: abs(h.start - ref)).clock

    if chosen is not None and chosen.day is not None:
        day = chosen.day
        strict = clock is None and bool(_STRICT_BEFORE[ctx.lang].search(folded[: chosen.start]))
        if strict:
            day = cal.previous_business_day(day)
    elif clock is not None:
        day = ctx.today
        if clock <= sent_local.time().replace(tzinfo=None):
            day = cal.next_business_day(ctx.today)
    else:
        day = ctx.today

    if clock is not None:
        due = datetime.combine(day, clock, tzinfo=cal.tz)
        return due, True
    due = cal.end_of_business_day(day)
    if due <= sent_local:
        # "today" written after closing time still means today, not a promise born missed.
        due = datetime.combine(day, time(23, 59), tzinfo=cal.tz)
        if due <= sent_local:
            due = cal.end_of_business_day(cal.next_business_day(day))
    return due, False


def _context(at: datetime, calendar: BusinessCalendar, lang: str) -> tuple[_Ctx, datetime]:
    local = calendar.local(at)
    naive = local.replace(tzinfo=None)
    return _Ctx(today=local.date(), now=naive, calendar=calendar, lang=lang), local


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def detect_promises(
    new_text: str,
    sent_at: datetime,
    calendar: BusinessCalendar,
    language: str | None = None,
) -> list[DetectedPromise]:
    """Commitments by us, with a date, in the new text of one outgoing message."""
    _check_aware(sent_at, "sent_at")
    langs = _normalize_language(language)
    found: list[DetectedPromise] = []
    for sentence in _sentences(new_text):
        folded = _fold(sentence)
        if _is_question(folded):
            continue
        for lang in _guess_order(sentence, langs):
            commitments = _find_commitments(sentence, folded, lang)
            if not commitments:
                continue
            if _NEGATION[lang].search(folded) or _CONDITIONAL[lang].search(folded.lstrip("-–•* ")):
                break
            ctx, local = _context(sent_at, calendar, lang)
            hits = _find_hits(folded, ctx)
            here: list[DetectedPromise] = []
            for start, end, anchor in _clauses(folded, commitments):
                own_hits = [h for h in hits if start <= h.start and h.end <= end]
                resolved = _resolve(own_hits, anchor, folded, ctx, local)
                if resolved is not None:
                    due, time_given = resolved
                    here.append(
                        DetectedPromise(text=sentence.strip(), due_at=due, time_given=time_given)
                    )
            if not here:
                continue
            found.extend(here)
            break
    return found


def detect_requested_deadline(
    new_text: str,
    received_at: datetime,
    calendar: BusinessCalendar,
    language: str | None = None,
) -> datetime | None:
    """The earliest deadline a client asks of us ("could you send it before March 20?")."""
    _check_aware(received_at, "received_at")
    langs = _normalize_language(language)
    if not _may_ask(new_text):
        return None  # no question and no request word anywhere: no sentence can ask a date
    best: datetime | None = None
    for sentence in _sentences(new_text):
        folded = _fold(sentence)
        question = "?" in folded or "¿" in folded
        for lang in _guess_order(sentence, langs):
            asked = _REQUEST[lang].search(folded)
            if not asked and not question:
                continue
            if not question and _find_commitment(sentence, folded, lang) is not None:
                continue  # the client promising something is not a request of us
            ctx, local = _context(received_at, calendar, lang)
            hits = _find_hits(folded, ctx)
            resolved = _resolve(hits, 0, folded, ctx, local)
            if resolved is None:
                continue
            due = resolved[0]
            if best is None or due < best:
                best = due
            break
    return best


_SPACES_RE = re.compile(r"\s+")


def _may_ask(text: str) -> bool:
    """Pre-screen for :func:`detect_requested_deadline`: can any sentence ask something of us?

    Every sentence is a substring of the unquoted lines joined with single spaces, and the
    request patterns have no anchors or look-arounds (only ``\\b``, true at a sentence's ends
    as at the spaces around it), so a sentence that is a question or holds a request word
    makes this true. It is one pass over the text instead of sentence splitting and a search
    per sentence and language.
    """
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    joined = " ".join(ln for ln in lines if ln and not ln.startswith(">"))
    folded = _fold(_SPACES_RE.sub(" ", joined))
    if "?" in folded or "¿" in folded:
        return True
    return any(rx.search(folded) for rx in _REQUEST.values())


def promise_status(
    due_at: datetime,
    now: datetime,
    our_messages_after: Sequence[datetime],
    marked_done: bool = False,
    renegotiated: bool = False,
) -> str:
    """``open`` | ``kept`` | ``missed`` | ``renegotiated`` as of ``now``.

    ``our_messages_after`` are our messages in the thread after the promise was made. Writing
    again by the due time counts as keeping it; the renegotiation notice itself is such a
    message, so the renegotiated flag wins over it. Messages later than ``now`` have not
    happened yet when evaluating "as of" a past instant.
    """
    _check_aware(due_at, "due_at")
    _check_aware(now, "now")
    if marked_done:
        return "kept"
    if renegotiated:
        return "renegotiated"
    for sent in our_messages_after:
        _check_aware(sent, "message time")
        if sent <= due_at and sent <= now:
            return "kept"
    if now > due_at:
        return "missed"
    return "open"
