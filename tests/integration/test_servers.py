"""Prove that the real-server fixtures really work.

Why: every integration test of mailwatch trusts these fixtures; if e.g. the o365 profile
silently advertised CONDSTORE, or a "UIDVALIDITY change" kept the old UIDVALIDITY, whole
families of tests would pass for the wrong reason.
"""

from __future__ import annotations

import imaplib
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, text

from tests.servers import common
from tests.servers.common import free_port, require_binary, wait_for_port
from tests.servers.dovecot import SPECIAL_FOLDERS, DovecotServer, ImapAccount
from tests.servers.postgres import PostgresServer
from tests.servers.proxy import CuttingProxy, ProxyFactory

pytestmark = pytest.mark.timeout(60)


def _message(n: int, subject: str = "Test") -> bytes:
    return (
        f"From: Client {n} <client{n}@example.org>\r\n"
        f"To: sales@example.com\r\n"
        f"Subject: {subject} {n}\r\n"
        f"Message-ID: <msg-{n}@example.org>\r\n"
        f"Date: Mon, 02 Jun 2025 10:00:00 +0000\r\n"
        f"\r\n"
        f"Body of message {n}.\r\n"
    ).encode()


def _folders(client: IMAPClient) -> dict[str, tuple[bytes, ...]]:
    return {name: tuple(flags) for flags, _sep, name in client.list_folders()}


# ---------------------------------------------------------------------- Dovecot


def test_full_profile_capabilities_and_special_use(imap_user: ImapAccount) -> None:
    with imap_user.client() as client:
        caps = set(client.capabilities())
        assert {b"CONDSTORE", b"QRESYNC", b"SPECIAL-USE", b"IDLE", b"UIDPLUS"} <= caps
        folders = _folders(client)
    assert set(SPECIAL_FOLDERS) | {"INBOX"} <= set(folders)
    for name, attribute in SPECIAL_FOLDERS.items():
        assert attribute.encode() in folders[name], (name, folders[name])


def test_o365_profile_capabilities(imap_user_o365: ImapAccount) -> None:
    with IMAPClient(imap_user_o365.host, imap_user_o365.port, ssl=False, timeout=10) as client:
        pre_login = set(client.capabilities())
        assert b"AUTH=PLAIN" in pre_login
        client.login(imap_user_o365.username, imap_user_o365.password)
        caps = set(client.capabilities())
        folders = _folders(client)
    assert caps == {
        b"IMAP4REV1", b"IDLE", b"UIDPLUS", b"LITERAL+", b"SASL-IR", b"ID",
        b"UNSELECT", b"CHILDREN", b"NAMESPACE", b"MOVE",
    }  # fmt: skip
    assert not caps & {b"CONDSTORE", b"QRESYNC", b"SPECIAL-USE", b"ENABLE"}
    assert "Sent Items" in folders
    assert b"\\Sent" not in folders["Sent Items"], "o365 profile must not leak special-use"


def test_default_users_can_log_in(dovecot: DovecotServer) -> None:
    assert {"sales@example.com", "support@example.com"} <= set(dovecot.users)
    for user in dovecot.users:
        with dovecot.client(user) as client:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] >= 0
    assert "Login: user=<sales@example.com>" in dovecot.log()


def test_wrong_password_is_rejected(imap_user: ImapAccount) -> None:
    with (
        IMAPClient(imap_user.host, imap_user.port, ssl=False, timeout=10) as client,
        pytest.raises(imaplib.IMAP4.error),
    ):
        client.login(imap_user.username, "wrong")


@pytest.mark.parametrize("profile", ["full", "o365"])
def test_append_fetch_round_trip(
    profile: str, imap_user: ImapAccount, imap_user_o365: ImapAccount
) -> None:
    account = imap_user if profile == "full" else imap_user_o365
    server = account.server
    when = datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC)
    raw = _message(1)
    uid = server.append(account.username, "Sent Items", raw, flags=[b"\\Seen"], internal_date=when)
    second = server.append(account.username, "Sent Items", _message(2))
    assert second > uid
    with account.client() as client:
        client.select_folder("Sent Items", readonly=True)
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])[uid]
    assert data[b"BODY[]"] == raw
    assert b"\\Seen" in data[b"FLAGS"]
    assert data[b"INTERNALDATE"].astimezone(UTC) == when


def test_set_flags_is_visible_to_a_second_connection(imap_user: ImapAccount) -> None:
    server, user = imap_user.server, imap_user.username
    uid = server.append(user, "INBOX", _message(1))
    with imap_user.client() as watcher:
        watcher.select_folder("INBOX")
        assert b"\\Flagged" not in watcher.fetch([uid], ["FLAGS"])[uid][b"FLAGS"]
        flags = server.set_flags(user, "INBOX", uid, [b"\\Seen", b"\\Flagged"])
        assert {b"\\Seen", b"\\Flagged"} <= set(flags)
        seen = set(watcher.fetch([uid], ["FLAGS"])[uid][b"FLAGS"])
    assert {b"\\Seen", b"\\Flagged"} <= seen


@pytest.mark.parametrize("folder", ["INBOX", "Sent Items"])
def test_recreate_folder_changes_uidvalidity(imap_user: ImapAccount, folder: str) -> None:
    server, user = imap_user.server, imap_user.username
    uids = [server.append(user, folder, _message(n), flags=[b"\\Seen"]) for n in range(3)]
    result = server.recreate_folder_with_new_uidvalidity(user, folder)
    assert result.new_uidvalidity != result.old_uidvalidity
    assert sorted(result.uid_map) == uids
    assert not set(result.uid_map.values()) & set(uids), "new UIDs must differ from old ones"
    with imap_user.client() as client:
        info = client.select_folder(folder, readonly=True)
        assert info[b"UIDVALIDITY"] == result.new_uidvalidity
        assert info[b"EXISTS"] == 3
        fetched = client.fetch(list(result.uid_map.values()), ["BODY.PEEK[]", "FLAGS"])
    for n, old_uid in enumerate(uids):
        data = fetched[result.uid_map[old_uid]]
        assert data[b"BODY[]"] == _message(n)
        assert b"\\Seen" in data[b"FLAGS"]


def test_bulk_load_maildir(imap_user: ImapAccount) -> None:
    server, user = imap_user.server, imap_user.username
    started = time.monotonic()
    count = server.bulk_load_maildir(user, "INBOX", (_message(n) for n in range(500)))
    elapsed = time.monotonic() - started
    assert count == 500
    assert elapsed < 5, f"bulk load of 500 messages took {elapsed:.1f}s"
    with imap_user.client() as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 500
        uids = client.search("ALL")
        first, last = min(uids), max(uids)
        data = client.fetch([first, last], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    # UIDs follow the order the messages were given in.
    assert b"<msg-0@example.org>" in data[first][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]
    assert b"<msg-499@example.org>" in data[last][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]


def test_bulk_load_into_o365_sent_items_with_flags(imap_user_o365: ImapAccount) -> None:
    server, user = imap_user_o365.server, imap_user_o365.username
    server.bulk_load_maildir(user, "Sent Items", [_message(1), _message(2)], flags=[b"\\Seen"])
    with imap_user_o365.client() as client:
        client.select_folder("Sent Items", readonly=True)
        flags = client.fetch(client.search("ALL"), ["FLAGS"])
    assert len(flags) == 2
    assert all(b"\\Seen" in item[b"FLAGS"] for item in flags.values())


# ---------------------------------------------------------------------- PostgreSQL


def test_postgres_select_1(pg_url: str, postgres: PostgresServer) -> None:
    assert pg_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/")
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
            # A fresh database per test: no user tables.
            tables = conn.execute(
                text("select count(*) from pg_tables where schemaname = 'public'")
            ).scalar_one()
            assert tables == 0
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- proxy


def test_proxy_forwards(imap_user: ImapAccount, proxy_factory: ProxyFactory) -> None:
    proxy = proxy_factory(imap_user.host, imap_user.port)
    uid = imap_user.server.append(imap_user.username, "INBOX", _message(7))
    with imap_user.connect_via(proxy.host, proxy.port) as client:
        client.select_folder("INBOX", readonly=True)
        body = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        assert proxy.active_connections == 1
    assert body == _message(7)


def test_proxy_cut_after_server_bytes_delivers_exactly_n_bytes(
    imap_user: ImapAccount, proxy_factory: ProxyFactory
) -> None:
    proxy = proxy_factory(imap_user.host, imap_user.port)
    with socket.create_connection(proxy.address, timeout=5) as raw:
        greeting = raw.recv(4096)
        assert greeting.startswith(b"* OK")
        proxy.cut_after_server_bytes(10)
        raw.sendall(b"a1 CAPABILITY\r\n")
        received = b""
        while chunk := raw.recv(4096):
            received += chunk
    assert received == b"* CAPABILI"


def test_proxy_close_stops_its_threads(imap_user: ImapAccount) -> None:
    proxy = CuttingProxy(imap_user.host, imap_user.port)
    client = imap_user.connect_via(*proxy.address)
    proxy.blackhole()  # even paused pumps must notice close()
    proxy.close()
    client.shutdown()
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("proxy-")]
    assert leftovers == []


def test_proxy_cut_all_breaks_a_blocked_call(
    imap_user: ImapAccount, proxy_factory: ProxyFactory
) -> None:
    proxy = proxy_factory(imap_user.host, imap_user.port)
    client = imap_user.connect_via(proxy.host, proxy.port, timeout=30)
    try:
        client.select_folder("INBOX")
        proxy.blackhole()  # the NOOP below now blocks, waiting for an answer
        timer = threading.Timer(0.3, proxy.cut_all)
        timer.start()
        started = time.monotonic()
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            client.noop()
        timer.join()
        assert time.monotonic() - started < 5, "the cut must end the call, not a timeout"
    finally:
        client.shutdown()
    proxy.restore()
    # The proxy still accepts new connections after a cut.
    with imap_user.connect_via(proxy.host, proxy.port) as again:
        assert again.noop() is not None


def test_proxy_cut_ends_idle(imap_user: ImapAccount, proxy_factory: ProxyFactory) -> None:
    """imapclient's idle_check() swallows EOF (returns []); the next command raises."""
    proxy = proxy_factory(imap_user.host, imap_user.port)
    client = imap_user.connect_via(proxy.host, proxy.port, timeout=30)
    try:
        client.select_folder("INBOX")
        client.idle()
        threading.Timer(0.3, proxy.cut_all).start()
        started = time.monotonic()
        assert client.idle_check(timeout=20) == []
        assert time.monotonic() - started < 5
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            client.idle_done()
    finally:
        client.shutdown()


def test_proxy_cut_after_server_bytes_kills_a_fetch(
    imap_user: ImapAccount,
    proxy_factory: ProxyFactory,
) -> None:
    big = _message(1) + b"x" * 200_000 + b"\r\n"
    uid = imap_user.server.append(imap_user.username, "INBOX", big)
    proxy = proxy_factory(imap_user.host, imap_user.port)
    client = imap_user.connect_via(proxy.host, proxy.port)
    try:
        client.select_folder("INBOX", readonly=True)
        proxy.cut_after_server_bytes(50_000)
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            client.fetch([uid], ["BODY.PEEK[]"])
    finally:
        client.shutdown()


def test_proxy_blackhole_times_out_then_restore(
    imap_user: ImapAccount, proxy_factory: ProxyFactory
) -> None:
    proxy = proxy_factory(imap_user.host, imap_user.port)
    client = imap_user.connect_via(proxy.host, proxy.port, timeout=1.0)
    try:
        client.select_folder("INBOX", readonly=True)
        proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            client.noop()
        assert 0.8 < time.monotonic() - started < 5
    finally:
        client.shutdown()
    proxy.cut_all()
    proxy.restore()
    with imap_user.connect_via(proxy.host, proxy.port, timeout=5) as fresh:
        assert fresh.noop() is not None


# ---------------------------------------------------------------------- helpers


def test_free_port_and_wait_for_port() -> None:
    port = free_port()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout=0.2)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        wait_for_port("127.0.0.1", port, timeout=2)


def test_require_binary_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "LOUD_SKIPS", [])  # keep the real summary clean
    assert require_binary("sh", "POSIX shell").endswith("sh")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="REAL-SERVER TEST NOT RUN"):
        require_binary("/nonexistent/dovecot", "Dovecot")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_binary("no-such-binary-mailwatch", "Dovecot")
