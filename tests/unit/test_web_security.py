"""The web page's locks without a browser: password, rate limit, session cookie, CSRF, headers."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from mailwatch.config import settings_from_values
from mailwatch.web.app import pages_app
from mailwatch.web.pages import safe_next
from mailwatch.web.routes.settings import mailbox_rows, settings_rows
from mailwatch.web.security import (
    SESSION_COOKIE,
    SESSION_MAX,
    LoginLimiter,
    PasswordCheck,
    SecurityHeaders,
    SessionMiddleware,
    csrf_ok,
    csrf_token,
    password_binding,
    same_origin,
)

SECRET = "s" * 40


async def asgi_get(
    app: Any, path: str = "/", scheme: str = "http", cookie: str | None = None
) -> tuple[int, list[tuple[str, str]]]:
    headers = [(b"host", b"127.0.0.1:8025")]
    if cookie is not None:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "scheme": scheme,
        "server": ("127.0.0.1", 8025),
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], [(k.decode(), v.decode()) for k, v in start["headers"]]


def session_app(seen: list[dict[str, Any]], store: dict[str, Any] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope["session"]))
        if store is not None:
            scope["session"].update(store)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def cookie_value(headers: list[tuple[str, str]]) -> tuple[str, str]:
    (header,) = [v for k, v in headers if k == "set-cookie"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value, header.lower()


# -- password and rate limit -------------------------------------------------------------------


def test_password_check_keeps_only_a_hash():
    check = PasswordCheck("hunter2-long-password")
    assert check.verify("hunter2-long-password")
    assert not check.verify("hunter2-long-passwor")
    assert not check.verify("")
    assert not check.verify("x" * 5000)
    held = repr(vars(check)).encode()
    assert b"hunter2" not in held
    with pytest.raises(ValueError):
        PasswordCheck("")


def test_login_limiter_backs_off_exponentially_per_client_only():
    now = [1000.0]
    limiter = LoginLimiter(free=3, base=2, maximum=60, forget=3600, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("192.0.2.1") == 0
        limiter.failed("192.0.2.1")
    waits = []
    for _ in range(6):
        wait = limiter.retry_after("192.0.2.1")
        waits.append(wait)
        now[0] += wait
        assert limiter.retry_after("192.0.2.1") == 0
        limiter.failed("192.0.2.1")
    assert waits == [2, 4, 8, 16, 32, 60]  # doubling, capped
    # Nobody else is locked out by one client's guesses (no global lock).
    for other in ("192.0.2.2", "198.51.100.7", "2001:db8::1"):
        assert limiter.retry_after(other) == 0
    limiter.succeeded("192.0.2.1")
    assert limiter.retry_after("192.0.2.1") == 0


def test_login_limiter_forgets_after_quiet_and_groups_an_ipv6_64():
    now = [0.0]
    limiter = LoginLimiter(free=1, base=10, forget=100, clock=lambda: now[0])
    limiter.failed("2001:db8:1:2::1")
    assert limiter.retry_after("2001:db8:1:2::ffff") == 10  # same /64: same client
    assert limiter.retry_after("2001:db8:1:3::1") == 0
    now[0] += 101
    assert limiter.retry_after("2001:db8:1:2::1") == 0


# -- CSRF and where requests come from ---------------------------------------------------------


def test_csrf_token_is_per_session_and_checked_in_constant_time():
    session: dict[str, Any] = {}
    token = csrf_token(session)
    assert len(token) >= 40 and csrf_token(session) == token
    assert csrf_ok(session, token)
    assert not csrf_ok(session, None)
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, token[:-1] + "x")
    assert not csrf_ok({}, token)  # no session, no token to match
    assert csrf_token({}) != token


@pytest.mark.parametrize(
    ("origin", "host", "fetch_site", "ok"),
    [
        (None, "127.0.0.1:8025", None, True),
        ("null", "127.0.0.1:8025", None, True),  # our own form under no-referrer
        ("http://127.0.0.1:8025", "127.0.0.1:8025", "same-origin", True),
        ("https://mail.example.com", "mail.example.com", None, True),  # behind TLS proxy
        ("http://evil.test", "127.0.0.1:8025", None, False),
        ("http://127.0.0.1:9999", "127.0.0.1:8025", None, False),  # another local service
        (None, "127.0.0.1:8025", "cross-site", False),
        (None, "127.0.0.1:8025", "same-site", False),
        (None, "127.0.0.1:8025", "none", True),
    ],
)
def test_same_origin(origin, host, fetch_site, ok):
    assert same_origin(origin, host, fetch_site) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/drafts/3", "/drafts/3"),
        ("/threads?x=1", "/threads?x=1"),
        ("//evil.test/x", "/drafts"),
        ("https://evil.test/", "/drafts"),
        ("/\\evil.test", "/drafts"),
        ("drafts", "/drafts"),
        ("", "/drafts"),
        (None, "/drafts"),
    ],
)
def test_safe_next_stays_on_this_site(value, expected):
    assert safe_next(value) == expected


# -- the session cookie -----------------------------------------------------------------------


async def test_session_cookie_flags_and_round_trip():
    seen: list[dict[str, Any]] = []
    app = SessionMiddleware(session_app(seen, {"auth": True}), secret=SECRET, binding="b1")
    _, headers = await asgi_get(app)
    value, header = cookie_value(headers)
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    assert "secure" not in header  # plain http
    _, headers = await asgi_get(app, scheme="https")
    assert "; secure" in cookie_value(headers)[1]

    reader: list[dict[str, Any]] = []
    await asgi_get(SessionMiddleware(session_app(reader), SECRET, "b1"), cookie=value)
    assert reader[-1]["auth"] is True
    # Tampered, signed with another secret, or made before the password changed: empty.
    tampered = value[:-3] + ("abc" if not value.endswith("abc") else "xyz")
    await asgi_get(SessionMiddleware(session_app(reader), SECRET, "b1"), cookie=tampered)
    assert reader[-1] == {}
    await asgi_get(SessionMiddleware(session_app(reader), "t" * 40, "b1"), cookie=value)
    assert reader[-1] == {}
    await asgi_get(SessionMiddleware(session_app(reader), SECRET, "b2"), cookie=value)
    assert reader[-1] == {}


async def test_old_sessions_end_and_an_emptied_session_deletes_the_cookie():
    middleware = SessionMiddleware(session_app([]), SECRET, "b")
    old = middleware.serializer.dumps({"auth": True, "started": int(time.time()) - SESSION_MAX - 5})
    assert middleware.load(old) == {}

    async def logout(scope: Any, receive: Any, send: Any) -> None:
        scope["session"].clear()
        await send({"type": "http.response.start", "status": 303, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    fresh = middleware.serializer.dumps({"auth": True, "started": int(time.time())})
    _, headers = await asgi_get(SessionMiddleware(logout, SECRET, "b"), cookie=fresh)
    _, header = cookie_value(headers)
    assert "max-age=0" in header


def test_password_binding_changes_with_the_password():
    assert password_binding(SECRET, "a") != password_binding(SECRET, "b")
    assert password_binding(SECRET, "a") == password_binding(SECRET, "a")
    assert "a" * 3 not in password_binding(SECRET, "aaa")


async def test_security_headers_on_every_response():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _, headers = await asgi_get(SecurityHeaders(app), "/drafts")
    got = dict(headers)
    csp = got["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert got["x-content-type-options"] == "nosniff"
    assert got["referrer-policy"] == "no-referrer"
    assert got["cache-control"] == "no-store"
    _, headers = await asgi_get(SecurityHeaders(app), "/static/style.css")
    assert "cache-control" not in dict(headers)


# -- building the pages ------------------------------------------------------------------------


def settings(**extra: str) -> Any:
    values = {
        "MAILWATCH_DATABASE_URL": "postgresql://mw:db-pass-123@db/mw",
        "MAILWATCH_IMAP_HOST": "imap.example.com",
        "MAILWATCH_IMAP_USERNAME": "sales@example.com",
        "MAILWATCH_IMAP_PASSWORD": "imap-pass-123",
        "MAILWATCH_SMTP_PASSWORD": "smtp-pass-123",
    }
    values.update({f"MAILWATCH_{k.upper()}": v for k, v in extra.items()})
    return settings_from_values(values)


def test_no_password_no_pages(caplog):
    with caplog.at_level(logging.WARNING, logger="mailwatch.web"):
        assert pages_app(None, settings()) is None  # type: ignore[arg-type]
    assert "WEB_PASSWORD is empty" in caplog.text


def test_no_secret_a_random_one_and_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mailwatch.web"):
        app = pages_app(None, settings(web_password="pw-123456"))  # type: ignore[arg-type]
    assert app is not None
    assert "sessions" in caplog.text or "logins" in caplog.text
    assert "end when mailwatch restarts" in caplog.text
    assert "pw-123456" not in caplog.text


def test_settings_rows_mask_every_secret():
    cfg = settings(web_password="web-pass-123", web_secret="web-secret-123")
    rows = dict(settings_rows(cfg))
    text = repr(rows) + repr(mailbox_rows(cfg))
    for secret in (
        "db-pass-123",
        "imap-pass-123",
        "smtp-pass-123",
        "web-pass-123",
        "web-secret-123",
    ):
        assert secret not in text
    assert rows["WEB_PASSWORD"] == "set (hidden)"
    assert "mw:***@db" in rows["DATABASE_URL"]
    (mailbox,) = mailbox_rows(cfg)
    assert dict(mailbox["rows"])["IMAP_PASSWORD"] == "set (hidden)"


def test_settings_page_lists_every_key_of_the_table_with_its_unit():
    from mailwatch.config import GLOBAL_KEYS, MAILBOX_KEYS

    cfg = settings(web_password="web-pass-123")
    rows = dict(settings_rows(cfg))
    assert list(rows) == list(GLOBAL_KEYS)
    (mailbox,) = mailbox_rows(cfg)
    assert [key for key, _ in mailbox["rows"]] == list(MAILBOX_KEYS)
    assert rows["SEND_RATE"].startswith("30 messages per minute")
    assert "hour" not in rows["SEND_RATE"]
    assert rows["ACK_AFTER"] == "2 h (half of REPLY_SLA)"
    shown = dict(mailbox["rows"])
    assert shown["IMAP_PORT"] == "993 (993 for ssl, 143 for starttls or none)"
