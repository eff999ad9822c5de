"""When the service should act on its own: early acknowledgments, early renegotiation, follow-ups.

Pure: every function takes the instant and the business calendar as arguments.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from mailwatch.core.business_time import BusinessCalendar


def acknowledgment_due(
    waiting_since: datetime, calendar: BusinessCalendar, ack_after: timedelta
) -> datetime:
    """When a waiting client gets an acknowledgment draft: ``ack_after`` of business time in."""
    return calendar.add_business_minutes(waiting_since, int(ack_after.total_seconds() // 60))


def renegotiation_lead_minutes(
    made_at: datetime, due_at: datetime, calendar: BusinessCalendar, lead_days: int
) -> int:
    """Business minutes before the due time at which to warn the client.

    One business day by default (``RENEGOTIATE_LEAD``), but never more than a quarter of the
    promise's own span: a promise made this morning for tonight is warned about at 3/4 of the way.
    """
    span = calendar.business_minutes_between(made_at, due_at)
    open_minutes = _minutes_per_day(calendar)
    lead = lead_days * open_minutes
    return max(0, min(lead, span // 4)) if span > 0 else 0


def renegotiation_due(
    made_at: datetime, due_at: datetime, calendar: BusinessCalendar, lead_days: int
) -> datetime:
    """The instant at which a renegotiation draft should exist for an open promise."""
    lead = renegotiation_lead_minutes(made_at, due_at, calendar, lead_days)
    if lead <= 0:
        return due_at
    # Walk back ``lead`` business minutes from the due time.
    start = calendar.add_business_minutes(made_at, 0)
    span = calendar.business_minutes_between(start, due_at)
    when = calendar.add_business_minutes(start, max(0, span - lead))
    # At an opening time, prefer the previous closing time (the same business instant): the
    # draft is then waiting when the team arrives, not written while the day is already short.
    local_when = calendar.local(when)
    if when > start and local_when == calendar.start_of_business_day(local_when.date()):
        previous = calendar.previous_business_day(local_when.date())
        when = max(start, calendar.end_of_business_day(previous))
    return when


def renegotiation_horizon(now: datetime, calendar: BusinessCalendar, lead_days: int) -> datetime:
    """The latest due time whose renegotiation can have come by ``now``.

    ``renegotiation_due`` walks back at most ``lead_days`` business days of work time from the
    due time, so a promise due later than this needs nothing yet: the promise check reads only
    the promises due before it (O(due soon), not every open promise). A day is added as margin.
    """
    day = datetime.combine(date.min, calendar.work_end) - datetime.combine(
        date.min, calendar.work_start
    )
    minutes = max(0, lead_days) * int(day.total_seconds() // 60)
    return calendar.add_business_minutes(now, minutes) + timedelta(days=1)


def in_backlog(
    waiting_since: datetime, started_at: datetime, calendar: BusinessCalendar, limit_days: int
) -> bool:
    """The client already waited more than ``limit_days`` business days when mailwatch started.

    Such a thread gets no automatic acknowledgment (acknowledging a three-week-old message is
    wrong, and a first start on a large mailbox would flood the approval queue); a person
    decides, helped by the digest and the web page's bulk drafting. ``limit_days`` 0: no backlog.
    """
    if limit_days <= 0 or waiting_since >= started_at:
        return False
    waited = calendar.business_minutes_between(waiting_since, started_at)
    return waited > limit_days * _minutes_per_day(calendar)


def proposed_new_date(due_at: datetime, calendar: BusinessCalendar, lead_days: int) -> datetime:
    """A first suggestion for the new date in a renegotiation draft (the user edits it)."""
    local_day = calendar.local(due_at).date()
    return calendar.end_of_business_day(calendar.add_business_days(local_day, max(2, lead_days)))


def follow_up_due(last_outbound_at: datetime, calendar: BusinessCalendar, days: int) -> datetime:
    """``days`` business days after our message, at the same business moment."""
    return calendar.add_business_minutes(last_outbound_at, days * _minutes_per_day(calendar))


_ASKS_OR_PROPOSES = re.compile(
    r"\?|"
    r"\b(?:proposal|offer|quote|quotation|estimate|price list|contract|invoice)\b|"
    r"(?:предложени|коммерческ|счёт|счет на|договор|прайс|смет)|"
    r"\b(?:ofert|propunere|contract|deviz|factur)\w*|"
    r"\b(?:propuesta|oferta|presupuesto|cotizaci[oó]n|contrato|factura)\b",
    re.IGNORECASE,
)


def asks_or_proposes(new_text: str) -> bool:
    """Our message asked the client something or sent a proposal: worth a follow-up."""
    return bool(_ASKS_OR_PROPOSES.search(new_text or ""))


def _minutes_per_day(calendar: BusinessCalendar) -> int:
    start, end = calendar.work_start, calendar.work_end
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
