"""Sending the digest: aiosmtplib with the first mailbox's SMTP settings.

The digest is a message to ourselves, not a draft, so it does not go through the drafts
outbox (mailwatch.send): no approval, no exactly-once bookkeeping, no copy to Sent.
A failure is one clear line (:class:`DigestSendError`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, getaddresses, parseaddr

import aiosmtplib
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import PREFIX, Settings
from mailwatch.core.headers import header_safe
from mailwatch.digest.data import Digest, build_digest
from mailwatch.digest.render import build_email

__all__ = ["DigestSendError", "SentDigest", "digest_from_address", "send_digest", "send_email"]


class DigestSendError(Exception):
    """The digest could not be sent; ``str()`` is the one line for the user."""


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


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "recipients refused: " + "; ".join(
            f"{r.recipient}: {r.code} {' '.join(r.message.split())}" for r in exc.recipients
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"SMTP login refused: {exc.code} {' '.join(exc.message.split())}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"SMTP server said {exc.code} {' '.join(exc.message.split())}"
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return "no answer from the SMTP server in time (wrong port or a TLS mismatch?)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc} (check SMTP_SECURITY and the port)"
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return f"cannot reach the SMTP server: {' '.join(str(exc).split())}"
    return f"{exc.__class__.__name__}: {exc}"


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
    client = aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        use_tls=s.security == "ssl",
        start_tls=s.security == "starttls",
        tls_context=ssl.create_default_context() if s.security != "none" else None,
        timeout=timeout,
    )
    try:
        await client.connect()
    except Exception as exc:
        raise DigestSendError(f"{where}: {_one_line(exc)}") from None
    try:
        if s.auth == "oauth2":
            from mailwatch.auth.tokens import provider_for
            from mailwatch.send.smtp import xoauth2_login

            if client.last_ehlo_response is None:
                await client.ehlo()
            await xoauth2_login(client, mailbox, token_provider or provider_for(mailbox))
        elif s.username and s.password and client.supports_extension("auth"):
            await client.login(s.username, s.password.reveal())
        refused, _reply = await client.send_message(message, sender=sender, recipients=recipients)
    except DigestSendError:
        client.close()
        raise
    except Exception as exc:
        client.close()
        raise DigestSendError(f"{where}: {_one_line(exc)}") from None
    try:
        await client.quit()
    except Exception:  # accepted is accepted: a failed goodbye changes nothing
        client.close()
    return {rcpt: f"{r.code} {' '.join(r.message.split())}" for rcpt, r in refused.items()}


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
