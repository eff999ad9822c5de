"""The outbox's state machine with a fake SMTP transport and a fake Sent folder (SQLite store).

The real-server versions (aiosmtpd + Dovecot, killed processes) are in
tests/integration/test_send.py; here every branch is driven directly.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from types import SimpleNamespace
from typing import Any

import aiosmtplib
import pytest

from mailwatch.config import MailboxSettings
from mailwatch.errors import MailAccessError
from mailwatch.mail.smtp import SmtpUncertain, classify_smtp_error
from mailwatch.send.message import BuiltMessage
from mailwatch.send.outbox import RECOVER_AFTER, Outbox, retry_delay
from mailwatch.send.rate import RateLimiter
from mailwatch.send.sent import NoSentFolder, sent_copy_needed
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Draft, Mailbox, Message
from tests.helpers import make_settings, sqlite_url

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
ACCOUNT = SimpleNamespace(
    host="127.0.0.1", port=1143, username="sales@example.com", password="hunter2-imap"
)


class FakeSent:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.appended: list[bytes] = []
        self.error: Exception | None = None
        self.lookups = 0

    def contains(self, message_id: str) -> bool:
        self.lookups += 1
        if self.error is not None:
            raise self.error
        return message_id in self.ids

    def append(self, raw: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.appended.append(raw)

    def close(self) -> None:
        pass


class FakeSmtp:
    """Answers from a script: an exception to raise, or a dict of refused recipients."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.script: list[Exception | dict[str, str]] = []
        self.sent: list[BuiltMessage] = []
        self.seen_status: list[tuple[str, int]] = []

    async def __call__(self, mailbox: MailboxSettings, built: BuiltMessage) -> dict[str, str]:
        with self.factory() as session:  # what another process would see right now
            draft = session.query(Draft).filter_by(message_id=built.message["Message-ID"]).one()
            self.seen_status.append((draft.status, draft.attempts))
        answer = self.script.pop(0) if self.script else {}
        if isinstance(answer, Exception):
            raise answer
        self.sent.append(built)
        return answer


class World:
    def __init__(self, tmp_path: Any, **settings: str) -> None:
        self.settings = make_settings(
            ACCOUNT,
            sqlite_url(tmp_path),
            smtp_host="127.0.0.1",
            smtp_password="hunter2-smtp",
            **settings,
        )
        self.engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.factory = session_factory(self.engine)
        with self.factory.begin() as session:
            mailbox = Mailbox(name="main", username=ACCOUNT.username)
            session.add(mailbox)
            session.flush()
            self.mailbox_id = mailbox.id
        self.sent = FakeSent()
        self.smtp = FakeSmtp(self.factory)

    def outbox(self, **kwargs: Any) -> Outbox:
        kwargs.setdefault("limiter", RateLimiter(1000))
        return Outbox(
            self.factory,
            self.settings,
            transport=self.smtp,
            sent_store=lambda _mailbox: self.sent,
            rng=random.Random(1),
            **kwargs,
        )

    def add(self, **overrides: Any) -> int:
        values: dict[str, Any] = {
            "mailbox_id": self.mailbox_id,
            "kind": "acknowledgment",
            "language": "en",
            "status": "approved",
            "message_id": make_msgid(domain="example.com"),
            "from_addr": {"name": "Anna", "email": ACCOUNT.username},
            "to_addrs": [{"name": "Viktor", "email": "client@acme.test"}],
            "subject": "Re: Offer",
            "body_text": "SECRET-BODY-TEXT\n",
        }
        values.update(overrides)
        with self.factory.begin() as session:
            draft = Draft(**values)
            session.add(draft)
            session.flush()
            return draft.id

    def get(self, draft_id: int) -> Draft:
        with self.factory() as session:
            draft = session.get(Draft, draft_id)
            assert draft is not None
            return draft


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.engine.dispose()


def test_claim_is_committed_before_smtp_then_sent_with_a_copy(world):
    draft_id = world.add()
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome, result.attempts) == ("sent", "sent", 1)
    assert world.smtp.seen_status == [("sending", 1)]  # committed before SMTP was spoken to
    draft = world.get(draft_id)
    assert draft.status == "sent" and draft.sent_at == NOW and draft.smtp_started_at == NOW
    assert world.sent.appended == [world.smtp.sent[0].raw]  # exactly the bytes that were sent


def test_only_due_and_only_selected_drafts(world):
    later = world.add(next_attempt_at=NOW + timedelta(minutes=5))
    pending = world.add(status="pending")
    first = world.add()
    second = world.add()
    results = world.outbox().send_due_sync(now=NOW, only_ids=[first, pending, later])
    assert [r.draft_id for r in results] == [first]
    assert world.get(second).status == "approved"
    assert world.get(pending).status == "pending"
    results = world.outbox().send_due_sync(now=NOW + timedelta(minutes=5))
    assert sorted(r.draft_id for r in results) == sorted([later, second])


def test_transient_failures_back_off_then_give_up(world):
    draft_id = world.add()
    world.smtp.script = [aiosmtplib.SMTPServerDisconnected("Connection lost")] * 3
    outbox = world.outbox(max_attempts=3)
    now = NOW
    for attempt in (1, 2):
        [result] = outbox.send_due_sync(now=now)
        assert (result.status, result.outcome, result.attempts) == ("approved", "retry", attempt)
        draft = world.get(draft_id)
        assert draft.next_attempt_at is not None and draft.next_attempt_at > now
        assert "Connection lost" in (draft.last_error or "")
        now = draft.next_attempt_at
    [result] = outbox.send_due_sync(now=now)
    assert result.status == "failed"
    draft = world.get(draft_id)
    assert draft.status == "failed" and draft.attempts == 3
    assert (draft.last_error or "").startswith("gave up after 3 attempts")
    assert world.sent.lookups == 2  # Sent was checked before each retry


def test_retry_finds_an_acceptance_hidden_by_a_lost_link(world):
    draft_id = world.add()
    world.smtp.script = [aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response")]
    [first] = world.outbox().send_due_sync(now=NOW)
    assert first.outcome == "retry"
    world.sent.ids.add(world.get(draft_id).message_id)  # the server had accepted and filed it
    [second] = world.outbox().send_due_sync(now=NOW + timedelta(hours=2))
    assert (second.status, second.outcome) == ("sent", "found_in_sent")
    assert world.smtp.sent == []


def test_permanent_refusals_fail_with_the_servers_words(world):
    draft_id = world.add()
    world.smtp.script = [
        aiosmtplib.SMTPRecipientsRefused(
            [
                aiosmtplib.SMTPRecipientRefused(550, "5.1.1 User unknown", "client@acme.test"),
            ]
        )
    ]
    [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "failed"
    error = world.get(draft_id).last_error or ""
    assert "550" in error and "User unknown" in error and "client@acme.test" in error


def test_partly_refused_recipients_still_count_as_sent(world):
    draft_id = world.add(cc_addrs=[{"name": "", "email": "gone@acme.test"}])
    world.smtp.script = [{"gone@acme.test": "550 5.1.1 No such user"}]
    [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "sent"
    assert "gone@acme.test: 550" in (world.get(draft_id).last_error or "")


def test_a_failed_copy_to_sent_does_not_unsend(world):
    draft_id = world.add()
    world.sent.error = MailAccessError("connection refused by 127.0.0.1:1143")
    [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "sent"
    assert "copy to Sent failed" in (world.get(draft_id).last_error or "")


def _interrupted(world: World, started: datetime, **kw: Any) -> int:
    return world.add(status="sending", attempts=1, smtp_started_at=started, **kw)


def test_recovery_found_in_sent_is_sent_without_smtp(world):
    started = NOW - timedelta(seconds=20)
    draft_id = _interrupted(world, started)
    world.sent.ids.add(world.get(draft_id).message_id)
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("sent", "found_in_sent")
    draft = world.get(draft_id)
    assert draft.status == "sent" and draft.sent_at == started and draft.attempts == 1
    assert world.smtp.sent == []


def test_recovery_not_in_sent_waits_while_it_may_be_in_flight(world):
    draft_id = _interrupted(world, NOW - timedelta(seconds=20))
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("sending", "deferred")
    assert world.get(draft_id).status == "sending" and world.smtp.sent == []


def test_recovery_not_in_sent_is_retried_once_stale(world):
    draft_id = _interrupted(world, NOW - RECOVER_AFTER - timedelta(seconds=1))
    results = world.outbox().send_due_sync(now=NOW)
    assert [(r.outcome, r.status) for r in results] == [("retry", "approved"), ("sent", "sent")]
    assert world.sent.lookups == 1  # not looked up a second time before the resend
    draft = world.get(draft_id)
    assert draft.status == "sent" and draft.attempts == 2 and len(world.smtp.sent) == 1


def test_recovery_without_a_sent_folder_before_data_retries(world):
    """Interrupted before DATA (no ``smtp_data_at``): nothing can have left, so it is resent."""
    draft_id = _interrupted(world, NOW - RECOVER_AFTER - timedelta(seconds=1))
    world.sent.error = NoSentFolder("main")
    results = world.outbox().send_due_sync(now=NOW)
    assert results[0].outcome == "retry"
    assert len(world.smtp.sent) == 1 and world.get(draft_id).attempts == 2


def test_recovery_without_a_sent_folder_after_data_is_uncertain(world):
    started = NOW - RECOVER_AFTER - timedelta(seconds=1)
    draft_id = _interrupted(world, started, smtp_data_at=started)
    world.sent.error = NoSentFolder("main")
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("uncertain", "uncertain")
    draft = world.get(draft_id)
    assert draft.status == "uncertain"
    assert "no Sent folder" in (draft.last_error or "")
    assert draft.message_id in (draft.last_error or "")  # the evidence names the message
    assert world.smtp.sent == []


def test_crash_after_data_began_is_never_resent_blindly(world):
    started = NOW - timedelta(seconds=5)
    draft_id = _interrupted(world, started, smtp_data_at=started)
    [first] = world.outbox().send_due_sync(now=NOW)
    assert (first.status, first.outcome) == ("sending", "deferred")  # Sent may file it late
    [second] = world.outbox().send_due_sync(now=NOW + RECOVER_AFTER)
    assert (second.status, second.outcome) == ("uncertain", "uncertain")
    # Uncertain is final for the outbox: later passes send nothing.
    assert world.outbox().send_due_sync(now=NOW + timedelta(days=2)) == []
    assert world.smtp.sent == [] and world.get(draft_id).status == "uncertain"


def test_crash_after_data_began_found_in_sent_is_sent(world):
    started = NOW - timedelta(hours=1)
    draft_id = _interrupted(world, started, smtp_data_at=started)
    world.sent.ids.add(world.get(draft_id).message_id)
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("sent", "found_in_sent")
    assert world.get(draft_id).sent_at == started and world.smtp.sent == []


def test_uncertain_answer_waits_for_sent_then_asks_a_person(world):
    draft_id = world.add()
    world.smtp.script = [SmtpUncertain("link lost after the final '.'")]
    [first] = world.outbox().send_due_sync(now=NOW)
    assert (first.status, first.outcome) == ("sending", "deferred")
    draft = world.get(draft_id)
    assert draft.smtp_data_at == NOW and "uncertain" in (draft.last_error or "")
    assert world.sent.lookups == 1  # looked in Sent at once
    [second] = world.outbox().send_due_sync(now=NOW + timedelta(minutes=1))
    assert (second.status, second.outcome) == ("sending", "deferred")
    [third] = world.outbox().send_due_sync(now=NOW + RECOVER_AFTER)
    assert (third.status, third.outcome) == ("uncertain", "uncertain")
    assert len(world.smtp.seen_status) == 1  # one SMTP attempt, never a blind second


def test_uncertain_answer_then_the_servers_copy_in_sent_is_sent(world):
    draft_id = world.add()
    world.smtp.script = [SmtpUncertain("timed out after the final '.'")]
    world.outbox().send_due_sync(now=NOW)
    world.sent.ids.add(world.get(draft_id).message_id)  # filed late by the server
    [result] = world.outbox().send_due_sync(now=NOW + timedelta(minutes=2))
    assert (result.status, result.outcome) == ("sent", "found_in_sent")
    assert len(world.smtp.seen_status) == 1


def test_published_draft_sent_from_the_mail_client_is_not_sent_again(world):
    """Put into Drafts, sent by the user from Outlook (new Message-ID, same In-Reply-To),
    then approved in mailwatch before the Drafts folder was reconciled."""
    draft_id = world.add(
        in_reply_to="<q2@acme.test>",
        published_at=NOW - timedelta(hours=1),
        created_at=NOW - timedelta(hours=1),
    )
    with world.factory.begin() as session:
        session.add(
            Message(
                mailbox_id=world.mailbox_id,
                message_key="<outlook-1@example.com>",
                message_id="<outlook-1@example.com>",
                direction="outbound",
                in_reply_to="<q2@acme.test>",
                date=NOW - timedelta(minutes=30),
                internal_date=NOW - timedelta(minutes=30),
            )
        )
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("sent", "found_in_sent")
    assert world.smtp.seen_status == [] and world.get(draft_id).status == "sent"


def test_published_draft_not_sent_elsewhere_goes_out_once(world):
    draft_id = world.add(in_reply_to="<q2@acme.test>", published_at=NOW - timedelta(hours=1))
    [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "sent" and world.sent.lookups == 1
    assert len(world.smtp.sent) == 1 and world.get(draft_id).attempts == 1


def test_recovery_when_imap_is_down_changes_nothing(world):
    draft_id = _interrupted(world, NOW - timedelta(hours=1))
    world.sent.error = MailAccessError("connection refused")
    [result] = world.outbox().send_due_sync(now=NOW)
    assert (result.status, result.outcome) == ("sending", "deferred")
    assert world.get(draft_id).status == "sending" and world.smtp.sent == []


def test_loop_safety_fails_loudly(world, caplog):
    draft_id = world.add(
        automatic=True, to_addrs=[{"name": "", "email": "mailer-daemon@acme.test"}]
    )
    with caplog.at_level(logging.WARNING, logger="mailwatch.send"):
        [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "failed"
    assert "bounce address" in (world.get(draft_id).last_error or "")
    assert "loop safety" in caplog.text and str(draft_id) in caplog.text
    assert world.smtp.seen_status == []


def test_an_unusable_draft_fails_with_the_reason(world):
    draft_id = world.add(to_addrs=[{"name": "X", "email": "a@b.test\r\nBcc: c@d.test"}])
    [result] = world.outbox().send_due_sync(now=NOW)
    assert result.status == "failed"
    assert "not a single plain e-mail address" in (world.get(draft_id).last_error or "")


def test_logs_carry_neither_passwords_nor_bodies(world, caplog):
    world.add()
    world.add()
    world.smtp.script = [aiosmtplib.SMTPResponseException(451, "4.7.0 try later")]
    with caplog.at_level(logging.DEBUG):
        world.outbox().send_due_sync(now=NOW)
    assert caplog.records
    assert "hunter2" not in caplog.text and "SECRET-BODY" not in caplog.text


def test_sent_copy_policy():
    assert sent_copy_needed("always", "outlook.office365.com")
    assert not sent_copy_needed("never", "mail.example.com")
    assert sent_copy_needed("auto", "mail.example.com")
    assert not sent_copy_needed("auto", "outlook.office365.com")
    assert not sent_copy_needed("auto", "IMAP.Gmail.com")


def test_sent_copy_auto_on_office365_appends_nothing(tmp_path):
    w = World(tmp_path, imap_host="outlook.office365.com", imap_security="ssl")
    try:
        w.add()
        [result] = w.outbox().send_due_sync(now=NOW)
        assert result.status == "sent" and w.sent.appended == []
    finally:
        w.engine.dispose()


def test_retry_delay_grows_with_jitter_and_a_cap():
    rng = random.Random(3)
    for attempts, (low, high) in {1: (30, 60), 2: (60, 120), 3: (120, 240)}.items():
        for _ in range(50):
            assert low <= retry_delay(attempts, rng) <= high
    assert all(1800 <= retry_delay(30, rng) <= 3600 for _ in range(50))


@pytest.mark.parametrize(
    ("exc", "permanent", "text"),
    [
        (aiosmtplib.SMTPDataError(451, "4.3.0 try later"), False, "451 4.3.0 try later"),
        (aiosmtplib.SMTPDataError(550, "5.7.1 rejected"), True, "550 5.7.1 rejected"),
        (aiosmtplib.SMTPSenderRefused(553, "5.7.1 not yours", "a@b.c"), True, "553"),
        (aiosmtplib.SMTPAuthenticationError(535, "5.7.3 bad login"), False, "535"),
        (aiosmtplib.SMTPResponseException(530, "5.7.0 auth required"), False, "530"),
        (aiosmtplib.SMTPConnectError("refused"), False, "connection"),
        (aiosmtplib.SMTPTimeoutError("slow"), False, "timeout"),
        (ConnectionResetError("reset"), False, "connection"),
        (SmtpUncertain("lost after the final '.'"), False, "outcome uncertain"),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(450, "4.2.0 greylisted", "a@b.c")]
            ),
            False,
            "450",
        ),
    ],
)
def test_smtp_errors_are_classified(exc, permanent, text):
    failure = classify_smtp_error(exc)
    assert failure.permanent is permanent
    assert text in failure.detail
