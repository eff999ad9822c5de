"""The daily digest end to end: mail in a real Dovecot account, `sync --once`, then
`mailwatch digest --json|--print|--send`, the last one received by a real aiosmtpd server.

Dates are fixed in November 2026 (the 20th is a Friday, the 23rd a Monday), read with --now.
"""

from __future__ import annotations

import io
import json
import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from PIL import Image

from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env

NOW = "2026-11-23T12:00:00+00:00"
US = "sales@example.com"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


class Inbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def load_mail(account) -> None:
    def put(folder: str, raw: bytes) -> None:
        account.server.append(account.username, folder, raw)

    # A client waiting since Friday 10:00: 11 business hours by Monday noon.
    put(
        "INBOX",
        make_msg(
            subject="Offer for 40 printers",
            sender="Ana Popescu <ana@client.test>",
            msgid="<q1@client.test>",
            date=utc(20, 10),
            body="Good morning,\n\nCould you send the offer for 40 printers today?\n\nAna\n",
        ),
    )
    put(
        "INBOX",
        make_msg(
            subject="Our November newsletter",
            sender="News <news@vendor.test>",
            date=utc(20, 9),
            headers={"List-Id": "<news.vendor.test>", "Precedence": "bulk"},
            body="Big sale this week only!\n",
        ),
    )
    put(
        "INBOX",
        make_msg(
            subject="Lunch?", sender="Ion <ion@example.com>", date=utc(20, 9), body="Lunch?\n"
        ),
    )
    put(
        "INBOX",
        make_msg(
            subject="Automatic reply: Offer",
            sender="Eve Away <eve@client.test>",
            date=utc(20, 11),
            headers={"Auto-Submitted": "auto-replied"},
            body="I am out of the office until December.\n",
        ),
    )
    # A client we answered with a promise.
    put(
        "INBOX",
        make_msg(
            subject="Proposal",
            sender="Carla Diaz <carla@client.test>",
            msgid="<p1@client.test>",
            date=utc(23, 9),
            body="Hello, please send us your proposal.\n",
        ),
    )
    put(
        "Sent Items",
        make_msg(
            subject="Re: Proposal",
            sender=f"Sales <{US}>",
            to="Carla Diaz <carla@client.test>",
            msgid="<p2@example.com>",
            in_reply_to="<p1@client.test>",
            references="<p1@client.test>",
            date=utc(23, 9, 30),
            body="Dear Carla,\n\nI will send the proposal by Wednesday.\n\nBest regards,\nSales\n",
        ),
    )


def test_digest_json_print_and_send(imap_user, tmp_path, smtp_server):
    controller, inbox = smtp_server
    load_mail(imap_user)
    env = write_env(
        tmp_path,
        imap_user,
        internal_domains="example.com",
        timezone="UTC",
        reply_sla="4h",
        digest_to="boss@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(controller.port),
        smtp_security="none",
        web_secret="digest-secret",
    )
    assert mailwatch(env, "init").returncode == 0
    synced = mailwatch(env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr

    result = mailwatch(env, "digest", "--json", "--now", NOW)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (overdue,) = data["overdue"]
    assert overdue["subject"] == "Offer for 40 printers"
    assert overdue["client_email"] == "ana@client.test"
    assert overdue["wait"] == "11h 00m"
    assert "Could you send the offer for 40 printers today?" in overdue["snippet"]
    (promise,) = data["promises_due"]
    assert "proposal" in promise["text"].lower()
    assert promise["client_email"] == "carla@client.test"
    assert promise["due_at"].startswith("2026-11-25T")
    assert data["promises_missed"] == []
    assert data["this_week"]["median_first_response_business_minutes"] == 30
    dumped = json.dumps(data)
    for word in ("newsletter", "Lunch", "out of the office", "vendor.test", "ion@example.com"):
        assert word not in dumped
    assert [s["mailbox"] for s in data["sync"]] == ["main"]

    printed = mailwatch(env, "digest", "--print", "--now", NOW)
    assert printed.returncode == 0, printed.stderr
    assert "overdue (1)" in printed.stdout
    assert "11h 00m" in printed.stdout
    assert "Ana Popescu" in printed.stdout
    assert "newsletter" not in printed.stdout

    sent = mailwatch(env, "digest", "--send", "--now", NOW)
    assert sent.returncode == 0, sent.stderr
    assert "digest sent to boss@example.com" in sent.stdout
    ((mail_from, rcpt_tos, raw),) = inbox.received
    assert mail_from == imap_user.username
    assert rcpt_tos == ["boss@example.com"]
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    assert "1 overdue" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Offer for 40 printers" in text.get_content()
    assert "Offer for 40 printers" in html.get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f"cid:{cid}" in html.get_content()
    Image.open(io.BytesIO(images[0].get_content())).load()


def test_send_without_digest_to_is_one_clear_line(imap_user, tmp_path):
    env = write_env(tmp_path, imap_user, smtp_host="127.0.0.1", smtp_security="none")
    assert mailwatch(env, "init").returncode == 0
    result = mailwatch(env, "digest", "--send")
    assert result.returncode == 2
    assert "MAILWATCH_DIGEST_TO" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_send_to_a_dead_smtp_server_fails_clearly(imap_user, tmp_path):
    env = write_env(
        tmp_path,
        imap_user,
        digest_to="boss@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(free_port()),
        smtp_security="none",
    )
    assert mailwatch(env, "init").returncode == 0
    result = mailwatch(env, "digest", "--send")
    assert result.returncode == 1
    assert "digest not sent" in result.stderr and "Traceback" not in result.stderr
