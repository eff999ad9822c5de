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
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, bindparam, null, select, type_coerce, update
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings
from mailwatch.core.analysis import (
    ANALYSIS_VERSION,
    AnalysisInput,
    AnalysisSettings,
    MessageAnalysis,
)
from mailwatch.core.message import Address, Direction, ParsedMessage
from mailwatch.core.signs import signs_from_json, signs_to_json
from mailwatch.core.tracking import (
    AWAITING_US,
    MessageFacts,
    ThreadStatus,
    is_colleague_reply,
    track_thread,
)
from mailwatch.store.bulk import select_rows, update_many
from mailwatch.store.db import transaction
from mailwatch.store.due import DueInputs, due_times
from mailwatch.store.mail import PROMISE_TEXT_MAX, BatchResult
from mailwatch.store.models import Draft, Mailbox, Message, Promise, Thread, table_of
from mailwatch.store.raw import json_from_text
from mailwatch.track.pool import AnalysisPool, error_result, worker_count
from mailwatch.track.prepare import BatchPreparer

log = logging.getLogger(__name__)

BATCH = 500
# Messages per analysis batch: small enough that the batches in flight (2 per worker, their
# texts in both processes) stay a few MB, large enough for one language-model pass to pay.
ANALYSE_BATCH = 250
# Fewer unanalysed rows than this (and no worker running): the refresh analyses them in
# process, with no worker to start.
FEED_MIN = 200


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
    """Rebuild what the analysers read from a stored row.

    They read the new text only, never the whole stored prefix (``text``), so it is not read
    back nor sent to the analysis workers, up to TEXT_PREFIX_BYTES less per message
    (``tests/unit/test_analysis_pool.py`` proves the results do not depend on it)."""
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
        text="",
        new_text=row.new_text or "",
    )


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


@dataclass(frozen=True, slots=True)
class _RowMeta:
    """What writing a message's results needs besides the results (its text is not kept)."""

    id: int
    mailbox_id: int
    message_id: str | None
    made_at: datetime | None


@dataclass
class _Submitted:
    """A batch handed to the pool, not yet written."""

    rows: list[_RowMeta]
    items: list[AnalysisInput]
    future: Future[list[MessageAnalysis]]
    # Rows whose inputs could not even be built: written with the batch, as errors.
    failed: list[tuple[_RowMeta, MessageAnalysis]]


class Tracker:
    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self.analysis = analysis_settings(settings)
        self.key = analysis_key(settings)
        self._lock = threading.Lock()
        self.pool = AnalysisPool(self.analysis, worker_count(settings.value("ANALYSIS_WORKERS")))
        # Batches analysed by the pool and not yet written, oldest first; what they touched.
        self._pending: deque[_Submitted] = deque()
        self._carry = TrackReport()
        self._touched: set[int] = set()

    # -- analysis, fed by the sync -------------------------------------------------------------

    def preparer(self) -> BatchPreparer:
        """What a sync parses and analyses its fetched batches with (one per mailbox sync).

        New mail is analysed before it is stored, in the analysis worker while the sync goes
        on fetching (a backfill), or in process (a few new messages); its verdicts are stored
        with it, so nothing is read back to be analysed. Mail the settings change re-reads is
        marked first, before anything is stored with the new settings."""
        return BatchPreparer(
            self.analysis,
            self.pool,
            analyse=True,
            text_since=self._text_since,
            before_first=self._check_settings,
        )

    def feed(self, mailbox_id: int, result: BatchResult) -> None:
        """Called by the sync after each stored batch: the threads to re-track, the counts."""
        with self._lock:
            self._carry.analysed += result.analysed
            self._carry.promises_found += result.promises_found
            self._touched |= result.analysed_threads

    def _check_settings(self) -> None:
        with self._lock:
            self._reset_if_settings_changed()

    def close(self) -> None:
        """Write what the pool still holds and stop its workers."""
        with self._lock:
            self._drain()
            self.pool.close()

    def refresh(self, mailbox_id: int | None = None, recheck_waiting: bool = True) -> TrackReport:
        """Analyse what is new and bring every affected thread up to date.

        ``recheck_waiting`` also recomputes every thread where a client waits, for an
        ``\\Answered`` flag set elsewhere; a sync pass that saw no flag change can skip it.
        """
        with self._lock:
            self._reset_if_settings_changed()
            self._drain()
            text_since = self._text_since()
            after, exhausted = 0, False
            while True:
                # Up to one batch per worker analysed while the next one is read here.
                while not exhausted and len(self._pending) <= self.pool.workers:
                    submitted = self._submit_next(mailbox_id, after, text_since, 1)
                    exhausted = submitted is None
                    after = submitted or after
                if not self._pending:
                    break
                if not exhausted and self.pool.started and not self._pending[0].future.done():
                    # The sync is over: this core analyses a batch too instead of waiting.
                    submitted = self._submit_next(mailbox_id, after, text_since, 1, inline=True)
                    exhausted = submitted is None
                    after = submitted or after
                    continue
                self._write_oldest()
            self.pool.close()  # idle until the next backlog; a new mail is analysed in process
            report, self._carry = self._carry, TrackReport()
            touched, self._touched = self._touched, set()
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

    def _text_since(self) -> datetime | None:
        days = self.settings.analysis_days
        return datetime.now(UTC) - timedelta(days=days) if days else None

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

    def _submit_next(
        self,
        mailbox_id: int | None,
        after: int,
        text_since: datetime | None,
        at_least: int,
        inline: bool = False,
    ) -> int | None:
        """Read the next unanalysed rows above id ``after`` and hand them to the pool.

        Returns the highest id handed over, or None when fewer than ``at_least`` rows wait.
        Nothing is claimed here: the claim is made with the results (:meth:`_write`)."""
        with self.factory() as session:
            query = select(*_ROW_COLUMNS).where(
                Message.analysis_version < ANALYSIS_VERSION, Message.id > after
            )
            if mailbox_id is not None:
                query = query.where(Message.mailbox_id == mailbox_id)
            rows = session.execute(query.order_by(Message.id).limit(ANALYSE_BATCH)).all()
        if not rows or len(rows) < at_least:
            return None
        metas, items, failed = [], [], []
        for row in rows:
            at = row.date or row.internal_date
            meta = _RowMeta(row.id, row.mailbox_id, row.message_id, at)
            read_text = text_since is None or (at is not None and at >= text_since)
            try:
                item = AnalysisInput(parsed_from_row(row), Direction(row.direction), at, read_text)
            except Exception as exc:  # one odd row must not stop tracking for the rest
                failed.append((meta, error_result(exc)))
                continue
            metas.append(meta)
            items.append(item)
        # A few new messages are analysed here: starting a worker would cost more.
        inline = inline or (not self.pool.started and len(rows) < FEED_MIN)
        future = self.pool.submit(items, inline=inline)
        self._pending.append(_Submitted(metas, items, future, failed))
        return int(rows[-1].id)

    def _write_ready(self) -> None:
        """Write the finished batches at the head of the queue (without waiting)."""
        while self._pending and self._pending[0].future.done():
            self._write_oldest()

    def _drain(self) -> None:
        while self._pending:
            self._write_oldest()

    def _write_oldest(self) -> None:
        batch = self._pending.popleft()
        results = self.pool.result(batch.future, batch.items)
        rows = batch.rows + [meta for meta, _ in batch.failed]
        self._write(rows, results + [result for _, result in batch.failed])

    def _write(self, rows: Sequence[_RowMeta], found: Sequence[MessageAnalysis]) -> None:
        """Claim the rows and store their results in one transaction.

        The claim (``analysis_version`` raised only where it is still below) makes a row
        analysed by two processes at once written by one of them only; a crash before the
        commit leaves the whole batch unanalysed for the next pass."""
        report = self._carry
        with transaction(self.factory) as session:
            claimed = {
                row_id: thread_id
                for row_id, thread_id in session.execute(
                    update(Message)
                    .where(
                        Message.id.in_([r.id for r in rows]),
                        Message.analysis_version < ANALYSIS_VERSION,
                    )
                    .values(analysis_version=ANALYSIS_VERSION)
                    .returning(Message.id, Message.thread_id)
                    .execution_options(synchronize_session=False)
                )
            }
            if not claimed:
                return
            values = []
            for row, result in zip(rows, found, strict=True):
                if row.id not in claimed:
                    continue
                if result.category == "error":
                    log.warning("could not analyse message %s: %s", row.message_id, result.reason)
                values.append(
                    {
                        "row_id": row.id,
                        "v_needs_reply": result.needs_reply,
                        "v_category": result.category,
                        "v_reason": result.reason[:2000],
                        "v_language": result.language,
                        "v_requested_by": result.requested_by,
                        "v_signs": signs_to_json(result.signs) or None,
                    }
                )
                report.analysed += 1
                thread_id = claimed[row.id]  # now: a later batch may have merged its thread
                if thread_id is not None:
                    self._touched.add(thread_id)
                if result.promises:
                    report.promises_found += self._save_promises(session, row, thread_id, result)
            session.connection().execute(_RESULT_UPDATE, values)

    def _save_promises(
        self, session: Session, row: _RowMeta, thread_id: int | None, result: MessageAnalysis
    ) -> int:
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
        made_at = row.made_at
        added = 0
        for found in result.promises:
            text = found.text[:PROMISE_TEXT_MAX]
            if (text, found.due_at.astimezone(UTC)) in {(t, d) for t, d in existing}:
                continue
            session.add(
                Promise(
                    mailbox_id=row.mailbox_id,
                    thread_id=thread_id,
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
                # Plain rows in, one UPDATE by primary key out: no ORM object per thread.
                found = select_rows(
                    session.connection(),
                    select(Thread.id, Thread.last_inbound_at, Thread.last_outbound_at).where(
                        Thread.id.in_(chunk)
                    ),
                )
                changes: list[dict[str, Any]] = []
                inputs: list[DueInputs] = []
                for thread_id, last_inbound, last_outbound in found:
                    status = self.status_of(facts.get(thread_id, []))
                    changes.append({"id": thread_id, **status_columns(status, now)})
                    inputs.append(
                        DueInputs(
                            thread_id,
                            status.state,
                            status.waiting_since,
                            last_inbound,
                            last_outbound,
                        )
                    )
                due = due_times(session, inputs, self.settings)  # the scheduler reads these
                for change in changes:
                    change["ack_due_at"], change["follow_up_due_at"] = due[change["id"]]
                _update_by_id(session, changes)
                report.threads_updated += len(changes)

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
    query = (
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
            type_coerce(Message.signs, Text),  # JSON: decoded below, faster
            Message.from_email,
            Message.in_reply_to,
            type_coerce(Message.references, Text),
            Message.category,
            type_coerce(Message.to_addrs, Text),
            type_coerce(Message.cc_addrs, Text),
        )
        .where(Message.thread_id.in_(thread_ids))
        .order_by(Message.thread_id, Message.id)
    )
    # plain tuples (store.bulk.select_rows): a backfill's pass reads every message it stored
    rows = select_rows(session.connection(), query)
    # who wrote to us as a client in each thread: a colleague answers only by writing to them
    clients: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        if row[2] == "inbound" and row[14] == "client" and row[11]:
            clients[row[0]].add(row[11].lower())
    for (
        thread_id,
        message_id,
        direction,
        date,
        internal_date,
        needs_reply,
        reason,
        answered,
        language,
        requested_by,
        signs,
        from_email,
        in_reply_to,
        references,
        category,
        to_addrs,
        cc_addrs,
    ) in rows:
        recipients = [
            str(a.get("email") or "").lower()
            for a in (*(json_from_text(to_addrs) or ()), *(json_from_text(cc_addrs) or ()))
            if isinstance(a, dict) and a.get("email")
        ]
        result[thread_id].append(
            MessageFacts(
                message_id=message_id,
                direction=Direction(direction),
                at=date or internal_date,
                needs_reply=bool(needs_reply),
                reason=reason or "not analysed yet",
                answered=bool(answered),
                language=language,
                requested_by=requested_by,
                signs=signs_from_json(json_from_text(signs)),
                sender=from_email,
                parents=tuple(
                    [r for r in (json_from_text(references) or []) if isinstance(r, str)]
                    + ([in_reply_to] if in_reply_to else [])
                ),
                colleague_reply=category == "internal"
                and is_colleague_reply(from_email, recipients, internal_domains, own_addresses)
                and any(r in clients[thread_id] for r in recipients),
                recipients=tuple(recipients),
            )
        )
    return result


def _update_by_id(session: Session, changes: list[dict[str, Any]]) -> None:
    """UPDATE threads by id with each dict's columns, in executemany batches.

    No warning signs are stored as SQL NULL, as the ORM's flush stores ``None`` in a JSON
    column (a bulk UPDATE would bind it as the JSON text ``null``)."""
    unsigned = [change["id"] for change in changes if change["signs"] is None]
    for change in changes:
        if change["signs"] is None:
            del change["signs"]
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        by_keys[tuple(change)].append(change)
    for group in by_keys.values():
        update_many(session.connection(), table_of(Thread), "id", group)
    if unsigned:
        session.execute(update(Thread).where(Thread.id.in_(unsigned)).values(signs=null()))


def status_columns(status: ThreadStatus, now: datetime) -> dict[str, Any]:
    """The thread columns that tracking sets from ``status`` (as tracked at ``now``)."""
    return {
        "state": status.state,
        "needs_reply": status.needs_reply,
        "needs_reply_reason": status.reason[:2000],
        "waiting_since": status.waiting_since,
        "last_client_at": status.last_client_at,
        "first_response_business_minutes": status.first_response_business_minutes,
        "requested_by": status.requested_by,
        "language": status.language,
        "signs": signs_to_json(status.signs) or None,
        "answered_by": status.answered_by,
        "tracked_at": now,
    }
