"""Settings: every key documented, wrong values named in one line, secrets never shown."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import pytest

from mailwatch.config import (
    ALL_KEYS,
    GLOBAL_KEYS,
    MAILBOX_KEYS,
    NOT_SETTINGS,
    PREFIX,
    ConfigError,
    Secret,
    describe,
    load_settings,
    settings_from_values,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "MAILWATCH_IMAP_HOST": "imap.example.com",
    "MAILWATCH_IMAP_USERNAME": "sales@example.com",
    "MAILWATCH_IMAP_PASSWORD": "hunter2",
}


def test_every_setting_is_documented_in_the_example_file():
    documented = set(
        re.findall(r"^(MAILWATCH_[A-Z0-9_]+)=", (ROOT / "config.example.env").read_text(), re.M)
    )
    assert {PREFIX + key for key in ALL_KEYS} <= documented
    assert documented <= {
        PREFIX + key for key in ALL_KEYS
    }  # nothing documented that does not exist


def test_every_key_the_docs_name_exists():
    """README and docs/ name only keys that exist (a renamed key cannot linger in the docs)."""
    extra_mailbox = re.compile(r"MAILWATCH_[A-Z0-9]+_(" + "|".join(MAILBOX_KEYS) + r")$")
    named: set[str] = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named |= set(re.findall(r"\b(MAILWATCH_[A-Z0-9_]*[A-Z0-9])\b", doc.read_text()))
    assert len(named) > 15
    for key in sorted(named):
        if key in NOT_SETTINGS:
            continue
        assert key[len(PREFIX) :] in ALL_KEYS or extra_mailbox.match(key), key


def test_the_example_file_loads():
    settings = load_settings(ROOT / "config.example.env", environ={})
    assert settings.calendar.tz_name == "Europe/Chisinau"
    assert settings.reply_sla == timedelta(hours=4)


def test_defaults():
    s = settings_from_values(BASE)
    box = s.mailboxes[0]
    assert box.imap.port == 993 and box.imap.security == "ssl"
    assert box.smtp.port == 587 and box.smtp.username == "sales@example.com"
    assert s.database_url == "sqlite:///./mailwatch.db"
    assert s.web_bind == "127.0.0.1:8025"
    assert "sales@example.com" in s.own_addresses
    assert s.calendar.work_start == time(9) and s.calendar.work_end == time(18)
    assert s.problems == ()


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("IMAP_PORT", "imap", "whole number"),
        ("IMAP_PORT", "70000", "whole number"),
        ("IMAP_SECURITY", "tls", "ssl, starttls, none"),
        ("TIMEZONE", "Mars/Olympus", "time zone"),
        ("WORK_HOURS", "18:00-09:00", ""),
        ("REPLY_SLA", "soon", ""),
        ("DATABASE_URL", "mysql://x", "sqlite"),
        ("AUTO_SEND", "acknowledgment,everything", "everything"),
        ("BACKFILL_DAYS", "-1", "whole number"),
        ("OWN_ADDRESSES", "not-an-address", "email address"),
        ("LANGUAGES", "en,de", "de"),
        ("HOLIDAYS_COUNTRY", "XX", "country"),
        ("MAILBOXES", "Sales", "lower-case"),
    ],
)
def test_wrong_value_names_the_key(key, value, words):
    with pytest.raises(ConfigError) as caught:
        settings_from_values({**BASE, PREFIX + key: value})
    message = str(caught.value)
    assert message.startswith(PREFIX + key)
    assert words in message
    assert "\n" not in message


def test_plain_text_to_a_remote_host_is_refused_unless_allowed():
    with pytest.raises(ConfigError, match=r"MAILWATCH_IMAP_SECURITY.*clear text"):
        settings_from_values({**BASE, "MAILWATCH_IMAP_SECURITY": "none"})
    ok = settings_from_values(
        {**BASE, "MAILWATCH_IMAP_SECURITY": "none", "MAILWATCH_ALLOW_INSECURE": "true"}
    )
    assert ok.mailboxes[0].imap.port == 143
    local = settings_from_values(
        {**BASE, "MAILWATCH_IMAP_HOST": "127.0.0.1", "MAILWATCH_IMAP_SECURITY": "none"}
    )
    assert local.mailboxes[0].imap.security == "none"


def test_missing_mailbox_keys_are_problems_named_on_use():
    s = settings_from_values({})
    with pytest.raises(ConfigError, match="MAILWATCH_IMAP_HOST"):
        s.require_mailboxes()
    s = settings_from_values(
        {"MAILWATCH_IMAP_HOST": "h.example.com", "MAILWATCH_IMAP_USERNAME": "u@x.com"}
    )
    with pytest.raises(ConfigError, match="MAILWATCH_IMAP_PASSWORD"):
        s.require_mailboxes()


def test_ack_must_come_before_the_sla():
    with pytest.raises(ConfigError, match="MAILWATCH_ACK_AFTER"):
        settings_from_values({**BASE, "MAILWATCH_REPLY_SLA": "2h", "MAILWATCH_ACK_AFTER": "3h"})


def test_several_mailboxes_with_fallback():
    s = settings_from_values(
        {
            **BASE,
            "MAILWATCH_MAILBOXES": "sales,support",
            "MAILWATCH_SUPPORT_IMAP_USERNAME": "support@example.com",
            "MAILWATCH_SUPPORT_IMAP_PASSWORD": "other",
            "MAILWATCH_SUPPORT_BACKFILL_DAYS": "7",
        }
    )
    sales, support = s.mailboxes
    assert (sales.name, support.name) == ("sales", "support")
    assert support.imap.host == "imap.example.com"  # falls back to the first mailbox
    assert support.imap.password.reveal() == "other"
    assert support.backfill_days == 7 and sales.backfill_days == 30
    assert {"sales@example.com", "support@example.com"} <= s.own_addresses
    assert s.mailbox("support") is support
    with pytest.raises(ConfigError, match="no mailbox named"):
        s.mailbox("billing")


def test_same_account_twice_is_refused():
    with pytest.raises(ConfigError, match="SUPPORT_IMAP_USERNAME"):
        settings_from_values({**BASE, "MAILWATCH_MAILBOXES": "sales,support"})


def test_extra_mailbox_errors_name_its_own_key():
    with pytest.raises(ConfigError) as caught:
        settings_from_values(
            {
                **BASE,
                "MAILWATCH_MAILBOXES": "a,b",
                "MAILWATCH_B_IMAP_USERNAME": "b@x.com",
                "MAILWATCH_B_IMAP_PORT": "x",
            }
        )
    assert str(caught.value).startswith("MAILWATCH_B_IMAP_PORT")


def test_secrets_never_show(tmp_path):
    s = settings_from_values(
        {
            **BASE,
            "MAILWATCH_DATABASE_URL": "postgresql://mw:dbpass@db/mw",
            "MAILWATCH_WEB_PASSWORD": "pw1",
        }
    )
    text = repr(s) + str(describe(s))
    for secret in ("hunter2", "dbpass", "pw1"):
        assert secret not in text
    assert s.database_url.startswith("postgresql+psycopg://")
    assert repr(Secret("x")) == "Secret('********')"


def test_environment_overrides_the_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text("MAILWATCH_IMAP_HOST=from-file.example.com\nMAILWATCH_REPLY_SLA=8h\n")
    s = load_settings(env, environ={"MAILWATCH_IMAP_HOST": "from-env.example.com", "HOME": "/x"})
    assert s.mailboxes[0].imap.host == "from-env.example.com"
    assert s.reply_sla == timedelta(hours=8)


def test_web_page_on_a_reachable_address_needs_an_explicit_yes():
    from mailwatch.config import ConfigError, settings_from_values

    with pytest.raises(ConfigError) as caught:
        settings_from_values({"MAILWATCH_WEB_BIND": "0.0.0.0:8025"})
    assert caught.value.key == "MAILWATCH_WEB_BIND"
    assert "WEB_ALLOW_REMOTE" in str(caught.value)
    allowed = settings_from_values(
        {"MAILWATCH_WEB_BIND": "0.0.0.0:8025", "MAILWATCH_WEB_ALLOW_REMOTE": "true"}
    )
    assert allowed.web_allow_remote
    assert settings_from_values({"MAILWATCH_WEB_BIND": "127.0.0.1:9000"}).web_bind.endswith("9000")


# -- the settings table -----------------------------------------------------------------------


def test_example_file_and_reference_page_are_the_tables():
    """config.example.env and docs/configuration.md are generated; a hand edit or a new key
    without `python -m mailwatch.settings_docs --write` fails here."""
    from mailwatch.settings_docs import generated

    for rel, text in generated().items():
        assert (ROOT / rel).read_text(encoding="utf-8") == text, (
            f"{rel} drifted from the settings table: run python -m mailwatch.settings_docs --write"
        )


def test_every_table_entry_is_complete_and_its_default_parses():
    from mailwatch.config import SECTIONS, SETTINGS

    assert len({s.key for s in SETTINGS}) == len(SETTINGS)
    for s in SETTINGS:
        assert s.scope in ("global", "mailbox"), s.key
        assert s.section in SECTIONS and s.help and s.type, s.key
        if s.default:
            s.parse(s.default)  # raises if the documented default is not a valid value
        if s.example:
            s.parse(s.example)


def test_every_value_is_reachable_by_its_key():
    s = settings_from_values({**BASE, "MAILWATCH_SEND_RATE": "12", "MAILWATCH_BACKFILL_DAYS": "7"})
    assert s.value("SEND_RATE") == 12 == s.send_rate
    assert s.value("REPLY_SLA") == timedelta(hours=4)
    assert s.value("ACK_AFTER") == timedelta(hours=2)  # derived: half of REPLY_SLA
    box = s.mailboxes[0]
    assert box.value("BACKFILL_DAYS") == 7
    assert box.value("IMAP_PORT") == 993 and box.value("SMTP_PORT") == 587
    assert set(s.values) == set(GLOBAL_KEYS) and set(box.values) == set(MAILBOX_KEYS)
    with pytest.raises(KeyError):
        s.value("BACKFILL_DAYS")  # a mailbox setting is asked of the mailbox


def test_a_misspelled_key_stops_start_up_with_a_suggestion():
    with pytest.raises(ConfigError) as caught:
        settings_from_values({**BASE, "MAILWATCH_REPLY_SAL": "4h"})
    assert caught.value.key == "MAILWATCH_REPLY_SAL"
    assert "did you mean MAILWATCH_REPLY_SLA?" in str(caught.value)


def test_an_extra_mailbox_key_needs_its_mailbox_listed():
    values = {**BASE, "MAILWATCH_SUPPORT_IMAP_USERNAME": "support@example.com"}
    with pytest.raises(ConfigError) as caught:
        settings_from_values(values)
    assert "MAILBOXES" in str(caught.value)
    ok = settings_from_values({**values, "MAILWATCH_MAILBOXES": "main,support"})
    assert ok.mailbox("support").imap.username == "support@example.com"
    with pytest.raises(ConfigError, match="did you mean MAILWATCH_SUPPORT_IMAP_USERNAME"):
        settings_from_values(
            {**BASE, "MAILWATCH_MAILBOXES": "main,support", "MAILWATCH_SUPPORT_IMAP_USRNAME": "x"}
        )


def test_names_that_are_not_settings_are_allowed():
    settings_from_values({**BASE, "MAILWATCH_DEMO_KEEP_RUNNING": "1"})


def test_an_env_file_named_on_the_command_line_must_exist(tmp_path):
    missing = tmp_path / "nonexistent.env"
    with pytest.raises(ConfigError) as caught:
        load_settings(missing, environ={}, required=True)
    assert "does not exist" in str(caught.value) and str(missing) in str(caught.value)
    # the default .env may be absent: the environment alone is used
    assert load_settings(missing, environ=BASE).mailboxes[0].imap.host == "imap.example.com"


@pytest.mark.parametrize(
    ("extra", "flow"),
    [
        ({"MAILWATCH_OAUTH_TOKEN_COMMAND": "print-token --user x"}, "command"),
        (
            {
                "MAILWATCH_OAUTH_CLIENT_SECRET": "s3cret",
                "MAILWATCH_OAUTH_TENANT": "contoso.onmicrosoft.com",
                "MAILWATCH_OAUTH_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
            },
            "client_credentials",
        ),
        ({"MAILWATCH_OAUTH_CLIENT_ID": "00000000-0000-0000-0000-000000000001"}, "device"),
    ],
)
def test_oauth_flow_follows_from_what_is_set(extra, flow):
    values = {k: v for k, v in BASE.items() if k != "MAILWATCH_IMAP_PASSWORD"}
    s = settings_from_values({**values, "MAILWATCH_IMAP_AUTH": "oauth2", **extra})
    assert s.mailboxes[0].oauth.flow == flow
    assert s.problems == ()  # a token command alone does not ask for a client id


def test_servers_are_described_without_a_made_up_scheme_or_a_password():
    s = settings_from_values(
        {
            **BASE,
            "MAILWATCH_IMAP_HOST": "127.0.0.1",
            "MAILWATCH_IMAP_SECURITY": "none",
            "MAILWATCH_DATABASE_URL": "postgresql://mw:db-pass@db/mailwatch",
        }
    )
    (box,) = describe(s)["mailboxes"]
    assert box["imap"] == "sales@example.com at 127.0.0.1:143 (no encryption)"
    assert box["smtp"] == "not configured"
    assert "://" not in box["imap"] and "hunter2" not in str(describe(s))
    assert describe(s)["database_url"] == "postgresql+psycopg://mw:***@db/mailwatch"


def test_an_extra_mailbox_keeps_its_own_addresses_to_itself():
    s = settings_from_values(
        {
            **BASE,
            "MAILWATCH_OWN_ADDRESSES": "offers@example.com",
            "MAILWATCH_MAILBOXES": "main,support",
            "MAILWATCH_SUPPORT_IMAP_USERNAME": "support@example.com",
        }
    )
    support = s.mailbox("support")
    assert support.own_addresses == {"support@example.com"}
    assert support.imap.host == "imap.example.com"  # other keys fall back to the first's
    assert "offers@example.com" in s.own_addresses
