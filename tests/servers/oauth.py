"""A stand-in for Microsoft's identity platform, and the token checks of the test mail servers.

No network here, so the OAuth2 tests run against:

* :class:`OAuthServer` — one shared :class:`TokenAuthority` (every token it issued, with its
  user, expiry and whether it was revoked) behind two loopback HTTP servers:

  - an HTTPS **identity server** that MSAL talks to as if it were
    ``login.microsoftonline.com/<tenant>``: OpenID discovery, the device-code endpoint and
    the token endpoint (client credentials with a secret or a certificate assertion, device
    code, refresh token). MSAL insists on https, so it has a self-signed certificate
    (:func:`make_tls_files`); point MSAL at it with ``http_client=server.http_client()``.
  - a plain-HTTP **introspection endpoint** for Dovecot's ``oauth2`` passdb (see
    ``DovecotServer(oauth2_introspection=...)``): ``{"active": true, "username": ...}``
    for a good token, ``{"active": false}`` (401) otherwise.

* :class:`OAuthSmtpServer` — aiosmtpd behaving like smtp.office365.com: STARTTLS first
  (AUTH is offered only over TLS), then ``AUTH XOAUTH2`` checked against the authority
  (a refused token gets the JSON challenge, then ``535 5.7.3``), and
  ``530 5.7.57`` for MAIL FROM without login.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.servers.common import free_port
from tests.servers.smtp import RecordingHandler, SmtpServer

RESOURCE = "https://outlook.office365.com"
RESERVED = {"openid", "profile", "offline_access"}


# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the certificate (also the CA to trust: it is self-signed)
    key: Path
    combined: Path  # key + certificate in one PEM (OAUTH_CLIENT_CERTIFICATE's format)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(directory: Path, name: str = "localhost") -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 / localhost (CA usage, so it can be trusted)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    files = TlsFiles(
        directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.pem"
    )
    files.cert.write_bytes(cert_pem)
    files.key.write_bytes(key_pem)
    files.combined.write_bytes(key_pem + cert_pem)
    for path in (files.key, files.combined):
        path.chmod(0o600)
    return files


# -- what was issued ---------------------------------------------------------------------------


@dataclass
class IssuedToken:
    token: str
    username: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


@dataclass
class RegisteredApp:
    client_id: str
    secret: str | None = None
    certificate: Path | None = None  # PEM certificate whose key signs the client assertion
    mailbox: str = ""  # the mailbox the service principal was given (Add-MailboxPermission)


@dataclass
class _DeviceGrant:
    client_id: str
    scopes: tuple[str, ...]
    user_code: str
    expires_at: float
    username: str | None = None  # set once "the user" signed in
    polls: int = 0


@dataclass
class TokenAuthority:
    """Every token issued, and the rules: what a test changes to make tokens fail."""

    lifetime: int = 3600
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    apps: dict[str, RegisteredApp] = field(default_factory=dict)
    # Every call of the devicecode and token endpoints: the form, plus "_endpoint".
    requests: list[dict[str, str]] = field(default_factory=list)
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(
        self,
        username: str,
        client_id: str = "test",
        scopes: tuple[str, ...] = (),
        lifetime: int | None = None,
    ) -> str:
        token = "at-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = IssuedToken(
                token,
                username,
                client_id,
                scopes,
                time.time() + (self.lifetime if lifetime is None else lifetime),
            )
        return token

    def check(self, token: str) -> IssuedToken | None:
        with self.lock:
            issued = self.tokens.get(token)
        if issued is None or issued.revoked or issued.expires_at <= time.time():
            return None
        return issued

    def revoke(self, token: str | None = None) -> None:
        """Make ``token`` (default: every token issued so far) fail from now on."""
        with self.lock:
            for issued in self.tokens.values():
                if token is None or issued.token == token:
                    issued.revoked = True

    def issued_to(self, username: str) -> list[IssuedToken]:
        with self.lock:
            return [t for t in self.tokens.values() if t.username == username]


# -- the HTTP side -----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self) -> None:
        self.server.owner.handle_get(self)

    def do_POST(self) -> None:
        self.server.owner.handle_post(self, urlparse(self.path).path, self._form())


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: OAuthServer


class OAuthServer:
    """``with OAuthServer(tmp_path) as oauth:``: the identity server and the introspection URL."""

    def __init__(self, workdir: Path, authority: TokenAuthority | None = None) -> None:
        self.tokens = authority or TokenAuthority()
        self.tls = make_tls_files(workdir / "tls")
        self.tenant = "contoso.onmicrosoft.com"
        self.device_user: str | None = None  # who "signs in" when a device code is polled
        self.pending_polls = 0  # answer authorization_pending this many times first
        self.device_interval = 1
        self._grants: dict[str, _DeviceGrant] = {}
        self._https: _HttpServer | None = None
        self._http: _HttpServer | None = None
        self._threads: list[threading.Thread] = []

    # -- addresses -------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """OAUTH_AUTHORITY for mailwatch (the tenant is added from OAUTH_TENANT)."""
        assert self._https is not None
        return f"https://127.0.0.1:{self._https.server_address[1]}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/{self.tenant}/oauth2/v2.0/token"

    @property
    def introspection_url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}/introspect"

    def http_client(self) -> requests.Session:
        """A requests session that trusts the identity server's certificate (for MSAL)."""
        session = requests.Session()
        session.verify = str(self.tls.cert)
        # Else REQUESTS_CA_BUNDLE (set on this machine) wins over session.verify, and a
        # proxy from the environment could be tried for 127.0.0.1.
        session.trust_env = False
        return session

    # -- setup -----------------------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate: Path | None = None,
        mailbox: str = "",
    ) -> RegisteredApp:
        app = RegisteredApp(client_id, secret, certificate, mailbox)
        self.tokens.apps[client_id] = app
        return app

    def start(self) -> OAuthServer:
        https = _HttpServer(("127.0.0.1", 0), _Handler)
        https.socket = self.tls.server_context().wrap_socket(https.socket, server_side=True)
        http = _HttpServer(("127.0.0.1", 0), _Handler)
        for server in (https, http):
            server.owner = self
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._https, self._http = https, http
        return self

    def stop(self) -> None:
        for server in (self._https, self._http):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._https = self._http = None
        self._threads = []

    def __enter__(self) -> OAuthServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------------

    def handle_get(self, h: _Handler) -> None:
        path = urlparse(h.path).path
        base = f"{self.authority}/{self.tenant}"
        if path == f"/{self.tenant}/v2.0/.well-known/openid-configuration":
            h._send(
                200,
                {
                    "issuer": f"{self.authority}/{self.tokens.tenant_id}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "response_types_supported": ["code", "id_token", "token id_token"],
                },
            )
            return
        h._send(
            400,
            {
                "error": "invalid_tenant",
                "error_description": f"AADSTS90002: Tenant '{path}' not found.",
            },
        )

    def handle_post(self, h: _Handler, path: str, form: dict[str, str]) -> None:
        if path == "/introspect":
            self._introspect(h, form)
            return
        with self.tokens.lock:
            self.tokens.requests.append({"_endpoint": path.rsplit("/", 1)[-1], **form})
        if path == f"/{self.tenant}/oauth2/v2.0/devicecode":
            self._devicecode(h, form)
        elif path == f"/{self.tenant}/oauth2/v2.0/token":
            self._token(h, form)
        else:
            h._send(404, {"error": "not_found"})

    def _introspect(self, h: _Handler, form: dict[str, str]) -> None:
        with self.tokens.lock:
            self.tokens.introspections += 1
        issued = self.tokens.check(form.get("token", ""))
        if issued is None:
            h._send(401, {"active": False})
        else:
            h._send(200, {"active": True, "username": issued.username})

    def _devicecode(self, h: _Handler, form: dict[str, str]) -> None:
        scopes = tuple(form.get("scope", "").split())
        code = secrets.token_urlsafe(16)
        user_code = secrets.token_hex(4).upper()
        self._grants[code] = _DeviceGrant(
            form.get("client_id", ""), scopes, user_code, time.time() + 900
        )
        verification = f"{self.authority}/devicelogin"
        h._send(
            200,
            {
                "device_code": code,
                "user_code": user_code,
                "verification_uri": verification,
                "expires_in": 900,
                "interval": self.device_interval,
                "message": f"To sign in, use a web browser to open the page {verification} "
                f"and enter the code {user_code} to authenticate.",
            },
        )

    def approve(self, user_code: str, username: str) -> None:
        """ "The user" entered the code and signed in as ``username``."""
        for grant in self._grants.values():
            if grant.user_code == user_code:
                grant.username = username
                return
        raise KeyError(user_code)

    def _error(self, h: _Handler, status: int, error: str, description: str) -> None:
        h._send(
            status,
            {
                "error": error,
                "error_description": f"{description}\r\nTrace ID: {uuid.uuid4()}",
                "error_codes": [int(description[6:].split(":")[0])]
                if description.startswith("AADSTS")
                else [],
            },
        )

    def _token(self, h: _Handler, form: dict[str, str]) -> None:
        grant = form.get("grant_type", "")
        scopes = tuple(form.get("scope", "").split())
        if grant == "client_credentials":
            self._client_credentials(h, form, scopes)
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            self._device_token(h, form)
        elif grant == "refresh_token":
            entry = self.tokens.refresh_tokens.get(form.get("refresh_token", ""))
            if entry is None or entry[1] != form.get("client_id"):
                self._error(h, 400, "invalid_grant", "AADSTS70000: The refresh token is not valid.")
                return
            username, client_id, granted = entry
            self._user_tokens(h, username, client_id, granted)
        else:
            self._error(h, 400, "unsupported_grant_type", "AADSTS70003: unsupported grant.")

    def _client_credentials(
        self, h: _Handler, form: dict[str, str], scopes: tuple[str, ...]
    ) -> None:
        app = self.tokens.apps.get(form.get("client_id", ""))
        if app is None:
            self._error(
                h,
                400,
                "unauthorized_client",
                "AADSTS700016: Application not found in the directory.",
            )
            return
        if app.certificate is not None:
            assertion = form.get("client_assertion", "")
            cert = x509.load_pem_x509_certificate(app.certificate.read_bytes())
            try:
                claims = jwt.decode(
                    assertion,
                    cert.public_key(),  # type: ignore[arg-type]
                    algorithms=["RS256", "PS256"],
                    audience=self.token_endpoint,
                )
                valid = claims.get("iss") == app.client_id == claims.get("sub")
            except jwt.PyJWTError:
                valid = False
        else:
            valid = app.secret is not None and form.get("client_secret") == app.secret
        if not valid:
            self._error(h, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
            return
        if scopes != (f"{RESOURCE}/.default",):
            self._error(
                h, 400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid."
            )
            return
        token = self.tokens.issue(app.mailbox, app.client_id, scopes)
        h._send(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.tokens.lifetime,
                "ext_expires_in": self.tokens.lifetime,
                "access_token": token,
            },
        )

    def _device_token(self, h: _Handler, form: dict[str, str]) -> None:
        grant = self._grants.get(form.get("device_code", ""))
        if grant is None or grant.expires_at < time.time():
            self._error(h, 400, "expired_token", "AADSTS70020: The provided value is expired.")
            return
        grant.polls += 1
        if grant.username is None and self.device_user and grant.polls > self.pending_polls:
            grant.username = self.device_user
        if grant.username is None:
            self._error(
                h,
                400,
                "authorization_pending",
                "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending.",
            )
            return
        del self._grants[form["device_code"]]
        granted = tuple(s for s in grant.scopes if s.lower() not in RESERVED)
        self._user_tokens(h, grant.username, grant.client_id, granted)

    def _user_tokens(
        self, h: _Handler, username: str, client_id: str, granted: tuple[str, ...]
    ) -> None:
        access = self.tokens.issue(username, client_id, granted)
        refresh = "rt-" + secrets.token_urlsafe(24)
        self.tokens.refresh_tokens[refresh] = (username, client_id, granted)
        uid = str(uuid.uuid5(uuid.NAMESPACE_DNS, username))
        now = int(time.time())
        id_claims = {
            "aud": client_id,
            "iss": f"{self.authority}/{self.tokens.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": username.split("@")[0],
            "oid": uid,
            "preferred_username": username,
            "sub": uid,
            "tid": self.tokens.tenant_id,
            "ver": "2.0",
        }
        id_token = ".".join(
            [
                _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()),
                _b64url(json.dumps(id_claims).encode()),
                _b64url(b"not-verified-by-msal"),
            ]
        )
        h._send(
            200,
            {
                "token_type": "Bearer",
                "scope": " ".join(granted),
                "expires_in": self.tokens.lifetime,
                "ext_expires_in": self.tokens.lifetime,
                "access_token": access,
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": _b64url(
                    json.dumps({"uid": uid, "utid": self.tokens.tenant_id}).encode()
                ),
            },
        )


# -- SMTP like smtp.office365.com --------------------------------------------------------------


class _Office365Smtp(SMTP):
    """aiosmtpd with Office 365's answers: XOAUTH2, 535 5.7.3, 530 5.7.57."""

    def __init__(self, handler: Any, *, tokens: TokenAuthority, **kwargs: Any) -> None:
        self.tokens = tokens
        super().__init__(handler, **kwargs)

    async def check_auth_needed(self, caller_method: str) -> bool:
        assert self.session is not None
        if self._auth_required and not self.session.authenticated:
            await self.push("530 5.7.57 Client not authenticated to send mail. [test]")
            return True
        return False

    async def auth_XOAUTH2(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await self.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
            raw = blob
        else:
            try:
                raw = base64.b64decode(args[1], validate=True)
            except ValueError:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        fields = dict(
            part.split("=", 1) for part in raw.decode(errors="replace").split("\x01") if "=" in part
        )
        user = fields.get("user", "")
        bearer = fields.get("auth", "")
        token = bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else ""
        issued = self.tokens.check(token)
        if issued is None or issued.username.lower() != user.lower():
            # RFC 7628 style: a JSON error as a challenge, the client answers with an empty line.
            await self.challenge_auth(
                json.dumps({"status": "401", "schemes": "bearer", "scope": RESOURCE})
            )
            return AuthResult(
                success=False,
                handled=False,
                message="535 5.7.3 Authentication unsuccessful [test]",
            )
        return AuthResult(success=True, auth_data=user.encode())


class _Office365Controller(Controller):
    def __init__(self, handler: Any, *, tokens: TokenAuthority, **kwargs: Any) -> None:
        self.tokens = tokens
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return _Office365Smtp(self.handler, tokens=self.tokens, **self.SMTP_kwargs)


class OAuthSmtpServer(SmtpServer):
    """Like :class:`SmtpServer` (records messages), but logins are XOAUTH2 tokens checked
    against ``tokens``; with ``tls``, STARTTLS comes first and AUTH is offered only after it."""

    def __init__(
        self, tokens: TokenAuthority, tls: TlsFiles | None = None, host: str = "127.0.0.1"
    ) -> None:
        super().__init__(host=host)
        self.tokens = tokens
        self.tls = tls
        self.handler = RecordingHandler()

    def start(self) -> OAuthSmtpServer:
        last_error: Exception | None = None
        for _attempt in range(3):
            self.port = free_port(self.host)
            tls_kwargs: dict[str, Any] = (
                {
                    "tls_context": self.tls.server_context(),
                    "require_starttls": True,
                    "auth_require_tls": True,
                }
                if self.tls is not None
                else {"auth_require_tls": False}
            )
            controller = _Office365Controller(
                self.handler,
                tokens=self.tokens,
                hostname=self.host,
                port=self.port,
                auth_required=True,
                **tls_kwargs,
            )
            try:
                controller.start()
            except Exception as exc:
                last_error = exc
                continue
            self._controller = controller
            return self
        raise RuntimeError(f"aiosmtpd did not start: {last_error}")


__all__ = [
    "IssuedToken",
    "OAuthServer",
    "OAuthSmtpServer",
    "RegisteredApp",
    "TlsFiles",
    "TokenAuthority",
    "make_tls_files",
]
