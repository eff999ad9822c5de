"""Sending the digest: aiosmtplib with the first mailbox's SMTP settings.

The digest is a message to ourselves, not a draft, so it does not go through the drafts
outbox (mailwatch.send): no approval, no exactly-once bookkeeping, no copy to Sent.
A failure is one clear line (:class:`DigestSendError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, getaddresses, parseaddr

from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import PREFIX, Settings
from mailwatch.core.headers import header_safe
from mailwatch.digest.data import Digest, build_digest
from mailwatch.digest.render import build_email
from mailwatch.errors import WorkFailed
from mailwatch.i18n import _
from mailwatch.mail.smtp import classify_smtp_error, submit

__all__ = ["DigestSendError", "SentDigest", "digest_from_address", "send_digest", "send_email"]


class DigestSendError(WorkFailed):
    """The digest could not be sent; ``str()`` is the one line for the user."""

    prefix = "digest not sent"

    def shown_prefix(self) -> str:
        return _("digest not sent")


@dataclass(frozen=True)
class SentDigest:
    digest: Digest
    message_id: str
    recipients: tuple[str, ...]
    refused: dict[str, str]


def digest_from_address(settings: Settings) -> str:
    """The first mailbox's own address (its login, else an OWN_ADDRESSES entry, else DIGEST_TO)."""
    mailbox = settings.mailboxes[0]
    candidates = [mailbox.smtp.username, mailbox.imap.username, *sorted(mailbox.own_addresses)]
    address = next((a for a in candidates if a and "@" in a), "")
    if not address and settings.digest_to:
        address = settings.digest_to[0]
    if not address:
        raise DigestSendError(
            f"no sender address for the digest: set {PREFIX}IMAP_USERNAME to an email address "
            f"or {PREFIX}OWN_ADDRESSES"
        )
    return formataddr((header_safe(mailbox.sender_name or "mailwatch", 80), address))


async def send_email(
    settings: Settings,
    message: EmailMessage,
    *,
    timeout: float = 60.0,
    token_provider: Callable[[], str] | None = None,
) -> dict[str, str]:
    """Send ``message`` through the first mailbox's SMTP server to its To/Cc addresses.

    Returns the recipients the server refused (``{}``: all accepted); raises
    :class:`DigestSendError` when nothing was accepted.
    """
    mailbox = settings.mailboxes[0]
    s = mailbox.smtp
    where = f"{s.host}:{s.port}"
    if not s.host:
        raise DigestSendError(f"{mailbox.env_prefix}SMTP_HOST is not set: no server to send with")
    sender = parseaddr(str(message["From"] or ""))[1]
    recipients = [
        addr
        for _name, addr in getaddresses(
            [str(v) for v in (message.get_all("To") or []) + (message.get_all("Cc") or [])]
        )
        if addr
    ]
    if not sender or not recipients:
        raise DigestSendError("the digest message needs a From and at least one To address")
    raw = message.as_bytes(policy=policy.SMTP)
    try:
        return await submit(
            mailbox,
            sender,
            tuple(recipients),
            raw,
            timeout=timeout,
            token_provider=token_provider,
        )
    except Exception as exc:  # one line, with the outbox's explanations of Office 365 answers
        raise DigestSendError(f"{where}: {classify_smtp_error(exc).detail}") from None


async def send_digest(
    factory: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    *,
    token_provider: Callable[[], str] | None = None,
) -> SentDigest:
    """Build the digest as of ``now`` and mail it to ``DIGEST_TO`` (for the scheduler too)."""
    if not settings.digest_to:
        raise DigestSendError(f"{PREFIX}DIGEST_TO is not set: nobody to send the digest to")

    def build() -> Digest:
        with factory() as session:
            return build_digest(session, settings, now)

    digest = await asyncio.to_thread(build)
    message = build_email(digest, settings, digest_from_address(settings), settings.digest_to)
    refused = await send_email(settings, message, token_provider=token_provider)
    return SentDigest(digest, str(message["Message-ID"]), tuple(settings.digest_to), refused)
