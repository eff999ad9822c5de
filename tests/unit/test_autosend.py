"""Who may get an automatic reply (pure core, mailwatch.core.autosend)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.autosend import (
    authenticated,
    auto_send_refusal,
    parse_authentication_results,
    spam_reason,
)
from mailwatch.core.headers import plain_display_name
from mailwatch.core.parse import parse_fetched

TRUSTED = frozenset({"mx.example.com"})


def _refusal(
    markers: dict[str, str], known: bool = False, sent: int = 0, cap: int = 20
) -> str | None:
    return auto_send_refusal(
        markers=markers,
        sender_email="ana@client.test",
        known_correspondent=known,
        trusted_authserv_ids=TRUSTED,
        sent_last_day=sent,
        daily_cap=cap,
    )


def test_parse_rfc8601_with_comments_versions_and_properties():
    [dkim, spf, dmarc] = parse_authentication_results(
        [
            "mx.example.com 1; dkim=pass (good sig) header.d=client.test header.s=s1;"
            " spf=pass smtp.mailfrom=b@client.test; dmarc/1=pass header.from=client.test"
        ]
    )
    assert (dkim.authserv_id, dkim.method, dkim.result) == ("mx.example.com", "dkim", "pass")
    assert dkim.properties["header.d"] == "client.test"
    assert spf.properties["smtp.mailfrom"] == "b@client.test"
    assert dmarc.method == "dmarc"


def test_only_trusted_servers_and_aligned_domains_count():
    def ok(header: str, domain: str = "client.test") -> bool:
        return authenticated(parse_authentication_results([header]), domain, TRUSTED) is not None

    assert ok("mx.example.com; dmarc=pass header.from=client.test")
    assert ok("mx.example.com; dkim=pass header.d=client.test")
    assert ok("mx.example.com; dkim=pass header.d=client.test", "mail.client.test")
    assert ok("mx.example.com; spf=pass smtp.mailfrom=x@client.test")
    assert not ok("evil.test; dmarc=pass header.from=client.test")
    assert not ok("mx.example.com; dkim=pass header.d=spammer.test")
    assert not ok("mx.example.com; dkim=fail header.d=client.test")
    assert not ok("mx.example.com; spf=pass smtp.mailfrom=x@test")  # no bare TLD alignment


def test_a_forged_separator_in_a_header_cannot_start_a_trusted_result():
    parsed = parse_fetched(
        b"From: a@client.test\r\nSubject: x\r\nMessage-ID: <f@x>\r\n"
        b"Authentication-Results: evil.test; x=y \x1e mx.example.com; dmarc=pass\r\n\r\n"
    )
    values = parsed.markers["authentication-results"].split("\x1e")
    assert len(values) == 1
    assert _refusal(dict(parsed.markers)) is not None


def test_every_authentication_results_header_is_kept():
    parsed = parse_fetched(
        b"From: a@client.test\r\nSubject: x\r\nMessage-ID: <g@x>\r\n"
        b"Authentication-Results: mx.example.com; spf=none\r\n"
        b"Authentication-Results: mx.example.com; dmarc=pass header.from=client.test\r\n\r\n"
    )
    assert _refusal(dict(parsed.markers)) is None


def test_spam_markers():
    assert spam_reason({"x-spam-flag": "YES"})
    assert spam_reason({"x-spam-status": "No, score=6.1 required=5.0"})
    assert spam_reason({"x-spam-score": "5.5"})
    assert spam_reason({"x-spam-level": "*******"})
    assert spam_reason({"x-ms-exchange-organization-scl": "6"})
    assert spam_reason({"x-spam-status": "No, score=1.2 required=5.0"}) is None
    assert spam_reason({"x-spam-score": "-0.1"}) is None


def test_refusals_in_order_spam_cap_then_trust():
    ar = {"authentication-results": "mx.example.com; dmarc=pass header.from=client.test"}
    assert "spam" in (_refusal({"x-spam-flag": "YES", **ar}, known=True) or "")
    assert "daily cap" in (_refusal(ar, sent=20) or "")
    assert _refusal(ar) is None
    assert _refusal({}, known=True) is None
    assert "never written to" in (_refusal({}) or "")


@given(st.text(max_size=80))
def test_display_names_we_write_are_plain(name):
    kept = plain_display_name(name)
    assert kept == "" or (len(kept) <= 64 and "\n" not in kept and "@" not in kept)
    assert "$" not in kept and "http" not in kept.lower()


def test_display_names():
    assert plain_display_name("Ana Popescu") == "Ana Popescu"
    assert plain_display_name("O'Brien, Seán") == "O'Brien, Seán"
    assert plain_display_name("Acme S.R.L. (Sales)") == "Acme S.R.L. (Sales)"
    for spam in ("WIN $1000 at casino.example", "FREE bitcoin!!!", "www.cheap.ru", "x" * 80):
        assert plain_display_name(spam) == ""
