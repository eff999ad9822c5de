"""SMTP submission with aiosmtplib, and what a failure means for the outbox.

Once the server has accepted the DATA (``sendmail`` returned), nothing may raise any more:
a failing QUIT must never make an accepted message look refused, or it would be sent twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosmtplib

from mailwatch.auth.tokens import TokenError, invalidate_cached, provider_for
from mailwatch.config import MailboxSettings
from mailwatch.errors import MailwatchError, WorkFailed

__all__ = [
    "SmtpConfigError",
    "SmtpFailure",
    "SmtpUncertain",
    "auth_xoauth2",
    "classify_smtp_error",
    "explain_smtp_reply",
    "submit",
    "xoauth2_login",
]

log = logging.getLogger(__name__)


class SmtpConfigError(MailwatchError):
    """Sending is not possible with the settings as they are (retried: the user may fix them)."""


class SmtpUncertain(WorkFailed):
    """The message went out up to the DATA terminator and no answer came back (link lost,
    timeout): the server may have accepted it. Never retried blindly (docs/sending.md)."""


@dataclass(frozen=True)
class SmtpFailure:
    permanent: bool  # 5xx: the same message will be refused again
    detail: str  # the server's code and text, or the error, for last_error
    uncertain: bool = False  # the server may have taken it: check Sent, never resend blindly


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
    if isinstance(exc, SmtpUncertain):
        return SmtpFailure(False, f"outcome uncertain: {_text(exc)}", uncertain=True)
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
    if isinstance(exc, TokenError):
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
    before_data: Callable[[], Awaitable[None]] | None = None,
    data_timeout: float | None = None,
) -> dict[str, str]:
    """Send ``raw``; returns the recipients the server refused (``{}``: all accepted).

    Raises an aiosmtplib error (or SmtpConfigError / OSError) when nothing was accepted, and
    :class:`SmtpUncertain` when the link was lost or timed out once the message body (and its
    terminating ".") may have reached the server: then nobody knows whether it was accepted.
    ``before_data`` is awaited after the recipients were accepted, just before DATA: the outbox
    commits there that from now on a crash leaves the outcome uncertain. ``data_timeout``
    bounds the wait for the answer to DATA and to the final "." (RFC 5321 4.5.3.2 suggests 10
    minutes: content filters are slow, and giving up early is what makes an outcome uncertain).
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
                token_provider = provider_for(mailbox)
            await xoauth2_login(client, mailbox, token_provider)
        elif s.username and client.supports_extension("auth"):
            await client.login(s.username, s.password.reveal())
        refused = await _transaction(
            client, sender, recipients, raw, data_timeout or timeout, before_data
        )
    except BaseException:
        client.close()
        raise
    try:
        await client.quit()
    except Exception:  # accepted is accepted: a failed goodbye changes nothing
        client.close()
    return {rcpt: f"{r.code} {_text(r.message)}" for rcpt, r in refused.items()}


class _DataProbe:
    """Watches what the client writes once armed: the DATA command, then the body.

    Only "DATA was written and nothing after it" proves the body never left; anything else
    (the body written, or nothing seen at all because the library changed) counts as uncertain.
    """

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.data_command = False
        self.body = False
        protocol = client.protocol
        if protocol is None:
            return
        original = protocol.write

        def write(data: bytes) -> None:
            if not self.data_command and data.upper() == b"DATA\r\n":
                self.data_command = True
            elif self.data_command:
                self.body = True
            original(data)

        protocol.write = write  # type: ignore[method-assign]

    @property
    def body_never_left(self) -> bool:
        return self.data_command and not self.body


async def _transaction(
    client: aiosmtplib.SMTP,
    sender: str,
    recipients: tuple[str, ...],
    raw: bytes,
    timeout: float,
    before_data: Callable[[], Awaitable[None]] | None,
) -> dict[str, aiosmtplib.SMTPResponse]:
    """MAIL, RCPT..., DATA, as ``sendmail`` does, but knowing when the outcome became uncertain."""
    options: list[str] = []
    if client.supports_extension("size"):
        wire = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        if not wire.endswith(b"\r\n"):
            wire += b"\r\n"
        options.append(f"size={len(wire)}")
    try:
        await client.mail(sender, options=options)
        refused: dict[str, aiosmtplib.SMTPResponse] = {}
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[rcpt] = aiosmtplib.SMTPResponse(exc.code, exc.message)
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(
                [
                    aiosmtplib.SMTPRecipientRefused(r.code, r.message, rcpt)
                    for rcpt, r in refused.items()
                ]
            )
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(Exception):
            await client.rset()
        raise
    if before_data is not None:
        await before_data()
    probe = _DataProbe(client)
    try:
        await client.data(raw, timeout=timeout)
    except aiosmtplib.SMTPResponseException:
        raise  # the server answered: refused (4xx/5xx), so not accepted
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
        if probe.body_never_left:
            raise
        what = "timed out" if isinstance(exc, aiosmtplib.SMTPTimeoutError) else "was lost"
        raise SmtpUncertain(
            f"the message was sent up to its final '.', then the connection {what} before the "
            f"server's answer ({_text(exc) or exc.__class__.__name__}): it may have been accepted"
        ) from exc
    return refused


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
        invalidate_cached(mailbox, token)
    log.info("SMTP login for %s: token refused, fetching a new one", s.username)
    fresh = await asyncio.to_thread(token_provider)
    if fresh == token:
        raise refused
    await auth_xoauth2(client, s.username, fresh)
