"""The embedded servers of `mailwatch demo`: pymap's in-memory IMAP and an aiosmtpd sink.

Both bind 127.0.0.1 on a free port, run in daemon threads of the demo process and need no TLS,
no account and no setup; nothing touches pymap internals after start-up, so a server quirk
shows up here the way it would with a real mailbox.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

from aiosmtpd.controller import Controller
from proxyprotocol.reader import ProxyProtocolReader
from pymap.__about__ import __version__ as pymap_version
from pymap.backend.dict import Config, Login
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from pymap.user import Passwords, UserMetadata
from rich.console import Console
from rich.markup import escape

__all__ = [
    "DEMO_DOMAIN",
    "DEMO_HOST",
    "DEMO_PASSWORD",
    "DEMO_USER",
    "EmbeddedImapServer",
    "EmbeddedSmtpServer",
    "decoded_subject",
    "free_port",
]

log = logging.getLogger(__name__)

DEMO_USER = "sales@demo.mailwatch.test"
DEMO_PASSWORD = "demo"
DEMO_DOMAIN = "demo.mailwatch.test"
DEMO_HOST = "127.0.0.1"


class EmbeddedImapServer:
    """pymap's in-memory ``dict`` backend serving IMAP on 127.0.0.1, in a daemon thread.

    A thread rather than ``python -m pymap``: the free port is known exactly (we bind port 0
    ourselves, no race), start-up errors surface as exceptions here, and nothing can outlive
    the demo process (the thread is a daemon; :meth:`stop` also closes it cleanly).
    """

    def __init__(
        self, username: str = DEMO_USER, password: str = DEMO_PASSWORD, host: str = DEMO_HOST
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> EmbeddedImapServer:
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="mailwatch-demo-imap", daemon=True
        )
        self._thread.start()
        self.port = ready.result(timeout=timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the demo IMAP server did not stop within %.0f s", timeout)
        self._thread = None

    def __enter__(self) -> EmbeddedImapServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def version(self) -> str:
        return str(pymap_version)

    def _run(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("the demo IMAP server failed")
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        login, config = await _pymap_login(self.username, self.password)
        config.apply_context()
        self._stop = asyncio.Event()
        handler = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(login, config))
        server = await asyncio.start_server(handler, host=self.host, port=0)
        ready.set_result(int(server.sockets[0].getsockname()[1]))
        try:
            await self._stop.wait()
        finally:
            server.close()
            # Open client connections would keep wait_closed() waiting (Python >= 3.12).
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


async def _pymap_login(username: str, password: str) -> tuple[Any, Any]:
    """pymap's dict-backend login with one user, built without its argparse front end."""

    class DemoConfig(Config):
        @property
        def greeting(self) -> bytes:
            # pymap's default greeting calls socket.getfqdn(), which can stall on DNS.
            return b"Server ready: mailwatch demo (pymap, in-memory)"

    args = argparse.Namespace(
        host=DEMO_HOST, port=0, debug=False, cert=None, key=None, tls=False,
        passlib_cfg=None, proxy_protocol=None, inherited_sockets=None,
    )  # fmt: skip
    config = DemoConfig(
        args,
        host=DEMO_HOST,
        port=0,
        tls_enabled=False,
        demo_data=False,
        demo_user=username,
        demo_password=password,
        # No worker threads: hashing one demo password on the loop is instant, and there
        # is no executor left to join at exit.
        cpu_subsystem=Subsystem.for_asyncio(),
        invalid_user_sleep=0.05,
    )
    login = Login(config)
    hashed = await Passwords(config).hash_password(password)
    await login.demo_user_identity.set(UserMetadata(config, username, password=hashed))
    return login, config


def decoded_subject(raw: str) -> str:
    """``=?utf-8?b?...?=`` as the words a person wrote (RFC 2047), for the SMTP sink's line."""
    try:
        return str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError, UnicodeDecodeError):
        return str(raw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((DEMO_HOST, 0))
        return int(sock.getsockname()[1])


class EmbeddedSmtpServer:
    """aiosmtpd on 127.0.0.1: accepts everything and prints a line per message, sends nothing."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.host = DEMO_HOST
        self.port = 0
        self._controller: Any = None
        self.received: list[bytes] = []

    def start(self) -> EmbeddedSmtpServer:
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                raw = bytes(envelope.original_content or envelope.content)
                outer.received.append(raw)
                message = message_from_bytes(raw)
                outer.console.print(
                    f"[green]demo SMTP server received[/] to {', '.join(envelope.rcpt_tos)}: "
                    f"{escape(decoded_subject(message.get('Subject', '')))}",
                    highlight=False,
                    markup=True,
                )
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> EmbeddedSmtpServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
