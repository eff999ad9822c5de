"""A real SMTP server for the send tests: aiosmtpd on a free loopback port.

It records every accepted message (envelope and the exact bytes), can be told to answer the
next N DATA commands with a given code (451, 550, ...), and can file each accepted message into
a Dovecot account's "Sent Items" before it says 250, as Exchange Online does with mail
submitted through it (the case SENT_COPY=auto/never relies on).

AUTH PLAIN/LOGIN is offered without TLS (test only) and every login is accepted unless
``credentials`` are given; the login used is recorded with each message.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers.common import free_port
from tests.servers.dovecot import ImapAccount


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Failure:
    code: int
    text: str


@dataclass
class _Fault:
    """A misbehaving answer to one DATA (the faults that make an outcome uncertain).

    ``drop``: store the message, then cut the link before the 250.
    ``hold``: store it, then hold the 250 back for ``seconds`` (past the client's timeout).
    ``slow_filter``: a content filter that takes ``seconds`` before the message is stored and
    the 250 given (a client that gave up meanwhile never hears of it).
    """

    mode: str
    seconds: float = 0.0


@dataclass
class RecordingHandler:
    file_into: ImapAccount | None = None
    file_folder: str = "Sent Items"
    received: list[ReceivedMessage] = field(default_factory=list)
    attempts: int = 0  # DATA commands seen, refused ones included
    _failures: deque[_Failure] = field(default_factory=deque)
    _faults: deque[_Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.attempts += 1
            failure = self._failures.popleft() if self._failures else None
            fault = self._faults.popleft() if self._faults and failure is None else None
        if failure is not None:
            return f"{failure.code} {failure.text}"
        if fault is not None and fault.mode == "slow_filter":
            # The filter's verdict outlives the client: aiosmtpd cancels this handler when the
            # link goes, but a real MTA has the message in its queue by then and delivers it.
            await asyncio.shield(self._filter_then_store(fault.seconds, session, envelope))
            return "250 2.0.0 OK: queued"
        self._store(session, envelope)
        if fault is not None and fault.mode == "drop":
            assert server.transport is not None
            server.transport.abort()  # stored, and the client never hears the 250
        elif fault is not None and fault.mode == "hold":
            await asyncio.sleep(fault.seconds)
        return "250 2.0.0 OK: queued"

    async def _filter_then_store(
        self, seconds: float, session: Session, envelope: Envelope
    ) -> None:
        await asyncio.sleep(seconds)
        self._store(session, envelope)

    def _store(self, session: Session, envelope: Envelope) -> None:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        if self.file_into is not None:
            account = self.file_into
            # Blocking IMAP on the server's own loop thread: fine for a test server.
            account.server.append(account.username, self.file_folder, raw, flags=["\\Seen"])
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self._lock:
            self.received.append(
                ReceivedMessage(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    raw=raw,
                    login=login,
                )
            )


class SmtpServer:
    """``with SmtpServer() as smtp:`` or start()/stop(); ``smtp.port`` is the port to use."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        credentials: dict[str, str] | None = None,
        file_into: ImapAccount | None = None,
    ) -> None:
        self.host = host
        self.port = 0
        self.credentials = credentials
        self.handler = RecordingHandler(file_into=file_into)
        self._controller: Controller | None = None

    # -- control --------------------------------------------------------------------------

    def fail_next(self, code: int, text: str = "try again later", count: int = 1) -> None:
        """Answer the next ``count`` DATA commands with ``code text`` instead of 250."""
        with self.handler._lock:
            for _ in range(count):
                self.handler._failures.append(_Failure(code, text))

    def fault_next(self, mode: str, seconds: float = 0.0) -> None:
        """Misbehave on the next DATA: ``drop``, ``hold`` or ``slow_filter`` (see _Fault)."""
        assert mode in ("drop", "hold", "slow_filter"), mode
        with self.handler._lock:
            self.handler._faults.append(_Fault(mode, seconds))

    def file_into(self, account: ImapAccount | None, folder: str = "Sent Items") -> None:
        """File every accepted message into ``account``'s ``folder`` (Exchange's behaviour)."""
        self.handler.file_into = account
        self.handler.file_folder = folder

    @property
    def received(self) -> list[ReceivedMessage]:
        with self.handler._lock:
            return list(self.handler.received)

    @property
    def attempts(self) -> int:
        return self.handler.attempts

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    # -- lifecycle ------------------------------------------------------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        if self.credentials is not None and self.credentials.get(login) != password:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=data.login)

    def start(self) -> SmtpServer:
        last_error: Exception | None = None
        for _attempt in range(3):  # free_port() is racy: retry with another port
            self.port = free_port(self.host)
            controller = Controller(
                self.handler,
                hostname=self.host,
                port=self.port,
                authenticator=self._authenticate,
                auth_require_tls=False,
                auth_required=False,
            )
            try:
                controller.start()
            except Exception as exc:
                last_error = exc
                continue
            self._controller = controller
            return self
        raise RuntimeError(f"aiosmtpd did not start: {last_error}")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
