"""The interface language: gettext catalogs (Babel) and dates, times and durations in it.

Why a context variable: the digest, the web page and the CLI each decide the language once
(``UI_LANGUAGE``, the browser, a cookie) and everything below them (``_``, ``ngettext``,
:func:`duration`) follows it without a language argument threaded through every call.

Catalogs live in ``mailwatch/locale/<lang>/LC_MESSAGES/messages.po`` (in git). ``make i18n``
extracts, updates and compiles them (``.mo``); when a ``.mo`` is missing or older than its
``.po`` (a fresh clone, ``pip install -e .``), the ``.po`` is compiled in memory at first use,
so nothing has to be built before the program runs.

English is the source language: its catalog is empty and every msgid is shown as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo
from functools import cache
from gettext import GNUTranslations, NullTranslations  # babel's own load babel.dates
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from babel import Locale

from mailwatch.core import timefmt
from mailwatch.core.business_time import business_duration
from mailwatch.core.text import LANGUAGES

__all__ = [
    "DRAFT_KIND_LABELS",
    "LANGUAGE_NAMES",
    "N_",
    "STATUS_LABELS",
    "UI_LANGUAGES",
    "N_plural",
    "_",
    "best_language",
    "current",
    "date_text",
    "datetime_text",
    "duration",
    "gettext",
    "label",
    "ngettext",
    "pgettext",
    "set_language",
    "time_text",
    "translations",
    "use_language",
    "wall_duration",
]


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural pair for extraction (``-k N_plural:1,2``); shown with ``ngettext``."""
    return singular, plural


UI_LANGUAGES = LANGUAGES  # the interface speaks every language mailwatch reads
DEFAULT = "en"
# Each language's own name for itself: the language switch shows these.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ro": "Română", "es": "Español"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"

# Draft kinds and thread states for people; the identifiers stay English in JSON and URLs.
DRAFT_KIND_LABELS = {
    "acknowledgment": N_("acknowledgment"),
    "decline": N_("decline"),
    "renegotiation": N_("renegotiation"),
    "follow_up": N_("follow-up"),
    "closing": N_("closing"),
    "clarify": N_("clarifying question"),
}

# States and statuses of drafts, conversations and promises, for people (``label()``).
STATUS_LABELS = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "rejected": N_("rejected"),
    "failed": N_("failed"),
    "uncertain": N_("uncertain"),
    "awaiting_us": N_("awaiting our reply"),
    "awaiting_them": N_("awaiting the client"),
    "closed": N_("closed"),
    "snoozed": N_("snoozed"),
    "ignored": N_("ignored"),
    "open": N_("open"),
    "kept": N_("kept"),
    "missed": N_("missed"),
    "renegotiated": N_("renegotiated"),
}


# The languages drafts are written in, named in the interface language ("английский").
LANGUAGE_LABELS = {
    "en": N_("English"),
    "ru": N_("Russian"),
    "ro": N_("Romanian"),
    "es": N_("Spanish"),
}


def label(identifier: str | None) -> str:
    """A status, state, draft kind or language code as words in the interface language."""
    if not identifier:
        return ""
    text = (
        STATUS_LABELS.get(identifier)
        or DRAFT_KIND_LABELS.get(identifier)
        or LANGUAGE_LABELS.get(identifier)
    )
    return gettext(text) if text else identifier.replace("_", " ")


_current: ContextVar[str] = ContextVar("mailwatch_ui_language", default=DEFAULT)


def _load(language: str) -> NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return GNUTranslations(handle)
    if not po.is_file():
        return NullTranslations()
    # lazy: a catalog without its compiled .mo (a checkout) only; ~3 ms of every start-up
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy entry is a guess: show English
    buffer.seek(0)
    return GNUTranslations(buffer)


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language`` (English, or an unknown code: no translation)."""
    if language not in UI_LANGUAGES or language == DEFAULT:
        return NullTranslations()
    return _load(language)


def current() -> str:
    return _current.get()


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Everything inside speaks ``language`` (``None`` or unknown: English)."""
    language = language if language in UI_LANGUAGES else DEFAULT
    chosen = language or DEFAULT
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def set_language(language: str | None) -> str:
    """For a command-line run: the language of everything after this (one process, one run).
    Code that serves many people (the web page) uses :func:`use_language` instead."""
    language = language if language in UI_LANGUAGES else DEFAULT
    chosen = language or DEFAULT
    _current.set(chosen)
    return chosen


def gettext(message: str, **variables: Any) -> str:
    text = translations(current()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The form for ``n`` (Russian and Romanian have three); ``%(num)d`` is ``n``."""
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def pgettext(context: str, message: str, **variables: Any) -> str:
    text = str(translations(current()).pgettext(context, message))
    return text % variables if variables else text


_ = gettext


def best_language(accept_language: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header that we speak (by q order)."""
    if not accept_language:
        return None
    wanted: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary and quality > 0:
            wanted.append((-quality, index, primary))
    for _q, _i, primary in sorted(wanted):
        if primary in UI_LANGUAGES:
            return primary
        if primary == "mo":  # Moldovan: Romanian
            return "ro"
    return None


# -- dates, times and durations in the interface language ----------------------------------------


def _locale() -> Locale:
    from babel import Locale  # lazy: only a non-English date needs Babel (~4 ms of a start)

    return Locale.parse(current())


def _clean(text: str) -> str:
    # Babel's narrow no-break space (CLDR 42+) is missing from some mail fonts.
    return text.replace("\u202f", "\u00a0")


def datetime_text(value: datetime | str | None, tz: tzinfo | None = None) -> str:
    """``23 нояб. 2026 г., 14:05`` in ``tz``; English keeps the ISO ``2026-11-23 14:05`` that
    the CLI, the logs and the tests use (unambiguous for every English reader)."""
    if value is None or value == "":
        return timefmt.MISSING
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if current() == DEFAULT and tz is not None:
        return timefmt.local(value, tz)  # the one clock: the mailbox's zone, to the minute
    if tz is not None:
        value = value.astimezone(tz)
    if current() == DEFAULT:
        return value.strftime("%Y-%m-%d %H:%M")
    from babel.dates import format_date, format_time  # lazy: ~9 ms of every command's start

    return _clean(
        f"{format_date(value, 'medium', locale=_locale())}, "
        f"{format_time(value, 'short', tzinfo=value.tzinfo, locale=_locale())}"
    )


def date_text(value: datetime, tz: tzinfo | None = None) -> str:
    from babel.dates import format_date  # lazy: ~9 ms of every command's start

    if tz is not None:
        value = value.astimezone(tz)
    return _clean(format_date(value, "medium", locale=_locale()))


def time_text(value: datetime, tz: tzinfo | None = None) -> str:
    from babel.dates import format_time  # lazy: ~9 ms of every command's start

    if tz is not None:
        value = value.astimezone(tz)
    return _clean(format_time(value, "short", tzinfo=value.tzinfo, locale=_locale()))


# Narrow unit symbols: CLDR's, written out so that every Babel version agrees.
_UNITS: Mapping[str, tuple[str, str, str]] = {
    # language: (day, hour, minute)
    "en": ("d", "h", "m"),
    "ru": ("д", "ч", "мин"),
    "ro": ("z", "h", "min"),
    "es": ("d", "h", "min"),
}


def duration(minutes: int | None) -> str:
    """Business minutes as "2h 05m" / "2 ч 05 мин" / "2 h 05 min" (no days: a work day is
    not 24 hours). English keeps the CLI's compact spelling."""
    language = current()
    if language == DEFAULT:
        return business_duration(int(minutes or 0))
    _day, hour, minute = _UNITS[language]
    hours, rest = divmod(max(0, int(minutes or 0)), 60)
    if hours:
        return f"{hours}\u00a0{hour} {rest:02d}\u00a0{minute}"
    return f"{rest}\u00a0{minute}"


def wall_duration(minutes: int) -> str:
    """Clock minutes as "2d 3h" / "2 д 3 ч", "5h 10m" or "12m"."""
    language = current()
    day, hour, minute = _UNITS[language]
    sep = "" if language == DEFAULT else "\u00a0"
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}{sep}{day} {hours}{sep}{hour}"
    return f"{hours}{sep}{hour} {mins:02d}{sep}{minute}" if hours else f"{mins}{sep}{minute}"
