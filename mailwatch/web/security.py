"""The web page's locks: password check, login rate limit, signed session cookie, CSRF, headers.

- The password (``WEB_PASSWORD``) is turned into a scrypt hash with a random salt when the app
  starts; only that hash stays in the app. A login attempt is hashed the same way and compared
  with :func:`hmac.compare_digest`.
- The session is a cookie signed with ``WEB_SECRET`` (itsdangerous, timestamped): HttpOnly,
  SameSite=Strict, ``Secure`` when the request came over https (directly, or through a reverse
  proxy that uvicorn trusts for ``X-Forwarded-Proto``). The signing key also depends on the
  password, so changing ``WEB_PASSWORD`` ends every session. Idle sessions end after
  :data:`SESSION_IDLE` seconds, any session after :data:`SESSION_MAX`.
- Sessions are also held on the server (:class:`SessionStore`): logout deletes the login there,
  so a copy of the cookie taken before logout is worth nothing afterwards.
- Wrong passwords: exponential backoff per client (:class:`LoginLimiter`), no global lock.
- Every session carries a random CSRF token; every POST form sends it back and is refused with
  403 without it (:func:`csrf_ok`).
- :class:`SecurityHeaders` adds a strict Content-Security-Policy (no inline script or style,
  nothing from other origins, no framing) and friends to every response.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailwatch.store.db import transaction
from mailwatch.store.models import ServiceState

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


def client_key(host: str) -> str:
    """Whose attempts these are: the IPv4 address, or the IPv6 /64 (one machine has many)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class LoginLimiter:
    """Exponential backoff per client: ``free`` wrong passwords, then a wait of ``base``
    seconds that doubles with each further one (capped at ``maximum``). A right password, or
    ``forget`` seconds without a wrong one, clears the client's count.

    There is no global lock on purpose: wrong passwords from anywhere must not lock the real
    user out. Each attempt costs an scrypt, and the client address is the one uvicorn saw
    (``X-Forwarded-For`` counts only from ``WEB_TRUSTED_PROXIES``).
    """

    free: int = 3
    base: float = 2.0
    maximum: float = 900.0
    forget: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.maximum, self.base * 2.0 ** (failures - self.free))

    def retry_after(self, client: str) -> int:
        """0 when ``client`` may try now, else the whole seconds until it may."""
        key = client_key(client)
        with self._lock:
            now = self.clock()
            failures, last = self._state.get(key, (0, 0.0))
            if failures and now - last > self.forget:
                self._state.pop(key, None)
                return 0
            remaining = last + self._wait(failures) - now
            return max(1, math.ceil(remaining)) if remaining > 0 else 0

    def failed(self, client: str) -> None:
        key = client_key(client)
        with self._lock:
            failures, _last = self._state.get(key, (0, 0.0))
            self._state[key] = (failures + 1, self.clock())
            if len(self._state) > 10_000:  # a flood of addresses: forget the oldest
                self._state.pop(next(iter(self._state)))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._state.pop(client_key(client), None)


# -- server-side sessions ------------------------------------------------------------------------


class SessionStore:
    """The logins that are alive, kept in the database (``service_state`` rows).

    A signed cookie alone cannot be taken back: a copy made before logout would still work.
    So each login gets a random session id; the cookie carries it and the database a hash of
    it, with the password binding of the moment. Logout deletes the row; a password change
    makes every row's binding stale. A cookie whose row is gone is an empty session.
    """

    PREFIX = "websession:"

    def __init__(self, factory: Any, binding: str) -> None:
        self.factory = factory
        self.binding = hashlib.sha256(binding.encode()).hexdigest()

    def _key(self, sid: str) -> str:
        return self.PREFIX + hashlib.sha256(sid.encode()).hexdigest()[:48]

    def create(self) -> str:
        sid = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with transaction(self.factory) as session:
            session.execute(  # old logins and those of another password
                delete(ServiceState).where(
                    ServiceState.key.startswith(self.PREFIX, autoescape=True),
                    (ServiceState.updated_at < now - timedelta(seconds=SESSION_MAX))
                    | (ServiceState.value != self.binding),
                )
            )
            session.add(ServiceState(key=self._key(sid), value=self.binding, updated_at=now))
        return sid

    def valid(self, sid: object) -> bool:
        if not isinstance(sid, str) or not sid:
            return False
        with self.factory() as session:
            row = session.get(ServiceState, self._key(sid))
            if row is None:
                return False
            created = row.updated_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            fresh = datetime.now(UTC) - created < timedelta(seconds=SESSION_MAX)
            return fresh and hmac.compare_digest(row.value, self.binding)

    def revoke(self, sid: object) -> None:
        if not isinstance(sid, str) or not sid:
            return
        with transaction(self.factory) as session:
            session.execute(delete(ServiceState).where(ServiceState.key == self._key(sid)))


# -- the session cookie ------------------------------------------------------------------------


class SessionMiddleware:
    """A signed-cookie session in ``scope["session"]`` (as Starlette's, with our cookie flags).

    The cookie is rewritten on every response while the session holds anything (so the idle
    timeout slides) and deleted when the session was emptied (logout).
    """

    def __init__(
        self,
        app: ASGIApp,
        secret: str,
        binding: str = "",
        store: SessionStore | None = None,
    ) -> None:
        self.app = app
        self.serializer = URLSafeTimedSerializer(secret, salt=f"{SESSION_SALT}:{binding}")
        self.store = store

    def load_checked(self, raw: str | None) -> dict[str, Any]:
        """:meth:`load`, and a logged-in session must still be alive on the server."""
        data = self.load(raw)
        if data.get("auth") and self.store is not None and not self.store.valid(data.get("sid")):
            return {}
        return data

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
        raw = connection.cookies.get(SESSION_COOKIE)
        if self.store is not None and raw:
            scope["session"] = await asyncio.to_thread(self.load_checked, raw)
        else:
            scope["session"] = self.load(raw)
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
    "SessionStore",
    "client_key",
    "csrf_ok",
    "csrf_token",
    "password_binding",
    "same_origin",
]
