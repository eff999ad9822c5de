"""SMTP submission with aiosmtplib, and what a failure means for the outbox.

Once the server has accepted the DATA (``sendmail`` returned), nothing may raise any more:
a failing QUIT must never make an accepted message look refused, or it would be sent twice.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from mailwatch.config import MailboxSettings

__all__ = [
    "SmtpConfigError",
    "SmtpFailure",
    "auth_xoauth2",
    "classify_smtp_error",
    "explain_smtp_reply",
    "submit",
    "xoauth2_login",
]

log = logging.getLogger(__name__)


class SmtpConfigError(Exception):
    """Sending is not possible with the settings as they are (retried: the user may fix them)."""


@dataclass(frozen=True)
class SmtpFailure:
    permanent: bool  # 5xx: the same message will be refused again
    detail: str  # the server's code and text, or the error, for last_error


def _text(message: object) -> str:
    return " ".join(str(message).split())


def explain_smtp_reply(code: int, message: str) -> str | None:
    """What Office 365's authentication refusals mean, in one line (None: nothing to add)."""
    text = message.upper()
    if code == 535 and "5.7.139" in text:
        return (
            "SMTP AUTH is disabled for the whole tenant (security defaults, or "
            "Set-TransportConfig -SmtpClientAuthenticationDisabled $true): an admin must allow it"
        )
    if code == 535 and "5.7.3" in text:
        return (
            "SMTP AUTH is disabled for this mailbox (an admin runs Set-CASMailbox -Identity "
            "<mailbox> -SmtpClientAuthenticationDisabled $false), or the password / OAuth2 token "
            "is wrong (token: SMTP.Send permission, the right user)"
        )
    if code == 530 and "5.7.57" in text:
        return (
            "the server wants a login before MAIL FROM, and takes AUTH only after STARTTLS: "
            "use SMTP_SECURITY=starttls on port 587 and set SMTP_AUTH, so mailwatch logs in first"
        )
    return None


def _refusal(code: int, message: object, what: str) -> str:
    line = f"{code} {_text(message)}"
    why = explain_smtp_reply(code, _text(message))
    return f"{what}: {line}: {why}" if why else f"{what}: {line}"


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
        return SmtpFailure(False, _refusal(exc.code, exc.message, "SMTP login refused"))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {
            aiosmtplib.SMTPSenderRefused: "sender refused",
            aiosmtplib.SMTPDataError: "message refused",
            aiosmtplib.SMTPHeloError: "EHLO refused",
            aiosmtplib.SMTPConnectResponseError: "connection refused",
        }.get(type(exc), "refused")
        code = exc.code
        permanent = 500 <= code < 600 and code != 530
        why = explain_smtp_reply(code, _text(exc.message))
        detail = f"{code} {_text(exc.message)} ({what})"
        return SmtpFailure(permanent, f"{detail}: {why}" if why else detail)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return SmtpFailure(False, f"connection problem: {_text(exc)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return SmtpFailure(False, f"timeout: {_text(exc) or 'no answer in time'}")
    if isinstance(exc, ssl.SSLError):
        return SmtpFailure(False, f"TLS error: {_text(exc.reason or exc)} (check SMTP_SECURITY)")
    if isinstance(exc, SmtpConfigError | aiosmtplib.SMTPNotSupported):
        return SmtpFailure(False, f"SMTP settings: {_text(exc)}")
    if _is_token_error(exc):
        return SmtpFailure(False, f"OAuth2 token: {_text(exc)}")
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
        # STARTTLS forgets what the server said before: EHLO again, before AUTH. Office 365
        # offers AUTH (XOAUTH2) only in the EHLO answer over TLS.
        if client.last_ehlo_response is None:
            await client.ehlo()
        if s.auth == "oauth2":
            if token_provider is None:
                token_provider = _default_provider(mailbox)
            await xoauth2_login(client, mailbox, token_provider)
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


def _is_token_error(exc: BaseException) -> bool:
    from mailwatch.auth.tokens import TokenError

    return isinstance(exc, TokenError)


def _default_provider(mailbox: MailboxSettings) -> Callable[[], str]:
    from mailwatch.auth.tokens import provider_for

    return provider_for(mailbox)


async def auth_xoauth2(client: aiosmtplib.SMTP, user: str, token: str) -> None:
    """``AUTH XOAUTH2 base64(user=...^Aauth=Bearer ...^A^A)``; raises SMTPAuthenticationError.

    A refused token gets a 334 challenge (base64 JSON) first: an empty line ends the
    exchange and brings the final 535 (the same steps on every aiosmtplib version).
    """
    encoded = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())
    response = await client.execute_command(b"AUTH", b"XOAUTH2", encoded)
    if response.code == 334:
        response = await client.execute_command(b"")
    if response.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


async def xoauth2_login(
    client: aiosmtplib.SMTP, mailbox: MailboxSettings, token_provider: Callable[[], str]
) -> None:
    """Log in with XOAUTH2 after EHLO; a refused token is renewed and tried once more."""
    s = mailbox.smtp
    if not client.supports_extension("auth"):
        hint = (
            ": AUTH is offered only after STARTTLS, set SMTP_SECURITY=starttls (port 587)"
            if s.security == "none"
            else ""
        )
        raise SmtpConfigError(f"{s.host}:{s.port} offers no AUTH{hint}")
    if "xoauth2" not in client.server_auth_methods:
        offered = " ".join(client.server_auth_methods).upper() or "none"
        raise SmtpConfigError(
            f"{s.host}:{s.port} does not offer AUTH XOAUTH2 (offers: {offered}); "
            "use SMTP_AUTH=password with this server"
        )
    token = await asyncio.to_thread(token_provider)
    try:
        await auth_xoauth2(client, s.username, token)
        return
    except aiosmtplib.SMTPAuthenticationError as exc:
        if "5.7.139" in str(exc.message):  # disabled for the tenant: no token will do
            raise
        refused = exc
    invalidate = getattr(token_provider, "invalidate", None)
    if invalidate is not None:
        invalidate(token)
    else:  # a plain callable (the outbox's token_source): tell the shared provider
        from mailwatch.auth.tokens import invalidate_cached

        invalidate_cached(mailbox, token)
    log.info("SMTP login for %s: token refused, fetching a new one", s.username)
    fresh = await asyncio.to_thread(token_provider)
    if fresh == token:
        raise refused
    await auth_xoauth2(client, s.username, fresh)
