"""OAuth2 access tokens for XOAUTH2 (IMAP and SMTP): MSAL for Office 365, or any command.

Three ways to get a token, chosen by ``OAUTH_FLOW``:

``device``
    A user signs in once with ``mailwatch auth login`` (MSAL's device-code flow); the token
    cache (refresh token included) is kept in ``OAUTH_TOKEN_CACHE``, a 0600 file, and every
    later token comes from it silently (``acquire_token_silent``).
``client_credentials``
    An app registration with a client secret or a certificate, scope ``.default``; nothing
    is stored on disk (MSAL keeps app tokens in memory).
``command``
    ``OAUTH_TOKEN_COMMAND`` is run (no shell) and the first line it prints is the token.

:func:`provider_for` gives one shared :class:`TokenProvider` per mailbox (IMAP and SMTP use
the same one). A provider keeps its token until shortly before it expires; after a refused
login the caller says so with :meth:`TokenProvider.invalidate` and the next call fetches a
new token, bypassing MSAL's cache. Tokens are never logged, and never part of an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shlex
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailwatch.config import PREFIX, MailboxSettings, OAuthSettings
from mailwatch.errors import MailAccessError

if TYPE_CHECKING:  # msal (and requests) load only when a token is really needed
    import msal  # type: ignore[import-untyped]
    import requests

__all__ = [
    "APP_SCOPES",
    "DELEGATED_SCOPES",
    "RESERVED_SCOPES",
    "ClientCredentialsProvider",
    "CommandProvider",
    "DeviceCodeProvider",
    "TokenError",
    "TokenProvider",
    "clear_providers",
    "imap_provider",
    "invalidate_cached",
    "provider_for",
    "smtp_provider",
    "token_source",
    "write_private",
]

log = logging.getLogger(__name__)

RESOURCE = "https://outlook.office365.com"
#: App-only (client credentials): whatever application permissions the app was granted.
APP_SCOPES: tuple[str, ...] = (f"{RESOURCE}/.default",)
#: Delegated (a user signed in): IMAP and SMTP in one token, same resource.
DELEGATED_SCOPES: tuple[str, ...] = (
    f"{RESOURCE}/IMAP.AccessAsUser.All",
    f"{RESOURCE}/SMTP.Send",
)
#: MSAL adds these itself and refuses them when given: never pass them.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})

RENEW_MARGIN = 300.0  # seconds before expiry when a cached token is renewed
COMMAND_TIMEOUT = 30.0
UNKNOWN_LIFETIME = 300.0  # a command's token whose expiry cannot be read is kept this long

# MSAL errors that no retry will fix: the user or an admin must act.
_FATAL_ERRORS = frozenset(
    {
        "invalid_client",
        "unauthorized_client",
        "invalid_scope",
        "invalid_grant",
        "interaction_required",
        "consent_required",
        "invalid_request",
        "access_denied",
        "expired_token",
    }
)


class TokenError(MailAccessError):
    """No access token could be had; ``str()`` is one line and never holds a secret."""


def _check_scopes(scopes: tuple[str, ...]) -> list[str]:
    reserved = RESERVED_SCOPES.intersection(s.lower() for s in scopes)
    if reserved:
        raise ValueError(f"reserved scopes must not be passed to MSAL: {sorted(reserved)}")
    return list(scopes)


# -- the provider protocol -------------------------------------------------------------------


class TokenProvider:
    """A callable giving a valid access token; thread-safe; caches until near expiry."""

    label = "token"

    def __init__(
        self, *, clock: Callable[[], float] = time.time, margin: float = RENEW_MARGIN
    ) -> None:
        self._clock = clock
        self._margin = margin
        self._lock = threading.RLock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._renew_at = 0.0
        self._force = False
        self.fetches = 0  # how many tokens were fetched (tests, metrics)

    def __call__(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._renew_at:
                return self._token
            token, expires_at = self._fetch(self._force)
            if not token or any(c in token for c in "\r\n\x00\x01 "):
                raise TokenError(f"{self.label}: the token source gave no usable token")
            self.fetches += 1
            lifetime = max(0.0, expires_at - now)
            self._token = token
            self._expires_at = expires_at
            self._renew_at = now + lifetime - min(self._margin, lifetime / 10)
            self._force = False
            return token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is ``token``, when given); fetch anew next time.

        Called after the server refused the token. The next fetch bypasses MSAL's own cache
        too (it would hand out the same refused token until it expires).
        """
        with self._lock:
            if token is not None and token != self._token:
                return  # a newer token was fetched meanwhile: keep it
            self._token = None
            self._renew_at = 0.0
            self._force = True

    @property
    def expires_at(self) -> float | None:
        """When the current token expires (epoch seconds), None before the first one."""
        return self._expires_at if self._token is not None else None

    def _fetch(self, force: bool) -> tuple[str, float]:
        """A new token and its expiry time (epoch seconds)."""
        raise NotImplementedError

    def __repr__(self) -> str:  # never the token
        return f"<{self.__class__.__name__} {self.label}>"


# -- OAUTH_TOKEN_COMMAND ------------------------------------------------------------------------

_SECRET_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{20,}")


def _redact(text: str) -> str:
    """The last line of a command's stderr, with anything token-like blanked out."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    line = _SECRET_LIKE.sub("[redacted]", lines[-1])
    return line[:200]


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT access token (not verified: only to know when to renew)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        return float(exp) if isinstance(exp, int | float) else None
    except (ValueError, TypeError):
        return None


class CommandProvider(TokenProvider):
    """Runs ``OAUTH_TOKEN_COMMAND`` (split like a shell would, but no shell) for each token.

    The first line of its standard output is the token; its standard error is never logged
    as it is (only its last line, with anything token-like blanked out, goes into the error).
    The command sees ``MAILWATCH_OAUTH_USER`` and ``MAILWATCH_OAUTH_MAILBOX``.
    """

    def __init__(
        self,
        command: str,
        *,
        username: str = "",
        mailbox: str = "",
        key: str = PREFIX + "OAUTH_TOKEN_COMMAND",
        timeout: float = COMMAND_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.command = command
        self.username = username
        self.mailbox = mailbox
        self.key = key
        self.timeout = timeout
        self.label = key

    def _fetch(self, force: bool) -> tuple[str, float]:
        try:
            args = shlex.split(self.command)
        except ValueError as exc:
            raise TokenError(
                f"{self.key}: cannot split the command ({exc})", retryable=False
            ) from None
        if not args:
            raise TokenError(f"{self.key} is empty", retryable=False)
        env = dict(os.environ)
        env.update({"MAILWATCH_OAUTH_USER": self.username, "MAILWATCH_OAUTH_MAILBOX": self.mailbox})
        try:
            proc = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except FileNotFoundError:
            raise TokenError(f"{self.key}: {args[0]!r} not found", retryable=False) from None
        except subprocess.TimeoutExpired:
            raise TokenError(
                f"{self.key} gave no token within {self.timeout:g} s (stopped)"
            ) from None
        except OSError as exc:
            raise TokenError(f"{self.key}: cannot run {args[0]!r}: {exc.strerror}") from None
        if proc.returncode != 0:
            hint = _redact(proc.stderr)
            raise TokenError(
                f"{self.key} failed (exit status {proc.returncode})" + (f": {hint}" if hint else "")
            )
        lines = proc.stdout.splitlines()
        token = lines[0].strip() if lines else ""
        if not token:
            raise TokenError(f"{self.key} printed no token (its first line is taken as the token)")
        if any(c.isspace() or ord(c) < 32 for c in token):
            raise TokenError(f"{self.key} printed something that is not a token on its first line")
        expires = jwt_expiry(token)
        now = self._clock()
        if expires is None or expires <= now:
            expires = now + UNKNOWN_LIFETIME
        return token, expires


# -- MSAL ---------------------------------------------------------------------------------------


def write_private(path: Path, data: str) -> None:
    """Write ``data`` to ``path`` readable by its owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise


class TokenCacheFile:
    """MSAL's token cache, kept in a 0600 JSON file; re-read when another process changed it."""

    def __init__(self, path: Path) -> None:
        import msal  # lazy: ~75 ms (requests, cryptography): loaded when a token is needed

        self.path = path
        self.cache = msal.SerializableTokenCache()
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _stat(self) -> os.stat_result | None:
        try:
            return self.path.stat()
        except FileNotFoundError:
            return None

    def load(self) -> None:
        """Read the file if it changed since we last read or wrote it."""
        with self._lock:
            st = self._stat()
            stamp = None if st is None else (st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return
            if st is None:
                self.cache.deserialize(None)
            else:
                if st.st_mode & 0o077:
                    log.warning("token cache %s was readable by others; made it 0600", self.path)
                    self.path.chmod(0o600)
                try:
                    self.cache.deserialize(self.path.read_text(encoding="utf-8"))
                except ValueError:
                    raise TokenError(
                        f"token cache {self.path} is damaged: delete it and run "
                        "`mailwatch auth login` again",
                        retryable=False,
                    ) from None
            self._stamp = stamp

    def save(self) -> None:
        with self._lock:
            if not self.cache.has_state_changed:
                return
            write_private(self.path, self.cache.serialize())
            st = self._stat()
            self._stamp = None if st is None else (st.st_mtime_ns, st.st_size)


def _msal_error(result: Mapping[str, Any]) -> tuple[str, bool]:
    """One line from MSAL's error answer (code, first sentence) and whether it is fatal."""
    error = str(result.get("error") or "error")
    description = str(result.get("error_description") or "")
    first = re.split(r"\r?\n|(?<=\.)\s+Trace ID:", description, maxsplit=1)[0].strip()
    return (f"{error}: {first}" if first else error), error in _FATAL_ERRORS


def _certificate_credential(path: Path) -> dict[str, str]:
    """MSAL's certificate credential from one PEM file (private key + certificate)."""
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(
            f"cannot read the client certificate {path}: {exc}", retryable=False
        ) from None
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if match is None or "PRIVATE KEY-----" not in pem:
        raise TokenError(
            f"{path} must hold the private key and the certificate (PEM)", retryable=False
        )
    der = ssl.PEM_cert_to_DER_cert(match.group(0))
    return {
        "private_key": pem,
        "thumbprint": hashlib.sha1(der).hexdigest(),  # what Entra ID shows for the cert
        "public_certificate": match.group(0),
    }


class _MsalProvider(TokenProvider):
    scopes: tuple[str, ...] = ()

    def __init__(
        self,
        oauth: OAuthSettings,
        username: str,
        *,
        mailbox: str = "main",
        env_prefix: str = PREFIX,
        http_client: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock=clock)
        self.oauth = oauth
        self.username = username
        self.mailbox = mailbox
        self.env_prefix = env_prefix
        self.http_client = http_client
        self._app: Any = None
        self.label = f"OAuth2 ({oauth.flow}) for mailbox {mailbox!r}"
        if not oauth.client_id:
            raise TokenError(
                f"{env_prefix}OAUTH_CLIENT_ID is not set (the app registration's client id)",
                retryable=False,
            )

    @property
    def authority(self) -> str:
        return f"{self.oauth.authority.rstrip('/')}/{self.oauth.tenant}"

    def _build_app(self) -> Any:
        raise NotImplementedError

    @property
    def app(self) -> Any:
        """The MSAL application; built on first use (it asks the authority for its endpoints)."""
        if self._app is None:
            try:
                self._app = self._build_app()
            except TokenError:
                raise
            except ValueError as exc:
                raise TokenError(
                    f"{self.env_prefix}OAUTH_TENANT {self.oauth.tenant!r} is not known to "
                    f"{self.oauth.authority}: {str(exc).splitlines()[0][:200]}",
                    retryable=False,
                ) from None
            except Exception as exc:
                raise TokenError(
                    f"cannot reach {self.oauth.authority} for a token: "
                    f"{exc.__class__.__name__}: {str(exc)[:200]}"
                ) from None
        return self._app

    def _common_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "authority": self.authority,
            # Known Microsoft hosts need no discovery; any other was configured on purpose.
            "instance_discovery": False,
        }
        if self.http_client is not None:
            kwargs["http_client"] = self.http_client
        return kwargs

    def _call_msal(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TokenError:
            raise
        except ValueError as exc:
            raise TokenError(
                f"MSAL refused the request: {str(exc)[:200]}", retryable=False
            ) from None
        except Exception as exc:
            raise TokenError(
                f"cannot reach {self.oauth.authority} for a token: "
                f"{exc.__class__.__name__}: {str(exc)[:200]}"
            ) from None

    def _result(self, result: Mapping[str, Any] | None, what: str) -> tuple[str, float]:
        if result and "access_token" in result:
            expires_in = float(result.get("expires_in") or 3600)
            return str(result["access_token"]), self._clock() + expires_in
        line, fatal = _msal_error(result or {})
        raise TokenError(f"{what}: {line}", retryable=not fatal)


class DeviceCodeProvider(_MsalProvider):
    """Delegated access for a user who signed in with ``mailwatch auth login``."""

    scopes = DELEGATED_SCOPES

    def __init__(self, oauth: OAuthSettings, username: str, **kwargs: Any) -> None:
        super().__init__(oauth, username, **kwargs)
        self.cache_file = TokenCacheFile(oauth.token_cache)

    def _build_app(self) -> Any:
        import msal  # lazy: ~75 ms (requests, cryptography): loaded when a token is needed

        self.cache_file.load()
        return msal.PublicClientApplication(
            self.oauth.client_id, token_cache=self.cache_file.cache, **self._common_kwargs()
        )

    def _login_hint(self) -> str:
        return f"run `mailwatch auth login --mailbox {self.mailbox}`"

    def account(self) -> dict[str, Any] | None:
        """The signed-in account in the cache: the mailbox's own, or the only one there is."""
        accounts = self._call_msal(self.app.get_accounts)
        if not accounts:
            return None
        wanted = self.username.lower()
        for account in accounts:
            if str(account.get("username", "")).lower() == wanted:
                return dict(account)
        if len(accounts) == 1:  # a delegate signed in for a shared mailbox
            return dict(accounts[0])
        raise TokenError(
            f"token cache {self.oauth.token_cache} holds several accounts and none is "
            f"{self.username!r}: {self._login_hint()}",
            retryable=False,
        )

    def _fetch(self, force: bool) -> tuple[str, float]:
        app = self.app
        self.cache_file.load()
        account = self.account()
        if account is None:
            raise TokenError(
                f"nobody has signed in for mailbox {self.mailbox!r} yet (no account in "
                f"{self.oauth.token_cache}): {self._login_hint()}",
                retryable=False,
            )
        result = self._call_msal(
            app.acquire_token_silent_with_error,
            list(self.scopes),
            account,
            force_refresh=force,
        )
        self.cache_file.save()
        if not result:
            raise TokenError(
                f"the sign-in of {account.get('username')!r} has no refresh token left: "
                f"{self._login_hint()}",
                retryable=False,
            )
        if "access_token" not in result:
            line, fatal = _msal_error(result)
            raise TokenError(
                f"cannot renew the token of {account.get('username')!r}: {line}"
                + (f"; {self._login_hint()}" if fatal else ""),
                retryable=not fatal,
            )
        return self._result(result, "token renewal")

    def login(
        self,
        show: Callable[[Mapping[str, Any]], None],
        *,
        timeout: float | None = None,
    ) -> str:
        """The device-code flow: ``show`` gets MSAL's flow (``message``, ``user_code``,
        ``verification_uri``); then wait for the user. Returns the signed-in user name.

        The cache file then holds this account only (an earlier sign-in is removed).
        """
        app = self.app
        flow = self._call_msal(app.initiate_device_flow, scopes=_check_scopes(self.scopes))
        if "user_code" not in flow:
            line, _ = _msal_error(flow)
            raise TokenError(f"the device sign-in could not start: {line}", retryable=False)
        show(flow)
        if timeout is not None:
            flow["expires_at"] = min(float(flow.get("expires_at", 0)), time.time() + timeout)
        result = self._call_msal(app.acquire_token_by_device_flow, flow)
        if "access_token" not in result:
            line, _ = _msal_error(result)
            raise TokenError(f"sign-in did not complete: {line}", retryable=False)
        claims = result.get("id_token_claims") or {}
        user = str(claims.get("preferred_username") or claims.get("upn") or "")
        for account in self._call_msal(app.get_accounts):
            if account.get("username", "").lower() != user.lower():
                app.remove_account(account)
        self.cache_file.save()
        with self._lock:
            now = self._clock()
            lifetime = float(result.get("expires_in") or 3600)
            self._token = str(result["access_token"])
            self._expires_at = now + lifetime
            self._renew_at = now + lifetime - min(self._margin, lifetime / 10)
            self._force = False
        return user


class ClientCredentialsProvider(_MsalProvider):
    """App-only access (client secret or certificate); scope ``.default``."""

    scopes = APP_SCOPES

    def __init__(self, oauth: OAuthSettings, username: str, **kwargs: Any) -> None:
        super().__init__(oauth, username, **kwargs)
        if not oauth.client_secret and oauth.client_certificate is None:
            raise TokenError(
                f"{self.env_prefix}OAUTH_CLIENT_SECRET (or OAUTH_CLIENT_CERTIFICATE) is not set",
                retryable=False,
            )

    def _build_app(self) -> Any:
        import msal  # lazy: ~75 ms (requests, cryptography): loaded when a token is needed

        credential: Any
        if self.oauth.client_certificate is not None:
            credential = _certificate_credential(self.oauth.client_certificate)
        else:
            credential = self.oauth.client_secret.reveal()
        return msal.ConfidentialClientApplication(
            self.oauth.client_id,
            client_credential=credential,
            token_cache=_memory_cache(),
            **self._common_kwargs(),
        )

    def _fetch(self, force: bool) -> tuple[str, float]:
        app = self.app
        if force:
            app.remove_tokens_for_client()  # else MSAL hands out the refused token again
        result = self._call_msal(app.acquire_token_for_client, scopes=_check_scopes(self.scopes))
        return self._result(result, "app token")


def _memory_cache() -> msal.TokenCache:
    import msal  # lazy: ~75 ms (requests, cryptography): loaded when a token is needed

    return msal.TokenCache()


# -- one provider per mailbox -------------------------------------------------------------------

_providers: dict[tuple[Any, ...], TokenProvider] = {}
_providers_lock = threading.Lock()


def _key(mailbox: MailboxSettings) -> tuple[Any, ...]:
    return (mailbox.name, mailbox.oauth, mailbox.imap.username.lower())


def build_provider(
    mailbox: MailboxSettings, *, http_client: requests.Session | None = None
) -> TokenProvider:
    """A new provider for ``mailbox`` (its OAUTH_FLOW); nothing is fetched yet."""
    oauth = mailbox.oauth
    common: dict[str, Any] = {"mailbox": mailbox.name, "env_prefix": mailbox.env_prefix}
    if oauth.flow == "command":
        if not oauth.token_command:
            raise TokenError(
                f"{mailbox.env_prefix}OAUTH_TOKEN_COMMAND is not set (OAUTH_FLOW=command)",
                retryable=False,
            )
        return CommandProvider(
            oauth.token_command,
            username=mailbox.imap.username,
            mailbox=mailbox.name,
            key=f"{mailbox.env_prefix}OAUTH_TOKEN_COMMAND",
        )
    if oauth.flow == "client_credentials":
        return ClientCredentialsProvider(
            oauth, mailbox.imap.username, http_client=http_client, **common
        )
    return DeviceCodeProvider(oauth, mailbox.imap.username, http_client=http_client, **common)


def provider_for(
    mailbox: MailboxSettings, *, http_client: requests.Session | None = None
) -> TokenProvider:
    """The mailbox's shared provider (IMAP, SMTP and the outbox use one token and cache).

    With ``http_client`` (tests, a proxy) a private provider is built instead.
    """
    if http_client is not None:
        return build_provider(mailbox, http_client=http_client)
    key = _key(mailbox)
    with _providers_lock:
        provider = _providers.get(key)
        if provider is None:
            provider = _providers[key] = build_provider(mailbox)
        return provider


def imap_provider(mailbox: MailboxSettings) -> TokenProvider | None:
    """The provider when IMAP_AUTH=oauth2, else None (for ``ImapConnection``)."""
    return provider_for(mailbox) if mailbox.imap.auth == "oauth2" else None


def smtp_provider(mailbox: MailboxSettings) -> TokenProvider | None:
    """The provider when SMTP_AUTH=oauth2, else None (for ``submit``)."""
    return provider_for(mailbox) if mailbox.smtp.auth == "oauth2" else None


def token_source(mailbox: MailboxSettings) -> str:
    """A token for ``mailbox``: the ``Outbox(token_source=...)`` signature."""
    return provider_for(mailbox)()


def invalidate_cached(mailbox: MailboxSettings, token: str | None = None) -> None:
    """Tell the mailbox's shared provider (if one exists) that ``token`` was refused."""
    with _providers_lock:
        provider = _providers.get(_key(mailbox))
    if provider is not None:
        provider.invalidate(token)


def clear_providers() -> None:
    """Forget every shared provider (tests; after the settings changed)."""
    with _providers_lock:
        _providers.clear()
