"""Office 365 defaults, OAUTH_* validation, and what SMTP's authentication refusals mean."""

from __future__ import annotations

import aiosmtplib
import pytest

from mailwatch.auth.tokens import TokenError
from mailwatch.config import ConfigError, settings_from_values
from mailwatch.mail.smtp import classify_smtp_error, explain_smtp_reply

CLIENT_ID = "0c1a5e2f-7f1d-4a55-9a57-3f1c1f0b6d21"
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


def load(**values: str):
    base = {
        "MAILWATCH_IMAP_HOST": "outlook.office365.com",
        "MAILWATCH_IMAP_USERNAME": "sales@contoso.com",
    }
    base.update({f"MAILWATCH_{k}": v for k, v in values.items()})
    return settings_from_values(base)


def test_office365_defaults():
    box = load(IMAP_AUTH="oauth2", OAUTH_CLIENT_ID=CLIENT_ID).mailboxes[0]
    assert (box.imap.host, box.imap.port, box.imap.security) == (
        "outlook.office365.com",
        993,
        "ssl",
    )
    assert (box.smtp.host, box.smtp.port, box.smtp.security) == (
        "smtp.office365.com",
        587,
        "starttls",
    )
    assert box.smtp.username == "sales@contoso.com"
    assert box.smtp.auth == "oauth2"  # follows IMAP_AUTH unless SMTP_AUTH says otherwise
    assert box.oauth.authority == "https://login.microsoftonline.com"
    assert box.oauth.tenant == "organizations" and box.oauth.flow == "device"


def test_explicit_smtp_settings_win():
    box = load(
        IMAP_AUTH="oauth2",
        OAUTH_CLIENT_ID=CLIENT_ID,
        SMTP_HOST="relay.contoso.com",
        SMTP_SECURITY="ssl",
        SMTP_AUTH="password",
        SMTP_PASSWORD="x",
    ).mailboxes[0]
    assert (box.smtp.host, box.smtp.port, box.smtp.auth) == ("relay.contoso.com", 465, "password")
    other = load(IMAP_HOST="imap.example.com").mailboxes[0]
    assert other.smtp.host == ""  # no guessing for other providers


def test_missing_oauth_keys_are_problems_naming_the_key():
    cfg = load(IMAP_AUTH="oauth2")
    assert [p.key for p in cfg.problems] == ["MAILWATCH_OAUTH_CLIENT_ID"]
    cfg = load(
        IMAP_AUTH="oauth2",
        OAUTH_FLOW="client_credentials",
        OAUTH_CLIENT_ID=CLIENT_ID,
        OAUTH_TENANT=TENANT_ID,
    )
    assert [p.key for p in cfg.problems] == ["MAILWATCH_OAUTH_CLIENT_SECRET"]
    cfg = load(IMAP_AUTH="oauth2", OAUTH_FLOW="command")
    assert [p.key for p in cfg.problems] == ["MAILWATCH_OAUTH_TOKEN_COMMAND"]
    cfg = load(
        IMAP_AUTH="oauth2",
        OAUTH_FLOW="client_credentials",
        OAUTH_CLIENT_ID=CLIENT_ID,
        OAUTH_TENANT="contoso.onmicrosoft.com",
        OAUTH_CLIENT_CERTIFICATE="/nonexistent/app.pem",
    )
    assert [p.key for p in cfg.problems] == ["MAILWATCH_OAUTH_CLIENT_CERTIFICATE"]
    # Password mailboxes are not bothered with OAuth keys.
    assert load(IMAP_PASSWORD="x").problems == ()


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("OAUTH_CLIENT_ID", "my-app", "client) ID"),
        ("OAUTH_TENANT", "not a tenant", "tenant"),
        ("OAUTH_AUTHORITY", "http://login.microsoftonline.com", "https://"),
        ("OAUTH_AUTHORITY", "https://login.microsoftonline.com/contoso", "without a path"),
        ("OAUTH_FLOW", "password", "device, client_credentials, command"),
        ("OAUTH_TOKEN_COMMAND", "get-token 'oops", "cannot split"),
    ],
)
def test_bad_oauth_values_stop_start_up(key, value, words):
    with pytest.raises(ConfigError) as info:
        load(**{"IMAP_AUTH": "oauth2", "OAUTH_CLIENT_ID": CLIENT_ID, key: value})
    assert info.value.key == f"MAILWATCH_{key}"
    assert words in str(info.value)


def test_client_credentials_need_a_real_tenant():
    with pytest.raises(ConfigError, match="tenant") as info:
        load(
            IMAP_AUTH="oauth2",
            OAUTH_FLOW="client_credentials",
            OAUTH_CLIENT_ID=CLIENT_ID,
            OAUTH_CLIENT_SECRET="s",
        )
    assert info.value.key == "MAILWATCH_OAUTH_TENANT"
    ok = load(
        IMAP_AUTH="oauth2",
        OAUTH_FLOW="client_credentials",
        OAUTH_CLIENT_ID=CLIENT_ID,
        OAUTH_CLIENT_SECRET="s",
        OAUTH_TENANT=TENANT_ID,
    )
    assert ok.problems == () and "s" not in repr(ok.mailboxes[0].oauth.client_secret)


def test_extra_mailbox_inherits_oauth_keys():
    cfg = settings_from_values(
        {
            "MAILWATCH_MAILBOXES": "main,shared",
            "MAILWATCH_IMAP_HOST": "outlook.office365.com",
            "MAILWATCH_IMAP_USERNAME": "anna@contoso.com",
            "MAILWATCH_IMAP_AUTH": "oauth2",
            "MAILWATCH_OAUTH_CLIENT_ID": CLIENT_ID,
            "MAILWATCH_SHARED_IMAP_USERNAME": "sales@contoso.com",
            "MAILWATCH_SHARED_OAUTH_TOKEN_CACHE": "/tmp/shared.json",
        }
    )
    shared = cfg.mailbox("shared")
    assert shared.oauth.client_id == CLIENT_ID and shared.imap.auth == "oauth2"
    assert str(shared.oauth.token_cache) == "/tmp/shared.json"
    assert shared.smtp.host == "smtp.office365.com"


def test_smtp_refusals_explained_in_one_line():
    cases = {
        (535, "5.7.3 Authentication unsuccessful [AM0PR04CA0001.eurprd04.prod.outlook.com]"): (
            "Set-CASMailbox"
        ),
        (
            535,
            "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
        ): "tenant",
        (530, "5.7.57 Client not authenticated to send mail. [AM0PR04CA0001]"): "STARTTLS",
    }
    for (code, message), words in cases.items():
        why = explain_smtp_reply(code, message)
        assert why is not None and words in why
    assert explain_smtp_reply(550, "5.1.1 unknown user") is None

    auth = classify_smtp_error(
        aiosmtplib.SMTPAuthenticationError(535, "5.7.3 Authentication unsuccessful [X]")
    )
    assert not auth.permanent and "SmtpClientAuthenticationDisabled" in auth.detail
    assert auth.detail.startswith("SMTP login refused: 535 5.7.3")
    sender = classify_smtp_error(
        aiosmtplib.SMTPSenderRefused(530, "5.7.57 Client not authenticated to send mail.", "a@b")
    )
    assert not sender.permanent and "SMTP_SECURITY=starttls" in sender.detail
    token = classify_smtp_error(TokenError("nobody has signed in", retryable=False))
    assert not token.permanent and token.detail.startswith("OAuth2 token: nobody")
    for failure in (auth, sender, token):
        assert "\n" not in failure.detail
