"""The backlog as read by the digest and the web page: old threads left to a person.

Which threads were already waiting longer than ``ACK_BACKLOG_LIMIT`` business days when mailwatch
first started (``mailwatch.service.backlog`` records that moment); they get no automatic
acknowledgment, and the digest and the web queue show them together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailwatch.config import Settings
from mailwatch.core.scheduling import in_backlog
from mailwatch.i18n import _, datetime_text, ngettext
from mailwatch.store.models import Draft, ServiceState
from mailwatch.views.context import View
from mailwatch.views.threads import ThreadView, list_threads

STARTED_KEY = "first_started_at"


def read_started_at(session: Session) -> datetime | None:
    state = session.get(ServiceState, STARTED_KEY)
    return datetime.fromisoformat(state.value) if state is not None and state.value else None


def backlog_rows(session: Session, settings: Settings, now: datetime) -> list[ThreadView]:
    """Threads awaiting us that are in the backlog and have no acknowledgment draft yet."""
    started = read_started_at(session)
    if started is None or settings.ack_backlog_limit <= 0:
        return []
    result = []
    for row in list_threads(session, now, "awaiting_us", View.of(settings), with_message_ids=False):
        since = row.waiting_since
        if since is None or not in_backlog(
            since, started, settings.calendar, settings.ack_backlog_limit
        ):
            continue
        acknowledged = session.scalar(
            select(func.count(Draft.id)).where(
                Draft.thread_id == row.id,
                Draft.kind == "acknowledgment",
                Draft.created_at >= since,
            )
        )
        if not acknowledged:
            result.append(row)
    return result


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
