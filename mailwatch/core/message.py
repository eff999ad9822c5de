"""Plain data the whole pipeline passes around; no I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from mailwatch.core.pickling import tuple_pickled


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@tuple_pickled
@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox address; ``email`` is always lower-case so comparisons are plain."""

    name: str
    email: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


# Header fields the pipeline needs; the sync fetches exactly these (plus a text prefix).
# The ones after the threading/addressing block are kept verbatim in ``ParsedMessage.markers``
# so that needs-reply classification can say *why* a message was judged automatic.
MARKER_HEADERS: tuple[str, ...] = (
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "x-ms-exchange-inbox-rules-loop",
    "x-ms-exchange-generated-message-source",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "return-path",
    "x-spam-flag",
    "x-spam-status",
    "x-spam-score",
    "x-spam-level",
    "x-spam",
    "authentication-results",
    "x-ms-exchange-organization-scl",
    "x-failed-recipients",
    "content-language",
)

FETCHED_HEADERS: tuple[str, ...] = (
    "message-id",
    "in-reply-to",
    "references",
    "thread-index",
    "thread-topic",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "content-type",
    *MARKER_HEADERS,
)


@tuple_pickled
@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What mailwatch knows about one message: headers it needs and the start of its text.

    ``message_id`` is never empty: a message without one gets a stable synthetic id built
    from its headers, so the same message seen in two folders is still one row.
    """

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_addr: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None
    thread_index: str | None = None
    thread_topic: str | None = None
    content_type: str = "text/plain"
    markers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    new_text: str = ""
    message_id_synthetic: bool = False
    parse_errors: tuple[str, ...] = ()

    @property
    def parent_ids(self) -> tuple[str, ...]:
        """Every id this message says it follows, nearest parent last (JWZ order)."""
        ids = list(self.references)
        if self.in_reply_to and self.in_reply_to not in ids:
            ids.append(self.in_reply_to)
        return tuple(ids)


# No e-mail was written before this: a Date header older than it is noise (a spammer's "year
# 102", a mangled two-digit year). Business time counted from year 102 would build 1,900 years
# of per-year tables (60 MB and minutes of CPU for one message), so such a Date is not used.
EARLIEST_PLAUSIBLE_DATE = datetime(1980, 1, 1, tzinfo=UTC)


def message_time(date: datetime | None, internal_date: datetime | None) -> datetime | None:
    """When a message happened: its Date, unless that is later than its arrival.

    A sender's clock can be minutes ahead, or a spammer's Date say 2099; a message cannot have
    been written after the server received it, so min(Date, INTERNALDATE). No Date, or a Date
    before 1980: None (the caller falls back to INTERNALDATE).
    """
    if date is None:
        return None
    earliest = (
        EARLIEST_PLAUSIBLE_DATE
        if date.tzinfo is not None
        else EARLIEST_PLAUSIBLE_DATE.replace(tzinfo=None)
    )
    if date < earliest:
        return None
    if internal_date is not None and date > internal_date:
        return internal_date
    return date


def for_analysis(parsed: ParsedMessage, at: datetime | None) -> ParsedMessage:
    """What the analysers are given of a message: exactly what the tracker reads back from a
    stored row (``track.tracker.parsed_from_row``), so that a message analysed as it is
    stored and one analysed later from its row get the same verdicts.

    The analysers read the new text only, never the stored prefix, nor the threading
    headers; ``date`` is when the message happened as stored (UTC), and addresses without an
    e-mail are dropped as the row's JSON is read back.
    """
    return ParsedMessage(
        message_id=parsed.message_id,
        in_reply_to=None,
        references=(),
        subject=parsed.subject or "",
        from_addr=parsed.from_addr if parsed.from_addr and parsed.from_addr.email else None,
        to=tuple(a for a in parsed.to if a.email),
        cc=tuple(a for a in parsed.cc if a.email),
        reply_to=tuple(a for a in parsed.reply_to if a.email),
        date=at.astimezone(UTC) if at is not None else None,
        content_type=parsed.content_type[:128] or "text/plain",
        markers=dict(parsed.markers),
        text="",
        new_text=parsed.new_text or "",
    )
