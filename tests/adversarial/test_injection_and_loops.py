"""The attacks that held before issue #16, replayed on every `make test` (moved here from
tests/integration/test_send.py, plus an end-to-end replay): header injection through a hostile
display name or subject, template code in incoming mail, and RFC 3834 loop safety.

Real Dovecot, aiosmtpd and the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.header import Header
from pathlib import Path

import pytest

from mailwatch.store.models import Message
from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env
from tests.sending import Env, make_env
from tests.servers.dovecot import ImapAccount
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.dovecot


@pytest.fixture
def env(imap_user: ImapAccount, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    yield from make_env(imap_user, smtp_server, tmp_path)


def test_automatic_draft_never_goes_to_a_no_reply_address(env, smtp_server):
    draft_id = env.add_draft(
        automatic=True, to_addrs=[{"name": "Shop", "email": "no-reply@shop.test"}]
    )
    results = env.outbox().send_due_sync()
    assert [(r.status, r.outcome) for r in results] == [("failed", "failed")]
    draft = env.draft(draft_id)
    assert draft.status == "failed" and draft.attempts == 0
    assert "no-reply" in (draft.last_error or "") and "loop" in (draft.last_error or "")
    assert smtp_server.attempts == 0 and smtp_server.received == []


def test_automatic_draft_never_answers_a_list_message(env, smtp_server):
    with env.factory.begin() as session:
        question = Message(
            mailbox_id=env.mailbox_id,
            message_key="<list1@lists.acme.test>",
            message_id="<list1@lists.acme.test>",
            direction="inbound",
            markers={"list-id": "<buyers.lists.acme.test>"},
        )
        session.add(question)
        session.flush()
        question_id = question.id
    draft_id = env.add_draft(automatic=True, replied_message_row_id=question_id)
    assert env.outbox().send_due_sync()[0].status == "failed"
    assert "List-Id" in (env.draft(draft_id).last_error or "")
    assert smtp_server.attempts == 0


def test_hostile_header_values_inject_nothing(env, smtp_server):
    draft_id = env.add_draft(
        to_addrs=[
            {"name": "Evil\r\nBcc: victim@evil.test\r\nX-Injected: 1", "email": "client@acme.test"}
        ],
        subject="Re: Offer\r\nBcc: victim2@evil.test\nX-Injected: 2\rX-Other: 3",
        thread_topic="Offer\r\nX-Injected: 4",
    )
    assert env.outbox().send_due_sync()[0].status == "sent"
    got = smtp_server.received[0]
    assert got.rcpt_tos == ("client@acme.test",)
    head = got.raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if not line[:1].isspace()
    ]
    assert b"bcc" not in names and b"x-injected" not in names and b"x-other" not in names
    assert b"\r\n" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")
    msg = got.message
    assert msg["To"].addresses[0].addr_spec == "client@acme.test"
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert msg["Subject"].startswith("Re: Offer")
    assert env.draft(draft_id).status == "sent"


def _header_names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1].strip()]


def test_hostile_mail_in_hostile_mail_out_end_to_end(imap_user, smtp_server, tmp_path):
    """Template code and CR/LF in a client's subject and name: synced, drafted, approved and
    sent through the CLI; nothing is evaluated and no header is added on the way out."""
    subject = "{{ 7*7 }} {% for x in range(3) %}X{% endfor %}\r\nBcc: victim@evil.test"
    name = "Eve {{ config }}" + chr(13) + chr(10) + "Bcc: x@evil.test"
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(
            subject=Header(subject, "utf-8").encode(),
            sender=f"{Header(name, 'utf-8').encode()} <eve@client.test>",
            body="Hello {{ 6*7 }}, what are your prices?\n",
        ),
    )
    env = write_env(
        tmp_path,
        imap_user,
        sender_name="Ion Rusu",
        signature="Ion Rusu",
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="none",
    )
    assert mailwatch(env, "init").returncode == 0
    assert mailwatch(env, "sync", "--once").returncode == 0
    (thread,) = json.loads(mailwatch(env, "threads", "--json").stdout)
    made = mailwatch(env, "draft", "acknowledgment", str(thread["id"]), "--json")
    assert made.returncode == 0, made.stderr
    (draft,) = json.loads(made.stdout)
    assert "49" not in draft["subject"] and "XXX" not in draft["subject"]
    assert "42" not in draft["body_text"]
    sent = mailwatch(env, "drafts", "approve", str(draft["id"]), "--json")
    assert sent.returncode == 0, sent.stderr
    (got,) = smtp_server.received
    assert got.rcpt_tos == ("eve@client.test",)
    names = _header_names(got.raw)
    assert names.count(b"bcc") == 0 and names.count(b"to") == 1
    for line in got.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert not line.lower().startswith(b"bcc:"), line  # no header of the attacker's
    assert "{{ 7*7 }}" in got.message["Subject"]  # literally, never evaluated
