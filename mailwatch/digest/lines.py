"""The digest's lines for people that both the terminal (``mailwatch digest --print``) and the
templates (:mod:`.render`) write: week figures, the overdue summary, names, kinds, times.

Apart from :mod:`.render` because that module loads Jinja2 (and the email and chart code),
which the terminal's tables do not need (``digest --print`` at 1M messages, session 7).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from mailwatch.digest.data import FULL_LIST_PATH, Digest, WeekFigures
from mailwatch.i18n import DRAFT_KIND_LABELS, _, datetime_text, ngettext, use_language
from mailwatch.i18n import duration as business_duration

__all__ = [
    "band_counts",
    "drafts_more_line",
    "full_list_url",
    "kind_label",
    "local_time",
    "median_text",
    "overdue_summary_lines",
    "speaks",
    "thread_refs",
    "week_line",
    "who_text",
]

F = TypeVar("F", bound=Callable[..., Any])


def speaks(func: F) -> F:
    """Run ``func(digest, ...)`` in the digest's language (``Digest.language``)."""

    @functools.wraps(func)
    def wrapper(digest: Digest, *args: Any, **kwargs: Any) -> Any:
        with use_language(digest.language):
            return func(digest, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- helpers of the templates and the terminal --------------------------------------------------


def local_time(value: str | None, digest: Digest) -> str:
    """A time for people: the digest's zone, to the minute (the zone is named at the top), as
    the digest's language writes dates (English: ``2026-11-23 14:05``)."""
    return datetime_text(value, ZoneInfo(digest.timezone))


def who_text(name: str | None, email: str | None) -> str:
    if name and email:
        return f"{name} <{email}>"
    return name or email or _("(unknown)")


def median_text(week: WeekFigures) -> str:
    value = week.median_first_response_business_minutes
    return business_duration(value) if value is not None else _("no replies")


def week_line(week: WeekFigures) -> str:
    extra = (
        ngettext(", %(num)d still unanswered", ", %(num)d still unanswered", week.unanswered)
        if week.unanswered
        else ""
    )
    if not week.threads:
        return _("%(week)s: no first responses", week=week.label) + extra
    return (
        ngettext(
            "%(week)s: median first response %(median)s over %(num)d thread",
            "%(week)s: median first response %(median)s over %(num)d threads",
            week.threads,
            week=week.label,
            median=median_text(week),
        )
        + extra
    )


def full_list_url(queue_url: str | None) -> str | None:
    """The web page listing every overdue thread, next to the approval queue's address."""
    if not queue_url:
        return None
    return queue_url.rsplit("/drafts", 1)[0] + FULL_LIST_PATH


def band_counts(digest: Digest) -> str:
    """``under 1 day: 3, over 3 months: 22``: the overdue threads by age (empty bands left out)."""
    return ", ".join(f"{b.label}: {b.count}" for b in digest.overdue_bands if b.count)


def thread_refs(thread_ids: Sequence[int]) -> str:
    return ", ".join(f"#{tid}" for tid in thread_ids)


@speaks
def overdue_summary_lines(digest: Digest, queue_url: str | None) -> list[str]:
    """When more threads are overdue than listed: all of them by age, and where to see them
    (the terminal's lines; the text template writes the same)."""
    if not digest.overdue_more:
        return []
    lines = [
        "  "
        + _(
            "... and %(more)d more. All %(total)d by age: %(bands)s",
            more=digest.overdue_more,
            total=digest.overdue_count,
            bands=band_counts(digest),
        )
    ]
    lines.append("  " + _("full list: `%(command)s`", command=digest.full_list_command))
    url = full_list_url(queue_url)
    if url:
        lines.append("  " + _("or %(url)s", url=url))
    return lines


@speaks
def drafts_more_line(digest: Digest, queue_url: str | None) -> str | None:
    """When more drafts wait than are listed: how many, and where they all are (the terminal's
    line; the text template writes the same)."""
    if not digest.drafts_more:
        return None
    where = queue_url or "`mailwatch drafts list`"
    return "  " + _(
        "... and %(more)d more waiting for approval: %(where)s",
        more=digest.drafts_more,
        where=where,
    )


def kind_label(kind: str) -> str:
    """A draft kind for people (the identifier stays English in JSON)."""
    return _(DRAFT_KIND_LABELS[kind]) if kind in DRAFT_KIND_LABELS else kind
