"""The backlog as read by the digest and the web page: old threads left to a person.

Which threads were already waiting longer than ``ACK_BACKLOG_LIMIT`` business days when mailwatch
first started (``mailwatch.service.backlog`` records that moment); they get no automatic
acknowledgment, and the digest and the web queue show them together.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from mailwatch.config import Settings
from mailwatch.core.scheduling import in_backlog
from mailwatch.i18n import _, datetime_text, ngettext
from mailwatch.store.raw import Reader, ids_in_chunks, reader_of
from mailwatch.views.context import View
from mailwatch.views.threads import ThreadView, list_threads

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

STARTED_KEY = "first_started_at"


def read_started_at(session: Session | Reader) -> datetime | None:
    db = reader_of(session)
    value = db.scalar("SELECT value FROM service_state WHERE key = ?", (STARTED_KEY,))
    return datetime.fromisoformat(value) if value else None


def backlog_rows(session: Session | Reader, settings: Settings, now: datetime) -> list[ThreadView]:
    """Threads awaiting us that are in the backlog and have no acknowledgment draft yet."""
    db = reader_of(session)
    started = read_started_at(db)
    if started is None or settings.ack_backlog_limit <= 0:
        return []
    waiting: list[tuple[ThreadView, datetime]] = []
    for row in list_threads(db, now, "awaiting_us", View.of(settings), with_message_ids=False):
        since = row.waiting_since
        if since is not None and in_backlog(
            since, started, settings.calendar, settings.ack_backlog_limit
        ):
            waiting.append((row, since))
    # the acknowledgments of those threads, one read (not one count per thread)
    acks: dict[int, list[datetime]] = defaultdict(list)
    convert = db.times()
    ids = sorted({row.id for row, _since in waiting})
    for where in ids_in_chunks("drafts.thread_id", ids):
        for tid, created in db.rows(
            "SELECT drafts.thread_id, drafts.created_at FROM drafts"
            f" WHERE drafts.kind = 'acknowledgment' AND {where.sql}",
            where.params,
        ):
            if created is not None:
                acks[tid].append(convert(created))
    return [
        row
        for row, since in waiting
        if not any(created >= since for created in acks.get(row.id, ()))
    ]


def backlog_line(count: int, settings: Settings, started: datetime | None) -> str:
    if not count or started is None:
        return ""
    days = settings.ack_backlog_limit
    span = (
        _("a business day")
        if days == 1
        else ngettext("%(num)d business day", "%(num)d business days", days)
    )
    return ngettext(
        "%(num)d thread waiting longer than %(span)s when mailwatch started (%(when)s): no "
        "automatic acknowledgment; draft them in bulk from the web page (Approval queue) or "
        "answer them yourself",
        "%(num)d threads waiting longer than %(span)s when mailwatch started (%(when)s): no "
        "automatic acknowledgment; draft them in bulk from the web page (Approval queue) or "
        "answer them yourself",
        count,
        span=span,
        when=datetime_text(started, settings.calendar.tz),
    )
