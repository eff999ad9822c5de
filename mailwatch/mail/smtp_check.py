"""`mailwatch check` for SMTP: connect, EHLO, STARTTLS, log in; report one clear line."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from mailwatch.config import ServerSettings
from mailwatch.mail.smtp import explain_smtp_reply


@dataclass(frozen=True)
class SmtpCheck:
    extensions: tuple[str, ...] = ()
    error: str | None = None


def check_smtp(
    settings: ServerSettings,
    timeout: float = 20.0,
    token_provider: Callable[[], str] | None = None,
) -> SmtpCheck:
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context()
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()  # capabilities change after STARTTLS; AUTH comes after this
            extensions = tuple(sorted(client.esmtp_features))
            if (
                settings.auth == "password"
                and settings.username
                and "auth" in client.esmtp_features
            ):
                client.login(settings.username, settings.password.reveal())
            elif settings.auth == "oauth2" and token_provider is not None:
                token = token_provider()
                client.auth(
                    "XOAUTH2",
                    lambda challenge=None: (
                        f"user={settings.username}\x01auth=Bearer {token}\x01\x01"
                    ),
                    initial_response_ok=True,
                )
            return SmtpCheck(extensions=extensions)
    except smtplib.SMTPAuthenticationError as exc:
        reply = exc.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
        why = explain_smtp_reply(exc.smtp_code, text)
        return SmtpCheck(
            error=f"login refused for {settings.username!r} at {where}: {exc.smtp_code} {text}"
            + (f" ({why})" if why else "")
        )
    except smtplib.SMTPNotSupportedError as exc:
        return SmtpCheck(error=f"{where}: {exc} (check SMTP_SECURITY)")
    except ConnectionRefusedError:
        return SmtpCheck(error=f"connection refused by {where}: wrong host or port, or server down")
    except socket.gaierror as exc:
        return SmtpCheck(error=f"cannot resolve host {settings.host!r} ({exc.strerror})")
    except ssl.SSLError as exc:
        return SmtpCheck(
            error=f"TLS error talking to {where}: {exc.reason or exc} (check SMTP_SECURITY and port)"
        )
    except TimeoutError:
        return SmtpCheck(error=f"no answer from {where} in time (wrong port or a TLS mismatch)")
    except (smtplib.SMTPException, OSError) as exc:
        return SmtpCheck(error=f"{where}: {exc.__class__.__name__}: {exc}")
