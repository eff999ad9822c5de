"""One IMAP connection, used by one thread only, with timeouts on every socket operation.

imapclient is blocking; callers run it off the event loop. Every method here issues one
IMAP command (``commands`` counts them), which is how the benchmark shows that a poll of
an unchanged folder costs a constant number of commands.

Private parts of imapclient and imaplib that this module uses, and why. imapclient is pinned
to one exact version in pyproject.toml, and tests/unit/test_imap_private_api.py fails with a
message naming the part when an upgrade changes one of them (re-check, then move the pin):

- ``IMAPClient._imap`` (the imaplib connection) and imaplib's ``_command``,
  ``_command_complete``, ``_untagged_response``, ``_get_line``, ``file`` and
  ``untagged_responses``: UID FETCH with a compact UID set, news the server volunteers in
  the middle of another command, and an IDLE wait that sees a dead link. imapclient has no
  public way to do any of these.
- ``IMAPClient._checkok``: the same OK check imapclient's own ``fetch`` makes.
- ``response_parser._convert_ENVELOPE`` and ``_convert_INTERNALDATE``: the fast FETCH parser
  builds the values imapclient builds; on any surprise it falls back to the public
  ``parse_fetch_response``.

imapclient's private ``_parse_untagged_response`` (IDLE lines) is no longer used: ``_untagged``
does the same with the public ``parse_response``.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import select
import socket
import ssl
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError, ProtocolError
from imapclient.imapclient import SocketTimeout, seq_to_parenstr_upper
from imapclient.response_parser import (
    _convert_ENVELOPE,
    _convert_INTERNALDATE,
    parse_fetch_response,
    parse_response,
)
from imapclient.response_types import BodyData

from mailwatch.config import ServerSettings
from mailwatch.core.folders import FolderInfo
from mailwatch.errors import MailAccessError

log = logging.getLogger(__name__)

# Errors after which the connection is unusable and must be re-established.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes socket.timeout, ConnectionError, ssl.SSLError
    imaplib.IMAP4.abort,
    EOFError,
)


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

# Unsolicited responses that mean "the selected folder changed" (RFC 3501 7.3, 7.4).
NEWS_RESPONSES = ("EXISTS", "RECENT", "EXPUNGE", "FETCH", "VANISHED")

# Office 365's answers (they come as tagged BAD/NO, so imaplib raises IMAP4.error).
_THROTTLED_RE = re.compile(
    r"Request is throttled\.?\s*Suggested Backoff Time:\s*(\d+)\s*milli", re.IGNORECASE
)
_NOT_CONNECTED_RE = re.compile(r"User is authenticated but not connected", re.IGNORECASE)


def throttle_delay(text: str) -> float | None:
    """Seconds Office 365 asks us to wait ("Suggested Backoff Time: N milliseconds"), or None."""
    match = _THROTTLED_RE.search(text)
    return int(match.group(1)) / 1000.0 if match else None


def _error_text(exc: BaseException) -> str:
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode(errors="replace")
    return " ".join(str(detail).split())


def describe_server_answer(settings: ServerSettings, exc: BaseException) -> MailAccessError | None:
    """The Office 365 answers that need their own line (throttling, no mailbox access), or None."""
    where = f"{settings.host}:{settings.port}"
    text = _error_text(exc)
    delay = throttle_delay(text)
    if delay is not None:
        return MailAccessError(
            f'{where} is throttling this client ("Request is throttled"): waiting at least '
            f"{delay:.1f} s as it asks; too many connections or commands for this mailbox",
            retry_after=delay,
        )
    if _NOT_CONNECTED_RE.search(text):
        return MailAccessError(
            f"{settings.username!r} at {where}: the token was accepted but gives no access to "
            'this mailbox ("User is authenticated but not connected"): wrong permissions or '
            "scopes, admin consent missing, or no Add-MailboxPermission for the app's service "
            "principal; check that IMAP_USERNAME is the mailbox the token may open "
            "(docs/outlook.md)",
            retryable=False,
        )
    return None


def describe_connect_error(settings: ServerSettings, exc: BaseException) -> MailAccessError:
    """Turn low-level failures into the line a user can act on."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, MailAccessError):
        return exc
    special = describe_server_answer(settings, exc)
    if special is not None:
        return special
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
    if isinstance(exc, LoginError) and settings.auth == "oauth2":
        detail = _error_text(exc) or "AUTHENTICATE failed"
        return MailAccessError(
            f"OAuth2 token refused for {settings.username!r} at {where} ({detail}): the token "
            "is bad or expired, or issued for another tenant, app or resource; run `mailwatch "
            "auth login` again, or check OAUTH_CLIENT_ID / OAUTH_TENANT / the client secret",
            retryable=False,
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


def xoauth2_login(client: IMAPClient, user: str, token: str) -> None:
    """AUTHENTICATE XOAUTH2 (``user=...^Aauth=Bearer ...^A^A``) through imapclient's imaplib.

    Unlike ``IMAPClient.oauth2_login``, an error challenge (the server's base64 JSON after a
    refused token) is answered with an empty line, as the mechanism requires, so the server
    ends the exchange with its NO instead of a protocol error. Raises ``LoginError``.
    """
    payload = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    sent = False

    def respond(_challenge: bytes) -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return payload

    try:
        client._imap.authenticate("XOAUTH2", respond)  # raises unless OK; then state AUTH
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as exc:
        raise LoginError(str(exc)) from None


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
        # Folders for which the server volunteered news (EXISTS, FETCH...) during a command:
        # kept here so that mail arriving while a sync pass runs is acted on, not dropped.
        self.news: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def connect(self) -> None:
        s = self.settings
        context = ssl.create_default_context()
        client: IMAPClient | None = None
        try:
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "ssl",
                ssl_context=context if s.security == "ssl" else None,
                timeout=SocketTimeout(connect=min(self.timeout, 30.0), read=self.timeout),
            )
            client.normalise_times = False
            _quiet_imaplib(client)
            if s.security == "starttls":
                client.starttls(context)
            if s.auth == "oauth2":
                self._oauth2_login(client)
            else:
                client.login(s.username, s.password.reveal())
            self.capabilities = frozenset(
                c.decode(errors="replace").upper() for c in client.capabilities()
            )
            self.commands += 2
            if "ENABLE" in self.capabilities and "CONDSTORE" in self.capabilities:
                client.enable("CONDSTORE")
                self.commands += 1
        except Exception as exc:
            if client is not None:  # a half-open session is of no use: drop it
                with contextlib.suppress(Exception):
                    client.shutdown()
            if s.auth == "oauth2" and _NOT_CONNECTED_RE.search(_error_text(exc)):
                # Granting the permission changes the token's claims: take a new one next time.
                invalidate = getattr(self.token_provider, "invalidate", None)
                if invalidate is not None:
                    invalidate()
            if isinstance(exc, MailAccessError):
                raise
            raise describe_connect_error(s, exc) from exc
        self.client = client
        self.selected = None
        self.idling = False
        self.news.clear()

    def _oauth2_login(self, client: IMAPClient) -> None:
        """XOAUTH2 with the provider's token; a refused token is renewed and tried once more.

        A token that expired (or was revoked) while cached is only noticed here: the
        provider is told (``invalidate``) and asked for a fresh one, on the same link.
        The shared-mailbox case needs nothing special: ``user=`` is IMAP_USERNAME.
        """
        s = self.settings
        provider = self.token_provider
        if provider is None:
            raise MailAccessError(
                "IMAP_AUTH=oauth2 but no token source is set (OAUTH_FLOW and the OAUTH_* keys)",
                retryable=False,
            )
        token = provider()
        try:
            xoauth2_login(client, s.username, token)
            return
        except LoginError as exc:
            refused = exc
        invalidate = getattr(provider, "invalidate", None)
        if invalidate is None or describe_server_answer(s, refused) is not None:
            raise refused
        invalidate(token)
        log.info("IMAP login for %s: token refused, fetching a new one", s.username)
        fresh = provider()
        if fresh == token:
            raise refused
        xoauth2_login(client, s.username, fresh)

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
            result = fn(*args, **kwargs)
            self._collect_news(solicited_fetch=fn is _uid_fetch)
            return result
        except CONNECTION_ERRORS as exc:
            self.client = None
            raise describe_connect_error(self.settings, exc) from exc
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            # Throttling and "authenticated but not connected" can answer any command.
            special = describe_server_answer(self.settings, exc)
            if special is None:
                raise
            raise special from exc

    def _collect_news(self, solicited_fetch: bool = False) -> None:
        """Move unsolicited news the server sent during the last command into ``news``.

        imaplib files untagged responses by name and only the command that asked for one
        takes it; an ``* 12 EXISTS`` that comes in the middle of a FETCH or a SEARCH stays
        there, and the next SELECT throws it away. The answer to our own FETCH is taken by
        that FETCH, so a FETCH left over after it is a flag change the server announced.
        """
        client = self.client
        if client is None or self.selected is None:
            return
        pending = client._imap.untagged_responses
        for name in NEWS_RESPONSES:
            if name == "FETCH" and solicited_fetch:
                continue
            if pending.pop(name, None) is not None:
                self.news.add(self.selected)

    def take_news(self, folder: str | None = None) -> bool:
        """Whether news came for ``folder`` (any folder when None) since the last call."""
        if folder is None:
            found = bool(self.news)
            self.news.clear()
            return found
        if folder in self.news:
            self.news.discard(folder)
            return True
        return False

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
        self.selected = None  # the SELECT's own EXISTS/RECENT are its answer, not news
        info = self._call(self.client.select_folder, name, readonly=True)
        pending = self.client._imap.untagged_responses if self.client is not None else {}
        for response in NEWS_RESPONSES:
            pending.pop(response, None)
        self.news.discard(name)  # this answer is the folder's state as of now
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

    def search(self, criteria: list[Any]) -> list[int]:
        """UID SEARCH in the selected folder, e.g. ``["HEADER", "Message-ID", "<id@host>"]``."""
        assert self.client is not None
        return sorted(self._call(self.client.search, criteria))

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ()) -> None:
        """APPEND one message (the outbox's copy in Sent); needs no selected folder."""
        assert self.client is not None
        self._call(self.client.append, folder, raw, flags=list(flags))

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
            # A line may already sit in imaplib's read buffer (e.g. "* 7 EXISTS" that came in
            # the same packet as "+ idling"): the socket then looks quiet, so look there first.
            if not _buffered(client):
                events = poller.poll(int(timeout * 1000))
                if not events:
                    return []
        except (OSError, ValueError) as exc:
            self.client = None
            raise describe_connect_error(self.settings, exc) from exc
        responses = []
        try:
            while True:
                line = client._imap._get_line()
                responses.append(_untagged(line))
                if not _buffered(client) and not poller.poll(50):
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


def _untagged(line: bytes) -> Any:
    """One line the server sent during IDLE, in the shape imapclient's ``idle_check`` gives:
    ``(b"OK", b"text")`` for a status line, else the parsed atoms (``(7, b"EXISTS")``)."""
    if not line.startswith(b"* "):
        raise ProtocolError(f"not an untagged response during IDLE: {line[:80]!r}")
    text = line[2:]
    if text.startswith((b"OK ", b"NO ")):
        return tuple(text.split(b" ", 1))
    return parse_response([text])


def _buffered(client: IMAPClient) -> bool:
    """Whether bytes the server sent are already read into imaplib's buffer (or TLS's).

    ``select``/``poll`` see only the socket; data that a previous ``readline`` pulled into
    the buffered reader along with the line it wanted is invisible to them. A peek with the
    socket briefly non-blocking returns what is buffered, or nothing, without waiting.
    """
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    reader = client._imap.file
    timeout = sock.gettimeout()
    try:
        sock.setblocking(False)
        return bool(reader.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    finally:
        sock.settimeout(timeout)


def _quiet_imaplib(client: IMAPClient) -> None:
    """Stop imaplib formatting a debug trace that nobody reads.

    imapclient sets imaplib's debug level to 5 and sends it to the "imapclient.imaplib"
    logger; imaplib then builds the repr of every response line, every regex match and
    every literal (a whole header block or text prefix) before the logger drops it: about
    a tenth of a backfill. The trace stays on when that logger does log DEBUG.
    """
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


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
    return parse_fetch(data, client.normalise_times)


def parse_fetch(data: list[Any], normalise_times: bool = True) -> dict[int, dict[bytes, Any]]:
    """imapclient's ``parse_fetch_response(data, normalise_times, uid_is_key=True)``, faster.

    imapclient's lexer walks the response one byte at a time in Python, which was a sixth
    of a backfill. ``_fast_fetch`` cuts it into tokens with one regex and builds the same
    values (the same conversions, done by imapclient's own helpers). Anything it is not
    sure about (a quote glued to an atom, a literal marker not at the end of its record,
    a stray parenthesis...) raises, and imapclient's parser takes over: it returns the same
    result, or raises the same ``ProtocolError`` as it always did.
    """
    try:
        return _fast_fetch(data, normalise_times)
    except Exception:
        parsed: dict[int, dict[bytes, Any]] = parse_fetch_response(data, normalise_times, True)
        return parsed


# imapclient's lexer: white space is space, tab, CR, LF; an atom is a run of anything but
# ' ()%"[' and control characters, where "[...]" (up to the first "]") also counts; a
# quoted string has backslash escapes; "(", ")", "%" and other control characters stand
# alone. A quote right after an atom is a protocol error there (group "glued" here).
_FETCH_TOKEN = re.compile(
    rb'[ \t\r\n]*(?:("(?:[^"\\]|\\.)*")|((?:[^ ()%"\[\x00-\x1f]|\[[^\]]*\])+)(")?'
    rb"|([()%\x00-\x08\x0b\x0c\x0e-\x1f])|(.))",
    re.DOTALL,
)  # each match: white space, then one token (only trailing white space is left over)
_QUOTED_ESCAPE = re.compile(rb'\\([\\"])')


def _fetch_atoms(data: list[Any]) -> list[Any]:
    """The top-level atoms of a FETCH response, with tuples nested as imapclient nests them."""
    stack: list[list[Any]] = [[]]
    out = stack[-1]
    for record in data:
        if isinstance(record, tuple):
            text, literal = record
            if not text.endswith(b"}"):
                raise ValueError("literal record without a {n} marker")
        else:
            text, literal = record, None
        tokens = _FETCH_TOKEN.findall(text)
        last = len(tokens) - 1
        for index, (quoted, atom, glued, punct, junk) in enumerate(tokens):
            if atom:
                if glued:
                    raise ValueError("a quote glued to an atom")
                if atom == b"NIL":
                    out.append(None)
                elif atom[:1] == b"{":
                    if literal is None or index != last or len(literal) != int(atom[1:-1]):
                        raise ValueError("literal does not match its marker")
                    out.append(literal)
                elif atom.isdigit() and (atom[:1] != b"0" or len(atom) == 1):
                    out.append(int(atom))
                else:
                    out.append(atom)
            elif quoted:
                inner = quoted[1:-1]
                out.append(_QUOTED_ESCAPE.sub(rb"\1", inner) if b"\\" in inner else inner)
            elif punct == b"(":
                stack.append([])
                out = stack[-1]
            elif punct == b")":
                if len(stack) == 1:
                    raise ValueError("unbalanced )")
                done = tuple(stack.pop())
                out = stack[-1]
                out.append(done)
            elif punct:
                out.append(punct)
            elif junk:
                raise ValueError("unreadable byte")
    if len(stack) != 1:
        raise ValueError("unbalanced (")
    return out


def _fast_fetch(data: list[Any], normalise_times: bool) -> dict[int, dict[bytes, Any]]:
    if data == [None]:
        return defaultdict()
    atoms = _fetch_atoms(data)
    if len(atoms) % 2:
        raise ValueError("a message number without its data")
    result: defaultdict[int, dict[bytes, Any]] = defaultdict(dict)
    for i in range(0, len(atoms), 2):
        seq, items = atoms[i], atoms[i + 1]
        if type(seq) is not int or type(items) is not tuple or len(items) % 2:
            raise ValueError("not a FETCH response")
        msg_id = seq
        msg: dict[bytes, Any] = {b"SEQ": seq}
        for j in range(0, len(items), 2):
            name, value = items[j], items[j + 1]
            if type(name) is not bytes:
                raise ValueError("not an item name")
            word = name.upper()
            if word == b"UID":
                if type(value) is not int:
                    raise ValueError("not a UID")
                msg_id = value
            elif word == b"INTERNALDATE":
                msg[word] = _convert_INTERNALDATE(value, normalise_times)
            elif word == b"ENVELOPE":
                msg[word] = _convert_ENVELOPE(value, normalise_times)
            elif word in (b"BODY", b"BODYSTRUCTURE"):
                msg[word] = BodyData.create(value)
            else:
                msg[word] = value
        result[msg_id].update(msg)
    return result
