"""Sending approved drafts against a real SMTP server (aiosmtpd) and a real Dovecot.

Exactly once: one message received per draft, also when the process is killed between the
SMTP acceptance and the database update (a subprocess with MAILWATCH_TEST_CRASH_AFTER) and
restarted; 451 then success; 550 -> failed with the reason; loop safety; hostile headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.sending import Env, make_env
from tests.servers.dovecot import ImapAccount
from tests.servers.smtp import SmtpServer


@pytest.fixture(params=["full", "o365"])
def account(request: pytest.FixtureRequest) -> ImapAccount:
    """A fresh mailbox on either Dovecot profile (o365: Sent found by its name only)."""
    return request.getfixturevalue("imap_user" if request.param == "full" else "imap_user_o365")


@pytest.fixture
def env(imap_user: ImapAccount, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    yield from make_env(imap_user, smtp_server, tmp_path)


@pytest.fixture
def any_env(account: ImapAccount, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    yield from make_env(account, smtp_server, tmp_path)


def test_approved_draft_sent_once_with_copy_in_sent(any_env, smtp_server):
    env, account = any_env, any_env.account
    draft_id = env.add_draft()
    draft = env.draft(draft_id)

    results = env.outbox().send_due_sync()
    assert [(r.draft_id, r.status, r.outcome) for r in results] == [(draft_id, "sent", "sent")]

    received = smtp_server.wait_for(1)
    assert len(received) == 1
    got = received[0]
    assert got.mail_from == account.username
    assert got.rcpt_tos == ("client@acme.test",)
    assert got.login == account.username  # SMTP AUTH with the (IMAP) account
    msg = got.message
    assert msg["Message-ID"] == draft.message_id
    assert msg["From"].addresses[0].addr_spec == account.username
    assert msg["To"].addresses[0].addr_spec == "client@acme.test"
    assert msg["To"].addresses[0].display_name == "Viktor Petrov"
    assert msg["Subject"] == "Re: Offer for 200 chairs"
    assert msg["In-Reply-To"] == "<q2@acme.test>"
    assert msg["References"].split() == ["<q1@acme.test>", "<q2@acme.test>"]
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"] is not None
    assert msg["Auto-Submitted"] is None  # approved by a person: not automatic
    assert "Friday" in msg.get_body(("plain",)).get_content()

    copies = env.sent_items(draft.message_id)
    assert len(copies) == 1 and b"\\Seen" in copies[0][1]

    after = env.draft(draft_id)
    assert after.status == "sent" and after.attempts == 1
    assert after.sent_at is not None and after.last_error is None

    # Nothing is due any more: a second pass sends nothing.
    assert env.outbox().send_due_sync() == []
    assert len(smtp_server.received) == 1 and len(env.sent_items()) == 1


def test_killed_after_sent_copy_then_restarted_sends_once(env, smtp_server):
    draft_id = env.add_draft()
    message_id = env.draft(draft_id).message_id

    crashed = env.run_send(crash_after="append")
    assert crashed.returncode == 137, crashed.stderr
    assert len(smtp_server.wait_for(1)) == 1
    assert env.draft(draft_id).status == "sending"  # the database never heard of the success
    assert len(env.sent_items(message_id)) == 1

    restarted = env.run_send()
    assert restarted.returncode == 0, restarted.stderr
    assert '"outcome": "found_in_sent"' in restarted.stdout
    after = env.draft(draft_id)
    assert after.status == "sent" and after.attempts == 1
    assert len(smtp_server.received) == 1
    assert len(env.sent_items(message_id)) == 1


def test_server_files_sent_copy_killed_after_smtp_then_restarted(env, smtp_server):
    """SENT_COPY=never with a server that files sent mail itself (Exchange): the crash right
    after the SMTP acceptance is recovered from the server's own copy."""
    env.extra["sent_copy"] = "never"
    smtp_server.file_into(env.account)
    draft_id = env.add_draft()
    message_id = env.draft(draft_id).message_id

    crashed = env.run_send(crash_after="smtp")
    assert crashed.returncode == 137, crashed.stderr
    assert len(smtp_server.wait_for(1)) == 1
    assert env.draft(draft_id).status == "sending"

    restarted = env.run_send()
    assert restarted.returncode == 0, restarted.stderr
    assert '"outcome": "found_in_sent"' in restarted.stdout
    after = env.draft(draft_id)
    assert after.status == "sent" and after.attempts == 1
    assert len(smtp_server.received) == 1
    assert len(env.sent_items(message_id)) == 1  # the server's copy only


def test_killed_before_our_sent_copy_waits_then_asks_a_person(env, smtp_server):
    """Killed after the SMTP acceptance but before our own copy reached Sent, with a server
    that files nothing: no record anywhere says whether it left. A restart leaves the draft
    alone while its copy may still appear; after RECOVER_AFTER it is ``uncertain`` for a
    person, never sent a second time."""
    draft_id = env.add_draft()
    crashed = env.run_send(crash_after="smtp")
    assert crashed.returncode == 137, crashed.stderr
    assert len(smtp_server.wait_for(1)) == 1

    restarted = env.run_send()
    assert restarted.returncode == 0, restarted.stderr
    assert '"outcome": "deferred"' in restarted.stdout
    assert env.draft(draft_id).status == "sending"
    assert len(smtp_server.received) == 1

    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    resumed = env.run_send("--now", later)
    assert resumed.returncode == 0, resumed.stderr
    after = env.draft(draft_id)
    assert after.status == "uncertain" and after.attempts == 1
    assert after.message_id in (after.last_error or "")
    assert len(smtp_server.received) == 1  # never a blind second copy


def test_sent_copy_never_appends_nothing(env, smtp_server):
    env.extra["sent_copy"] = "never"
    draft_id = env.add_draft()
    assert env.outbox().send_due_sync()[0].status == "sent"
    assert len(smtp_server.received) == 1
    assert env.sent_items() == []
    assert env.draft(draft_id).status == "sent"


def test_451_then_success(env, smtp_server):
    smtp_server.fail_next(451, "4.3.0 Temporary local problem, try later")
    draft_id = env.add_draft()
    start = datetime.now(UTC)

    first = env.outbox().send_due_sync(now=start)
    assert [(r.status, r.outcome) for r in first] == [("approved", "retry")]
    draft = env.draft(draft_id)
    assert draft.status == "approved" and draft.attempts == 1
    assert "451" in (draft.last_error or "")
    assert draft.next_attempt_at is not None and draft.next_attempt_at > start
    assert smtp_server.received == []

    # Not due yet: nothing happens.
    assert env.outbox().send_due_sync(now=start + timedelta(seconds=1)) == []
    assert smtp_server.attempts == 1

    second = env.outbox().send_due_sync(now=draft.next_attempt_at)
    assert [(r.status, r.outcome) for r in second] == [("sent", "sent")]
    after = env.draft(draft_id)
    assert after.status == "sent" and after.attempts == 2
    assert smtp_server.attempts == 2
    assert len(smtp_server.received) == 1
    assert len(env.sent_items(after.message_id)) == 1


def test_550_fails_with_the_reason(env, smtp_server):
    smtp_server.fail_next(550, "5.7.1 Message rejected as spam by Content Filtering")
    draft_id = env.add_draft()

    results = env.outbox().send_due_sync()
    assert [(r.status, r.outcome) for r in results] == [("failed", "failed")]
    draft = env.draft(draft_id)
    assert draft.status == "failed" and draft.attempts == 1
    assert "550" in (draft.last_error or "")
    assert "rejected as spam" in (draft.last_error or "")
    assert smtp_server.received == [] and env.sent_items() == []
    # Failed is final: a later pass does not try again.
    assert env.outbox().send_due_sync(now=datetime.now(UTC) + timedelta(days=1)) == []
    assert smtp_server.attempts == 1


def test_automatic_draft_to_a_client_is_marked_auto_submitted(env, smtp_server):
    draft_id = env.add_draft(automatic=True)
    assert env.outbox().send_due_sync()[0].status == "sent"
    msg = smtp_server.received[0].message
    assert msg["Auto-Submitted"] == "auto-replied"
    assert env.draft(draft_id).status == "sent"
