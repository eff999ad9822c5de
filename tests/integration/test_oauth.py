"""OAuth2 end to end, with no network: real XOAUTH2 logins, MSAL's flows, SMTP XOAUTH2.

* Dovecot with an ``oauth2`` passdb whose token check goes to tests/servers/oauth.py's
  introspection endpoint: logins succeed, a wrong token fails with one clear line, and a token
  that expires mid-run is renewed (from the fake Microsoft token endpoint, through MSAL) while
  the watcher reconnects, with nothing lost.
* MSAL's device-code and client-credentials flows against the fake identity server (https,
  self-signed): the 0600 token cache, silent refresh from it, forced refresh, errors.
* SMTP like smtp.office365.com (aiosmtpd): STARTTLS, EHLO again, AUTH XOAUTH2, 535 / 530.
"""

from __future__ import annotations

import asyncio
import re
import stat
import threading
from collections.abc import Iterator
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import typer
from imapclient import IMAPClient
from sqlalchemy import select
from typer.testing import CliRunner

from mailwatch.auth.tokens import (
    APP_SCOPES,
    ClientCredentialsProvider,
    DeviceCodeProvider,
    TokenError,
    provider_for,
)
from mailwatch.cli import context as cli_context
from mailwatch.cli.auth import auth_app
from mailwatch.config import MailboxSettings, Settings, settings_from_values
from mailwatch.errors import MailAccessError
from mailwatch.mail.imap import ImapConnection
from mailwatch.mail.smtp import SmtpConfigError, classify_smtp_error, submit
from mailwatch.store.models import Mailbox, Message
from mailwatch.sync.watch import MailboxWatcher
from tests.helpers import Harness, make_msg, sqlite_url, wait_until
from tests.servers.common import require_binary, require_root, scratch_dir
from tests.servers.dovecot import DovecotServer, ImapAccount
from tests.servers.oauth import OAuthServer, OAuthSmtpServer

CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
SECRET = "app-secret-value"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oauth() -> Iterator[OAuthServer]:
    workdir = scratch_dir("mailwatch-oauth-")
    server = OAuthServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh_rules(oauth: OAuthServer) -> None:
    oauth.tokens.lifetime = 3600
    oauth.device_user = None
    oauth.pending_polls = 0


@pytest.fixture(scope="module")
def dovecot_oauth(oauth: OAuthServer) -> Iterator[DovecotServer]:
    """Dovecot as Exchange Online (o365 profile) with XOAUTH2 + OAUTHBEARER logins."""
    require_root("Dovecot test server")
    require_binary("dovecot", "Dovecot (apt install dovecot-imapd)")
    require_binary("doveadm", "Dovecot (apt install dovecot-imapd)")
    server = DovecotServer(profile="o365", oauth2_introspection=oauth.introspection_url).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def account(dovecot_oauth: DovecotServer, request: pytest.FixtureRequest) -> ImapAccount:
    return dovecot_oauth.new_account(prefix=request.node.name)


def oauth_settings(
    oauth: OAuthServer, tmp_path: Path, account: Any = None, **extra: str
) -> Settings:
    values = {
        "IMAP_HOST": account.host if account else "127.0.0.1",
        "IMAP_PORT": str(account.port) if account else "143",
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": account.username if account else "sales@contoso.com",
        "IMAP_AUTH": "oauth2",
        "IMAP_TIMEOUT": "10",
        "BACKFILL_DAYS": "0",
        "DATABASE_URL": sqlite_url(tmp_path),
        "OAUTH_AUTHORITY": oauth.authority,
        "OAUTH_TENANT": oauth.tenant,
        "OAUTH_CLIENT_ID": CLIENT_ID,
        "OAUTH_TOKEN_CACHE": str(tmp_path / "cache" / "token.json"),
    }
    values.update(extra)
    settings = settings_from_values({f"MAILWATCH_{k}": v for k, v in values.items()})
    assert settings.problems == (), settings.problems
    return settings


def app_settings(oauth: OAuthServer, tmp_path: Path, account: Any = None, **extra: str) -> Settings:
    values = {"OAUTH_FLOW": "client_credentials", "OAUTH_CLIENT_SECRET": SECRET, **extra}
    return oauth_settings(oauth, tmp_path, account, **values)


class Refusing:
    """A provider whose every token is wrong (and that counts the invalidations)."""

    def __init__(self) -> None:
        self.calls = 0
        self.invalidated = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"Zq9-bogus-{self.calls}"

    def invalidate(self, token: str | None = None) -> None:
        self.invalidated += 1


# -- IMAP against Dovecot ----------------------------------------------------------------------


def test_xoauth2_login_succeeds(account, oauth, tmp_path):
    token = oauth.tokens.issue(account.username)
    before = oauth.tokens.introspections
    box = oauth_settings(oauth, tmp_path, account).mailboxes[0]
    with ImapConnection(box.imap, timeout=10, token_provider=lambda: token) as conn:
        names = {f.name for f in conn.list_folders()}
        assert {"INBOX", "Sent Items"} <= names
        assert "CONDSTORE" not in conn.capabilities  # Exchange Online's capability list
    assert oauth.tokens.introspections > before  # Dovecot really asked about the token


def test_oauthbearer_is_offered_too(account, oauth):
    token = oauth.tokens.issue(account.username)
    client = IMAPClient(account.host, port=account.port, ssl=False, timeout=10)
    try:
        caps = client.capabilities()
        assert b"AUTH=XOAUTH2" in caps and b"AUTH=OAUTHBEARER" in caps
        client.oauthbearer_login(account.username, token)
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    finally:
        client.shutdown()
    # Password logins still work beside the oauth2 passdb (the test helpers use them).
    with account.client() as plain:
        plain.noop()


def test_wrong_token_fails_with_one_clear_line(account, oauth, tmp_path):
    box = oauth_settings(oauth, tmp_path, account).mailboxes[0]
    provider = Refusing()
    conn = ImapConnection(box.imap, timeout=10, token_provider=provider)
    with pytest.raises(MailAccessError) as info:
        conn.connect()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"OAuth2 token refused for {account.username!r}")
    assert "Authentication failed" in message and "bad or expired" in message
    assert "Zq9-bogus" not in message  # the token itself is never shown
    assert not info.value.retryable
    assert provider.calls == 2 and provider.invalidated == 1  # one renewal tried, then stop
    assert conn.client is None


def test_token_for_another_user_is_refused(account, oauth, tmp_path):
    other = oauth.tokens.issue("somebody-else@example.com")
    box = oauth_settings(oauth, tmp_path, account).mailboxes[0]
    conn = ImapConnection(box.imap, timeout=10, token_provider=lambda: other)
    with pytest.raises(MailAccessError, match="OAuth2 token refused"):
        conn.connect()


def _kick(server: DovecotServer, user: str) -> None:
    server.doveadm("kick", user)


def test_token_expiry_mid_run_renews_and_loses_nothing(account, oauth, tmp_path):
    """The watcher runs with an app token from MSAL; the token then dies at the server
    (revoked: what expiry looks like to Dovecot), the session is dropped as Exchange does
    (``BYE Session invalidated - AccessTokenExpired``), and mail arrives meanwhile. The
    watcher reconnects, its cached token is refused, the provider gets a new one from the
    token endpoint, and every message is synced exactly once."""
    oauth.register_app(CLIENT_ID, secret=SECRET, mailbox=account.username)
    settings = app_settings(oauth, tmp_path, account, POLL_INTERVAL="10m", IDLE_RENEW="10m")
    box = settings.mailboxes[0]
    provider = provider_for(box, http_client=oauth.http_client())
    conn = ImapConnection(box.imap, timeout=10, token_provider=provider)
    h = Harness(settings, connection=conn)
    first = [make_msgid(domain="acme.test") for _ in range(3)]
    later = [make_msgid(domain="acme.test") for _ in range(2)]
    for mid in first:
        account.server.append(account.username, "INBOX", make_msg(msgid=mid))
    stop = threading.Event()
    watcher = MailboxWatcher(h.syncer, settings, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: h.count(Message) == 3, 15, "the first 3 messages stored")
        assert provider.fetches == 1
        old_token = provider()
        grants_before = sum(
            r.get("grant_type") == "client_credentials" for r in oauth.tokens.requests
        )

        oauth.tokens.revoke(old_token)
        _kick(account.server, account.username)
        for mid in later:  # arrives while mailwatch is cut off
            account.server.append(account.username, "INBOX", make_msg(msgid=mid))

        wait_until(lambda: h.count(Message) == 5, 20, "the 2 later messages stored")
    finally:
        stop.set()
        thread.join(15)
        h.close()
    assert not thread.is_alive()
    with h.factory() as session:
        stored = set(session.scalars(select(Message.message_id)))
        mailbox = session.scalars(select(Mailbox)).one()
    assert stored == set(first + later)
    assert provider.fetches == 2 and provider() != old_token
    grants = sum(r.get("grant_type") == "client_credentials" for r in oauth.tokens.requests)
    assert grants == grants_before + 1  # one new token from the endpoint, no storm
    assert oauth.tokens.check(provider()) is not None
    assert mailbox.last_error is None  # the pass after reconnecting cleared the error


def test_not_granted_app_token_fails_clearly(account, oauth, tmp_path):
    """An app token for a mailbox the service principal was not given (its token names
    another mailbox here) is refused at login: one line, no retry storm."""
    oauth.register_app(CLIENT_ID, secret=SECRET, mailbox="other@example.com")
    box = app_settings(oauth, tmp_path, account).mailboxes[0]
    provider = provider_for(box, http_client=oauth.http_client())
    conn = ImapConnection(box.imap, timeout=10, token_provider=provider)
    with pytest.raises(MailAccessError, match="OAuth2 token refused") as info:
        conn.connect()
    assert not info.value.retryable and provider.fetches == 2


# -- MSAL: device code -------------------------------------------------------------------------


def _device_provider(oauth: OAuthServer, settings: Settings) -> DeviceCodeProvider:
    provider = provider_for(settings.mailboxes[0], http_client=oauth.http_client())
    assert isinstance(provider, DeviceCodeProvider)
    return provider


def test_device_code_login_then_silent_refresh(oauth, tmp_path):
    settings = oauth_settings(oauth, tmp_path)
    cache = settings.mailboxes[0].oauth.token_cache
    oauth.device_user = "sales@contoso.com"
    oauth.pending_polls = 1  # the user takes a moment: MSAL polls again
    shown: list[dict[str, Any]] = []
    provider = _device_provider(oauth, settings)
    user = provider.login(lambda flow: shown.append(dict(flow)))
    assert user == "sales@contoso.com"
    assert shown and shown[0]["user_code"] in shown[0]["message"]
    assert shown[0]["verification_uri"] in shown[0]["message"]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    asked = next(r for r in oauth.tokens.requests if r["_endpoint"] == "devicecode")
    scopes = set(asked["scope"].split())
    assert {
        "https://outlook.office365.com/IMAP.AccessAsUser.All",
        "https://outlook.office365.com/SMTP.Send",
    } <= scopes
    assert "offline_access" in scopes  # added by MSAL itself, never by us

    # A later process (the service) reads the cache: the token is there, no request at all.
    seen = len(oauth.tokens.requests)
    later = _device_provider(oauth, settings)
    token = later()
    assert len(oauth.tokens.requests) == seen
    assert oauth.tokens.check(token).username == "sales@contoso.com"

    # Told the token was refused: MSAL's cache is bypassed, the refresh token is used.
    oauth.tokens.lifetime = 120  # and the next tokens are short-lived
    later.invalidate(token)
    renewed = later()
    assert renewed != token
    assert oauth.tokens.requests[-1]["grant_type"] == "refresh_token"
    assert "offline_access" in oauth.tokens.requests[-1]["scope"].split()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    # A token with less than 5 minutes left is renewed silently by MSAL from the cache file.
    third = _device_provider(oauth, settings)
    newest = third()
    assert newest not in (token, renewed)
    assert oauth.tokens.requests[-1]["grant_type"] == "refresh_token"


def test_device_code_without_sign_in_or_with_revoked_refresh(oauth, tmp_path):
    settings = oauth_settings(oauth, tmp_path)
    with pytest.raises(TokenError, match="nobody has signed in") as info:
        _device_provider(oauth, settings)()
    assert not info.value.retryable
    assert "mailwatch auth login --mailbox main" in str(info.value)

    oauth.device_user = "sales@contoso.com"
    provider = _device_provider(oauth, settings)
    token = provider.login(lambda flow: None) and provider()
    oauth.tokens.refresh_tokens.clear()  # the admin revoked the user's sessions
    provider.invalidate(token)
    with pytest.raises(TokenError) as info:
        provider()
    message = str(info.value)
    assert "invalid_grant" in message and "mailwatch auth login --mailbox main" in message
    assert "Trace ID" not in message and "\n" not in message
    assert not info.value.retryable


def test_auth_login_command(oauth, tmp_path, monkeypatch):
    settings = oauth_settings(oauth, tmp_path)
    monkeypatch.setattr(cli_context.state, "settings", settings)
    # The command builds its own MSAL client: make it trust the test authority.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth.tls.cert))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    oauth.device_user = "anna@contoso.com"
    app = typer.Typer()
    app.add_typer(auth_app, name="auth")

    @app.callback()
    def _main() -> None:
        pass

    result = CliRunner().invoke(app, ["auth", "login", "--mailbox", "main"])
    assert result.exit_code == 0, result.output
    code = re.search(r"code:\s+(\S+)", result.output)
    assert code and code.group(1) in result.output
    assert f"{oauth.authority}/devicelogin" in result.output
    assert "signed in as anna@contoso.com" in result.output
    assert "shared mailbox or a delegate" in result.output  # anna opens sales@
    cache = settings.mailboxes[0].oauth.token_cache
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600

    status = CliRunner().invoke(app, ["auth", "status"])
    assert status.exit_code == 0, status.output
    assert "token OK" in status.output


# -- MSAL: client credentials ------------------------------------------------------------------


def test_client_credentials_with_secret(oauth, tmp_path):
    oauth.register_app(CLIENT_ID, secret=SECRET, mailbox="sales@contoso.com")
    box = app_settings(oauth, tmp_path).mailboxes[0]
    provider = provider_for(box, http_client=oauth.http_client())
    assert isinstance(provider, ClientCredentialsProvider)
    token = provider()
    assert provider() == token and provider.fetches == 1
    sent = oauth.tokens.requests[-1]
    assert sent["grant_type"] == "client_credentials"
    assert sent["scope"].split() == list(APP_SCOPES)  # .default only, nothing reserved
    assert SECRET not in repr(provider) and token not in repr(provider)
    provider.invalidate(token)
    assert provider() != token  # MSAL's own cache was bypassed
    assert not box.oauth.token_cache.exists()  # app tokens are never written to disk


def test_client_credentials_wrong_secret_and_unknown_tenant(oauth, tmp_path):
    oauth.register_app(CLIENT_ID, secret=SECRET)
    box = app_settings(oauth, tmp_path, OAUTH_CLIENT_SECRET="stale").mailboxes[0]
    with pytest.raises(TokenError) as info:
        provider_for(box, http_client=oauth.http_client())()
    message = str(info.value)
    assert message.startswith("app token: invalid_client: AADSTS7000215")
    assert "stale" not in message and "Trace ID" not in message
    assert not info.value.retryable

    box = app_settings(oauth, tmp_path, OAUTH_TENANT="fabrikam.onmicrosoft.com").mailboxes[0]
    with pytest.raises(TokenError, match="is not known to") as info:
        provider_for(box, http_client=oauth.http_client())()
    assert not info.value.retryable


def test_client_credentials_with_certificate(oauth, tmp_path):
    oauth.register_app(CLIENT_ID, certificate=oauth.tls.cert, mailbox="sales@contoso.com")
    box = oauth_settings(
        oauth,
        tmp_path,
        OAUTH_FLOW="client_credentials",
        OAUTH_CLIENT_CERTIFICATE=str(oauth.tls.combined),
    ).mailboxes[0]
    token = provider_for(box, http_client=oauth.http_client())()
    assert oauth.tokens.check(token).username == "sales@contoso.com"
    sent = oauth.tokens.requests[-1]
    assert "client_assertion" in sent and "client_secret" not in sent


# -- SMTP XOAUTH2 (aiosmtpd as smtp.office365.com) -----------------------------------------------


@pytest.fixture
def smtp_o365(oauth: OAuthServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuthSmtpServer]:
    monkeypatch.setenv("SSL_CERT_FILE", str(oauth.tls.cert))  # mailwatch's default TLS context
    server = OAuthSmtpServer(oauth.tokens, tls=oauth.tls).start()
    try:
        yield server
    finally:
        server.stop()


def smtp_mailbox(
    oauth: OAuthServer, tmp_path: Path, smtp: OAuthSmtpServer, security: str = "starttls"
) -> MailboxSettings:
    oauth.register_app(CLIENT_ID, secret=SECRET, mailbox="sales@contoso.com")
    return app_settings(
        oauth,
        tmp_path,
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
        SMTP_SECURITY=security,
    ).mailboxes[0]


RAW = make_msg(sender="sales@contoso.com", to="client@acme.test", subject="Offer")


def test_smtp_xoauth2_after_starttls(oauth, tmp_path, smtp_o365):
    box = smtp_mailbox(oauth, tmp_path, smtp_o365)
    assert box.smtp.auth == "oauth2"
    provider = provider_for(box, http_client=oauth.http_client())
    refused = asyncio.run(
        submit(box, "sales@contoso.com", ("client@acme.test",), RAW, token_provider=provider)
    )
    assert refused == {}
    [received] = smtp_o365.wait_for(1)
    assert received.login == "sales@contoso.com"
    assert received.rcpt_tos == ("client@acme.test",)


def test_smtp_refused_token_is_renewed(oauth, tmp_path, smtp_o365):
    box = smtp_mailbox(oauth, tmp_path, smtp_o365)
    provider = provider_for(box, http_client=oauth.http_client())
    oauth.tokens.revoke(provider())  # cached, but dead at the server
    asyncio.run(
        submit(box, "sales@contoso.com", ("client@acme.test",), RAW, token_provider=provider)
    )
    assert len(smtp_o365.wait_for(1)) == 1 and provider.fetches == 2


def test_smtp_bad_token_is_explained(oauth, tmp_path, smtp_o365):
    box = smtp_mailbox(oauth, tmp_path, smtp_o365)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
        asyncio.run(
            submit(
                box,
                "sales@contoso.com",
                ("client@acme.test",),
                RAW,
                token_provider=lambda: "not-a-valid-token",
            )
        )
    failure = classify_smtp_error(info.value)
    assert not failure.permanent
    assert failure.detail.startswith("SMTP login refused: 535 5.7.3")
    assert "Set-CASMailbox" in failure.detail and "not-a-valid-token" not in failure.detail
    assert smtp_o365.received == []


def test_smtp_without_starttls_says_why(oauth, tmp_path, smtp_o365):
    box = smtp_mailbox(oauth, tmp_path, smtp_o365, security="none")
    with pytest.raises(SmtpConfigError, match="only after STARTTLS") as info:
        asyncio.run(
            submit(box, "sales@contoso.com", ("a@acme.test",), RAW, token_provider=lambda: "x")
        )
    assert "SMTP_SECURITY=starttls" in classify_smtp_error(info.value).detail


def test_smtp_mail_before_auth_is_530_5_7_57_explained(oauth):
    server = OAuthSmtpServer(oauth.tokens).start()  # no TLS: only the login is missing

    async def send_without_login() -> None:
        client = aiosmtplib.SMTP(hostname=server.host, port=server.port, start_tls=False)
        await client.connect()
        try:
            await client.sendmail("sales@contoso.com", ["a@acme.test"], RAW)
        finally:
            client.close()

    try:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as info:
            asyncio.run(send_without_login())
    finally:
        server.stop()
    failure = classify_smtp_error(info.value)
    assert "530 5.7.57" in failure.detail and "STARTTLS" in failure.detail
    assert "\n" not in failure.detail


def test_check_logs_in_to_smtp_with_xoauth2(oauth, tmp_path, smtp_o365):
    from mailwatch.mail.smtp_check import check_smtp

    box = smtp_mailbox(oauth, tmp_path, smtp_o365)
    provider = provider_for(box, http_client=oauth.http_client())
    good = check_smtp(box.smtp, timeout=10, token_provider=provider)
    assert good.error is None and "auth" in good.extensions
    bad = check_smtp(box.smtp, timeout=10, token_provider=lambda: "not-a-valid-token")
    assert bad.error is not None
    assert "535 5.7.3" in bad.error and "not-a-valid-token" not in bad.error
