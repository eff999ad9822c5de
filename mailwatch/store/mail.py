"""Store what the sync fetched: messages, where they sit, and which thread they belong to.

Every batch of messages is written in one transaction **together with the folder's UID
checkpoint**, so a crash at any instant either keeps the whole batch and its checkpoint or
neither: the next run starts after the last committed UID, with nothing lost or duplicated.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.core.analysis import ANALYSIS_VERSION, MessageAnalysis
from mailwatch.core.message import Address, Direction, ParsedMessage, message_time
from mailwatch.core.signs import signs_to_json
from mailwatch.core.threads import (
    NEW_THREAD,
    ThreadIndex,
    counterpart_of,
    message_direction,
    normalize_subject,
)
from mailwatch.errors import LeaseLost
from mailwatch.store.bulk import insert_many, insert_one, update_many
from mailwatch.store.db import transaction
from mailwatch.store.leases import begin_fenced, check, still_holds
from mailwatch.store.models import (
    Draft,
    Folder,
    Mailbox,
    Message,
    MessageLocation,
    Promise,
    Thread,
    table_of,
)

log = logging.getLogger(__name__)

_IN_CHUNK = 500  # values per IN (...) list
PROMISE_TEXT_MAX = 1000  # characters of a detected promise's sentence kept


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    uid: int
    flags: tuple[str, ...]
    internal_date: datetime | None
    size: int | None
    parsed: ParsedMessage
    # Its verdicts when the sync analysed it before storing (see mailwatch.track.prepare):
    # stored with it, at the current analysis version; None leaves it for the tracker.
    analysis: MessageAnalysis | None = None


@dataclass(frozen=True, slots=True)
class FolderState:
    id: int
    mailbox_id: int
    name: str
    role: str | None
    uidvalidity: int | None
    last_uid: int
    uidnext: int | None
    highestmodseq: int | None
    backfill_since: date | None
    backfill_done: bool
    last_flag_scan_at: datetime | None


@dataclass
class BatchResult:
    stored: int = 0
    relocated: int = 0
    threads_created: int = 0
    threads_merged: int = 0
    parse_errors: int = 0
    analysed: int = 0  # stored with their analysis
    promises_found: int = 0
    analysed_threads: set[int] = field(default_factory=set)  # threads of those messages


@dataclass
class _MailboxCache:
    index: ThreadIndex
    rows: dict[str, tuple[int, str]] = field(default_factory=dict)  # key -> (row id, fingerprint)


class _PendingMessage:
    """A message of the current batch: its row, and what folding it into its thread needs."""

    __slots__ = (
        "analysis",
        "counterpart",
        "direction",
        "fingerprint",
        "key",
        "parsed",
        "row",
        "row_id",
        "when",
    )

    def __init__(
        self,
        key: str,
        fingerprint: str,
        row: dict[str, Any],
        parsed: ParsedMessage,
        direction: Direction,
        counterpart: Address | None,
        when: datetime | None,
        analysis: MessageAnalysis | None = None,
    ) -> None:
        self.analysis = analysis
        self.key = key
        self.fingerprint = fingerprint
        self.row = row
        self.parsed = parsed
        self.direction = direction
        self.counterpart = counterpart
        self.when = when
        self.row_id = 0  # set once inserted


class _Batch:
    """What one ``save_batch`` call has decided but possibly not written yet."""

    def __init__(self) -> None:
        self.pending: dict[str, _PendingMessage] = {}  # by key
        self.unflushed: list[_PendingMessage] = []
        self.locations: list[tuple[int | _PendingMessage, int, list[str]]] = []
        self.promises_found = 0

    def lookup(self, cache: _MailboxCache, key: str) -> tuple[int | _PendingMessage, str] | None:
        """The stored row, or the message of this batch, that already holds ``key``."""
        found = cache.rows.get(key)
        if found is not None:
            return found
        pending = self.pending.get(key)
        return None if pending is None else (pending, pending.fingerprint)


# The columns of a thread that storing a message changes; the id first.
_THREAD_COLUMNS = (
    "id",
    "message_count",
    "first_message_at",
    "last_message_at",
    "last_inbound_at",
    "last_outbound_at",
    "subject",
    "normalized_subject",
    "counterpart_email",
    "counterpart_name",
)

_THREAD_WRITTEN = (*_THREAD_COLUMNS[1:], "updated_at")

# Result rows as mypy should see them: it unpacks a Row of statically unknown width as
# ``object`` (SQLAlchemy 2.1 types Row as a tuple subclass); a Row is a tuple.
_Rows = Iterable[tuple[Any, ...]]


@dataclass(slots=True)
class _ThreadAggregate:
    """A thread's ``_THREAD_COLUMNS`` (and ``updated_at``), folded in memory, written once.

    The fields are ``_THREAD_COLUMNS`` in order: a row read with those columns builds one.
    """

    id: int
    message_count: int | None
    first_message_at: datetime | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    subject: str | None
    normalized_subject: str | None
    counterpart_email: str | None
    counterpart_name: str | None
    updated_at: datetime | None = None


def fingerprint(parsed: ParsedMessage) -> str:
    """What tells two messages that share a Message-ID apart (a reused or broken id)."""
    sender = parsed.from_addr.email if parsed.from_addr else ""
    stamp = parsed.date.isoformat() if parsed.date else ""
    return hashlib.sha1(f"{sender}\0{stamp}\0{parsed.subject}".encode()).hexdigest()[:16]


def _addr_json(addresses: Iterable[Address]) -> list[dict[str, str]]:
    return [{"name": a.name, "email": a.email} for a in addresses]


class MailStore:
    """The sync's view of the store; one instance per process, shared by mailbox workers."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        own_addresses: frozenset[str],
        subject_window: timedelta = timedelta(days=30),
    ) -> None:
        self.factory = factory
        self.own_addresses = own_addresses
        self.subject_window = subject_window
        self._caches: dict[int, _MailboxCache] = {}
        # mailbox id -> the lease every write to it must still hold (``mailwatch run`` and
        # ``sync --once`` set it; a bare MailStore, as in tests, writes unfenced)
        self.fences: dict[int, Any] = {}
        self.revoked: set[int] = set()

    def fence(self, mailbox_id: int, fence: Any) -> None:
        """Write to this mailbox only under ``fence`` (a lease); the thread index is rebuilt
        from the database, since another process may have written while we did not hold it."""
        self._caches.pop(mailbox_id, None)
        self.revoked.discard(mailbox_id)
        self.fences[mailbox_id] = fence

    def revoke(self, mailbox_id: int) -> None:
        """Refuse every further write to this mailbox (the lease is lost or given up)."""
        self.revoked.add(mailbox_id)
        self._caches.pop(mailbox_id, None)

    @contextmanager
    def _fenced(self, mailbox_id: int) -> Iterator[Session]:
        """A transaction that commits only if this process still holds the mailbox's lease.

        The lease is checked as the transaction's last statement, under a share lock that a
        takeover waits for; PostgreSQL also ends the transaction if it idles longer than the
        lease (a paused process must not keep its locks). Either way: :class:`LeaseLost`.
        """
        if mailbox_id in self.revoked:
            raise LeaseLost(f"mailbox {mailbox_id}: this process gave up or lost its lease")
        fence = self.fences.get(mailbox_id)
        try:
            with transaction(self.factory) as session:
                if fence is not None:
                    begin_fenced(session, fence)
                yield session
                if fence is not None:
                    check(session, fence)
        except DBAPIError as exc:
            if fence is not None and not still_holds(self.factory, fence):
                raise LeaseLost(
                    f"lease {fence.name} was taken over while this process was stalled; the "
                    f"database ended its transaction ({exc.__class__.__name__})"
                ) from None
            raise

    def ensure_mailbox(self, name: str, username: str) -> int:
        with transaction(self.factory) as session:
            found = session.scalar(select(Mailbox.id).where(Mailbox.name == name))
            if found is not None:
                return found
            mailbox = Mailbox(name=name, username=username)
            session.add(mailbox)
            session.flush()
            return mailbox.id

    def folder(self, mailbox_id: int, name: str, role: str | None) -> FolderState:
        with transaction(self.factory) as session:
            row = session.scalar(
                select(Folder).where(Folder.mailbox_id == mailbox_id, Folder.name == name)
            )
            if row is None:
                row = Folder(mailbox_id=mailbox_id, name=name, role=role, last_uid=0)
                session.add(row)
                session.flush()
            elif row.role != role:
                row.role = role
            return _state(row)

    def start_backfill(self, folder: FolderState, since: date | None) -> FolderState:
        with transaction(self.factory) as session:
            row = session.get_one(Folder, folder.id)
            row.backfill_since = since
            return _state(row)

    def reset_for_uidvalidity(self, folder: FolderState, uidvalidity: int) -> FolderState:
        """The server renumbered the folder: forget its UIDs (never the messages)."""
        with self._fenced(folder.mailbox_id) as session:
            session.execute(delete(MessageLocation).where(MessageLocation.folder_id == folder.id))
            row = session.get_one(Folder, folder.id)
            if row.uidvalidity is not None:
                log.warning(
                    "UIDVALIDITY of %s changed from %s to %s: re-matching its messages by Message-ID",
                    row.name,
                    row.uidvalidity,
                    uidvalidity,
                )
            row.uidvalidity = uidvalidity
            row.last_uid = 0
            row.uidnext = None
            row.highestmodseq = None
            row.backfill_done = False
            return _state(row)

    def finish_folder_pass(
        self,
        folder: FolderState,
        *,
        uidnext: int | None,
        highestmodseq: int | None,
        backfill_done: bool,
        flag_scan_at: datetime | None = None,
    ) -> FolderState:
        with self._fenced(folder.mailbox_id) as session:
            row = session.get_one(Folder, folder.id)
            row.uidnext = uidnext
            if highestmodseq is not None:
                row.highestmodseq = highestmodseq
            row.backfill_done = backfill_done or row.backfill_done
            row.last_synced_at = datetime.now(UTC)
            if flag_scan_at is not None:
                row.last_flag_scan_at = flag_scan_at
            mailbox = session.get_one(Mailbox, row.mailbox_id)
            mailbox.last_sync_at = row.last_synced_at
            return _state(row)

    def record_mailbox_error(self, mailbox_id: int, error: str | None) -> None:
        with transaction(self.factory) as session:
            mailbox = session.get_one(Mailbox, mailbox_id)
            mailbox.last_error = error
            mailbox.last_error_at = datetime.now(UTC) if error else None

    def known_keys(self, mailbox_id: int, keys: Iterable[str]) -> set[str]:
        cache = self._cache(mailbox_id)
        return {key for key in keys if key in cache.rows}

    def is_stored(self, mailbox_id: int, parsed: ParsedMessage) -> bool:
        """Is this very message stored already (same Message-ID AND same fingerprint)?

        A Message-ID reused on a different message is not: it becomes a row of its own and
        needs its text like any new message.
        """
        cache = self._cache(mailbox_id)
        known = cache.rows.get(parsed.message_id)
        if known is None:
            return False
        print_ = fingerprint(parsed)
        if known[1] in ("", print_) or parsed.message_id_synthetic:
            return True
        return f"{parsed.message_id}#{print_}" in cache.rows

    def uids_since(self, folder: FolderState, since: datetime) -> list[int]:
        """UIDs of this folder's messages dated after ``since`` (the flag-scan window)."""
        with self.factory() as session:
            rows = session.execute(
                select(MessageLocation.uid)
                .join(Message, Message.id == MessageLocation.message_id)
                .where(MessageLocation.folder_id == folder.id)
                .where(func.coalesce(Message.internal_date, Message.date) >= since)
            )
            return [uid for (uid,) in rows]

    # -- messages --------------------------------------------------------------------------

    def save_batch(
        self,
        folder: FolderState,
        fetched: Sequence[FetchedMessage],
        checkpoint_uid: int,
    ) -> tuple[BatchResult, FolderState]:
        """Store a batch and move the folder's checkpoint to ``checkpoint_uid``, atomically."""
        try:
            with self._fenced(folder.mailbox_id) as session:  # fencing: same transaction
                result = self._save(session, folder, fetched)
                row = session.get_one(Folder, folder.id)
                row.last_uid = max(row.last_uid, checkpoint_uid)
                state = _state(row)
        except BaseException:
            # The in-memory index may hold rows that were rolled back: rebuild it next time.
            self._caches.pop(folder.mailbox_id, None)
            raise
        return result, state

    def _save(
        self, session: Session, folder: FolderState, fetched: Sequence[FetchedMessage]
    ) -> BatchResult:
        """Thread the batch in memory, then write it with a handful of statements.

        Messages are inserted with one executemany, and each thread the batch touched is
        read once and written once, instead of an INSERT, a SELECT and an UPDATE per
        message. Threading decisions are taken message by message, in order, exactly as
        before; only a merge of two stored conversations (rare) writes what is pending
        first, so that it sees every message so far.
        """
        cache = self._cache(folder.mailbox_id, session)
        result = BatchResult()
        batch = _Batch()
        existing_uids = set(
            session.scalars(
                select(MessageLocation.uid).where(
                    MessageLocation.folder_id == folder.id,
                    MessageLocation.uid.in_([f.uid for f in fetched]),
                )
            )
        )
        for item in fetched:
            if item.uid in existing_uids:
                continue
            parsed = item.parsed
            key = parsed.message_id
            print_ = fingerprint(parsed)
            known = batch.lookup(cache, key)
            if known is not None and known[1] != print_ and not parsed.message_id_synthetic:
                # Same Message-ID, different message: keep both, the second under its own key.
                key = f"{parsed.message_id}#{print_}"
                known = batch.lookup(cache, key)
            if known is not None:
                batch.locations.append((known[0], item.uid, list(item.flags)))
                result.relocated += 1
                continue
            pending = self._prepare_message(
                session, folder, item, key, print_, cache, batch, result
            )
            batch.pending[key] = pending
            batch.locations.append((pending, item.uid, list(item.flags)))
            existing_uids.add(item.uid)
        self._flush_pending(session, cache, batch)
        result.promises_found = batch.promises_found
        if batch.locations:
            locations: list[dict[str, Any]] = [
                {
                    "message_id": ref if isinstance(ref, int) else ref.row_id,
                    "folder_id": folder.id,
                    "uid": uid,
                    "flags": flags,
                }
                for ref, uid, flags in batch.locations
            ]
            conn = session.connection()
            insert_many(conn, table_of(MessageLocation), locations)
            answered = [loc["message_id"] for loc in locations if "\\Answered" in loc["flags"]]
            seen = [loc["message_id"] for loc in locations if "\\Seen" in loc["flags"]]
            messages = table_of(Message)
            if answered:
                conn.execute(
                    update(messages).where(messages.c.id.in_(answered)).values(answered=True)
                )
            if seen:
                conn.execute(update(messages).where(messages.c.id.in_(seen)).values(seen=True))
        return result

    def _prepare_message(
        self,
        session: Session,
        folder: FolderState,
        item: FetchedMessage,
        key: str,
        print_: str,
        cache: _MailboxCache,
        batch: _Batch,
        result: BatchResult,
    ) -> _PendingMessage:
        """Choose the message's thread (creating or merging threads) and build its row."""
        parsed = item.parsed
        direction = message_direction(parsed, folder.role, self.own_addresses)
        counterpart = counterpart_of(parsed, direction, self.own_addresses)
        at = message_time(parsed.date, item.internal_date)
        when = at or item.internal_date
        normalized = normalize_subject(parsed.subject)
        thread_id: int | None = None
        if parsed.parse_errors and parsed.from_addr is None and not parsed.subject:
            result.parse_errors += 1  # unreadable: kept aside, outside any conversation
        else:
            if parsed.parse_errors:
                result.parse_errors += 1
            choice = cache.index.choose(parsed, counterpart, when)
            if choice.thread_id == NEW_THREAD:
                thread_id = self._new_thread(session, folder, parsed, normalized, counterpart)
                cache.index.new_thread(thread_id)
                result.threads_created += 1
            else:
                thread_id = choice.thread_id
                if choice.merge:
                    # The merge rewrites stored messages and recounts the kept thread:
                    # everything before this message must be in the database first.
                    self._flush_pending(session, cache, batch)
                    self._merge_threads(session, thread_id, choice.merge)
                    cache.index.merge(thread_id, choice.merge)
                    result.threads_merged += len(choice.merge)
            cache.index.register(_as_keyed(parsed, key), thread_id, counterpart, when)
        row = {
            "mailbox_id": folder.mailbox_id,
            "thread_id": thread_id,
            "message_key": key[:998],
            "message_id": parsed.message_id,
            "message_id_synthetic": parsed.message_id_synthetic,
            "in_reply_to": parsed.in_reply_to,
            "references": list(parsed.references),
            "thread_index": parsed.thread_index,
            "thread_topic": parsed.thread_topic,
            "subject": parsed.subject,
            "normalized_subject": normalized,
            "from_name": parsed.from_addr.name if parsed.from_addr else None,
            "from_email": parsed.from_addr.email if parsed.from_addr else None,
            "to_addrs": _addr_json(parsed.to),
            "cc_addrs": _addr_json(parsed.cc),
            "reply_to": _addr_json(parsed.reply_to),
            "date": at,
            "header_date": parsed.date,
            "internal_date": item.internal_date,
            "direction": direction.value,
            "counterpart_email": counterpart.email if counterpart else None,
            "content_type": parsed.content_type[:128],
            "markers": dict(parsed.markers),
            "text_prefix": parsed.text,
            "new_text": parsed.new_text,
            "size": item.size,
            "answered": False,
            "seen": False,
            "parse_error": "; ".join(parsed.parse_errors)[:2000] or None,
            "created_at": datetime.now(UTC),
            "analysis_version": 0,  # not analysed yet, unless the sync did (below)
        }
        found = item.analysis
        if found is not None:
            if found.category == "error":
                log.warning("could not analyse message %s: %s", parsed.message_id, found.reason)
            row.update(
                analysis_version=ANALYSIS_VERSION,
                needs_reply=found.needs_reply,
                category=found.category,
                reason=found.reason[:2000],
                language=found.language,
                requested_by=found.requested_by,
                signs=signs_to_json(found.signs) or None,
            )
            result.analysed += 1
            if thread_id is not None:
                result.analysed_threads.add(thread_id)
        pending = _PendingMessage(key, print_, row, parsed, direction, counterpart, when, found)
        batch.unflushed.append(pending)
        result.stored += 1
        return pending

    def _new_thread(
        self,
        session: Session,
        folder: FolderState,
        parsed: ParsedMessage,
        normalized: str,
        counterpart: Address | None,
    ) -> int:
        now = datetime.now(UTC)
        return insert_one(
            session.connection(),
            table_of(Thread),
            {
                "mailbox_id": folder.mailbox_id,
                "subject": parsed.subject,
                "normalized_subject": normalized,
                "counterpart_name": counterpart.name if counterpart else None,
                "counterpart_email": counterpart.email if counterpart else None,
                "message_count": 0,
                "needs_reply": False,
                "created_at": now,
                "updated_at": now,
            },
        )

    def _flush_pending(self, session: Session, cache: _MailboxCache, batch: _Batch) -> None:
        """Insert the batch's messages not written yet and fold them into their threads."""
        todo, batch.unflushed = batch.unflushed, []
        if not todo:
            return
        conn = session.connection()
        messages = table_of(Message)
        # A plain executemany (one prepared statement, whatever the batch size), then the
        # new ids by key: INSERT ... RETURNING of a whole batch compiles one huge statement
        # per batch size, and SQLite keeps each in its statement cache (~25 MB more RSS).
        # Analysed and unanalysed rows have different columns: one statement per run of
        # each, in order (a batch is normally all one or the other).
        for _analysed, run in groupby(todo, key=lambda p: p.analysis is not None):
            insert_many(conn, messages, [p.row for p in run])
        keys = [p.row["message_key"] for p in todo]
        ids: dict[str, int] = {}
        for start in range(0, len(keys), _IN_CHUNK):
            stored: _Rows = conn.execute(
                select(messages.c.id, messages.c.message_key).where(
                    messages.c.mailbox_id == todo[0].row["mailbox_id"],
                    messages.c.message_key.in_(keys[start : start + _IN_CHUNK]),
                )
            )
            for row_id, stored_key in stored:
                ids[stored_key] = int(row_id)
        for p in todo:
            p.row_id = ids[p.row["message_key"]]
            cache.rows[p.key] = (p.row_id, p.fingerprint)
        batch.promises_found += self._save_promises(
            session, [p for p in todo if p.analysis and p.analysis.promises]
        )
        # Each touched thread: read once, fold the messages in order, write once.
        touched = sorted({p.row["thread_id"] for p in todo if p.row["thread_id"] is not None})
        if not touched:
            return
        threads = table_of(Thread)
        aggregates: dict[int, _ThreadAggregate] = {}
        for start in range(0, len(touched), _IN_CHUNK):
            chunk = touched[start : start + _IN_CHUNK]
            rows: _Rows = conn.execute(
                select(*(threads.c[name] for name in _THREAD_COLUMNS)).where(
                    threads.c.id.in_(chunk)
                )
            )
            for row in rows:
                aggregates[row[0]] = _ThreadAggregate(*row)
        for p in todo:
            thread_id = p.row["thread_id"]
            if thread_id is not None:
                _fold_into_thread(
                    aggregates[thread_id], p.parsed, p.direction, p.counterpart, p.when
                )
        # tracked_at cleared with the new mail, in its transaction: the tracker re-tracks
        # these threads even if this process dies before its tracking pass.
        update_many(
            conn,
            threads,
            "id",
            [
                {name: getattr(agg, name) for name in ("id", *_THREAD_WRITTEN)}
                | {"tracked_at": None}
                for agg in aggregates.values()
            ],
        )

    def _save_promises(self, session: Session, analysed: Sequence[_PendingMessage]) -> int:
        """The promises found in new messages, as the tracker stores them.

        Not for a message that is the copy of a renegotiation we sent: its new date is
        recorded when that draft is sent (``DraftService.after_sent``)."""
        if not analysed:
            return 0
        renegotiations = set(
            session.scalars(
                select(Draft.message_id).where(
                    Draft.kind == "renegotiation",
                    Draft.message_id.in_([p.parsed.message_id for p in analysed]),
                )
            )
        )
        rows: list[dict[str, Any]] = []
        for p in analysed:
            assert p.analysis is not None
            if p.parsed.message_id in renegotiations:
                continue
            rows.extend(
                {
                    "mailbox_id": p.row["mailbox_id"],
                    "thread_id": p.row["thread_id"],
                    "message_row_id": p.row_id,
                    "text": found.text[:PROMISE_TEXT_MAX],
                    "made_at": p.row["date"] or p.row["internal_date"],
                    "due_at": found.due_at,
                    "time_given": found.time_given,
                    "source": "detected",
                }
                for found in p.analysis.promises
            )
        if rows:
            # Written now, not at commit: a later message of the batch may merge this thread
            # away (the promise then follows its message, see Tracker._update_threads).
            session.connection().execute(insert(table_of(Promise)), rows)
        added = len(rows)
        return added

    def _merge_threads(self, session: Session, keep: int, others: Iterable[int]) -> None:
        """Fold conversations that one message proved to be the same into ``keep``."""
        others = list(others)
        conn = session.connection()
        messages, threads = table_of(Message), table_of(Thread)
        conn.execute(
            update(messages).where(messages.c.thread_id.in_(others)).values(thread_id=keep)
        )
        conn.execute(delete(threads).where(threads.c.id.in_(others)))
        _recompute_thread(conn, keep)

    def update_flags(
        self,
        folder: FolderState,
        flags_by_uid: Mapping[int, Sequence[str]],
        highestmodseq: int | None,
    ) -> int:
        """Apply flag changes seen on the server; returns how many locations changed."""
        changed = 0
        with self._fenced(folder.mailbox_id) as session:
            locations: _Rows = session.execute(
                select(
                    MessageLocation.id,
                    MessageLocation.message_id,
                    MessageLocation.uid,
                    MessageLocation.flags,
                ).where(
                    MessageLocation.folder_id == folder.id,
                    MessageLocation.uid.in_(list(flags_by_uid)),
                )
            )
            current = {
                uid: (loc_id, msg_id, list(flags or [])) for loc_id, msg_id, uid, flags in locations
            }
            affected: set[int] = set()
            for uid, flags in flags_by_uid.items():
                found = current.get(uid)
                if found is None or sorted(found[2]) == sorted(flags):
                    continue
                session.execute(
                    update(MessageLocation)
                    .where(MessageLocation.id == found[0])
                    .values(flags=list(flags))
                )
                affected.add(found[1])
                changed += 1
            if affected:
                for message_id in affected:
                    all_flags: list[str] = []
                    everywhere: _Rows = session.execute(
                        select(MessageLocation.flags).where(
                            MessageLocation.message_id == message_id
                        )
                    )
                    for (location_flags,) in everywhere:
                        all_flags.extend(location_flags or [])
                    session.execute(
                        update(Message)
                        .where(Message.id == message_id)
                        .values(answered="\\Answered" in all_flags, seen="\\Seen" in all_flags)
                    )
            if highestmodseq is not None:
                session.get_one(Folder, folder.id).highestmodseq = highestmodseq
        return changed

    # -- the in-memory threading index ----------------------------------------------------

    def _cache(self, mailbox_id: int, session: Session | None = None) -> _MailboxCache:
        cache = self._caches.get(mailbox_id)
        if cache is not None:
            return cache
        cache = _MailboxCache(ThreadIndex(subject_window=self.subject_window))
        own_session = session is None
        session = session or self.factory()
        try:
            cached: _Rows = session.execute(
                select(
                    Message.id,
                    Message.message_key,
                    Message.message_id,
                    Message.thread_id,
                    Message.in_reply_to,
                    Message.references,
                    Message.thread_index,
                    Message.subject,
                    Message.counterpart_email,
                    Message.date,
                    Message.internal_date,
                    Message.from_email,
                    Message.header_date,
                )
                .order_by(Message.id)
                .where(Message.mailbox_id == mailbox_id)
            )
            for (
                row_id,
                key,
                msg_id,
                thread_id,
                irt,
                refs,
                tindex,
                subject,
                cp,
                when,
                idate,
                sender,
                header_date,
            ) in cached:
                stub = ParsedMessage(
                    message_id=key,
                    in_reply_to=irt,
                    references=tuple(refs or ()),
                    subject=subject or "",
                    from_addr=Address("", sender) if sender else None,
                    date=header_date or when,
                    thread_index=tindex,
                )
                cache.rows[key] = (row_id, fingerprint(stub) if key == msg_id else "")
                if thread_id is not None:
                    cache.index.register(
                        stub, thread_id, Address("", cp) if cp else None, when or idate
                    )
        finally:
            if own_session:
                session.close()
        self._caches[mailbox_id] = cache
        return cache


def _as_keyed(parsed: ParsedMessage, key: str) -> ParsedMessage:
    if key == parsed.message_id:
        return parsed
    return replace(parsed, message_id=key)


def _fold_into_thread(
    thread: _ThreadAggregate,
    parsed: ParsedMessage,
    direction: Direction,
    counterpart: Address | None,
    when: datetime | None,
) -> None:
    thread.message_count = (thread.message_count or 0) + 1
    thread.updated_at = datetime.now(UTC)
    if when is not None:
        if thread.first_message_at is None or when < thread.first_message_at:
            thread.first_message_at = when
            if parsed.subject:
                thread.subject = parsed.subject
                thread.normalized_subject = normalize_subject(parsed.subject)
        if thread.last_message_at is None or when > thread.last_message_at:
            thread.last_message_at = when
        if direction is Direction.INBOUND:
            if thread.last_inbound_at is None or when > thread.last_inbound_at:
                thread.last_inbound_at = when
        elif thread.last_outbound_at is None or when > thread.last_outbound_at:
            thread.last_outbound_at = when
    if not thread.subject and parsed.subject:
        thread.subject = parsed.subject
        thread.normalized_subject = normalize_subject(parsed.subject)
    if counterpart is not None and (direction is Direction.INBOUND or not thread.counterpart_email):
        thread.counterpart_email = counterpart.email
        if counterpart.name or not thread.counterpart_name:
            thread.counterpart_name = counterpart.name or thread.counterpart_name


def _recompute_thread(conn: Connection, thread_id: int) -> None:
    """Recount a thread's figures from its messages (after a merge)."""
    when = func.coalesce(Message.date, Message.internal_date)
    stats = conn.execute(
        select(func.count(Message.id), func.min(when), func.max(when)).where(
            Message.thread_id == thread_id
        )
    ).one()
    values: dict[str, Any] = {
        "message_count": int(stats[0]),
        "first_message_at": stats[1],
        "last_message_at": stats[2],
    }
    for direction, attr in (("inbound", "last_inbound_at"), ("outbound", "last_outbound_at")):
        values[attr] = conn.execute(
            select(func.max(when)).where(
                Message.thread_id == thread_id, Message.direction == direction
            )
        ).scalar()
    threads = table_of(Thread)
    conn.execute(update(threads).where(threads.c.id == thread_id).values(**values))


def _state(row: Folder) -> FolderState:
    return FolderState(
        id=row.id,
        mailbox_id=row.mailbox_id,
        name=row.name,
        role=row.role,
        uidvalidity=row.uidvalidity,
        last_uid=row.last_uid or 0,
        uidnext=row.uidnext,
        highestmodseq=row.highestmodseq,
        backfill_since=row.backfill_since,
        backfill_done=bool(row.backfill_done),
        last_flag_scan_at=row.last_flag_scan_at,
    )
