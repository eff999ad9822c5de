"""Feeds stored mail to the pure analysers and keeps threads' tracking columns current.

Runs after every sync pass. Messages carry an ``analysis_version``; those below the current
one (new mail, or all mail after a settings change that alters the verdicts) are analysed in
batches, each batch committed with its results, so a crash only repeats a batch. Threads
touched by a batch, and every thread where a client is waiting (an ``\\Answered`` flag may
have arrived), are then recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings
from mailwatch.core.analysis import (
    ANALYSIS_VERSION,
    AnalysisInput,
    AnalysisSettings,
    MessageAnalysis,
    analyze_message,
    analyze_messages,
)
from mailwatch.core.message import Address, Direction, ParsedMessage
from mailwatch.core.tracking import (
    AWAITING_US,
    MessageFacts,
    ThreadStatus,
    is_colleague_reply,
    track_thread,
)
from mailwatch.core.warning_signs import SignKind, WarningSign
from mailwatch.store.db import transaction
from mailwatch.store.due import update_due_times
from mailwatch.store.models import Draft, Mailbox, Message, Promise, Thread

log = logging.getLogger(__name__)

BATCH = 500
PROMISE_TEXT_MAX = 1000


@dataclass
class TrackReport:
    analysed: int = 0
    promises_found: int = 0
    threads_updated: int = 0


def analysis_key(settings: Settings) -> str:
    """Changes when a setting that alters the verdicts changes, so stored mail is re-read."""
    cal = settings.calendar
    parts = [
        str(ANALYSIS_VERSION),
        ",".join(sorted(settings.own_addresses)),
        ",".join(sorted(settings.internal_domains)),
        ",".join(settings.languages),
        str(settings.analysis_days),
        cal.tz_name,
        f"{cal.work_start}-{cal.work_end}",
        ",".join(str(d) for d in sorted(cal.work_days)),
        cal.holidays_country or "",
        ",".join(d.isoformat() for d in sorted(cal.extra_closed)),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def analysis_settings(settings: Settings) -> AnalysisSettings:
    return AnalysisSettings(
        own_addresses=settings.own_addresses,
        internal_domains=settings.internal_domains,
        calendar=settings.calendar,
        languages=settings.languages,
    )


def _addresses(values: Iterable[Any] | None) -> tuple[Address, ...]:
    result = []
    for item in values or ():
        if isinstance(item, dict) and item.get("email"):
            result.append(Address(str(item.get("name") or ""), str(item["email"])))
    return tuple(result)


def parsed_from_row(row: Any) -> ParsedMessage:
    """Rebuild what the classifier reads from a stored row (the sync keeps all of it)."""
    sender = Address(row.from_name or "", row.from_email) if row.from_email else None
    return ParsedMessage(
        message_id=row.message_id,
        in_reply_to=None,
        references=(),
        subject=row.subject or "",
        from_addr=sender,
        to=_addresses(row.to_addrs),
        cc=_addresses(row.cc_addrs),
        reply_to=_addresses(row.reply_to),
        date=row.date,
        content_type=row.content_type or "text/plain",
        markers=dict(row.markers or {}),
        text=row.text_prefix or "",
        new_text=row.new_text or "",
    )


def signs_json(signs: Sequence[WarningSign]) -> list[dict[str, Any]]:
    return [
        {"kind": s.kind.value, "evidence": s.evidence, "message_id": s.message_id} for s in signs
    ]


def signs_from_json(values: Iterable[Any] | None) -> tuple[WarningSign, ...]:
    result = []
    for item in values or ():
        try:
            result.append(
                WarningSign(SignKind(item["kind"]), item["evidence"], item.get("message_id"))
            )
        except (KeyError, ValueError, TypeError):
            continue
    return tuple(result)


_ROW_COLUMNS = (
    Message.id,
    Message.mailbox_id,
    Message.thread_id,
    Message.message_id,
    Message.direction,
    Message.date,
    Message.internal_date,
    Message.subject,
    Message.from_name,
    Message.from_email,
    Message.to_addrs,
    Message.cc_addrs,
    Message.reply_to,
    Message.content_type,
    Message.markers,
    Message.text_prefix,
    Message.new_text,
)


_TABLE = Message.__table__
_RESULT_UPDATE = (
    _TABLE.update()
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        needs_reply=bindparam("v_needs_reply"),
        category=bindparam("v_category"),
        reason=bindparam("v_reason"),
        language=bindparam("v_language"),
        requested_by=bindparam("v_requested_by"),
        signs=bindparam("v_signs"),
    )
)


class Tracker:
    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self.analysis = analysis_settings(settings)
        self.key = analysis_key(settings)
        self._lock = threading.Lock()

    def refresh(self, mailbox_id: int | None = None, recheck_waiting: bool = True) -> TrackReport:
        """Analyse what is new and bring every affected thread up to date.

        ``recheck_waiting`` also recomputes every thread where a client waits, for an
        ``\\Answered`` flag set elsewhere; a sync pass that saw no flag change can skip it.
        """
        with self._lock:
            report = TrackReport()
            self._reset_if_settings_changed()
            touched: set[int] = set()
            while True:
                done, threads = self._analyse_batch(mailbox_id, report)
                touched |= threads
                if not done:
                    break
            self._update_threads(mailbox_id, touched, report, recheck_waiting)
            if report.analysed:
                log.info(
                    "tracking updated",
                    extra={
                        "analysed": report.analysed,
                        "promises": report.promises_found,
                        "threads": report.threads_updated,
                    },
                )
            return report

    def _reset_if_settings_changed(self) -> None:
        with transaction(self.factory) as session:
            stale = list(
                session.scalars(
                    select(Mailbox)
                    .where((Mailbox.analysis_key.is_(None)) | (Mailbox.analysis_key != self.key))
                    # Locked in one order: two workers starting together wait for each other
                    # (the second then finds nothing stale) instead of deadlocking.
                    .order_by(Mailbox.id)
                    .with_for_update()
                )
            )
            for mailbox in stale:
                if mailbox.analysis_key is not None:
                    log.info("settings changed: re-analysing the mail of %s", mailbox.name)
                session.execute(
                    update(Message)
                    .where(Message.mailbox_id == mailbox.id, Message.analysis_version != 0)
                    .values(analysis_version=0)
                )
                mailbox.analysis_key = self.key

    def _analyse_batch(self, mailbox_id: int | None, report: TrackReport) -> tuple[int, set[int]]:
        touched: set[int] = set()
        with transaction(self.factory) as session:
            query = select(Message.id).where(Message.analysis_version < ANALYSIS_VERSION)
            if mailbox_id is not None:
                query = query.where(Message.mailbox_id == mailbox_id)
            ids = list(session.scalars(query.order_by(Message.id).limit(BATCH)))
            if not ids:
                return 0, touched
            # Claim the batch: a second process analysing at the same time gets other rows.
            claimed = list(
                session.scalars(
                    update(Message)
                    .where(Message.id.in_(ids), Message.analysis_version < ANALYSIS_VERSION)
                    .values(analysis_version=ANALYSIS_VERSION)
                    .returning(Message.id)
                    .execution_options(synchronize_session=False)
                )
            )
            if not claimed:
                return len(ids), touched
            rows = session.execute(select(*_ROW_COLUMNS).where(Message.id.in_(claimed))).all()
            results = []
            days = self.settings.analysis_days
            text_since = datetime.now(UTC) - timedelta(days=days) if days else None
            for row, result in zip(rows, self._analyse_rows(rows, text_since), strict=True):
                results.append(
                    {
                        "row_id": row.id,
                        "v_needs_reply": result.needs_reply,
                        "v_category": result.category,
                        "v_reason": result.reason[:2000],
                        "v_language": result.language,
                        "v_requested_by": result.requested_by,
                        "v_signs": signs_json(result.signs) or None,
                    }
                )
                report.analysed += 1
                if row.thread_id is not None:
                    touched.add(row.thread_id)
                if result.promises:
                    report.promises_found += self._save_promises(session, row, result)
            session.connection().execute(_RESULT_UPDATE, results)
        return len(ids), touched

    def _analyse_rows(
        self, rows: Sequence[Any], text_since: datetime | None
    ) -> list[MessageAnalysis]:
        """The batch in one call (one language-model pass); one message at a time if it fails,
        so that one odd message is logged and marked while the others are still analysed."""
        try:
            items = []
            for row in rows:
                at = row.date or row.internal_date
                read_text = text_since is None or (at is not None and at >= text_since)
                items.append(
                    AnalysisInput(parsed_from_row(row), Direction(row.direction), at, read_text)
                )
            return analyze_messages(items, self.analysis)
        except Exception:  # find the odd one out below
            return [self._analyse_row(row, text_since) for row in rows]

    def _analyse_row(self, row: Any, text_since: datetime | None) -> MessageAnalysis:
        try:
            direction = Direction(row.direction)
            at = row.date or row.internal_date
            read_text = text_since is None or (at is not None and at >= text_since)
            return analyze_message(parsed_from_row(row), direction, at, self.analysis, read_text)
        except Exception as exc:  # one odd message must not stop tracking for the rest
            log.warning("could not analyse message %s: %s", row.message_id, exc)
            return MessageAnalysis(False, "error", f"not analysed: {exc}", None, None, (), ())

    def _save_promises(self, session: Session, row: Any, result: MessageAnalysis) -> int:
        renegotiation = session.scalar(
            select(Draft.id).where(
                Draft.message_id == row.message_id, Draft.kind == "renegotiation"
            )
        )
        if renegotiation is not None:
            return 0  # its new date is recorded when the draft is sent (DraftService.after_sent)
        existing = {
            (p.text, p.due_at)
            for p in session.scalars(
                select(Promise).where(
                    Promise.message_row_id == row.id, Promise.source == "detected"
                )
            )
        }
        made_at = row.date or row.internal_date
        added = 0
        for found in result.promises:
            text = found.text[:PROMISE_TEXT_MAX]
            if (text, found.due_at.astimezone(UTC)) in {(t, d) for t, d in existing}:
                continue
            session.add(
                Promise(
                    mailbox_id=row.mailbox_id,
                    thread_id=row.thread_id,
                    message_row_id=row.id,
                    text=text,
                    made_at=made_at,
                    due_at=found.due_at,
                    time_given=found.time_given,
                    source="detected",
                )
            )
            added += 1
        return added

    # -- threads -------------------------------------------------------------------------------

    def _update_threads(
        self, mailbox_id: int | None, touched: set[int], report: TrackReport, recheck_waiting: bool
    ) -> None:
        with transaction(self.factory) as session:
            # Promises follow their message when threads were merged (only new mail merges).
            if touched:
                session.execute(
                    update(Promise)
                    .where(Promise.message_row_id.is_not(None))
                    .where(
                        Promise.thread_id.is_(None)
                        | (
                            Promise.thread_id
                            != select(Message.thread_id)
                            .where(Message.id == Promise.message_row_id)
                            .scalar_subquery()
                        )
                    )
                    .values(
                        thread_id=select(Message.thread_id)
                        .where(Message.id == Promise.message_row_id)
                        .scalar_subquery()
                    )
                )
            never_tracked = Thread.tracked_at.is_(None)
            query = select(Thread.id).where(
                (Thread.state == AWAITING_US) | never_tracked if recheck_waiting else never_tracked
            )
            if mailbox_id is not None:
                query = query.where(Thread.mailbox_id == mailbox_id)
            ids = touched | set(session.scalars(query))
        ordered = sorted(ids)
        for start in range(0, len(ordered), BATCH):
            chunk = ordered[start : start + BATCH]
            with transaction(self.factory) as session:
                facts = load_facts(
                    session, chunk, self.settings.internal_domains, self.settings.own_addresses
                )
                now = datetime.now(UTC)
                threads = list(session.scalars(select(Thread).where(Thread.id.in_(chunk))))
                for thread in threads:
                    status = self.status_of(facts.get(thread.id, []))
                    apply_status(thread, status, now)
                    report.threads_updated += 1
                update_due_times(session, threads, self.settings)  # the scheduler reads these

    def status_of(self, facts: Sequence[MessageFacts]) -> ThreadStatus:
        return track_thread(
            facts,
            self.settings.calendar,
            self.settings.reply_sla,
            default_language=self.settings.languages[0] if self.settings.languages else "en",
        )


def load_facts(
    session: Session,
    thread_ids: Sequence[int],
    internal_domains: frozenset[str] = frozenset(),
    own_addresses: frozenset[str] = frozenset(),
) -> dict[int, list[MessageFacts]]:
    """The tracker's view of the messages of ``thread_ids``, oldest first.

    A colleague's mail (category ``internal``) to a client who wrote in the thread counts as an
    answer; one to anybody else (our own mailbox, a supplier) does not."""
    result: dict[int, list[MessageFacts]] = defaultdict(list)
    if not thread_ids:
        return result
    rows = session.execute(
        select(
            Message.thread_id,
            Message.message_id,
            Message.direction,
            Message.date,
            Message.internal_date,
            Message.needs_reply,
            Message.reason,
            Message.answered,
            Message.language,
            Message.requested_by,
            Message.signs,
            Message.from_email,
            Message.in_reply_to,
            Message.references,
            Message.category,
            Message.to_addrs,
            Message.cc_addrs,
        )
        .where(Message.thread_id.in_(thread_ids))
        .order_by(Message.thread_id, Message.id)
    )
    rows = list(rows)
    # who wrote to us as a client in each thread: a colleague answers only by writing to them
    clients: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        if row.direction == "inbound" and row.category == "client" and row.from_email:
            clients[row.thread_id].add(row.from_email.lower())
    for row in rows:
        recipients = [
            str(a.get("email") or "").lower()
            for a in [*(row.to_addrs or []), *(row.cc_addrs or [])]
            if isinstance(a, dict) and a.get("email")
        ]
        result[row.thread_id].append(
            MessageFacts(
                message_id=row.message_id,
                direction=Direction(row.direction),
                at=row.date or row.internal_date,
                needs_reply=bool(row.needs_reply),
                reason=row.reason or "not analysed yet",
                answered=bool(row.answered),
                language=row.language,
                requested_by=row.requested_by,
                signs=signs_from_json(row.signs),
                sender=row.from_email,
                parents=tuple(
                    [r for r in (row.references or []) if isinstance(r, str)]
                    + ([row.in_reply_to] if row.in_reply_to else [])
                ),
                colleague_reply=row.category == "internal"
                and is_colleague_reply(row.from_email, recipients, internal_domains, own_addresses)
                and any(r in clients[row.thread_id] for r in recipients),
                recipients=tuple(recipients),
            )
        )
    return result


def apply_status(thread: Thread, status: ThreadStatus, now: datetime) -> None:
    thread.state = status.state
    thread.needs_reply = status.needs_reply
    thread.needs_reply_reason = status.reason[:2000]
    thread.waiting_since = status.waiting_since
    thread.last_client_at = status.last_client_at
    thread.first_response_business_minutes = status.first_response_business_minutes
    thread.requested_by = status.requested_by
    thread.language = status.language
    thread.signs = signs_json(status.signs) or None
    thread.answered_by = status.answered_by
    thread.tracked_at = now
