"""The outbox: approved drafts go out by SMTP exactly once, across crashes and SMTP failures.

States (``Draft.status``)::

    approved --claim (commit)--> sending --SMTP accepted, copy in Sent--> sent
        ^                           |--4xx / lost link before DATA (attempts left)--> approved
        |                           |--5xx, or no attempts left---------> failed
        |                           |--lost link / timeout after the DATA terminator, or a crash
        |                           |  after DATA began: found in Sent --> sent
        |                           |  not found after the grace -------> uncertain (a person
        +--crash before DATA, not in Sent                                  decides: sent / resend)

The rules that make it exactly once (docs/sending.md says why):

1. Claim before talking: ``sending``, attempts + 1 and ``smtp_started_at`` are COMMITTED before
   the SMTP connection opens, with a conditional UPDATE (two processes never claim one draft).
2. ``smtp_data_at`` is COMMITTED once the recipients are accepted, just before DATA: from then
   on a crash or a lost answer may hide an acceptance, and the draft is never resent blindly.
3. Every attempt carries the draft's fixed Message-ID.
4. After SMTP accepted: the copy goes to Sent (SENT_COPY), then ``sent`` is committed.
5. An uncertain outcome (link lost or timed out after the body went out, or a draft found in
   ``sending`` with ``smtp_data_at`` set) is looked up in Sent (the server's copy or ours, by
   ``UID SEARCH HEADER Message-ID``, and in the synced store): found means it left, so
   ``sent``. Not found within ``recover_after`` (the server may file its copy late), it becomes
   ``uncertain`` with the evidence, for a person (``drafts mark-sent`` / ``drafts resend``).
   A draft found in ``sending`` WITHOUT ``smtp_data_at`` never reached DATA: once stale it
   is simply retried.
6. Before any retry (attempts > 0), and before the first attempt of a draft that was put into
   the Drafts folder (the user may have sent it from Outlook), Sent is checked as well.
7. Every status change is a conditional UPDATE on the expected status.

Loop safety (RFC 3834): an ``automatic`` draft to a bounce, no-reply or list address, or in
answer to an automatic or bulk message, is ``failed`` with the reason, and logged.

``MAILWATCH_TEST_CRASH_AFTER=claim|data|smtp|append`` is a TEST-ONLY fault injection: the
process exits with ``os._exit(137)`` right after the claim (before connecting), right after
``smtp_data_at`` is committed (before DATA), right after the SMTP acceptance, or after the Sent
copy, before the database learns of it.
Never set it in production.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.auth.tokens import provider_for
from mailwatch.config import MailboxSettings, Settings
from mailwatch.core.backoff import Backoff
from mailwatch.core.classify import is_automatic_recipient
from mailwatch.core.message import Address
from mailwatch.core.timefmt import local
from mailwatch.errors import ConfigError, MailAccessError
from mailwatch.mail.smtp import SmtpFailure, classify_smtp_error, submit
from mailwatch.send.message import BuiltMessage, DraftMessageError, build_message, recipients_of
from mailwatch.send.rate import RateLimiter, SharedRateLimiter
from mailwatch.send.sent import NoSentFolder, SentFolder, sent_copy_needed
from mailwatch.store.db import transaction
from mailwatch.store.models import Draft, Mailbox, Message

__all__ = [
    "CRASH_ENV",
    "MAX_ATTEMPTS",
    "Outbox",
    "SendResult",
    "retry_delay",
]

log = logging.getLogger(__name__)

CRASH_ENV = "MAILWATCH_TEST_CRASH_AFTER"
MAX_ATTEMPTS = 8
RETRY_INITIAL = 60.0  # seconds; the first retry comes after 30-60 s
RETRY_MAXIMUM = 3600.0  # never wait more than an hour between attempts
RECOVER_AFTER = timedelta(minutes=10)
# Wait for the answer to the final "." (RFC 5321 4.5.3.2.6 suggests 10 minutes; 5 keeps a pass
# from hanging too long). A slow content filter past this makes the outcome uncertain.
DATA_TIMEOUT = 300.0


def retry_delay(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones (exponential, jittered)."""
    backoff = Backoff(
        initial=RETRY_INITIAL,
        maximum=RETRY_MAXIMUM,
        rng=rng or random.Random(),
        attempts=max(0, attempts - 1),
    )
    return backoff.next_delay()


def _crash_point(stage: str) -> None:
    """TEST-ONLY fault injection (see the module docstring)."""
    if os.environ.get(CRASH_ENV, "").strip().lower() == stage:
        sys.stderr.write(f"{CRASH_ENV}={stage}: exiting on purpose (test fault injection)\n")
        sys.stderr.flush()
        os._exit(137)


@dataclass(frozen=True)
class SendResult:
    draft_id: int
    status: str  # the draft's status afterwards: sent | approved | sending | failed | uncertain
    outcome: str  # sent | found_in_sent | retry | failed | deferred | skipped | uncertain
    detail: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "draft_id": self.draft_id,
            "status": self.status,
            "outcome": self.outcome,
            "detail": self.detail,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


class SentStore(Protocol):
    def contains(self, message_id: str) -> bool: ...
    def append(self, raw: bytes) -> None: ...
    def close(self) -> None: ...


Transport = Callable[[MailboxSettings, BuiltMessage], Awaitable[dict[str, str]]]
# Called by the SMTP transport just before DATA (see rule 2); set per send by the outbox.
BeforeData = Callable[[], Awaitable[None]]
TokenSource = Callable[[MailboxSettings], str]


@dataclass
class _Job:
    draft: Draft
    mailbox: MailboxSettings


class Outbox:
    """Sends due approved drafts; one pass per :meth:`send_due` call.

    ``transport`` (SMTP) and ``sent_store`` (the Sent folder) can be replaced in tests;
    ``token_source`` gives an OAuth2 access token for a mailbox (IMAP and SMTP XOAUTH2).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        limiter: RateLimiter | SharedRateLimiter | None = None,
        transport: Transport | None = None,
        sent_store: Callable[[MailboxSettings], SentStore] | None = None,
        token_source: TokenSource | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        smtp_timeout: float = 60.0,
        data_timeout: float = DATA_TIMEOUT,
        recover_after: timedelta = RECOVER_AFTER,
        rng: random.Random | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        # SEND_RATE per SMTP account, counted in the database across every process
        self.limiter = limiter or SharedRateLimiter(factory, settings.send_rate)
        self.transport = transport or self._smtp_transport
        self.sent_store = sent_store or self._sent_folder
        self.token_source = token_source
        self.max_attempts = max_attempts
        self.smtp_timeout = smtp_timeout
        self.data_timeout = data_timeout
        self.recover_after = recover_after
        self.rng = rng or random.Random()
        self._stores: dict[str, SentStore] = {}
        self._checked: set[int] = set()
        self._before_data: BeforeData | None = None

    # -- the pass ------------------------------------------------------------------------------

    def send_due_sync(
        self, now: datetime | None = None, only_ids: Iterable[int] | None = None
    ) -> list[SendResult]:
        return asyncio.run(self.send_due(now=now, only_ids=only_ids))

    async def send_due(
        self, now: datetime | None = None, only_ids: Iterable[int] | None = None
    ) -> list[SendResult]:
        """Recover interrupted sends, then send every approved draft that is due.

        ``now`` fixes the clock of the pass (tests, ``--now``); by default the real time.
        ``only_ids`` limits the pass to those drafts.
        """
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        ids = None if only_ids is None else frozenset(only_ids)

        def clock() -> datetime:
            return now if now is not None else datetime.now(UTC)

        results: list[SendResult] = []
        self._checked = set()
        try:
            for draft_id in self._ids("sending", ids):
                results.append(await self._recover(draft_id, clock))
            for draft_id in self._ids("approved", ids, due_at=clock()):
                result = await self._send(draft_id, clock)
                if result is not None:
                    results.append(result)
        finally:
            stores, self._stores = self._stores, {}
            for store in stores.values():
                await asyncio.to_thread(store.close)
        return results

    def _ids(
        self, status: str, only: frozenset[int] | None, due_at: datetime | None = None
    ) -> list[int]:
        query = select(Draft.id).where(Draft.status == status)
        if due_at is not None:
            query = query.where(
                or_(Draft.next_attempt_at.is_(None), Draft.next_attempt_at <= due_at)
            )
        if only is not None:
            query = query.where(Draft.id.in_(only))
        with self.factory() as session:
            return list(session.scalars(query.order_by(Draft.id)))

    def _load(self, draft_id: int, status: str) -> _Job | SendResult | None:
        with self.factory() as session:
            draft = session.get(Draft, draft_id)
            if draft is None or draft.status != status:
                return None
            mailbox_name = session.scalar(
                select(Mailbox.name).where(Mailbox.id == draft.mailbox_id)
            )
        try:
            mailbox = self.settings.mailbox(mailbox_name or "")
        except ConfigError:
            detail = f"mailbox {mailbox_name!r} is not configured; draft left as it is"
            log.warning("draft %s: %s", draft_id, detail)
            return SendResult(draft_id, status, "deferred", detail, draft.attempts)
        return _Job(draft, mailbox)

    # -- recovery ------------------------------------------------------------------------------

    async def _recover(self, draft_id: int, clock: Callable[[], datetime]) -> SendResult:
        job = self._load(draft_id, "sending")
        if job is None:
            return SendResult(draft_id, "?", "skipped", "no longer in sending")
        if isinstance(job, SendResult):
            return job
        draft = job.draft
        self._checked.add(draft.id)
        reached_data = draft.smtp_data_at is not None
        try:
            found = await self._in_sent(job)
        except NoSentFolder as exc:
            if not self._stale(draft, clock()):
                return self._left_in_flight(draft)
            if reached_data:
                return self._finish_uncertain(draft, clock(), f"{exc}, so it cannot be checked")
            return self._retry_interrupted(draft, clock(), "the mailbox has no Sent folder")
        except MailAccessError as exc:
            detail = f"interrupted while sending; cannot check Sent yet: {exc}"
            log.warning("draft %s: %s", draft.id, detail)
            return SendResult(draft.id, "sending", "deferred", detail, draft.attempts)
        if found:
            log.info("draft %s: interrupted send had gone out (found in Sent)", draft.id)
            return self._finish_sent(
                draft, draft.smtp_data_at or draft.smtp_started_at or clock(), "", "found_in_sent"
            )
        if not self._stale(draft, clock()):
            return self._left_in_flight(draft)
        if reached_data:
            return self._finish_uncertain(
                draft, clock(), f"not in Sent {self.recover_after} after the attempt"
            )
        return self._retry_interrupted(draft, clock(), "not in Sent")

    def _retry_interrupted(self, draft: Draft, now: datetime, why: str) -> SendResult:
        """A claim that never reached DATA: nothing can have left, so it is sent again."""
        detail = f"interrupted while sending (attempt {draft.attempts}) before DATA; {why}"
        if draft.attempts >= self.max_attempts:
            return self._finish_failed(
                draft, now, f"gave up after {draft.attempts} attempts: {detail}", "sending"
            )
        log.warning("draft %s: %s, so it will be sent again", draft.id, detail)
        if not self._move(
            draft,
            "sending",
            now,
            status="approved",
            next_attempt_at=None,
            last_error=detail + ", retrying",
        ):
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        return SendResult(draft.id, "approved", "retry", detail, draft.attempts)

    def _stale(self, draft: Draft, now: datetime) -> bool:
        started = draft.smtp_data_at or draft.smtp_started_at
        return started is None or started <= now - self.recover_after

    def _left_in_flight(self, draft: Draft) -> SendResult:
        since = draft.smtp_data_at or draft.smtp_started_at
        what = "outcome uncertain" if draft.smtp_data_at else "in sending"
        detail = (
            f"{what} since {local(since, self.settings.calendar.tz, missing='?')}, not in "
            f"Sent yet; left alone for {self.recover_after} (it may still be in flight, or its "
            "copy may reach Sent late)"
        )
        log.info("draft %s: %s", draft.id, detail)
        return SendResult(draft.id, "sending", "deferred", detail, draft.attempts)

    # -- one send ------------------------------------------------------------------------------

    async def _send(self, draft_id: int, clock: Callable[[], datetime]) -> SendResult | None:
        job = self._load(draft_id, "approved")
        if job is None or isinstance(job, SendResult):
            return job
        draft, mailbox = job.draft, job.mailbox

        if draft.automatic:
            reason = self._loop_reason(draft)
            if reason is not None:
                log.warning("draft %s: not sent (loop safety): %s", draft.id, reason)
                return self._finish_failed(draft, clock(), reason, "approved")
        try:
            built = build_message(draft, clock())
        except DraftMessageError as exc:
            log.warning("draft %s: cannot be sent: %s", draft.id, exc)
            return self._finish_failed(draft, clock(), f"cannot be sent: {exc}", "approved")

        published = draft.published_at is not None
        if (draft.attempts > 0 or published) and draft.id not in self._checked:
            # A lost link or a timeout after DATA may hide an acceptance, and a draft put into
            # the Drafts folder may have been sent from the user's mail client: look first.
            try:
                found = await self._in_sent(job, replies=published)
            except NoSentFolder:
                found = False
            except MailAccessError as exc:
                detail = f"sending postponed: cannot check Sent first: {exc}"
                log.warning("draft %s: %s", draft.id, detail)
                return SendResult(draft.id, "approved", "deferred", detail, draft.attempts)
            if found:
                note = (
                    "a reply to the same message is already in Sent (sent from the mail client)"
                    if published and draft.attempts == 0
                    else "found in Sent before retrying"
                )
                return self._finish_sent(draft, clock(), note, "found_in_sent", "approved")

        await self.limiter.acquire(f"{mailbox.smtp.host}:{mailbox.smtp.username}".lower())
        attempts = draft.attempts + 1
        started = clock()
        with transaction(self.factory) as session:
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(Draft)
                    .where(
                        Draft.id == draft.id,
                        Draft.status == "approved",
                        Draft.attempts == draft.attempts,
                    )
                    .values(
                        status="sending",
                        attempts=attempts,
                        smtp_started_at=started,
                        smtp_data_at=None,
                        updated_at=started,
                    )
                ),
            ).rowcount
        if claimed != 1:
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        draft.attempts, draft.smtp_started_at = attempts, started
        log.info(
            "draft %s: sending %s to %d recipient(s) via %s:%s (attempt %d)",
            draft.id,
            built.message["Message-ID"],
            len(built.recipients),
            mailbox.smtp.host,
            mailbox.smtp.port,
            attempts,
        )

        async def before_data() -> None:
            when = clock()
            await asyncio.to_thread(self._mark_data, draft.id, when)
            draft.smtp_data_at = when
            _crash_point("data")

        self._before_data = before_data
        _crash_point("claim")
        try:
            refused = await self.transport(mailbox, built)
        except Exception as exc:
            failure = classify_smtp_error(exc)
            if failure.uncertain:
                return await self._after_uncertain(job, clock, failure)
            return self._after_failure(draft, clock(), failure.permanent, failure.detail)
        finally:
            self._before_data = None

        # SMTP accepted the message: from here on it is never sent again.
        _crash_point("smtp")
        notes: list[str] = []
        if refused:
            notes.append(
                "accepted for some recipients only; refused: "
                + "; ".join(f"{rcpt}: {why}" for rcpt, why in refused.items())
            )
        if sent_copy_needed(self.settings.sent_copy, mailbox.imap.host):
            try:
                store = self._store(mailbox)
                await asyncio.to_thread(store.append, built.raw)
            except Exception as exc:
                notes.append(f"sent, but the copy to Sent failed: {exc}")
        _crash_point("append")
        return self._finish_sent(draft, clock(), "; ".join(notes), "sent")

    def _mark_data(self, draft_id: int, when: datetime) -> None:
        with transaction(self.factory) as session:
            session.execute(
                update(Draft)
                .where(Draft.id == draft_id, Draft.status == "sending")
                .values(smtp_data_at=when)
            )

    async def _after_uncertain(
        self, job: _Job, clock: Callable[[], datetime], failure: SmtpFailure
    ) -> SendResult:
        """The server may have taken it: never retried blindly. Look in Sent now; not there,
        the draft stays in ``sending`` (with the evidence) until Sent decides or the grace
        runs out, and then it is ``uncertain`` for a person."""
        draft = job.draft
        now = clock()
        draft.smtp_data_at = draft.smtp_data_at or now
        self._checked.add(draft.id)
        log.warning("draft %s: attempt %d: %s", draft.id, draft.attempts, failure.detail)
        with transaction(self.factory) as session:
            session.execute(
                update(Draft)
                .where(Draft.id == draft.id, Draft.status == "sending")
                .values(
                    smtp_data_at=draft.smtp_data_at,
                    last_error=f"{failure.detail}; waiting for the Sent check",
                    updated_at=now,
                )
            )
        try:
            found = await self._in_sent(job)
        except NoSentFolder as exc:
            return self._finish_uncertain(draft, clock(), f"{failure.detail}; {exc}")
        except MailAccessError as exc:
            detail = f"{failure.detail}; cannot check Sent yet: {exc}"
            return SendResult(draft.id, "sending", "deferred", detail, draft.attempts)
        if found:
            return self._finish_sent(
                draft, now, "found in Sent after an uncertain answer", "found_in_sent"
            )
        detail = f"{failure.detail}; not in Sent yet, checked again for {self.recover_after}"
        return SendResult(draft.id, "sending", "deferred", detail, draft.attempts)

    def _after_failure(
        self, draft: Draft, now: datetime, permanent: bool, detail: str
    ) -> SendResult:
        if permanent:
            log.warning("draft %s: refused by the SMTP server: %s", draft.id, detail)
            return self._finish_failed(draft, now, detail, "sending")
        if draft.attempts >= self.max_attempts:
            log.warning(
                "draft %s: giving up after %d attempts: %s", draft.id, draft.attempts, detail
            )
            return self._finish_failed(
                draft,
                now,
                f"gave up after {draft.attempts} attempts; last error: {detail}",
                "sending",
            )
        next_at = now + timedelta(seconds=retry_delay(draft.attempts, self.rng))
        log.warning(
            "draft %s: attempt %d failed (%s); next attempt at %s",
            draft.id,
            draft.attempts,
            detail,
            local(next_at, self.settings.calendar.tz),
        )
        if not self._move(
            draft, "sending", now, status="approved", next_attempt_at=next_at, last_error=detail
        ):
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        return SendResult(draft.id, "approved", "retry", detail, draft.attempts, next_at)

    # -- final states --------------------------------------------------------------------------

    def _move(self, draft: Draft, expect: str, now: datetime, **values: Any) -> bool:
        """Conditional UPDATE: only a draft still in ``expect`` changes; True when it did."""
        with transaction(self.factory) as session:
            done = cast(
                CursorResult[Any],
                session.execute(
                    update(Draft)
                    .where(Draft.id == draft.id, Draft.status == expect)
                    .values(updated_at=now, **values)
                ),
            ).rowcount
        return done == 1

    def _finish_sent(
        self, draft: Draft, sent_at: datetime, note: str, outcome: str, expect: str = "sending"
    ) -> SendResult:
        if not self._move(
            draft,
            expect,
            sent_at,
            status="sent",
            sent_at=sent_at,
            next_attempt_at=None,
            last_error=note or None,
        ):
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        if note:
            log.warning("draft %s: sent (%s)", draft.id, note)
        else:
            log.info("draft %s: sent", draft.id)
        return SendResult(draft.id, "sent", outcome, note, draft.attempts)

    def _finish_failed(self, draft: Draft, now: datetime, reason: str, expect: str) -> SendResult:
        if not self._move(
            draft, expect, now, status="failed", next_attempt_at=None, last_error=reason
        ):
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        return SendResult(draft.id, "failed", "failed", reason, draft.attempts)

    def _finish_uncertain(self, draft: Draft, now: datetime, why: str) -> SendResult:
        """Nobody can tell whether it left: a person decides (``drafts mark-sent|resend``)."""
        since = draft.smtp_data_at or draft.smtp_started_at
        evidence = (
            f"outcome uncertain: attempt {draft.attempts} reached DATA at "
            f"{since.isoformat() if since else '?'} (Message-ID {draft.message_id}) and no "
            f"acceptance was recorded; {why}. It may or may not have reached the recipient: "
            "check with them or the SMTP server's log, then mark it sent or send it again"
        )
        if not self._move(
            draft, "sending", now, status="uncertain", next_attempt_at=None, last_error=evidence
        ):
            return SendResult(draft.id, "?", "skipped", "changed by someone else meanwhile")
        log.warning("draft %s: %s", draft.id, evidence)
        return SendResult(draft.id, "uncertain", "uncertain", evidence, draft.attempts)

    # -- helpers -------------------------------------------------------------------------------

    def _loop_reason(self, draft: Draft) -> str | None:
        """Why this automatic draft must not go out (RFC 3834), or None."""
        markers: dict[str, str] = {}
        if draft.replied_message_row_id is not None:
            with self.factory() as session:
                message = session.get(Message, draft.replied_message_row_id)
                if message is not None and message.markers:
                    markers = {str(k).lower(): str(v) for k, v in message.markers.items()}
        recipients = recipients_of(draft)
        if not recipients:
            return "automatic draft without a recipient"
        for name, email in recipients:
            reason = is_automatic_recipient(Address(name, email.lower()), markers)
            if reason is not None:
                return f"automatic draft not sent to {email}: {reason} (RFC 3834 loop safety)"
        return None

    def _token_provider(self, mailbox: MailboxSettings) -> Callable[[], str] | None:
        source = self.token_source
        if source is None:
            if "oauth2" not in (mailbox.imap.auth, mailbox.smtp.auth):
                return None
            return provider_for(mailbox)
        return lambda: source(mailbox)

    def _sent_folder(self, mailbox: MailboxSettings) -> SentStore:
        return SentFolder(mailbox, self.settings.imap_timeout, self._token_provider(mailbox))

    def _store(self, mailbox: MailboxSettings) -> SentStore:
        store = self._stores.get(mailbox.name)
        if store is None:
            store = self._stores[mailbox.name] = self.sent_store(mailbox)
        return store

    async def _in_sent(self, job: _Job, replies: bool = False) -> bool:
        """Did it leave? Our synced store first (the sync may have seen it in Sent), then the
        server's Sent folder by Message-ID. ``replies``: any reply of ours to the same message
        made after the draft counts too (the user sent it, edited, from their mail client)."""
        draft = job.draft
        if self._in_store(draft, replies):
            return True
        store = self._store(job.mailbox)
        if await asyncio.to_thread(store.contains, draft.message_id):
            return True
        contains_reply = getattr(store, "contains_reply", None)
        if replies and draft.in_reply_to and contains_reply is not None:
            since = draft.created_at - timedelta(days=1)
            return bool(await asyncio.to_thread(contains_reply, draft.in_reply_to, since))
        return False

    def _in_store(self, draft: Draft, replies: bool) -> bool:
        with self.factory() as session:
            condition = Message.message_id == draft.message_id
            if replies and draft.in_reply_to:
                condition = or_(
                    condition,
                    (Message.in_reply_to == draft.in_reply_to)
                    & (Message.direction == "outbound")
                    & (
                        or_(
                            Message.internal_date >= draft.created_at - timedelta(minutes=1),
                            Message.date >= draft.created_at - timedelta(minutes=1),
                        )
                    ),
                )
            found = session.scalar(
                select(Message.id).where(Message.mailbox_id == draft.mailbox_id, condition)
            )
        return found is not None

    async def _smtp_transport(
        self, mailbox: MailboxSettings, built: BuiltMessage
    ) -> dict[str, str]:
        return await submit(
            mailbox,
            built.sender,
            built.recipients,
            built.raw,
            timeout=self.smtp_timeout,
            token_provider=self._token_provider(mailbox),
            before_data=self._before_data,
            data_timeout=self.data_timeout,
        )
