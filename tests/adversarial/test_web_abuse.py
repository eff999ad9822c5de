"""Issue #16, attack 8 and 9, against the real web server (uvicorn as `mailwatch run` builds it,
Chromium for the browser parts):

- a session cookie copied before logout is dead afterwards, and every login dies when the
  password changes (server-side sessions);
- wrong passwords back off exponentially per client, and never lock out the real user from
  another address; a spoofed X-Forwarded-For changes nothing unless it comes from a proxy
  named in WEB_TRUSTED_PROXIES;
- a weak password is refused when the page is reachable from other machines;
- digest links use PUBLIC_URL, and never 0.0.0.0.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailwatch.config import ConfigError, settings_from_values
from mailwatch.digest.links import draft_link, public_base
from mailwatch.service.main import web_server
from mailwatch.store.db import make_engine, session_factory, upgrade
from tests.helpers import sqlite_url
from tests.servers.common import free_port

PASSWORD = "correct horse battery staple"
SECRET = "web-secret-for-tests-0123456789abcdef"


def _settings(tmp_path: Path, **extra: str) -> Any:
    values = {
        "MAILWATCH_DATABASE_URL": sqlite_url(tmp_path),
        "MAILWATCH_IMAP_HOST": "127.0.0.1",
        "MAILWATCH_IMAP_SECURITY": "none",
        "MAILWATCH_IMAP_USERNAME": "sales@example.com",
        "MAILWATCH_IMAP_PASSWORD": "x",
        "MAILWATCH_WEB_PASSWORD": PASSWORD,
        "MAILWATCH_WEB_SECRET": SECRET,
        **{f"MAILWATCH_{k.upper()}": v for k, v in extra.items()},
    }
    return settings_from_values(values)


class Served:
    """``web_server(settings, factory)`` (the service's own uvicorn set-up) in a thread."""

    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.port = free_port()
        self.settings = _settings(tmp_path, web_bind=f"127.0.0.1:{self.port}", **extra)
        self.engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.server = web_server(self.settings, session_factory(self.engine))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no web server"
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.engine.dispose()


def _post_login(
    served: Served, password: str, source: str = "127.0.0.1", forwarded: str | None = None
) -> int:
    """A login form sent from ``source`` (a loopback address of our choice): its status."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", served.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request("GET", "/login")
        page = conn.getresponse()
        body = page.read().decode()
        cookie = page.getheader("set-cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', body)
        assert token is not None
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "password": password})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
        }
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        conn.request("POST", "/login", body=form, headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with Served(tmp_path) as s:
        yield s


def _login(page: Any, url: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/drafts$"))


def test_a_cookie_copied_before_logout_is_dead_after_it(served, browser):
    first = browser.new_context()
    thief = browser.new_context()
    try:
        page = first.new_page()
        _login(page, served.url)
        copied = first.cookies()
        assert any(c["name"] == "mailwatch_session" for c in copied)
        thief.add_cookies(copied)
        stolen = thief.new_page()
        stolen.goto(served.url + "/drafts")
        assert stolen.url.endswith("/drafts")  # the copy works while the login lives
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login"))
        stolen.goto(served.url + "/drafts")
        assert "/login" in stolen.url  # ...and not after the logout
    finally:
        first.close()
        thief.close()


def test_a_password_change_ends_every_login(tmp_path, browser):
    context = browser.new_context()
    try:
        with Served(tmp_path) as before:
            page = context.new_page()
            _login(page, before.url)
            port = before.port
        cookies = context.cookies()
        # The same database, restarted with another password on the same address.
        settings_dir = tmp_path
        after = Served.__new__(Served)
        after.port = port
        after.settings = _settings(
            settings_dir, web_bind=f"127.0.0.1:{port}", web_password="another long passphrase"
        )
        after.engine = make_engine(after.settings.database_url)
        after.server = web_server(after.settings, session_factory(after.engine))
        after.thread = threading.Thread(target=after.server.run, daemon=True)
        with after:
            context.add_cookies(cookies)
            page = context.new_page()
            page.goto(after.url + "/drafts")
            assert "/login" in page.url
    finally:
        context.close()


def test_wrong_passwords_back_off_per_client_and_never_lock_out_the_user(served):
    statuses = [_post_login(served, f"guess-{i}", source="127.0.0.2") for i in range(6)]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]  # the attacker now waits, and longer each time
    # Spoofed X-Forwarded-For from an untrusted client: still the same client.
    for i in range(5):
        assert _post_login(served, "guess", "127.0.0.2", forwarded=f"203.0.113.{i}") == 429
    # The real user, from another address, logs in at once: no global lock.
    assert _post_login(served, PASSWORD, source="127.0.0.1") == 303


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path):
    with Served(tmp_path, web_trusted_proxies="127.0.0.3") as served:
        # Through the trusted proxy, each forwarded client is its own client.
        for _ in range(4):
            _post_login(served, "guess", source="127.0.0.3", forwarded="198.51.100.9")
        assert _post_login(served, "guess", "127.0.0.3", forwarded="198.51.100.9") == 429
        assert _post_login(served, PASSWORD, "127.0.0.3", forwarded="198.51.100.10") == 303
        # Not through it: the header is ignored.
        for _ in range(4):
            _post_login(served, "guess", source="127.0.0.4", forwarded="198.51.100.11")
        assert _post_login(served, "guess", "127.0.0.4", forwarded="198.51.100.12") == 429


@pytest.mark.parametrize("password", ["a", "short1!", "aaaaaaaaaaaaaaaa", "password123456"])
def test_a_weak_password_is_refused_when_the_page_is_remote(tmp_path, password):
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, web_bind="0.0.0.0:8025", web_allow_remote="true", web_password=password)
    assert "WEB_PASSWORD" in str(refused.value) and repr(password) not in str(refused.value)
    # On loopback only the login is still required, not a long one.
    assert _settings(tmp_path, web_password=password).web_password.reveal() == password


def test_digest_links_never_point_at_a_wildcard_address(tmp_path):
    remote = _settings(tmp_path, web_bind="0.0.0.0:8025", web_allow_remote="true")
    link = draft_link(public_base(remote.public_url, remote.web_bind), 7)
    assert "0.0.0.0" not in link and link == "http://localhost:8025/drafts/7"
    public = _settings(
        tmp_path,
        web_bind="0.0.0.0:8025",
        web_allow_remote="true",
        public_url="https://mail.example.com/",
    )
    assert draft_link(public_base(public.public_url, public.web_bind), 7) == (
        "https://mail.example.com/drafts/7"
    )
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        _settings(tmp_path, public_url="http://0.0.0.0:8025")
