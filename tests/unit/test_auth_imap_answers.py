"""Office 365's IMAP answers, through the real connect path, from a scripted loopback server.

Dovecot cannot say "User is authenticated but not connected" or "Request is throttled", so a
tiny server plays Exchange Online's lines here: each test gives the answer to AUTHENTICATE
(per attempt) and to the first command after it.
"""

from __future__ import annotations

import base64
import imaplib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from imapclient.exceptions import LoginError

from mailwatch.config import Secret, ServerSettings
from mailwatch.mail.imap import (
    ImapConnection,
    MailAccessError,
    describe_connect_error,
    describe_server_answer,
    throttle_delay,
)


class ScriptedImap:
    """Greets, answers CAPABILITY, plays AUTHENTICATE XOAUTH2 answers from a list."""

    def __init__(self, auth_answers: list[str], after_auth: str | None = None) -> None:
        self.auth_answers = list(auth_answers)
        self.after_auth = after_auth
        self.tokens: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._session(conn.makefile("rwb", buffering=0))

    def _session(self, io: Any) -> None:
        io.write(b"* OK The Microsoft Exchange IMAP4 service is ready. [test]\r\n")
        authenticated = False
        while True:
            line = io.readline()
            if not line:
                return
            tag, _, rest = line.decode().strip().partition(" ")
            command = rest.split(" ")[0].upper()
            if command == "CAPABILITY":
                io.write(
                    b"* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS "
                    b"ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+\r\n"
                    + f"{tag} OK CAPABILITY completed.\r\n".encode()
                )
            elif command == "AUTHENTICATE":
                io.write(b"+ \r\n")
                payload = base64.b64decode(io.readline().strip())
                fields = dict(p.split("=", 1) for p in payload.decode().split("\x01") if "=" in p)
                self.tokens.append(fields.get("auth", "").removeprefix("Bearer "))
                answer = self.auth_answers.pop(0) if self.auth_answers else "OK"
                if answer == "OK":
                    authenticated = True
                    io.write(f"{tag} OK AUTHENTICATE completed.\r\n".encode())
                else:
                    io.write(f"{tag} {answer}\r\n".encode())
            elif command == "LOGOUT":
                io.write(f"* BYE\r\n{tag} OK LOGOUT completed.\r\n".encode())
                return
            elif authenticated and self.after_auth is not None:
                io.write(f"{tag} {self.after_auth}\r\n".encode())
            else:
                io.write(f"{tag} OK {command} completed.\r\n".encode())

    def close(self) -> None:
        self.sock.close()


class Tokens:
    """A provider that hands out tok-1, tok-2, ... and records invalidations."""

    def __init__(self) -> None:
        self.current = 1
        self.invalidated: list[str | None] = []

    def __call__(self) -> str:
        return f"tok-{self.current}"

    def invalidate(self, token: str | None = None) -> None:
        self.invalidated.append(token)
        self.current += 1


def settings(port: int) -> ServerSettings:
    return ServerSettings("127.0.0.1", port, "none", "sales@contoso.com", Secret(""), "oauth2")


@pytest.fixture
def server_factory() -> Iterator[type[ScriptedImap]]:
    made: list[ScriptedImap] = []

    class Factory(ScriptedImap):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    yield Factory
    for server in made:
        server.close()


def test_throttle_delay_parsing():
    line = "UID => Request is throttled. Suggested Backoff Time: 92415 milliseconds"
    assert throttle_delay(line) == pytest.approx(92.415)
    assert throttle_delay("BAD Request is throttled. Suggested Backoff Time: 0 milliseconds") == 0
    assert throttle_delay("request is THROTTLED suggested backoff time: 250 Milliseconds") == 0.25
    assert throttle_delay("BAD Command Error. 10") is None
    assert throttle_delay("") is None


def test_describe_server_answers_one_line_each():
    s = settings(993)
    throttled = describe_server_answer(
        s,
        imaplib.IMAP4.error(
            "select failed: Request is throttled. Suggested Backoff Time: 2500 milliseconds"
        ),
    )
    assert throttled is not None and throttled.retry_after == 2.5 and throttled.retryable
    not_connected = describe_server_answer(
        s,
        imaplib.IMAP4.error(
            "LIST command error: BAD [b'User is authenticated but not connected.']"
        ),
    )
    assert not_connected is not None and not not_connected.retryable
    assert not_connected.retry_after is None
    refused = describe_connect_error(s, LoginError("AUTHENTICATE failed."))
    assert not refused.retryable
    texts = [str(throttled), str(not_connected), str(refused)]
    assert all("\n" not in t for t in texts)
    assert "waiting at least 2.5 s" in texts[0]
    assert "not connected" in texts[1] and "permissions" in texts[1]
    assert "token refused" in texts[2] and "bad or expired" in texts[2]
    assert len(set(texts)) == 3
    # A password login keeps its old line.
    password = ServerSettings("h", 993, "ssl", "u", Secret("p"), "password")
    assert "token" not in str(describe_connect_error(password, LoginError("LOGIN failed.")))
    assert describe_server_answer(s, imaplib.IMAP4.error("NO [NONEXISTENT] Unknown folder")) is None


def test_login_with_good_token(server_factory):
    server = server_factory(["OK"])
    tokens = Tokens()
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=tokens)
    conn.connect()
    assert "IDLE" in conn.capabilities
    conn.close()
    assert server.tokens == ["tok-1"] and tokens.invalidated == []


def test_refused_token_is_renewed_once_on_the_same_link(server_factory):
    server = server_factory(["NO AUTHENTICATE failed.", "OK"])
    tokens = Tokens()
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=tokens)
    conn.connect()
    conn.close()
    assert server.tokens == ["tok-1", "tok-2"]
    assert tokens.invalidated == ["tok-1"]


def test_token_refused_twice_is_one_clear_line(server_factory):
    server = server_factory(["NO AUTHENTICATE failed.", "NO AUTHENTICATE failed."])
    tokens = Tokens()
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=tokens)
    with pytest.raises(MailAccessError) as info:
        conn.connect()
    message = str(info.value)
    assert message.startswith("OAuth2 token refused for 'sales@contoso.com'")
    assert "AUTHENTICATE failed" in message and "\n" not in message
    assert "tok-" not in message
    assert not info.value.retryable and conn.client is None


def test_throttled_authenticate_carries_retry_after(server_factory):
    server = server_factory(["BAD Request is throttled. Suggested Backoff Time: 1500 milliseconds"])
    tokens = Tokens()
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=tokens)
    with pytest.raises(MailAccessError) as info:
        conn.connect()
    assert info.value.retry_after == 1.5
    assert tokens.invalidated == []  # throttling says nothing about the token


def test_authenticated_but_not_connected(server_factory):
    server = server_factory(["OK"], after_auth="BAD User is authenticated but not connected.")
    tokens = Tokens()
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=tokens)
    conn.connect()  # capabilities were cached before login: the next command meets it
    with pytest.raises(MailAccessError) as info:
        conn.list_folders()
    assert "User is authenticated but not connected" in str(info.value)
    assert not info.value.retryable
    conn.close()


def test_throttled_command_after_login(server_factory):
    server = server_factory(
        ["OK"], after_auth="BAD Request is throttled. Suggested Backoff Time: 300 milliseconds"
    )
    conn = ImapConnection(settings(server.port), timeout=5, token_provider=Tokens())
    conn.connect()
    with pytest.raises(MailAccessError) as info:
        conn.examine("INBOX")
    assert info.value.retry_after == pytest.approx(0.3)
    conn.close()


def test_oauth2_without_token_source_says_so(server_factory):
    server = server_factory([])
    conn = ImapConnection(settings(server.port), timeout=5)
    with pytest.raises(MailAccessError, match="no token source") as info:
        conn.connect()
    assert not info.value.retryable and server.tokens == []
