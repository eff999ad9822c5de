"""What the scheduler does: early acknowledgments, early renegotiation, follow-ups, the outbox,
the digest. Each check is idempotent (it looks for the draft it would create), so a job run
twice, or re-run after a restart, never doubles anything.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarResult, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch import clock
from mailwatch.config import Settings
from mailwatch.core.autosend import auto_send_refusal
from mailwatch.core.scheduling import (
    acknowledgment_due,
    asks_or_proposes,
    follow_up_due,
    in_backlog,
    proposed_new_date,
    renegotiation_due,
    renegotiation_horizon,
)
from mailwatch.digest.send import send_digest
from mailwatch.drafts.mailbox import reconcile_all
from mailwatch.drafts.service import DraftError, DraftService
from mailwatch.send.outbox import Outbox
from mailwatch.service.backlog import first_started_at
from mailwatch.service.health import error_line, record_job
from mailwatch.store.db import transaction
from mailwatch.store.due import ensure_due_times
from mailwatch.store.models import Draft, Message, ServiceState, Thread
from mailwatch.track.tracker import Tracker
from mailwatch.views.context import View
from mailwatch.views.promises import list_promises
from mailwatch.views.threads import ThreadView, list_threads

log = logging.getLogger(__name__)

# Limits on automatic sending (SPEC "lessons"): logged when reached, never a silent drop.
AUTO_PER_THREAD_PER_DAY = 1
AUTO_PER_RECIPIENT_PER_DAY = 3


@dataclass
class JobReport:
    created: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    backlog: int = 0  # threads left to a person by the backlog policy
    capped: int = 0  # drafts not written: AUTO_DRAFTS_PER_HOUR reached


class Jobs:
    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self.view = View.of(settings)
        self.drafts = DraftService(factory, settings)
        self.tracker = Tracker(factory, settings)
        # Set by the service once every mailbox finished a sync pass in this process: until
        # then the checks would draft from what the store held before a restart (a reply
        # written in Outlook meanwhile is not in it yet). None: no gate (tests, CLI).
        self.ready: threading.Event | None = None

    # -- helpers -------------------------------------------------------------------------------

    def _exists(self, session: Session, *conditions: Any) -> bool:
        return session.scalar(select(func.count(Draft.id)).where(*conditions)) != 0

    def _auto_allowed(self, session: Session, thread_id: int, email: str, now: datetime) -> bool:
        since = now - timedelta(days=1)
        sent = Draft.status.in_(("approved", "sending", "sent", "uncertain"))
        per_thread = session.scalar(
            select(func.count(Draft.id)).where(
                Draft.automatic.is_(True),
                sent,
                Draft.thread_id == thread_id,
                Draft.created_at > since,
            )
        )
        if (per_thread or 0) >= AUTO_PER_THREAD_PER_DAY:
            log.warning(
                "auto-send limit per thread reached for thread %s: left for approval", thread_id
            )
            return False
        recent: ScalarResult[list[Any]] = session.scalars(
            select(Draft.to_addrs).where(Draft.automatic.is_(True), sent, Draft.created_at > since)
        )
        per_recipient = sum(
            1 for addrs in recent if any((a or {}).get("email") == email for a in addrs)
        )
        if per_recipient >= AUTO_PER_RECIPIENT_PER_DAY:
            log.warning("auto-send limit per recipient reached for %s: left for approval", email)
            return False
        return True

    def _hour_budget(self, now: datetime) -> int:
        """Drafts the scheduler may still write this hour (``AUTO_DRAFTS_PER_HOUR``).

        Counts every draft created in the last hour, whoever asked for it: a queue just
        filled by hand needs no more automatic drafts on top.
        """
        with self.factory() as session:
            recent = session.scalar(
                select(func.count(Draft.id)).where(Draft.created_at > now - timedelta(hours=1))
            )
        return self.settings.auto_drafts_per_hour - int(recent or 0)

    def _create(
        self, kind: str, thread_id: int, now: datetime, report: JobReport, **kw: Any
    ) -> None:
        if self._hour_budget(now) <= 0:
            if not report.capped:
                log.warning(
                    "AUTO_DRAFTS_PER_HOUR (%d) reached: no more automatic drafts this hour; "
                    "the due ones are written at the next checks",
                    self.settings.auto_drafts_per_hour,
                )
            report.capped += 1
            return
        automatic = kind in self.settings.auto_send
        try:
            result = self.drafts.create(kind, thread_id, now, automatic=automatic, **kw)
        except DraftError as exc:
            if not automatic:
                report.skipped.append(f"thread {thread_id}: {exc}")
                log.info("no %s draft for thread %s: %s", kind, thread_id, exc)
                return
            log.warning("not sending a %s automatically for thread %s: %s", kind, thread_id, exc)
            try:
                result = self.drafts.create(kind, thread_id, now, automatic=False, **kw)
            except DraftError as again:
                report.skipped.append(f"thread {thread_id}: {again}")
                return
            automatic = False
        if not result.created:
            return
        draft = result.draft
        report.created.append(draft["id"])
        log.info(
            "draft created",
            extra={
                "draft": draft["id"],
                "kind": kind,
                "thread_id": thread_id,  # not "thread": a reserved LogRecord attribute
                "automatic": automatic,
            },
        )
        if automatic:
            with self.factory() as session:
                to = draft["to_addresses"][0]["email"] if draft["to_addresses"] else ""
                refusal = self._auto_refusal(session, draft["id"], to, now)
                if refusal is not None:
                    log.warning(
                        "draft %s not sent automatically: %s; left for approval",
                        draft["id"],
                        refusal,
                    )
                allowed = refusal is None and self._auto_allowed(session, thread_id, to, now)
            if allowed:
                self.drafts.approve(draft["id"], now)
            else:
                self._mark_manual(draft["id"])

    def _auto_refusal(
        self, session: Session, draft_id: int, email: str, now: datetime
    ) -> str | None:
        """Issue #16: spam, the global daily cap, and only known or authenticated senders."""
        draft = session.get_one(Draft, draft_id)
        parent = (
            session.get(Message, draft.replied_message_row_id)
            if draft.replied_message_row_id is not None
            else None
        )
        markers = {
            str(k).lower(): str(v) for k, v in ((parent.markers if parent else {}) or {}).items()
        }
        sent_last_day = session.scalar(
            select(func.count(Draft.id)).where(
                Draft.automatic.is_(True),
                Draft.status.in_(("approved", "sending", "sent", "uncertain")),
                Draft.created_at > now - timedelta(days=1),
                Draft.id != draft_id,
            )
        )
        return auto_send_refusal(
            markers=markers,
            sender_email=(parent.from_email if parent and parent.from_email else email),
            known_correspondent=self._known_correspondent(session, email),
            trusted_authserv_ids=self.settings.trusted_authserv_ids,
            sent_last_day=int(sent_last_day or 0),
            daily_cap=self.settings.auto_send_daily_cap,
        )

    @staticmethod
    def _known_correspondent(session: Session, email: str) -> bool:
        """Did we ourselves (a person, not an automatic reply) ever write to ``email``?"""
        if not email:
            return False
        rows: ScalarResult[dict[str, Any] | None] = session.scalars(
            select(Message.markers).where(
                Message.direction == "outbound", Message.counterpart_email == email.lower()
            )
        )
        for markers in rows:
            auto = str((markers or {}).get("auto-submitted", "no")).strip().lower()
            if auto in ("", "no"):
                return True
        return False

    def _mark_manual(self, draft_id: int) -> None:
        with transaction(self.factory) as session:
            row = session.get_one(Draft, draft_id)
            row.automatic = False

    # -- checks --------------------------------------------------------------------------------

    def _due(self, column: Any, now: datetime) -> list[int]:
        """Threads whose ``column`` (a due time kept by tracking) has come: O(due), indexed."""
        ensure_due_times(self.factory, self.settings, now)
        with self.factory() as session:
            return list(
                session.scalars(select(Thread.id).where(column <= now).order_by(column, Thread.id))
            )

    def _set_due(self, thread_id: int, column: str, when: datetime | None) -> None:
        with transaction(self.factory) as session:
            thread = session.get(Thread, thread_id)
            if thread is not None:
                setattr(thread, column, when)

    def _row(self, thread_id: int, now: datetime, state: str) -> ThreadView | None:
        with self.factory() as session:
            rows = list_threads(
                session, now, state, self.view, thread_id=thread_id, with_message_ids=False
            )
        return rows[0] if rows else None

    def _snoozed_until(self, thread_id: int, now: datetime) -> datetime | None:
        with self.factory() as session:
            thread = session.get(Thread, thread_id)
            if thread is None or thread.manual_state != "snoozed":
                return None
            until = thread.snoozed_until
        return until if until is not None and until > now else None

    def sla_check(self, now: datetime) -> JobReport:
        """A first answer ``ACK_AFTER`` into a client's wait, before it is overdue: an
        acknowledgment, or a closing / clarify when the client's intent calls for one.

        Reads only the threads whose ``ack_due_at`` has come; each one handled gets its due
        time cleared (or moved: a snoozed thread comes back when the snooze ends).
        """
        report = JobReport()
        started = first_started_at(self.factory, now)
        for thread_id in self._due(Thread.ack_due_at, now):
            row = self._row(thread_id, now, "awaiting_us")
            since = row.waiting_since if row is not None else None
            if row is None or since is None:
                self._set_due(thread_id, "ack_due_at", self._snoozed_until(thread_id, now))
                continue
            due = acknowledgment_due(since, self.settings.calendar, self.settings.ack_after)
            if now < due:
                self._set_due(thread_id, "ack_due_at", due)
                continue
            if in_backlog(since, started, self.settings.calendar, self.settings.ack_backlog_limit):
                report.backlog += 1
                self._set_due(thread_id, "ack_due_at", None)
                continue
            with self.factory() as session:
                done = self._exists(
                    session,
                    Draft.thread_id == thread_id,
                    Draft.kind.in_(("acknowledgment", "closing", "clarify")),
                    Draft.created_at >= since,
                )
            if not done:
                try:  # the client's intent picks the kind: a refusal gets a closing, and so on
                    kind, intent = self.drafts.reply_kind(thread_id)
                except DraftError as exc:
                    report.skipped.append(f"thread {thread_id}: {exc}")
                    self._set_due(thread_id, "ack_due_at", None)
                    continue
                if kind is None:
                    report.skipped.append(
                        f"thread {thread_id}: no reply needed ({intent.evidence})"
                    )
                    self._set_due(thread_id, "ack_due_at", None)
                    continue
                capped = report.capped
                self._create(kind, thread_id, now, report)
                if report.capped > capped:
                    continue  # stays due: written when the hour's budget allows
            self._set_due(thread_id, "ack_due_at", None)
        return report

    def promise_check(self, now: datetime) -> JobReport:
        """A renegotiation draft ``RENEGOTIATE_LEAD`` before an open promise is due."""
        report = JobReport()
        cal, lead = self.settings.calendar, self.settings.renegotiate_lead
        with self.factory() as session:
            rows = list_promises(
                session,
                now,
                self.view,
                "open",
                due_from=now,
                due_to=renegotiation_horizon(now, cal, lead),
            )
        for promise in rows:
            due, made = promise.due_at, promise.made_at
            if promise.thread_id is None:
                continue
            if now < renegotiation_due(made, due, cal, lead):
                continue
            with self.factory() as session:
                done = self._exists(
                    session, Draft.promise_id == promise.id, Draft.kind == "renegotiation"
                )
            if not done:
                self._create(
                    "renegotiation",
                    promise.thread_id,
                    now,
                    report,
                    promise_id=promise.id,
                    # a promise already missed gets a new date counted from now, not the past
                    new_date=proposed_new_date(max(due, now), cal, lead),
                )
        return report

    def follow_up_check(self, now: datetime) -> JobReport:
        """A follow-up when the client has not answered our proposal or question.

        Reads only the threads whose ``follow_up_due_at`` has come (see ``sla_check``).
        """
        report = JobReport()
        for thread_id in self._due(Thread.follow_up_due_at, now):
            row = self._row(thread_id, now, "awaiting_them")
            last_out = row.last_outbound_at if row is not None else None
            last_in = row.last_inbound_at if row is not None else None
            if last_out is None or (last_in is not None and last_in > last_out):
                # answered from a phone (we do not know what we wrote), or not theirs to answer
                self._set_due(thread_id, "follow_up_due_at", self._snoozed_until(thread_id, now))
                continue
            due = follow_up_due(last_out, self.settings.calendar, self.settings.follow_up_after)
            if now < due:
                self._set_due(thread_id, "follow_up_due_at", due)
                continue
            with self.factory() as session:
                text = session.scalar(
                    select(Message.new_text)
                    .where(Message.thread_id == thread_id, Message.direction == "outbound")
                    .order_by(Message.date.desc(), Message.id.desc())
                    .limit(1)
                )
                done = not asks_or_proposes(text or "") or self._exists(
                    session,
                    Draft.thread_id == thread_id,
                    Draft.kind == "follow_up",
                    Draft.created_at >= last_out,
                )
            if not done:
                capped = report.capped
                self._create("follow_up", thread_id, now, report)
                if report.capped > capped:
                    continue
            self._set_due(thread_id, "follow_up_due_at", None)
        return report

    def outbox(self, now: datetime) -> Any:
        results = Outbox(self.factory, self.settings).send_due_sync(now=now)
        self.drafts.after_sent(now)
        return results

    def digest(self, now: datetime, send: Callable[[datetime], Any] | None = None) -> bool:
        """Send the daily digest once per local day (a restart never repeats it).

        Claim, send, mark, as the outbox does: the claim (``digest_claimed_for``) is committed
        before sending, so of several workers only one sends; a process killed between send
        and mark leaves the claim without the mark, and the day's digest is then NOT sent
        again (it may have gone out), with one warning line.
        """
        if not self.settings.digest_to:
            return False
        today = self.settings.calendar.local(now).date().isoformat()
        if not _claim_digest(self.factory, today, now):
            return False
        try:
            if send is None:
                asyncio.run(send_digest(self.factory, self.settings, now))
            else:
                send(now)
        except BaseException:
            _set_state(self.factory, "digest_claimed_for", "", now)  # not sent: retry later
            raise
        _set_state(self.factory, "digest_sent_for", today, now)
        return True

    def drafts_folder(self, now: datetime) -> Any:
        return reconcile_all(self.factory, self.settings, now)


# -- entry points by job name (module-level: the schedule and the job-health tests name them) ----

_jobs: Jobs | None = None


def _set_state(factory: Any, key: str, value: str, now: datetime) -> None:
    with transaction(factory) as session:
        state = session.get(ServiceState, key, with_for_update=True)
        if state is None:
            session.add(ServiceState(key=key, value=value, updated_at=now))
        else:
            state.value, state.updated_at = value, now


def _claim_digest(factory: Any, today: str, now: datetime) -> bool:
    """Take today's digest for this process; False when it is sent, or being sent, already."""
    try:
        return _claim_digest_once(factory, today, now)
    except IntegrityError:  # another worker inserted the first claim at the same moment
        return False


def _claim_digest_once(factory: Any, today: str, now: datetime) -> bool:
    with transaction(factory) as session:
        sent = session.get(ServiceState, "digest_sent_for", with_for_update=True)
        if sent is not None and sent.value == today:
            return False
        claim = session.get(ServiceState, "digest_claimed_for", with_for_update=True)
        if claim is not None and claim.value == today:
            log.warning(
                "the digest for %s was claimed at %s and never marked sent (another worker is "
                "sending it, or its process stopped while sending): not sending it again",
                today,
                claim.updated_at.isoformat(timespec="seconds"),
            )
            return False
        if claim is None:
            session.add(ServiceState(key="digest_claimed_for", value=today, updated_at=now))
        else:
            claim.value, claim.updated_at = today, now
        return True


def install(jobs: Jobs | None) -> None:
    global _jobs
    _jobs = jobs


def _run(name: str, call: Callable[[Jobs, datetime], Any]) -> None:
    """Run one job; its outcome is stored (mailwatch.service.health) and a failure is logged.

    ``name`` is the scheduler's job id, so ``/healthz``, ``/metrics`` and the digest name the
    job the way the scheduler does.
    """
    if _jobs is None:
        log.warning("job %s ran before the service installed its context; skipped", name)
        return
    now = clock.now()
    try:
        call(_jobs, now)
    except Exception as exc:  # one failing job must not stop the scheduler
        log.exception("job %s failed; it runs again at its next time", name)
        record_job(_jobs.factory, name, clock.now(), error_line(exc))
        return
    record_job(_jobs.factory, name, clock.now())


def _checks_ready(name: str) -> bool:
    """The drafting checks wait for the first sync pass of every mailbox (see Jobs.ready)."""
    jobs = _jobs
    if jobs is None or jobs.ready is None or jobs.ready.is_set():
        return True
    log.debug("job %s waits for the first sync pass of every mailbox", name)
    return False


def sla_job() -> None:
    if _checks_ready("sla-check"):
        _run("sla-check", lambda jobs, now: jobs.sla_check(now))


def promise_job() -> None:
    if _checks_ready("promise-check"):
        _run("promise-check", lambda jobs, now: jobs.promise_check(now))


def follow_up_job() -> None:
    if _checks_ready("follow-up-check"):
        _run("follow-up-check", lambda jobs, now: jobs.follow_up_check(now))


def outbox_job() -> None:
    _run("outbox", lambda jobs, now: jobs.outbox(now))


def digest_job() -> None:
    _run("daily-digest", lambda jobs, now: jobs.digest(now))


def drafts_folder_job() -> None:
    _run("drafts-folder", lambda jobs, now: jobs.drafts_folder(now))


# The scheduler's job ids with their entry points (mailwatch.service.main schedules them).
ENTRY_POINTS: dict[str, Callable[[], None]] = {
    "sla-check": sla_job,
    "promise-check": promise_job,
    "follow-up-check": follow_up_job,
    "outbox": outbox_job,
    "drafts-folder": drafts_folder_job,
    "daily-digest": digest_job,
}
