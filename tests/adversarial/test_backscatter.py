"""Issue #16, attack 4: AUTO_SEND must not answer spoofed spam (backscatter), nor let rotating
sender addresses multiply what goes out, nor copy spam text into a display name.

Real Dovecot for the incoming mail, the scheduler's own jobs, the real outbox and aiosmtpd.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mailwatch.send.outbox import Outbox
from mailwatch.service.jobs import Jobs
from mailwatch.store.models import Draft
from tests.helpers import Harness, make_msg, make_settings, sqlite_url

pytestmark = pytest.mark.dovecot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday; the mail came at 09:00
TRUSTED = "mx.example.com"


def _pass(domain: str) -> str:
    return f"{TRUSTED}; dkim=pass header.d={domain}; spf=pass smtp.mailfrom=bounce@{domain}"


def _harness(imap_user, tmp_path: Path, smtp=None, **extra: str) -> Harness:
    values = {
        "sender_name": "Ion Rusu",
        "signature": "Ion Rusu\\nAcme SRL",
        "reply_sla": "4h",
        "ack_after": "2h",
        "auto_send": "acknowledgment",
        "trusted_authserv_ids": TRUSTED,
        **extra,
    }
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=str(smtp.port), smtp_security="none")
    return Harness(make_settings(imap_user, sqlite_url(tmp_path), **values))


def _drafts(h: Harness) -> list[Draft]:
    with h.factory() as session:
        return list(session.scalars(select(Draft).order_by(Draft.id)))


def _deliver(imap_user, sender: str, subject: str, n: int, headers: dict[str, str]) -> None:
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(
            sender=sender,
            subject=subject,
            msgid=f"<m{n}@spam.test>",
            date=datetime(2026, 11, 23, 9, n, tzinfo=UTC),
            headers=headers,
        ),
    )


SPOOFED = [
    # (From, headers): none of them may get an automatic answer.
    ("CHEAP VIAGRA <a1@victim-one.test>", {"X-Spam-Flag": "YES"}),
    ("Prize Dept <a2@victim-two.test>", {"X-Spam-Status": "Yes, score=12.3 required=5.0"}),
    ("Winner <a3@victim-three.test>", {"X-Spam-Score": "7.9"}),
    ("Lottery <a4@victim-four.test>", {}),  # not flagged, but nobody vouches for it
    (  # "authenticated" only by a server we do not trust (the sender wrote it)
        "Bank <a5@victim-five.test>",
        {"Authentication-Results": "evil.test; dmarc=pass header.from=victim-five.test"},
    ),
    (  # a pass for another domain than the From's
        "Casino <a6@victim-six.test>",
        {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=spammer.test"},
    ),
]


def test_spoofed_spam_gets_no_automatic_acknowledgment(imap_user, tmp_path, smtp_server):
    for n, (sender, headers) in enumerate(SPOOFED):
        _deliver(imap_user, sender, f"WIN $1000 NOW {n}", n, headers)
    h = _harness(imap_user, tmp_path, smtp_server)
    try:
        h.sync()
        Jobs(h.factory, h.settings).sla_check(NOW)
        Outbox(h.factory, h.settings).send_due_sync(now=NOW)
        automatic = [d for d in _drafts(h) if d.automatic or d.status != "pending"]
        assert automatic == []  # whatever was drafted waits for a person
        assert smtp_server.attempts == 0
    finally:
        h.close()


def test_a_daily_cap_holds_however_many_addresses_are_rotated(imap_user, tmp_path, smtp_server):
    for n in range(5):
        _deliver(
            imap_user,
            f"Client {n} <c{n}@client{n}.test>",
            f"Order {n}",
            n,
            {"Authentication-Results": _pass(f"client{n}.test")},
        )
    h = _harness(imap_user, tmp_path, smtp_server, auto_send_daily_cap="2")
    try:
        h.sync()
        Jobs(h.factory, h.settings).sla_check(NOW)
        Outbox(h.factory, h.settings).send_due_sync(now=NOW)
        statuses = sorted(d.status for d in _drafts(h))
        assert statuses == ["pending", "pending", "pending", "sent", "sent"]
        assert len(smtp_server.received) == 2
    finally:
        h.close()


def test_known_correspondents_and_authenticated_mail_are_answered_automatically(
    imap_user, tmp_path, smtp_server
):
    user = imap_user.username
    _deliver(imap_user, "Ana Popescu <ana@known.test>", "Prices", 1, {})
    imap_user.server.append(  # we wrote to Ana ourselves last month
        user,
        "Sent Items",
        make_msg(
            sender=f"Ion Rusu <{user}>",
            to="Ana Popescu <ana@known.test>",
            subject="Catalogue",
            date=datetime(2026, 10, 20, 10, tzinfo=UTC),
        ),
    )
    _deliver(
        imap_user,
        "Marc <marc@signed.test>",
        "Quote",
        2,
        {"Authentication-Results": f"{TRUSTED}; dmarc=pass header.from=signed.test"},
    )
    h = _harness(imap_user, tmp_path, smtp_server)
    try:
        h.sync()
        Jobs(h.factory, h.settings).sla_check(NOW)
        Outbox(h.factory, h.settings).send_due_sync(now=NOW)
        sent = {d.to_addrs[0]["email"] for d in _drafts(h) if d.status == "sent"}
        assert sent == {"ana@known.test", "marc@signed.test"}
        assert len(smtp_server.received) == 2
    finally:
        h.close()


def test_spam_text_is_never_copied_into_a_display_name(imap_user, tmp_path, smtp_server):
    _deliver(
        imap_user,
        '"WIN $1000 at casino.example" <lucky@signed.test>',
        "Hello",
        1,
        {"Authentication-Results": f"{TRUSTED}; dmarc=pass header.from=signed.test"},
    )
    h = _harness(imap_user, tmp_path, smtp_server)
    try:
        h.sync()
        Jobs(h.factory, h.settings).sla_check(NOW)
        Outbox(h.factory, h.settings).send_due_sync(now=NOW)
        (received,) = smtp_server.received
        to = received.message["To"]
        assert to.addresses[0].addr_spec == "lucky@signed.test"
        assert to.addresses[0].display_name == ""
        assert (
            "casino" not in received.raw.split(b"\r\n\r\n", 1)[0].decode().split("To:", 1)[1][:80]
        )
    finally:
        h.close()
