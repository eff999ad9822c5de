"""One IMAP connection, used by one thread only, with timeouts on every socket operation.

imapclient is blocking; callers run it off the event loop. Every method here issues one
IMAP command (``commands`` counts them), which is how the benchmark shows that a poll of
an unchanged folder costs a constant number of commands.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import select
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout, _parse_untagged_response, seq_to_parenstr_upper
from imapclient.response_parser import parse_fetch_response

from mailwatch.config import ServerSettings
from mailwatch.core.folders import FolderInfo

log = logging.getLogger(__name__)

# Errors after which the connection is unusable and must be re-established.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes socket.timeout, ConnectionError, ssl.SSLError
    imaplib.IMAP4.abort,
    EOFError,
)


class MailAccessError(Exception):
    """A problem reaching or logging in to the mail server, said in one clear line."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConnectionLost(MailAccessError):
    """The link died (timeout, reset, EOF): reconnect and carry on from the checkpoint."""


@dataclass(frozen=True, slots=True)
class FolderStatus:
    name: str
    exists: int
    uidvalidity: int
    uidnext: int | None
    highestmodseq: int | None


TokenProvider = Callable[[], str]


def describe_connect_error(settings: ServerSettings, exc: BaseException) -> MailAccessError:
    """Turn low-level failures into the line a user can act on."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, socket.gaierror):
        return MailAccessError(f"cannot resolve host {settings.host!r} ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return MailAccessError(f"connection refused by {where}: wrong host or port, or server down")
    if isinstance(exc, ssl.SSLError):
        hint = (
            "the server does not speak TLS on this port: try IMAP_SECURITY=starttls or none, or port 993"
            if "WRONG_VERSION" in str(exc).upper() or "wrong version" in str(exc).lower()
            else "TLS handshake failed"
        )
        return MailAccessError(f"TLS error talking to {where}: {hint} ({exc.reason or exc})")
    if isinstance(exc, socket.timeout | TimeoutError):
        return ConnectionLost(
            f"no answer from {where} in time: wrong port, a firewall, or a TLS mismatch "
            "(a TLS port spoken to in plain text stays silent)"
        )
    if isinstance(exc, LoginError):
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        return MailAccessError(
            f"login refused for {settings.username!r} at {where}: {detail or 'wrong user or password'}",
            retryable=False,
        )
    if isinstance(exc, imaplib.IMAP4.abort | EOFError | ConnectionError):
        return ConnectionLost(f"connection to {where} dropped: {exc}")
    if isinstance(exc, IMAPClientError | imaplib.IMAP4.error):
        return MailAccessError(f"IMAP error from {where}: {exc}")
    return ConnectionLost(f"cannot talk to {where}: {exc.__class__.__name__}: {exc}")


class ImapConnection:
    def __init__(
        self,
        settings: ServerSettings,
        timeout: float = 60.0,
        token_provider: TokenProvider | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.token_provider = token_provider
        self.client: IMAPClient | None = None
        self.capabilities: frozenset[str] = frozenset()
        self.commands = 0
        self.selected: str | None = None
        self.idling = False

    # -- lifecycle ---------------------------------------------------------------------------

    def connect(self) -> None:
        s = self.settings
        context = ssl.create_default_context()
        try:
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "ssl",
                ssl_context=context if s.security == "ssl" else None,
                timeout=SocketTimeout(connect=min(self.timeout, 30.0), read=self.timeout),
            )
            client.normalise_times = False
            if s.security == "starttls":
                client.starttls(context)
            if s.auth == "oauth2":
                if self.token_provider is None:
                    raise MailAccessError(
                        "IMAP_AUTH=oauth2 but no token source is set", retryable=False
                    )
                client.oauth2_login(s.username, self.token_provider())
            else:
                client.login(s.username, s.password.reveal())
            self.capabilities = frozenset(
                c.decode(errors="replace").upper() for c in client.capabilities()
            )
            self.commands += 2
            if "ENABLE" in self.capabilities and "CONDSTORE" in self.capabilities:
                client.enable("CONDSTORE")
                self.commands += 1
        except MailAccessError:
            raise
        except Exception as exc:
            raise describe_connect_error(s, exc) from exc
        self.client = client
        self.selected = None
        self.idling = False

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self.idling:
                client.idle_done()
            client.logout()
        except Exception:  # closing a dead link: nothing left to save
            with contextlib.suppress(Exception):
                client.shutdown()

    def __enter__(self) -> ImapConnection:
        self.connect()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def has_condstore(self) -> bool:
        """Check the capability, not the SELECT answer (servers differ there)."""
        return "CONDSTORE" in self.capabilities

    @property
    def has_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.client is None:
            raise ConnectionLost("not connected")
        self.commands += 1
        try:
            return fn(*args, **kwargs)
        except CONNECTION_ERRORS as exc:
            self.client = None
            raise describe_connect_error(self.settings, exc) from exc

    # -- commands ----------------------------------------------------------------------------

    def list_folders(self) -> list[FolderInfo]:
        assert self.client is not None
        rows = self._call(self.client.list_folders)
        result = []
        for flags, delimiter, name in rows:
            result.append(
                FolderInfo(
                    name=name if isinstance(name, str) else name.decode(errors="replace"),
                    flags=tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags),
                    delimiter=delimiter.decode() if isinstance(delimiter, bytes) else delimiter,
                )
            )
        return result

    def examine(self, name: str) -> FolderStatus:
        """Select read-only: mailwatch never changes flags or expunges while it syncs."""
        assert self.client is not None
        info = self._call(self.client.select_folder, name, readonly=True)
        self.selected = name
        return FolderStatus(
            name=name,
            exists=int(info.get(b"EXISTS", 0)),
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            highestmodseq=int(info[b"HIGHESTMODSEQ"])
            if self.has_condstore and b"HIGHESTMODSEQ" in info
            else None,
        )

    def search_uids(self, after_uid: int, since: date | None) -> list[int]:
        assert self.client is not None
        criteria: list[Any] = ["UID", f"{after_uid + 1}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        uids = self._call(self.client.search, criteria)
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in uids if uid > after_uid)

    def fetch(
        self, uids: str, items: Sequence[str], modifiers: Iterable[str] | None = None
    ) -> dict[int, dict[bytes, Any]]:
        """UID FETCH with a compact UID set ("1:500,703"), which imapclient's fetch() refuses."""
        assert self.client is not None
        result: dict[int, dict[bytes, Any]] = self._call(
            _uid_fetch, self.client, uids, list(items), list(modifiers) if modifiers else None
        )
        return result

    def noop(self) -> None:
        assert self.client is not None
        self._call(self.client.noop)

    # -- IDLE --------------------------------------------------------------------------------

    def idle_start(self) -> None:
        assert self.client is not None
        self._call(self.client.idle)
        self.idling = True

    def idle_wait(self, timeout: float) -> list[Any]:
        """Wait up to ``timeout`` seconds for news; a dead link raises instead of looking quiet.

        imapclient's ``idle_check`` swallows socket errors and EOF, so a cut connection
        would look like a quiet mailbox forever. Here EOF and errors propagate.
        """
        client = self.client
        if client is None:
            raise ConnectionLost("not connected")
        sock = client.socket()
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
            events = poller.poll(int(timeout * 1000))
        except (OSError, ValueError) as exc:
            self.client = None
            raise describe_connect_error(self.settings, exc) from exc
        if not events:
            return []
        responses = []
        try:
            while True:
                line = client._imap._get_line()
                responses.append(_parse_untagged_response(line))
                if not poller.poll(50):
                    break
        except CONNECTION_ERRORS as exc:
            self.client = None
            raise describe_connect_error(self.settings, exc) from exc
        return responses

    def idle_stop(self) -> list[Any]:
        assert self.client is not None
        self.idling = False
        result: tuple[Any, list[Any]] = self._call(self.client.idle_done)
        return result[1]


def _uid_fetch(
    client: IMAPClient, uids: str, items: list[str], modifiers: list[str] | None
) -> dict[int, dict[bytes, Any]]:
    # Same steps as IMAPClient.fetch, minus its int() conversion of the message set.
    imap = client._imap
    tag = imap._command(
        "UID",
        "FETCH",
        uids.encode("ascii"),
        seq_to_parenstr_upper(items),
        seq_to_parenstr_upper(modifiers) if modifiers else None,
    )
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    parsed: dict[int, dict[bytes, Any]] = parse_fetch_response(data, client.normalise_times, True)
    return parsed
