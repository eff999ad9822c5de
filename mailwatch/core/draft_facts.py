"""Does a draft say only true things about dates? Checked before a draft is queued.

Pure: works on the :class:`DraftInputs` (what the store holds about the thread: the client's
message date, their deadline, our promise and its due time, the moment of drafting) and the
rendered text. A problem here means the draft must not be queued as it is:

* our "answer by" is in the future and not after the client's own deadline;
* a renegotiation's new date is in the future; one written after the promised time apologises
  and never claims to be early ("in advance", «заранее», «din timp», «con antelación»);
* every calendar date the text names is one of the thread's dates (a day not in the thread is
  a false date);
* dates are phrased to mean what we mean: Spanish «antes del 14» is the 13th, Russian
  «до 14 марта» may or may not include the 14th, Romanian «până la 14 martie» is vague: our
  deadlines are «a más tardar el», «не позднее», «cel târziu pe».
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mailwatch.core.drafting import DraftInputs, When
from mailwatch.core.text import fold

__all__ = ["check_draft_facts", "dates_named", "late_without_apology"]


_MONTHS: dict[str, list[str]] = {
    "en": [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "ro": [
        "ianuarie",
        "februarie",
        "martie",
        "aprilie",
        "mai",
        "iunie",
        "iulie",
        "august",
        "septembrie",
        "octombrie",
        "noiembrie",
        "decembrie",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}
_MONTH_NUMBER = {fold(m): i + 1 for names in _MONTHS.values() for i, m in enumerate(names)}
_MONTH_NUMBER[fold("setiembre")] = 9
_MONTH_ALT = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
# "14 March", "14 марта", "14 martie", "14 de marzo", "14 de marzo de 2027", "March 14, 2027"
_DAY_MONTH_RE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}})\s+(?:de\s+)?(?P<month>{_MONTH_ALT})\b(?:\s+(?:de\s+)?(?P<year>\d{{4}}))?"
)
_EN_MONTHS = "|".join(_MONTHS["en"])
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<month>{_EN_MONTHS})\s+(?P<day>\d{{1,2}})(?:,\s*(?P<year>\d{{4}}))?\b"
)
_NUMERIC_RE = re.compile(
    r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})(?![\d.])"
)

# Phrasings whose meaning is not what we mean by "by": (language, pattern on folded text, advice)
_AMBIGUOUS: tuple[tuple[str, str, str], ...] = (
    ("es", r"\bantes\s+del?\s+(?:\d|lunes|martes|miercoles|jueves|viernes)", "«a más tardar el»"),
    ("ru", rf"(?<!позднее )(?<!позже )\bдо\s+\d{{1,2}}\s+(?:{_MONTH_ALT})", "«не позднее»"),
    ("ro", r"\bpana\s+la\s+(?:\d|data\s+de)", "«cel târziu pe»"),
    ("en", rf"\bbefore\s+(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH_ALT})", '"by"'),
)
_AMBIGUOUS_RE = [(lang, re.compile(p), advice) for lang, p, advice in _AMBIGUOUS]

# A renegotiation sent after the promised time must not say it is early ...
_EARLY_CLAIMS = re.compile(
    fold(
        r"\bin advance\b|\bbefore the deadline\b|\bin good time\b|\bwhile there is still time\b"
        r"|\bзаранее\b|\bдо наступления срока\b|\bзаблаговременно\b"
        r"|\bdin timp\b|\binainte de termen\b|\bde pe acum\b"
        r"|\bcon antelacion\b|\bantes de que venza\b|\bcon tiempo\b"
    )
)
# ... and must apologise for the delay.
_APOLOGY = re.compile(
    fold(
        r"\bapologi[sz]e|\bsorry\b|\bизвин|\bпрош\w* прощения|\bimi cer scuze\b|\bscuze\b"
        r"|\bdisculpa|\bperdon\b|\blamento\b"
    )
)
# "we agreed" where only our own promise is on record
_AGREED_CLAIMS = re.compile(
    fold(
        r"\bwe agreed\b|\bas agreed\b|\bмы договорились\b|\bдоговорились\b|\bam stabilit impreuna\b"
        r"|\bam convenit\b|\bacordamos\b|\bhabiamos fijado\b|\bplazo acordado\b|\btermenul convenit\b"
    )
)


def _local_day(value: When, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=zone)
        return aware.astimezone(zone).date()
    return value


def dates_named(text: str) -> list[tuple[int, int, int | None, str]]:
    """(day, month, year or None, the words) for every calendar date written in ``text``."""
    folded = fold(text)
    found: list[tuple[int, int, int | None, str]] = []
    for regex in (_DAY_MONTH_RE, _MONTH_DAY_RE):
        for m in regex.finditer(folded):
            year = int(m.group("year")) if m.group("year") else None
            found.append((int(m.group("day")), _MONTH_NUMBER[m.group("month")], year, m.group(0)))
    for m in _NUMERIC_RE.finditer(folded):
        found.append((int(m.group("day")), int(m.group("month")), int(m.group("year")), m.group(0)))
    return found


def late_without_apology(inputs: DraftInputs, body_text: str) -> bool:
    """A renegotiation after the promised time that does not apologise."""
    return inputs.kind == "renegotiation" and inputs.late and not _APOLOGY.search(fold(body_text))


def check_draft_facts(inputs: DraftInputs, body_text: str, language: str) -> list[str]:
    """Every false or misleading statement about dates in the draft, one line each ([] = fine)."""
    problems: list[str] = []
    zone = ZoneInfo(inputs.timezone)
    now = inputs.now

    def instant(value: When) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=zone)
        return datetime(value.year, value.month, value.day, 23, 59, tzinfo=zone)

    if inputs.kind == "acknowledgment" and inputs.reply_by is not None:
        if now is not None and instant(inputs.reply_by) <= now:
            problems.append("the promised answer time is already past")
        deadline = inputs.client_deadline
        ahead = deadline is not None and (now is None or instant(deadline) > now)
        if ahead and deadline is not None and instant(inputs.reply_by) > instant(deadline):
            problems.append("our answer would come after the client's own deadline")
    new_date = inputs.new_date if inputs.kind == "renegotiation" else None
    if new_date is not None and now is not None and instant(new_date) <= now:
        problems.append("the new date is already past")
    if (
        inputs.original_date is not None
        and now is not None
        and (
            instant(inputs.original_date) > now
            and _local_day(inputs.original_date, zone) > now.astimezone(zone).date()
        )
    ):
        problems.append("the client's message is dated in the future")

    folded = fold(body_text)
    if inputs.kind == "renegotiation" and inputs.late:
        claim = _EARLY_CLAIMS.search(folded)
        if claim:
            problems.append(f'written after the promised time, yet says "{claim.group(0)}"')
        if not _APOLOGY.search(folded):
            problems.append("written after the promised time without an apology")
    claim = _AGREED_CLAIMS.search(folded)
    if claim and inputs.kind in ("renegotiation", "acknowledgment"):
        problems.append(f'"{claim.group(0)}": the store holds our promise, not an agreement')

    known = [
        v
        for v in (
            inputs.original_date,
            inputs.reply_by,
            inputs.client_deadline,
            inputs.old_date,
            inputs.new_date,
            inputs.promised_on,
            now,
        )
        if v is not None
    ]
    days = {_local_day(v, zone) for v in known}
    for day, month, year, words in dates_named(body_text):
        if not any(
            d.day == day and d.month == month and (year is None or d.year == year) for d in days
        ):
            problems.append(f'"{words}" is not a date of this conversation')
    for lang, regex, advice in _AMBIGUOUS_RE:
        if lang != language:
            continue
        match = regex.search(folded)
        if match:
            problems.append(f'"{match.group(0)}" is ambiguous for a deadline; write {advice}')
    return problems
