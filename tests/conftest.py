"""Shared pytest fixtures: real Dovecot and PostgreSQL servers, and a link-cutting proxy.

Servers are session-scoped (each starts in well under a second) and every test gets its own
fresh mailbox (:func:`imap_user`) or database (:func:`pg_url`), so tests stay isolated
without paying for a server per test.

A missing ``dovecot``/``initdb`` (or not being root) skips the server tests LOUDLY on a
developer machine and FAILS them when ``CI=true``: see ``tests/servers/common.py``.
Tests using these fixtures are automatically marked ``dovecot`` / ``postgres``, so
``-m "not dovecot and not postgres"`` runs the pure unit tests only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.common import LOUD_SKIPS, require_binary, require_root
from tests.servers.dovecot import DovecotServer, ImapAccount, Profile
from tests.servers.postgres import PG_BIN_DIR, PostgresServer
from tests.servers.proxy import CuttingProxy, ProxyFactory
from tests.servers.smtp import SmtpServer

_DOVECOT_FIXTURES = {"dovecot", "dovecot_o365", "imap_user", "imap_user_o365"}
_POSTGRES_FIXTURES = {"postgres", "pg_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the servers they use, so they can be selected with ``-m``."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _DOVECOT_FIXTURES:
            item.add_marker(pytest.mark.dovecot)
        if names & _POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat loud server skips at the very end, where nobody can miss them."""
    if LOUD_SKIPS:
        terminalreporter.write_sep("!", "REAL-SERVER TESTS WERE SKIPPED", red=True, bold=True)
        for reason in LOUD_SKIPS:
            terminalreporter.write_line(reason, red=True, bold=True)


def _start_dovecot(profile: Profile) -> DovecotServer:
    require_root("Dovecot test server")
    require_binary("dovecot", "Dovecot (apt install dovecot-imapd)")
    require_binary("doveadm", "Dovecot (apt install dovecot-imapd)")
    return DovecotServer(profile=profile).start()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Dovecot with its full capabilities; users sales@ and support@example.com / 'secret'."""
    server = _start_dovecot("full")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot_o365() -> Iterator[DovecotServer]:
    """Dovecot advertising exactly Exchange Online's capabilities (no CONDSTORE/SPECIAL-USE)."""
    server = _start_dovecot("o365")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_user(dovecot: DovecotServer, request: pytest.FixtureRequest) -> ImapAccount:
    """A brand-new user with an empty mailbox on the ``dovecot`` (full) server."""
    return dovecot.new_account(prefix=request.node.name)


@pytest.fixture
def imap_user_o365(dovecot_o365: DovecotServer, request: pytest.FixtureRequest) -> ImapAccount:
    """A brand-new user with an empty mailbox on the ``dovecot_o365`` server."""
    return dovecot_o365.new_account(prefix=request.node.name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL 15 cluster on a free loopback port (trust auth, fsync off)."""
    require_root("PostgreSQL test server")
    require_binary(str(PG_BIN_DIR / "initdb"), "PostgreSQL 15 (apt install postgresql-15)")
    require_binary(str(PG_BIN_DIR / "pg_ctl"), "PostgreSQL 15 (apt install postgresql-15)")
    require_binary("runuser", "util-linux runuser")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database; dropped (forcefully) after the test."""
    url = postgres.create_database()
    try:
        yield url
    finally:
        postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def proxy_factory() -> Iterator[ProxyFactory]:
    """Make ``CuttingProxy(target_host, target_port)`` instances, all closed after the test."""
    proxies: list[CuttingProxy] = []

    def make(target_host: str, target_port: int) -> CuttingProxy:
        proxy = CuttingProxy(target_host, target_port)
        proxies.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy.close()


# -- SMTP (aiosmtpd is a Python package: nothing to skip) --------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A recording aiosmtpd server on a free loopback port (see tests/servers/smtp.py)."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


# -- Chromium through Playwright (Debian's chromium; Playwright never downloads a browser) ------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium per test module: skipped loudly without it, FAILS under CI=true."""
    path = require_binary(CHROMIUM, "Chromium (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        from tests.servers.common import skip_or_fail

        skip_or_fail("Playwright for Python (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
