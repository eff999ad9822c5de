"""The RFC 5322 message for a draft, exactly as it goes to SMTP and to the Sent folder.

Every header value passes through :func:`mailwatch.core.headers.header_safe` (addresses through
:func:`~mailwatch.core.headers.format_address`, which uses it for the display name), so no CR/LF
from a client's display name or subject can start a header of its own. Message-IDs are checked
against a strict ``<left@right>`` shape: the draft's fixed Message-ID is how a retry after a
crash finds out whether the message already left, so a malformed one is refused, not "fixed".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from mailwatch.core.headers import format_address, header_safe, plain_display_name
from mailwatch.errors import UsageError

__all__ = ["BuiltMessage", "DraftLike", "DraftMessageError", "build_message", "recipients_of"]

# A Message-ID as mailwatch writes and accepts them: no spaces, no brackets or quotes inside.
_MSGID_RE = re.compile(r"^<[^<>\s\"\\@]+@[^<>\s\"\\@]+>$")
_THREAD_INDEX_RE = re.compile(r"^[A-Za-z0-9+/=]+$")
# A reference chain can grow without bound; keep the first (the thread root) and the newest.
MAX_REFERENCES = 20


class DraftMessageError(UsageError, ValueError):
    """The draft cannot become a valid message; ``str()`` says why (stored in last_error)."""


class DraftLike(Protocol):
    """What the builder reads from a draft (the ``Draft`` model has all of it)."""

    @property
    def message_id(self) -> str: ...
    @property
    def from_addr(self) -> Mapping[str, Any]: ...
    @property
    def to_addrs(self) -> Sequence[Any]: ...
    @property
    def cc_addrs(self) -> Sequence[Any]: ...
    @property
    def subject(self) -> str: ...
    @property
    def body_text(self) -> str: ...
    @property
    def body_html(self) -> str | None: ...
    @property
    def in_reply_to(self) -> str | None: ...
    @property
    def references(self) -> Sequence[Any]: ...
    @property
    def thread_index(self) -> str | None: ...
    @property
    def thread_topic(self) -> str | None: ...
    @property
    def automatic(self) -> bool: ...


@dataclass(frozen=True)
class BuiltMessage:
    message: EmailMessage
    raw: bytes  # the exact bytes sent by SMTP and appended to Sent
    sender: str  # envelope MAIL FROM
    recipients: tuple[str, ...]  # envelope RCPT TO: To + Cc, each once


def _message_id(value: object, what: str) -> str:
    text = header_safe(value, max_length=998).strip()
    if not _MSGID_RE.match(text):
        raise DraftMessageError(f"{what} {text!r} is not a valid Message-ID (<left@right>)")
    return text


def _reference_ids(values: Iterable[object]) -> list[str]:
    """Valid, distinct ids in order; an unusable one is left out (it only helps threading)."""
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        for token in header_safe(value, max_length=998).split():
            if _MSGID_RE.match(token) and token not in seen:
                seen.add(token)
                result.append(token)
    if len(result) > MAX_REFERENCES:
        result = [result[0], *result[-(MAX_REFERENCES - 1) :]]
    return result


def _address(entry: Mapping[str, Any] | None, what: str) -> tuple[str, str]:
    """(header value, bare address) for one ``{"name", "email"}`` entry. A recipient's display
    name (from untrusted mail) is written only when it looks like a name (plain_display_name)."""
    if not isinstance(entry, Mapping):
        raise DraftMessageError(f"{what}: no address")
    email = str(entry.get("email") or "").strip()
    name = entry.get("name") or ""
    if what != "From":
        name = plain_display_name(name)
    try:
        value = format_address(name, email)
    except ValueError as exc:
        raise DraftMessageError(f"{what}: {exc}") from None
    return value, email


def recipients_of(draft: DraftLike) -> list[tuple[str, str]]:
    """(display name, address) of every To and Cc recipient, each address once."""
    seen: set[str] = set()
    result: list[tuple[str, str]] = []
    for entry in [*(draft.to_addrs or ()), *(draft.cc_addrs or ())]:
        if not isinstance(entry, Mapping):
            continue
        email = str(entry.get("email") or "").strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            result.append((str(entry.get("name") or ""), email))
    return result


def build_message(draft: DraftLike, now: datetime) -> BuiltMessage:
    """The message for ``draft``, dated ``now``; raises DraftMessageError when it cannot be."""
    message_id = _message_id(draft.message_id, "the draft's Message-ID")
    from_value, sender = _address(draft.from_addr, "From")

    seen: set[str] = set()
    to_values: list[str] = []
    cc_values: list[str] = []
    recipients: list[str] = []
    for header, entries, values in (
        ("To", draft.to_addrs or (), to_values),
        ("Cc", draft.cc_addrs or (), cc_values),
    ):
        for entry in entries:
            value, email = _address(entry, header)
            if email.lower() in seen:
                continue
            seen.add(email.lower())
            values.append(value)
            recipients.append(email)
    if not to_values:
        raise DraftMessageError("no recipient in To")

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = from_value
    msg["To"] = ", ".join(to_values)
    if cc_values:
        msg["Cc"] = ", ".join(cc_values)
    msg["Subject"] = header_safe(draft.subject, max_length=500)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if draft.in_reply_to:
        in_reply_to = _reference_ids([draft.in_reply_to])
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to[0]
    references = _reference_ids(draft.references or ())
    if references:
        msg["References"] = " ".join(references)
    if draft.thread_index:
        thread_index = header_safe(draft.thread_index, max_length=998)
        if _THREAD_INDEX_RE.match(thread_index):
            msg["Thread-Index"] = thread_index
    if draft.thread_topic:
        msg["Thread-Topic"] = header_safe(draft.thread_topic, max_length=500)
    if draft.automatic:
        # RFC 3834: an automatic reply says so, and asks Exchange not to auto-answer it.
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    # Quoted-printable keeps the message 7-bit: no reliance on the server's 8BITMIME.
    msg.set_content(draft.body_text or "", subtype="plain", charset="utf-8", cte="quoted-printable")
    if draft.body_html:
        msg.add_alternative(
            draft.body_html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
        for part in msg.iter_parts():
            del part["MIME-Version"]  # belongs to the top level only
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    raw = msg.as_bytes(policy=policy.SMTP)
    return BuiltMessage(msg, raw, sender, tuple(recipients))
