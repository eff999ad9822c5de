"""Conversations as of an instant: ``ThreadView`` and the reads that list them.

Everything is evaluated "as of" an instant: lateness always, and a thread whose newest message
is later than that instant is re-tracked from the messages it had then.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.message import Direction
from mailwatch.core.signs import WarningSign, signs_from_json, signs_to_json
from mailwatch.core.timefmt import local
from mailwatch.core.tracking import (
    AWAITING_US,
    MessageFacts,
    effective_state,
    lateness,
    track_thread,
)
from mailwatch.errors import UsageError
from mailwatch.store.raw import Cond, Reader, ids_in, ids_in_chunks, json_from_text, reader_of
from mailwatch.views.context import View, iso_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "STATES",
    "THREAD_FILTERS",
    "Counterpart",
    "OverdueSummary",
    "ThreadCursor",
    "ThreadState",
    "ThreadView",
    "list_threads",
    "overdue_cutoff",
    "overdue_summary",
    "threads_json",
    "threads_json_times",
    "waiting_page",
]


class ThreadState(StrEnum):
    """Who the conversation waits for, or what the user decided about it."""

    AWAITING_US = "awaiting_us"
    AWAITING_THEM = "awaiting_them"
    CLOSED = "closed"
    SNOOZED = "snoozed"
    IGNORED = "ignored"


STATES = tuple(s.value for s in ThreadState)
_STATE_OF = {s.value: s for s in ThreadState}  # (a dict: ThreadState(value) is ~0.6 µs)
THREAD_FILTERS = (*STATES, "overdue", "all")


@dataclass(frozen=True, slots=True)
class Counterpart:
    """The other side of the conversation (the client, usually)."""

    name: str | None
    email: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email}


@dataclass(frozen=True, slots=True)
class ThreadView:
    """One conversation as of an instant. Times are aware, in the team's timezone.

    ``waiting_since`` is set only while it awaits us, ``answered_by`` only when it does not,
    ``snoozed_until`` only while snoozed (as the JSON contract says).

    Its fields are the keys of :meth:`to_json`, in that order, and hold what it writes
    (Counterpart and WarningSign likewise), so that orjson can write a long list of views
    itself: :func:`threads_json_times`. ``needs_reply`` follows from ``state``.
    """

    id: int
    mailbox: str | None
    subject: str
    counterpart: Counterpart
    state: ThreadState
    needs_reply: bool = field(init=False)
    needs_reply_reason: str
    overdue: bool
    overdue_business_minutes: int
    waiting_business_minutes: int
    waiting_since: datetime | None
    reply_due_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    first_response_business_minutes: int | None
    language: str | None
    message_ids: tuple[str, ...]
    warning_signs: tuple[WarningSign, ...]
    requested_by: datetime | None
    answered_by: str | None
    snoozed_until: datetime | None
    message_count: int
    last_message_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs_reply", self.state is ThreadState.AWAITING_US)

    def to_json(
        self, iso_text: Callable[[datetime | None], str | None] = iso_text
    ) -> dict[str, Any]:
        """The ``threads --json`` shape (docs/cli.md): key names and order are the contract.

        ``iso_text`` writes the times (:func:`threads_json` passes one that remembers)."""
        return {
            "id": self.id,
            "mailbox": self.mailbox,
            "subject": self.subject,
            "counterpart": self.counterpart.to_json(),
            "state": self.state.value,
            "needs_reply": self.needs_reply,
            "needs_reply_reason": self.needs_reply_reason,
            "overdue": self.overdue,
            "overdue_business_minutes": self.overdue_business_minutes,
            "waiting_business_minutes": self.waiting_business_minutes,
            "waiting_since": iso_text(self.waiting_since),
            "reply_due_at": iso_text(self.reply_due_at),
            "last_inbound_at": iso_text(self.last_inbound_at),
            "last_outbound_at": iso_text(self.last_outbound_at),
            "first_response_business_minutes": self.first_response_business_minutes,
            "language": self.language,
            "message_ids": list(self.message_ids),
            "warning_signs": signs_to_json(self.warning_signs),
            "requested_by": iso_text(self.requested_by),
            "answered_by": self.answered_by,
            "snoozed_until": iso_text(self.snoozed_until),
            "message_count": self.message_count,
            "last_message_at": iso_text(self.last_message_at),
        }


def threads_json(rows: Iterable[ThreadView]) -> list[dict[str, Any]]:
    """``[row.to_json() for row in rows]``, the same dicts, cheaper for a long list.

    Writing the times was most of ``to_json`` (0.8 µs an ``isoformat``); a list evaluated by
    ``list_threads`` shares one object per distinct instant (the wait, the last inbound and the
    last message are often the same), so each object is written once. Keyed by identity, the
    object kept alive beside its text: equal datetimes in other zones or folds never mix.
    """
    written: dict[int, tuple[datetime, str]] = {}

    def iso(value: datetime | None) -> str | None:
        if value is None:
            return None
        seen = written.get(id(value))
        if seen is None:
            seen = written[id(value)] = (value, value.isoformat(timespec="seconds"))
        return seen[1]

    return [row.to_json(iso) for row in rows]


# Since 1973 every zone's UTC offset is a whole number of minutes (local mean times, with
# seconds, ended with Monrovia's in 1972): from then on orjson writes an aware datetime as
# ``isoformat(timespec="seconds")`` does (tests/unit/test_threads_json.py).
_WHOLE_MINUTE_OFFSETS_FROM = 1973


def threads_json_times(rows: list[ThreadView]) -> list[ThreadView] | None:
    """The views themselves, for orjson to write as :func:`threads_json`'s dicts would be
    written (``print_json(..., times=True)``: their fields are those keys, in order, and
    orjson writes the times): building the 5,863 dicts of a 1M store's overdue list was ~30
    ms. None when a time is older than 1973, whose zone may have had an offset with seconds
    (then write :func:`threads_json`)."""
    oldest = _WHOLE_MINUTE_OFFSETS_FROM
    for row in rows:
        for value in (
            row.waiting_since,
            row.reply_due_at,
            row.last_inbound_at,
            row.last_outbound_at,
            row.requested_by,
            row.snoozed_until,
            row.last_message_at,
        ):
            if value is not None and value.year < oldest:
                return None
    return rows


# What a thread row shows (not the bookkeeping columns: fewer values to convert per row).
_THREAD_COLUMNS = (
    "id",
    "mailbox_id",
    "subject",
    "counterpart_name",
    "counterpart_email",
    "last_message_at",
    "last_inbound_at",
    "last_outbound_at",
    "message_count",
    "state",
    "language",
    "needs_reply_reason",
    "waiting_since",
    "last_client_at",
    "first_response_business_minutes",
    "requested_by",
    "signs",
    "manual_state",
    "manual_state_at",
    "snoozed_until",
    "answered_by",
)
_TIME_COLUMNS = (
    "last_message_at",
    "last_inbound_at",
    "last_outbound_at",
    "waiting_since",
    "last_client_at",
    "requested_by",
    "manual_state_at",
    "snoozed_until",
)
_TIME_AT = tuple(_THREAD_COLUMNS.index(c) for c in _TIME_COLUMNS)
_SIGNS_AT = _THREAD_COLUMNS.index("signs")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A thread row as the list reads it: the DB-API row with its values converted as the models'
# types would (UTCDateTime, JSON), named like the columns.
_ThreadRow = namedtuple("_ThreadRow", _THREAD_COLUMNS)  # type: ignore[misc]
_Key = namedtuple("_Key", ["id", "last_message_at"])


def _select_threads(db: Reader) -> str:
    """SELECT of the thread row's columns, each as this reader reads it cheapest."""
    columns = []
    for name in _THREAD_COLUMNS:
        column = f"threads.{name}"
        if name == "signs":
            column = db.json_as_text(column)
        elif name in _TIME_COLUMNS:
            column = db.time_column(column)
        columns.append(column)
    return f"SELECT {', '.join(columns)} FROM threads"


def _thread_rows(db: Reader, where: Cond | None, tail: str = "", tz: tzinfo = UTC) -> list[Any]:
    """The thread rows ``where`` selects (then ``tail``: ORDER BY, LIMIT), as named tuples,
    their times in ``tz`` (the list passes the team's zone: what its views show).

    Read from the driver and converted here: SQLAlchemy's Row objects and its result
    processors (two per datetime) were ~40 of the ~70 ms of reading the 6,851 overdue
    candidates of a 1M-message store; importing SQLAlchemy, ~0.2 s of the command."""
    sql = _select_threads(db) + (f" WHERE {where.sql}" if where is not None else "") + tail
    convert = db.times(tz)  # one per read: a recurring instant is one object (threads_json)
    rows = []
    for fetched in db.rows(sql, where.params if where is not None else ()):
        values = list(fetched)
        for i in _TIME_AT:
            value = values[i]
            if value is not None:  # (most times are missing: no call for them)
                values[i] = convert(value)
        if values[_SIGNS_AT] is not None:
            values[_SIGNS_AT] = json_from_text(values[_SIGNS_AT])  # (read as text: either dialect)
        rows.append(_ThreadRow._make(values))
    return rows


def _keys(db: Reader, where: Cond, tail: str = "") -> list[Any]:
    """(id, last_message_at) of the threads ``where`` selects: what their order needs."""
    convert = db.times()
    last = db.time_column("threads.last_message_at")
    sql = f"SELECT threads.id, {last} FROM threads WHERE {where.sql}{tail}"
    return [
        _Key(tid, convert(last) if last is not None else None)
        for tid, last in db.rows(sql, where.params)
    ]


_MICRO = timedelta(microseconds=1)
_NO_TIME = 1 << 62  # after every real instant: a thread without a message is listed last


def _recency(last: datetime | None, thread_id: int) -> tuple[int, int]:
    """Newest message first, then the higher id (exact: integer microseconds, not floats)."""
    return ((_EPOCH - last) // _MICRO if last is not None else _NO_TIME, -thread_id)


def _newest_first(row: Any) -> tuple[int, int]:
    """The order threads are listed in: newest message first, then the higher id."""
    return _recency(row.last_message_at, row.id)


def _order_key(state: str, row: ThreadView) -> tuple[int, ...]:
    """Where a listed thread sorts: ``overdue`` by the longest wait first, then newest first
    (the order ``list_threads`` has always had); every other filter newest first."""
    recency = _recency(row.last_message_at, row.id)
    if state == "overdue":
        return (-row.waiting_business_minutes, *recency)
    return recency


@dataclass(frozen=True, slots=True)
class ThreadCursor:
    """Where a page of ``threads --limit N`` ended: pass it to ``--after`` for the next page.

    It carries the filter, the instant the listing is evaluated as of (so every page sees the
    same snapshot: mail that arrives meanwhile is re-tracked away, as with ``--now``), and the
    sort key of the last row shown. The text is opaque to users (base64 of a small JSON list).
    """

    state: str
    now: datetime
    key: tuple[int, ...]

    @classmethod
    def after(cls, state: str, now: datetime, row: ThreadView) -> ThreadCursor:
        return cls(state, now, _order_key(state, row))

    def encode(self) -> str:
        data = [1, self.state, self.now.astimezone(UTC).isoformat(), list(self.key)]
        text = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> ThreadCursor:
        """The cursor a previous page printed; anything else is one clear usage error."""
        try:
            raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
            version, state, now, key = json.loads(raw)
            when = datetime.fromisoformat(now)
            numbers = tuple(int(k) for k in key)
            if (
                version != 1
                or state not in THREAD_FILTERS
                or when.tzinfo is None
                or len(numbers) != (3 if state == "overdue" else 2)
                or any(not isinstance(k, int) for k in key)
            ):
                raise ValueError(text)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise UsageError(
                f"{text[:40]!r} is not a cursor printed by `mailwatch threads`", prefix="--after"
            ) from None
        return cls(state, when, numbers)

    @property
    def recency(self) -> tuple[int, int]:
        """The last row's (``_recency`` of its last message, thread id)."""
        return (self.key[-2], -self.key[-1])


def list_threads(
    session: Session | Reader,
    now: datetime,
    state: str = "all",
    view: View | None = None,
    thread_id: int | None = None,
    *,
    thread_ids: Iterable[int] | None = None,
    with_message_ids: bool = True,
    limit: int | None = None,
    after: ThreadCursor | None = None,
) -> list[ThreadView]:
    """Conversations as of ``now``; ``state`` filters (``overdue``: awaiting us past the SLA).

    ``thread_ids`` limits the read to those threads. ``with_message_ids`` False leaves
    ``message_ids`` empty (``message_count`` stays right): a reader that shows no message ids
    (the digest, the web lists) then reads no message row at all. ``limit`` and ``after`` page
    the list (keyset: the rows after the cursor's sort key, in the same order; the cursor of
    the next page is ``ThreadCursor.after(state, now, rows[-1])``).

    Cost on a large store: one query for the threads (plain rows, not ORM objects), narrowed in
    SQL to the threads that can be in ``state``; for ``overdue`` also to those waiting longer
    than the SLA in wall-clock time (business time never runs faster); then one query for the
    message ids of the threads returned, in chunks. A page of any other filter is read in SQL
    order (newest first, after the cursor) a batch at a time, until it is full.
    """
    db = reader_of(session)
    view = view or View()
    if limit is not None and limit < 0:
        raise UsageError(f"{limit} is below 0", prefix="--limit")
    if after is not None and after.state != state:
        raise UsageError(f"the cursor lists --state {after.state}, not {state}", prefix="--after")
    mailboxes: dict[int, str] = dict(db.rows("SELECT id, name FROM mailboxes"))
    where: Cond | None = None
    if thread_id is not None:
        where = Cond("threads.id = ?", (thread_id,))
    if thread_ids is not None:
        wanted_ids = sorted(set(thread_ids))
        if not wanted_ids:
            return []
        where = (
            ids_in("threads.id", wanted_ids)
            if where is None
            else where & ids_in("threads.id", wanted_ids)
        )
    wanted = "awaiting_us" if state == "overdue" else state
    if wanted in STATES:
        # Only threads that can be in that state as of ``now``: tracked so, decided so by the
        # user, or changed after ``now`` (re-tracked below). The scheduler asks every minute.
        changed_later = Cond("threads.last_message_at > ?", (db.time(now),))
        could_be = (
            Cond("threads.state = ?", (wanted,))
            | Cond("threads.manual_state = ?", (wanted,))
            | changed_later
        )
        if wanted == "awaiting_them":
            could_be = could_be | Cond("threads.state IS NULL")  # not tracked yet: theirs
        if state == "overdue":
            # Overdue needs more than the SLA of business time, so at least that much clock
            # time (plus the minute that truncation to the minute can add).
            bound = now - view.sla + timedelta(minutes=1)
            could_be = could_be & (
                changed_later | Cond("threads.waiting_since <= ?", (db.time(bound),))
            )
        where = could_be if where is None else where & could_be
    result: list[ThreadView] = []
    if state == "overdue" and limit is not None and thread_id is None and thread_ids is None:
        result = _overdue_page(db, now, view, limit, after)
    elif state != "overdue" and (limit is not None or after is not None):
        narrowed = wanted in STATES or thread_id is not None or thread_ids is not None
        for batch in _newest_first_batches(db, where, after, limit, narrowed, view.calendar.tz):
            result += _evaluate(db, batch, now, state, view, mailboxes)
            if limit is not None and len(result) >= limit:
                break
    else:
        # No ORDER BY in SQL: SQLite would then walk the whole recency index instead of the
        # state indexes; the (few) candidates are sorted here instead.
        threads = sorted(_thread_rows(db, where, tz=view.calendar.tz), key=_newest_first)
        result = _evaluate(db, threads, now, state, view, mailboxes)
        if state == "overdue":
            result.sort(key=lambda r: -r.waiting_business_minutes)  # stable: then newest
        if after is not None:
            result = [r for r in result if _order_key(state, r) > after.key]
    if limit is not None:
        result = result[:limit]
    if with_message_ids and result:
        later = {r.id for r in result if r.last_message_at is not None and r.last_message_at > now}
        ids = _message_ids(db, [r.id for r in result], now, later)
        for r in result:  # (built by this call and not handed out yet: see _set_ids)
            _set_ids(r, ids.get(r.id, []))
    return result


def _overdue_page(
    db: Reader, now: datetime, view: View, limit: int, after: ThreadCursor | None
) -> list[ThreadView]:
    """A page of ``overdue`` without evaluating every overdue thread (see overdue_summary).

    The "plain" overdue threads (no standing decision, nothing after ``now``) are read in SQL
    by the start of their wait: the business minutes waited never grow as the start moves
    later, so the longest waits come first. Read: the whole group tied with the cursor's wait,
    the next ``limit`` starts after it, and the group tied with the last of those; the other
    candidates (few) are evaluated one by one. Sorting that union by the listing key and
    keeping what follows the cursor gives exactly the rows of the unpaged list.
    """
    plain = _plain_overdue_candidates(db, now)
    ids: list[int] = []
    convert = db.times()
    earliest = _earliest_wait(db, plain)
    cutoff = overdue_cutoff(view.calendar, view.sla, now, earliest) if earliest else None
    if earliest is not None and cutoff is not None:
        overdue = plain & Cond("threads.waiting_since < ?", (db.time(cutoff),))
        cal = view.calendar

        def waited_at_most(minutes: int) -> datetime:
            """The first start from which at most ``minutes`` are waited by ``now``."""
            return _latest_start_with(cal, now, minutes + 1, earliest)

        def tied_with(minutes: int) -> list[int]:
            tied = overdue & Cond(
                "threads.waiting_since >= ? AND threads.waiting_since < ?",
                (db.time(waited_at_most(minutes)), db.time(waited_at_most(minutes - 1))),
            )
            return db.column(f"SELECT threads.id FROM threads WHERE {tied.sql}", tied.params)

        shorter = overdue
        if after is not None:
            ids += tied_with(-after.key[0])
            shorter = overdue & Cond(
                "threads.waiting_since >= ?", (db.time(waited_at_most(-after.key[0] - 1)),)
            )
        firsts = db.rows(
            f"SELECT threads.id, {db.time_column('threads.waiting_since')} FROM threads "
            f"WHERE {shorter.sql} ORDER BY threads.waiting_since, threads.id LIMIT {int(limit)}",
            shorter.params,
        )
        ids += [tid for tid, _since in firsts]
        if firsts:
            ids += tied_with(cal.business_minutes_between(convert(firsts[-1][1]), now))
    ids += _changed_after(db, now)
    rows = list_threads(db, now, "overdue", view, thread_ids=ids, with_message_ids=False)
    if after is not None:
        rows = [r for r in rows if _order_key("overdue", r) > after.key]
    return rows[:limit]


def _plain_overdue_candidates(db: Reader, now: datetime) -> Cond:
    """Threads awaiting us with a start of the wait, no standing user decision and nothing
    after ``now``: overdue exactly when their wait started before the cutoff."""
    return (
        Cond("threads.state = ?", (AWAITING_US,))
        & _tracked_state_stands(db, now)
        & Cond("threads.waiting_since IS NOT NULL")
        & Cond("(threads.last_message_at IS NULL OR threads.last_message_at <= ?)", (db.time(now),))
    )


def _earliest_wait(db: Reader, where: Cond) -> datetime | None:
    earliest = db.scalar(
        f"SELECT min(threads.waiting_since) FROM threads WHERE {where.sql}", where.params
    )
    return db.times()(earliest) if earliest is not None else None


def _changed_after(db: Reader, now: datetime) -> list[int]:
    """Threads holding mail newer than ``now``: re-tracked as of ``now`` when listed."""
    return db.column(
        "SELECT threads.id FROM threads WHERE threads.last_message_at > ?", (db.time(now),)
    )


_BATCH = 500  # threads read per query when a page is filled in SQL order


_FEW = 5_000  # candidates that are sorted here rather than read in the recency index's order


def _newest_first_batches(
    db: Reader,
    where: Cond | None,
    after: ThreadCursor | None,
    limit: int | None,
    narrowed: bool,
    tz: tzinfo,
) -> Iterator[list[Any]]:
    """The rows ``where`` selects newest first (then higher id; no last message: last), after
    the cursor, a batch at a time.

    A filter with few candidates (read by the state indexes) is sorted here by its keys, and
    its rows read a batch of ids at a time; otherwise each batch is one keyset range of the
    recency index (walking that index for a rare state would read the whole store).
    """
    size = max(_BATCH, min(limit or _BATCH, 5000))
    everything = where if where is not None else Cond("1 = 1")
    if narrowed:
        keys = _keys(db, everything, f" LIMIT {_FEW + 1}")
        if len(keys) <= _FEW:
            order = sorted(keys, key=_newest_first)
            if after is not None:
                order = [k for k in order if _newest_first(k) > after.key[-2:]]
            step = max(limit or _BATCH, 100)  # a page's rows, and a few more for the filter
            for start in range(0, len(order), step):
                chunk = [k.id for k in order[start : start + step]]
                yield sorted(
                    _thread_rows(db, everything & ids_in("threads.id", chunk), tz=tz),
                    key=_newest_first,
                )
            return
    last_key, last_id = after.recency if after is not None else (None, None)
    if last_key != _NO_TIME:  # the threads with a last message, newest first
        last = None if last_key is None else _EPOCH - timedelta(microseconds=last_key)
        while True:
            page = everything & Cond("threads.last_message_at IS NOT NULL")
            if last is not None:
                page = page & Cond(
                    "(threads.last_message_at < ? OR "
                    "(threads.last_message_at = ? AND threads.id < ?))",
                    (db.time(last), db.time(last), last_id),
                )
            rows = _thread_rows(
                db,
                page,
                f" ORDER BY threads.last_message_at DESC, threads.id DESC LIMIT {int(size)}",
                tz,
            )
            if rows:
                yield rows
            if len(rows) < size:
                break
            last, last_id = rows[-1].last_message_at, rows[-1].id
        last_id = None
    while True:  # then those without one, higher id first
        page = everything & Cond("threads.last_message_at IS NULL")
        if last_id is not None:
            page = page & Cond("threads.id < ?", (last_id,))
        rows = _thread_rows(db, page, f" ORDER BY threads.id DESC LIMIT {int(size)}", tz)
        if rows:
            yield rows
        if len(rows) < size:
            break
        last_id = rows[-1].id


def _evaluate(
    db: Reader,
    threads: list[Any],
    now: datetime,
    state: str,
    view: View,
    mailboxes: dict[int, str],
) -> list[ThreadView]:
    """Thread rows (in listing order) as of ``now``, the ones in ``state`` only."""
    # Threads that changed after ``now`` are re-tracked from what they held at ``now``.
    later = [t.id for t in threads if t.last_message_at is not None and t.last_message_at > now]
    facts_then: dict[int, list[MessageFacts]] = {}
    if later:
        # lazy: the tracker loads every text analyser (~120 ms), needed only to re-track
        from mailwatch.track.tracker import load_facts

        for tid, facts in load_facts(
            db.session(), later, view.internal_domains, view.own_addresses
        ).items():
            facts_then[tid] = [f for f in facts if f.at is None or f.at <= now]

    tz = view.calendar.tz
    local_of: dict[int, tuple[datetime, datetime]] = {}

    def at(value: datetime | None) -> datetime | None:
        """``view.at``, once per object: rows share one object per instant (_thread_rows),
        and so then do their views (which threads_json writes once)."""
        if value is None or value.tzinfo is tz:  # (the rows' times: read in the zone)
            return value
        seen = local_of.get(id(value))
        if seen is None:  # (the object is kept beside its result: its id stays its own)
            seen = local_of[id(value)] = (value, value.astimezone(tz))
        return seen[1]

    result: list[ThreadView] = []
    for thread in threads:
        tracked_state = thread.state or "awaiting_them"
        reason = thread.needs_reply_reason or "not tracked yet"
        waiting_since = thread.waiting_since
        last_client_at = thread.last_client_at
        first_response = thread.first_response_business_minutes
        language = thread.language
        requested_by = thread.requested_by
        answered_by = thread.answered_by
        signs = signs_from_json(thread.signs) if thread.signs else ()
        last_inbound, last_outbound = thread.last_inbound_at, thread.last_outbound_at
        count = thread.message_count
        if thread.id in facts_then:
            facts = facts_then[thread.id]
            if not facts:
                continue  # the conversation had not started yet
            status = track_thread(facts, view.calendar, view.sla, view.default_language)
            tracked_state, reason = status.state, status.reason
            waiting_since, last_client_at = status.waiting_since, status.last_client_at
            first_response, language = status.first_response_business_minutes, status.language
            requested_by, signs = status.requested_by, tuple(status.signs)
            answered_by = status.answered_by
            last_inbound = _latest(facts, Direction.INBOUND)
            last_outbound = _latest(facts, Direction.OUTBOUND)
            count = len(facts)
        current = tracked_state  # (what effective_state gives without a decision)
        if thread.manual_state is not None:
            current = effective_state(
                tracked_state,
                thread.manual_state,
                thread.manual_state_at,
                thread.snoozed_until,
                last_client_at,
                now,
            )
        if current != tracked_state:
            reason = _manual_reason(thread, current, view)
        late = lateness(current, waiting_since, now, view.calendar, view.sla)
        if state == "overdue":
            if not late.overdue:
                continue
        elif state not in ("all", current):
            continue
        awaiting_us = current == AWAITING_US
        result.append(
            ThreadView(
                id=thread.id,
                mailbox=mailboxes.get(thread.mailbox_id),
                subject=thread.subject,
                counterpart=Counterpart(thread.counterpart_name or None, thread.counterpart_email),
                state=_STATE_OF[current],
                needs_reply_reason=reason,
                overdue=late.overdue,
                overdue_business_minutes=late.overdue_business_minutes,
                waiting_business_minutes=late.waiting_business_minutes,
                waiting_since=at(waiting_since) if awaiting_us else None,
                reply_due_at=at(late.reply_due_at),
                last_inbound_at=at(last_inbound),
                last_outbound_at=at(last_outbound),
                first_response_business_minutes=first_response,
                language=language,
                message_ids=(),
                warning_signs=signs,
                requested_by=at(requested_by),
                answered_by=answered_by if not awaiting_us else None,
                snoozed_until=at(thread.snoozed_until) if current == "snoozed" else None,
                message_count=count,
                last_message_at=at(thread.last_message_at),
            )
        )
    return result


def _set_ids(row: ThreadView, message_ids: list[str]) -> None:
    """Fill in the ids and count of a view this read has just built (frozen to its readers).

    Building each view again with the ids (``dataclasses.replace``, then a positional copy)
    was ~10 ms of the 5,846-thread overdue list; only ``list_threads`` calls this, on views it
    made and has not returned yet."""
    object.__setattr__(row, "message_ids", tuple(message_ids))
    object.__setattr__(row, "message_count", len(message_ids))


# Thread ids per query of their messages, in id order: with 5,000 ids PostgreSQL's planner
# expects ~57,000 rows and scans all 1M messages in parallel (112 ms a chunk at 1M messages);
# with 1,000 it walks ix_messages_thread (~5 ms). SQLite is the same at either size.
_IDS_CHUNK = 1000


def _message_ids(
    db: Reader, thread_ids: list[int], now: datetime, as_of_now: set[int]
) -> dict[int, list[str]]:
    """Message ids per thread, oldest first; for ``as_of_now`` threads only those by ``now``.

    Only the threads re-tracked as of ``now`` read their messages' times: converting two
    datetimes per message was half the cost of a long ``threads --json`` list.
    """
    ids: dict[int, list[str]] = defaultdict(list)
    order = " ORDER BY messages.thread_id, messages.date, messages.id"
    plain = sorted(tid for tid in thread_ids if tid not in as_of_now)
    for chunk in ids_in_chunks("messages.thread_id", plain, _IDS_CHUNK):
        sql = f"SELECT messages.thread_id, messages.message_id FROM messages WHERE {chunk.sql}"
        for tid, message_id in db.rows(sql + order):
            ids[tid].append(message_id)
    dated = sorted(tid for tid in thread_ids if tid in as_of_now)
    convert = db.times()
    for chunk in ids_in_chunks("messages.thread_id", dated, _IDS_CHUNK):
        sql = (
            "SELECT messages.thread_id, messages.message_id, messages.date, "
            f"messages.internal_date FROM messages WHERE {chunk.sql}"
        )
        for tid, message_id, date, internal in db.rows(sql + order):
            when = date if date is not None else internal
            if when is None or convert(when) <= now:
                ids[tid].append(message_id)
    return ids


def _latest(facts: list[MessageFacts], direction: Direction) -> datetime | None:
    times = [f.at for f in facts if f.direction is direction and f.at is not None]
    return max(times) if times else None


def _manual_reason(thread: Any, state: str, view: View) -> str:
    since = local(thread.manual_state_at, view.calendar.tz, missing="an unknown time")
    if state == "snoozed":
        return f"snoozed by the user until {view.local(thread.snoozed_until)}"
    return f"{state} by the user at {since}"


# -- the overdue list at scale ----------------------------------------------------------------


def overdue_cutoff(
    calendar: BusinessCalendar, sla: timedelta, now: datetime, earliest: datetime
) -> datetime | None:
    """The instant before which a wait that started is overdue at ``now`` (exclusive).

    The business minutes waited from ``ws`` to ``now`` never grow as ``ws`` moves later and
    only change at whole minutes, so "overdue" is ``ws < cutoff`` for one cutoff, found by
    bisection over minutes with the closed-form clock (about 20 steps). None when even a
    wait from ``earliest`` is not overdue.
    """
    sla_minutes = int(sla.total_seconds() // 60)

    def overdue(minute: int) -> bool:
        start = _EPOCH + timedelta(minutes=minute)
        return calendar.business_minutes_between(start, now) > sla_minutes

    lo = int((earliest - _EPOCH).total_seconds() // 60)
    hi = int((now - _EPOCH).total_seconds() // 60) + 1  # never overdue: after ``now``
    if lo >= hi or not overdue(lo):
        return None
    while hi - lo > 1:  # overdue(lo) and not overdue(hi)
        mid = (lo + hi) // 2
        if overdue(mid):
            lo = mid
        else:
            hi = mid
    return _EPOCH + timedelta(minutes=hi)


@dataclass(frozen=True)
class OverdueSummary:
    """The longest waits, how many are overdue in all, and when each of them began to wait."""

    top: tuple[ThreadView, ...]
    total: int
    waiting_since: tuple[datetime, ...]


def overdue_summary(
    session: Session | Reader,
    now: datetime,
    view: View,
    top: int,
    *,
    client_only: bool = False,
) -> OverdueSummary:
    """What ``list_threads(state="overdue")`` gives, without reading every overdue thread.

    Threads the user never decided on and that hold nothing newer than ``now`` ("plain") are
    overdue exactly when they wait for us since before :func:`overdue_cutoff`: their starts are
    read (two columns) and only the ``top`` longest waits evaluated (plus the ones tied with the
    last). The
    other candidates (a decision that may have lapsed, mail after ``now``) are few and go
    through ``list_threads`` one by one. Sorted like the digest: longest wait, then lower id.
    ``client_only`` keeps threads holding a message a client wrote by ``now``. A plain
    candidate always does, so only the others are asked: tracking starts a wait at an
    unanswered inbound message that needs a reply (tests/unit/test_tracking.py), only a
    client's message needs one (core.classify; tests/unit/test_classify.py), and that
    message is no later than the thread's last, itself no later than ``now``. Asking it of
    every plain candidate was a subquery per thread: 47 of the digest's ~300 ms on PostgreSQL
    at 1M messages.
    """
    db = reader_of(session)
    plain = _plain_overdue_candidates(db, now)
    convert = db.times()
    rows: list[ThreadView] = []
    # Every plain candidate's start of the wait, in one read: the earliest gives the cutoff,
    # and the overdue ones, their count and the longest waits are then picked here.
    waits = [
        (convert(started), tid)
        for tid, started in db.rows(
            f"SELECT threads.id, {db.time_column('threads.waiting_since')} FROM threads "
            f"WHERE {plain.sql}",
            plain.params,
        )
    ]
    earliest = min(waits)[0] if waits else None
    cutoff = overdue_cutoff(view.calendar, view.sla, now, earliest) if earliest else None
    overdue = sorted(w for w in waits if w[0] < cutoff) if cutoff is not None else []
    since = [started for started, _tid in overdue]
    total = len(overdue)
    if overdue:
        firsts = overdue[: max(0, top)]  # the longest waits by start, then lower id
        ids = [tid for _started, tid in firsts]
        if firsts and len(firsts) == top:
            # Waits tied with the last one shown (same business minutes, other start) may
            # have a lower id: take them all, the sort below keeps the right ones.
            last_start = firsts[-1][0]
            last = view.calendar.business_minutes_between(last_start, now)
            bound = _latest_start_with(view.calendar, now, last, last_start)
            ids += [tid for started, tid in overdue[len(firsts) :] if last_start < started < bound]
        rows = list_threads(db, now, "overdue", view, thread_ids=ids, with_message_ids=False)
    # Besides those, only a thread re-tracked as of ``now`` can be overdue (one awaiting us
    # without a start of the wait, or whose user decision stands, cannot).
    others = _changed_after(db, now)
    if client_only and others:
        clients = _with_client_message(db, now, others)
        others = [tid for tid in others if tid in clients]
    extra = list_threads(db, now, "overdue", view, thread_ids=others, with_message_ids=False)
    total += len(extra)
    since += [r.waiting_since for r in extra if r.waiting_since is not None]
    rows += extra
    rows.sort(key=lambda r: (-r.waiting_business_minutes, r.id))
    return OverdueSummary(tuple(rows[: max(0, top)]), total, tuple(since))


def waiting_page(
    session: Session | Reader, now: datetime, view: View, limit: int
) -> tuple[list[ThreadView], int]:
    """Threads awaiting our answer but not overdue: the ``limit`` newest, and how many in all.

    The same rows, in the same order, as ``list_threads(state="awaiting_us")`` without the
    overdue ones, but counted in SQL and read ``limit`` at a time (see overdue_summary).
    """
    db = reader_of(session)
    earliest = _earliest_wait(db, Cond("threads.state = ?", (AWAITING_US,)))
    cutoff = overdue_cutoff(view.calendar, view.sla, now, earliest) if earliest else None
    waiting = (
        Cond("threads.state = ?", (AWAITING_US,))
        & _tracked_state_stands(db, now)
        & Cond("(threads.last_message_at IS NULL OR threads.last_message_at <= ?)", (db.time(now),))
    )
    if cutoff is not None:
        waiting = waiting & Cond(
            "(threads.waiting_since IS NULL OR threads.waiting_since >= ?)", (db.time(cutoff),)
        )
    # The threads waiting but not overdue are few (a part of those awaiting us): read them by
    # the state index and sort here. ``ORDER BY last_message_at DESC LIMIT n`` made
    # PostgreSQL walk the recency index of the whole store instead (190 ms at 200k threads).
    candidates = sorted(_keys(db, waiting), key=_newest_first)
    total = len(candidates)
    ids = [row.id for row in candidates[: max(0, limit)]]
    later = _changed_after(db, now)
    rows = list_threads(
        db, now, "awaiting_us", view, thread_ids=ids + later, with_message_ids=False
    )
    rows = [r for r in rows if not r.overdue]
    later_ids = set(later)
    total += sum(1 for r in rows if r.id in later_ids)
    return rows[: max(0, limit)], total


def _latest_start_with(
    calendar: BusinessCalendar, now: datetime, minutes: int, start: datetime
) -> datetime:
    """The first minute after ``start`` from which fewer than ``minutes`` are waited."""
    lo = int((start - _EPOCH).total_seconds() // 60)
    hi = int((now - _EPOCH).total_seconds() // 60) + 1

    def at_least(minute: int) -> bool:
        return calendar.business_minutes_between(_EPOCH + timedelta(minutes=minute), now) >= minutes

    if not at_least(lo):
        return start
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at_least(mid):
            lo = mid
        else:
            hi = mid
    return _EPOCH + timedelta(minutes=hi)


def _after_decision(db: Reader) -> Cond:
    """SQL for ``last_client_at > manual_state_at - 1 s``: effective_state counts a client's
    message in the same second as the user's decision as after it."""
    if db.dialect == "sqlite":  # datetimes are text there: compare them as Julian days
        return Cond(
            "julianday(threads.last_client_at) > julianday(threads.manual_state_at) - ?",
            (1.0 / 86_400,),
        )
    return Cond("threads.last_client_at > threads.manual_state_at - ?", (timedelta(seconds=1),))


def _tracked_state_stands(db: Reader, now: datetime) -> Cond:
    """SQL for ``effective_state(...) == tracked state`` (see core.tracking.effective_state):
    no decision, or a closed / snoozed one that lapsed because the client wrote after it (by
    ``now``) or the snooze ended."""
    client_wrote_since = (
        Cond("threads.last_client_at IS NOT NULL AND threads.manual_state_at IS NOT NULL")
        & _after_decision(db)
        & Cond("threads.last_client_at <= ?", (db.time(now),))
    )
    snooze_over = Cond(
        "threads.snoozed_until IS NOT NULL AND threads.snoozed_until <= ?", (db.time(now),)
    )
    return (
        Cond("threads.manual_state IS NULL")
        | Cond("threads.manual_state NOT IN ('ignored', 'closed', 'snoozed')")
        | (Cond("threads.manual_state IN ('closed', 'snoozed')") & client_wrote_since)
        | (Cond("threads.manual_state = 'snoozed'") & snooze_over)
    )


def _has_client_message(db: Reader, now: datetime) -> Cond:
    """The thread holds a message a client wrote by ``now`` (inside a query on ``threads``)."""
    return Cond(
        "EXISTS (SELECT 1 FROM messages WHERE messages.thread_id = threads.id"
        " AND messages.direction = 'inbound' AND messages.category = 'client'"
        " AND (messages.date <= ? OR (messages.date IS NULL AND messages.internal_date <= ?)))",
        (db.time(now), db.time(now)),
    )


def _with_client_message(db: Reader, now: datetime, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in ids_in_chunks("threads.id", ids):
        where = chunk & _has_client_message(db, now)
        found.update(db.column(f"SELECT threads.id FROM threads WHERE {where.sql}", where.params))
    return found
