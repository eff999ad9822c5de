"""The web page's locks: password check, login rate limit, signed session cookie, CSRF, headers.

- The password (``WEB_PASSWORD``) is turned into a scrypt hash with a random salt when the app
  starts; only that hash stays in the app. A login attempt is hashed the same way and compared
  with :func:`hmac.compare_digest`.
- The session is a cookie signed with ``WEB_SECRET`` (itsdangerous, timestamped): HttpOnly,
  SameSite=Strict, ``Secure`` when the request came over https (directly, or through a reverse
  proxy that uvicorn trusts for ``X-Forwarded-Proto``). The signing key also depends on the
  password, so changing ``WEB_PASSWORD`` ends every session. Idle sessions end after
  :data:`SESSION_IDLE` seconds, any session after :data:`SESSION_MAX`.
- Every session carries a random CSRF token; every POST form sends it back and is refused with
  403 without it (:func:`csrf_ok`).
- :class:`SecurityHeaders` adds a strict Content-Security-Policy (no inline script or style,
  nothing from other origins, no framing) and friends to every response.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "mailwatch_session"
SESSION_IDLE = 12 * 3600  # seconds without a request before the login ends
SESSION_MAX = 7 * 24 * 3600  # seconds after the login, whatever happens
SESSION_SALT = "mailwatch.web.session"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


# -- the password -----------------------------------------------------------------------------


class PasswordCheck:
    """Holds an scrypt hash of the password (never the password) and checks attempts."""

    N, R, P = 2**14, 8, 1

    def __init__(self, password: str) -> None:
        if not password:
            raise ValueError("an empty password cannot protect anything")
        self._salt = secrets.token_bytes(16)
        self._hash = self._derive(password)

    def _derive(self, attempt: str) -> bytes:
        return hashlib.scrypt(
            attempt.encode("utf-8"), salt=self._salt, n=self.N, r=self.R, p=self.P, dklen=32
        )

    def verify(self, attempt: str) -> bool:
        if len(attempt) > 1024:  # scrypt of a huge input is a cheap way to burn our CPU
            attempt = ""
        return hmac.compare_digest(self._derive(attempt), self._hash)


def password_binding(secret: str, password: str) -> str:
    """A value that changes when the password changes; part of the session signing salt."""
    return hmac.new(secret.encode(), b"web-password:" + password.encode(), "sha256").hexdigest()


# -- login rate limit ------------------------------------------------------------------------


@dataclass
class LoginLimiter:
    """At most ``per_client`` failed logins per ``window`` seconds from one client address,
    and ``overall`` from all of them together (a reverse proxy makes everyone one client;
    many addresses must not multiply the budget either)."""

    per_client: int = 5
    overall: int = 20
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _trim(self, stamps: deque[float], now: float) -> None:
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()

    def retry_after(self, client: str) -> int:
        """0 when ``client`` may try now, else the seconds until it may."""
        with self._lock:
            now = self.clock()
            self._trim(self._all, now)
            mine = self._failures.get(client, deque())
            self._trim(mine, now)
            if not mine:
                self._failures.pop(client, None)
            waits = []
            if len(mine) >= self.per_client:
                waits.append(mine[0] + self.window - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[0] + self.window - now)
            return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


# -- the session cookie ------------------------------------------------------------------------


class SessionMiddleware:
    """A signed-cookie session in ``scope["session"]`` (as Starlette's, with our cookie flags).

    The cookie is rewritten on every response while the session holds anything (so the idle
    timeout slides) and deleted when the session was emptied (logout).
    """

    def __init__(self, app: ASGIApp, secret: str, binding: str = "") -> None:
        self.app = app
        self.serializer = URLSafeTimedSerializer(secret, salt=f"{SESSION_SALT}:{binding}")

    def load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=SESSION_IDLE)
        except BadSignature:  # also SignatureExpired
            return {}
        if not isinstance(data, dict):
            return {}
        started = data.get("started")
        if not isinstance(started, int | float) or time.time() - started > SESSION_MAX:
            return {}
        return data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        had_cookie = SESSION_COOKIE in connection.cookies
        scope["session"] = self.load(connection.cookies.get(SESSION_COOKIE))
        secure = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: MutableMapping[str, Any] = scope["session"]
                headers = MutableHeaders(scope=message)
                flags = "path=/; httponly; samesite=strict" + ("; secure" if secure else "")
                if session:
                    session.setdefault("started", int(time.time()))
                    value = self.serializer.dumps(dict(session))
                    headers.append(
                        "set-cookie",
                        f"{SESSION_COOKIE}={value}; max-age={SESSION_IDLE}; {flags}",
                    )
                elif had_cookie:
                    headers.append(
                        "set-cookie",
                        f"{SESSION_COOKIE}=null; max-age=0; "
                        f"expires=Thu, 01 Jan 1970 00:00:00 GMT; {flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_wrapper)


# -- CSRF -------------------------------------------------------------------------------------


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: MutableMapping[str, Any], sent: object) -> bool:
    expected = session.get("csrf")
    if not isinstance(expected, str) or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def same_origin(origin: str | None, host: str | None, fetch_site: str | None = None) -> bool:
    """False when the browser says the request came from another site.

    ``Sec-Fetch-Site`` (sent by current browsers) must be ``same-origin`` or ``none`` (typed
    by the user); ``same-site`` is refused too, since another service on this machine (another
    port of 127.0.0.1) is "same-site". An ``Origin`` header must name this host; only the host
    part is compared (a TLS-terminating proxy may hide the scheme). ``Origin: null`` is what a
    browser sends for our own forms under ``Referrer-Policy: no-referrer``, so it passes, as does
    a request without these headers (scripts, old browsers): the CSRF token is the real check.
    """
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    if origin is None or origin == "null":
        return True
    if not host:
        return False
    _, sep, netloc = origin.partition("://")
    return bool(sep) and netloc.lower() == host.lower()


# -- response headers -------------------------------------------------------------------------


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_wrapper)


__all__ = [
    "CSP",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "LoginLimiter",
    "PasswordCheck",
    "SecurityHeaders",
    "SessionMiddleware",
    "csrf_ok",
    "csrf_token",
    "password_binding",
    "same_origin",
]
