"""Token providers without a network: caching, invalidation, the token command, the cache file."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from mailwatch.auth import tokens
from mailwatch.auth.tokens import (
    APP_SCOPES,
    DELEGATED_SCOPES,
    RESERVED_SCOPES,
    CommandProvider,
    TokenCacheFile,
    TokenError,
    TokenProvider,
    invalidate_cached,
    jwt_expiry,
    provider_for,
    write_private,
)
from mailwatch.config import settings_from_values

CLIENT_ID = "0c1a5e2f-7f1d-4a55-9a57-3f1c1f0b6d21"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Counting(TokenProvider):
    def __init__(self, clock: Clock, lifetime: float = 3600) -> None:
        super().__init__(clock=clock)
        self.lifetime = lifetime
        self.forced: list[bool] = []

    def _fetch(self, force: bool) -> tuple[str, float]:
        self.forced.append(force)
        return f"token-{len(self.forced)}", self._clock() + self.lifetime


def test_scopes_are_the_outlook_ones_and_never_reserved():
    assert APP_SCOPES == ("https://outlook.office365.com/.default",)
    assert DELEGATED_SCOPES == (
        "https://outlook.office365.com/IMAP.AccessAsUser.All",
        "https://outlook.office365.com/SMTP.Send",
    )
    assert not RESERVED_SCOPES & {s.lower() for s in APP_SCOPES + DELEGATED_SCOPES}
    with pytest.raises(ValueError, match="reserved"):
        tokens._check_scopes(("offline_access", *DELEGATED_SCOPES))


def test_token_is_kept_until_shortly_before_expiry():
    clock = Clock()
    provider = Counting(clock)
    assert provider() == "token-1"
    clock.now += 3000
    assert provider() == "token-1"  # 10 % (at most 5 min) before expiry it is renewed
    clock.now += 301
    assert provider() == "token-2"
    assert provider.forced == [False, False]
    assert provider.expires_at == pytest.approx(clock.now + 3600)
    short = Counting(Clock(), lifetime=60)
    assert short() == short() == "token-1"  # a short-lived token is still reused a while


def test_invalidate_forces_a_new_token_but_not_twice():
    clock = Clock()
    provider = Counting(clock)
    first = provider()
    provider.invalidate("some-older-token")  # a late report about an old token: ignored
    assert provider() == first
    provider.invalidate(first)
    second = provider()
    assert second != first and provider.forced == [False, True]
    provider.invalidate(first)  # the refused one is gone already
    assert provider() == second
    provider.invalidate()
    assert provider() == "token-3"


def test_repr_never_shows_the_token():
    provider = Counting(Clock())
    token = provider()
    assert token not in repr(provider)


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "token.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_command_first_line_is_the_token(tmp_path):
    command = _script(
        tmp_path,
        "import os\n"
        "print('tok-' + os.environ['MAILWATCH_OAUTH_USER'].split('@')[0])\n"
        "print('second line is ignored')\n",
    )
    provider = CommandProvider(command, username="sales@example.com", mailbox="main")
    assert provider() == "tok-sales"
    assert provider.expires_at is not None


def test_command_jwt_expiry_is_used(tmp_path):
    clock = Clock()
    token = _jwt({"exp": int(clock.now) + 1800})
    assert jwt_expiry(token) == clock.now + 1800
    assert jwt_expiry("not.a.jwt") is None and jwt_expiry("opaque") is None
    provider = CommandProvider(_script(tmp_path, f"print({token!r})"), clock=clock)
    assert provider() == token
    assert provider.expires_at == clock.now + 1800


def test_command_failure_hides_secrets_from_stderr(tmp_path, caplog):
    secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secretpart"
    command = _script(
        tmp_path,
        "import sys\n"
        f"print('refresh token {secret} rejected: invalid_grant', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    provider = CommandProvider(command)
    with caplog.at_level(logging.DEBUG), pytest.raises(TokenError) as info:
        provider()
    message = str(info.value)
    assert "exit status 3" in message and "invalid_grant" in message
    assert secret not in message and "secretpart" not in message
    assert secret not in caplog.text
    assert info.value.retryable


def test_command_errors_are_one_line(tmp_path):
    with pytest.raises(TokenError, match="printed no token"):
        CommandProvider(_script(tmp_path, "print('')"))()
    with pytest.raises(TokenError, match="not found") as info:
        CommandProvider("/nonexistent/get-token --user x")()
    assert not info.value.retryable
    slow = CommandProvider(_script(tmp_path, "import time\ntime.sleep(5)\n"), timeout=0.5)
    with pytest.raises(TokenError, match=r"within 0\.5 s"):
        slow()
    with pytest.raises(TokenError, match="cannot split"):
        CommandProvider("get-token 'unclosed")()


def test_write_private_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "deep" / "cache.json"
        write_private(path, '{"a": 1}')
        write_private(path, '{"a": 2}')
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["cache.json"]  # no temp files left


def test_cache_file_too_open_is_made_private(tmp_path, caplog):
    path = tmp_path / "cache.json"
    path.write_text("{}")
    path.chmod(0o644)
    cache = TokenCacheFile(path)
    with caplog.at_level(logging.WARNING):
        cache.load()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "0600" in caplog.text
    path.write_text("not json")
    with pytest.raises(TokenError, match="damaged"):
        cache.load()


def _mailbox(**extra: str):
    values = {
        "MAILWATCH_IMAP_HOST": "outlook.office365.com",
        "MAILWATCH_IMAP_USERNAME": "sales@contoso.com",
        "MAILWATCH_IMAP_AUTH": "oauth2",
        "MAILWATCH_OAUTH_CLIENT_ID": CLIENT_ID,
    }
    values.update({f"MAILWATCH_{k}": v for k, v in extra.items()})
    return settings_from_values(values).mailboxes[0]


def test_one_shared_provider_per_mailbox(tmp_path):
    tokens.clear_providers()
    try:
        box = _mailbox(OAUTH_FLOW="command", OAUTH_TOKEN_COMMAND=_script(tmp_path, "print('t1')"))
        provider = provider_for(box)
        assert provider_for(box) is provider
        assert isinstance(provider, CommandProvider)
        assert provider() == "t1"
        invalidate_cached(box, "t1")
        assert provider._force
        other = _mailbox(OAUTH_FLOW="device", OAUTH_TOKEN_CACHE=str(tmp_path / "c.json"))
        assert provider_for(other) is not provider
        assert tokens.imap_provider(other) is provider_for(other)
        assert tokens.smtp_provider(other) is provider_for(other)  # SMTP_AUTH follows IMAP
    finally:
        tokens.clear_providers()


def test_missing_credentials_are_clear(tmp_path):
    box = _mailbox(OAUTH_FLOW="client_credentials", OAUTH_TENANT="contoso.onmicrosoft.com")
    with pytest.raises(TokenError, match="OAUTH_CLIENT_SECRET"):
        tokens.build_provider(box)
