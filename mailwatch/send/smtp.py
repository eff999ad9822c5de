"""SMTP submission with aiosmtplib, and what a failure means for the outbox.

Once the server has accepted the DATA (``sendmail`` returned), nothing may raise any more:
a failing QUIT must never make an accepted message look refused, or it would be sent twice.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from mailwatch.config import MailboxSettings

__all__ = ["SmtpConfigError", "SmtpFailure", "classify_smtp_error", "submit"]


class SmtpConfigError(Exception):
    """Sending is not possible with the settings as they are (retried: the user may fix them)."""


@dataclass(frozen=True)
class SmtpFailure:
    permanent: bool  # 5xx: the same message will be refused again
    detail: str  # the server's code and text, or the error, for last_error


def _text(message: object) -> str:
    return " ".join(str(message).split())


def classify_smtp_error(exc: BaseException) -> SmtpFailure:
    """5xx refusals are permanent; 4xx, lost links, timeouts and settings problems are not.

    A refused login (535, or 530 "authentication required") is a settings problem, not the
    message's: it is retried with backoff like a 4xx, so fixing the password is enough.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        parts = [f"{r.recipient}: {r.code} {_text(r.message)}" for r in exc.recipients]
        permanent = any(500 <= r.code < 600 for r in exc.recipients)
        return SmtpFailure(permanent, "recipients refused: " + "; ".join(parts))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SmtpFailure(False, f"SMTP login refused: {exc.code} {_text(exc.message)}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {
            aiosmtplib.SMTPSenderRefused: "sender refused",
            aiosmtplib.SMTPDataError: "message refused",
            aiosmtplib.SMTPHeloError: "EHLO refused",
            aiosmtplib.SMTPConnectResponseError: "connection refused",
        }.get(type(exc), "refused")
        code = exc.code
        permanent = 500 <= code < 600 and code != 530
        return SmtpFailure(permanent, f"{code} {_text(exc.message)} ({what})")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return SmtpFailure(False, f"connection problem: {_text(exc)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return SmtpFailure(False, f"timeout: {_text(exc) or 'no answer in time'}")
    if isinstance(exc, ssl.SSLError):
        return SmtpFailure(False, f"TLS error: {_text(exc.reason or exc)} (check SMTP_SECURITY)")
    if isinstance(exc, SmtpConfigError | aiosmtplib.SMTPNotSupported):
        return SmtpFailure(False, f"SMTP settings: {_text(exc)}")
    if isinstance(exc, OSError):
        return SmtpFailure(False, f"connection problem: {exc.__class__.__name__}: {_text(exc)}")
    return SmtpFailure(False, f"{exc.__class__.__name__}: {_text(exc)}")


async def submit(
    mailbox: MailboxSettings,
    sender: str,
    recipients: tuple[str, ...],
    raw: bytes,
    *,
    timeout: float = 60.0,
    token_provider: Callable[[], str] | None = None,
) -> dict[str, str]:
    """Send ``raw``; returns the recipients the server refused (``{}``: all accepted).

    Raises an aiosmtplib error (or SmtpConfigError / OSError) when nothing was accepted.
    """
    s = mailbox.smtp
    if not s.host:
        raise SmtpConfigError(f"{mailbox.env_prefix}SMTP_HOST is not set")
    client = aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        use_tls=s.security == "ssl",
        start_tls=s.security == "starttls",
        tls_context=ssl.create_default_context() if s.security != "none" else None,
        timeout=timeout,
    )
    await client.connect()
    try:
        if client.last_ehlo_response is None:
            await client.ehlo()  # the extensions (AUTH) are known only after EHLO
        if s.auth == "oauth2":
            if token_provider is None:
                raise SmtpConfigError("SMTP_AUTH=oauth2 but no token source is set")
            token = await asyncio.to_thread(token_provider)
            await client.auth_xoauth2(s.username, token)
        elif s.username and client.supports_extension("auth"):
            await client.login(s.username, s.password.reveal())
        refused, _reply = await client.sendmail(sender, list(recipients), raw)
    except BaseException:
        client.close()
        raise
    try:
        await client.quit()
    except Exception:  # accepted is accepted: a failed goodbye changes nothing
        client.close()
    return {rcpt: f"{r.code} {_text(r.message)}" for rcpt, r in refused.items()}
