"""Each thread's next due time for the scheduler's checks, kept in indexed columns.

The SLA check runs every minute; reading and re-computing every waiting thread each time
made an idle service with 5,000 waiting threads use 13% of a core. Instead tracking writes,
for the threads it touches, when the next acknowledgment (``ack_due_at``) and follow-up
(``follow_up_due_at``) fall due; a check reads only the rows due by now (an index range
scan) and clears or moves the time of each row it handled. Cost follows work, not size.

NULL means "nothing due". A database from before these columns is filled in once, by the
first check (``ensure_due_times``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings
from mailwatch.core.scheduling import acknowledgment_due, follow_up_due
from mailwatch.store.db import transaction
from mailwatch.store.models import Draft, ServiceState, Thread

log = logging.getLogger(__name__)

MARKER = "due_times_v1"
BATCH = 500


@dataclass(frozen=True, slots=True)
class DueInputs:
    """What a thread's due times follow from: its tracked state and its last messages."""

    id: int
    state: str | None
    waiting_since: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None


def due_times(
    session: Session, threads: Sequence[DueInputs], settings: Settings
) -> dict[int, tuple[datetime | None, datetime | None]]:
    """(``ack_due_at``, ``follow_up_due_at``) of each of ``threads``, by id.

    A thread that already has the draft the check would write (since the wait or our last
    message) gets no due time: the check would only find that draft again.
    """
    if not threads:
        return {}
    ids = [t.id for t in threads]
    drafted: dict[tuple[int | None, str], datetime] = {}  # thread_id is nullable
    for thread_id, kind, created in session.execute(
        select(Draft.thread_id, Draft.kind, Draft.created_at).where(
            Draft.thread_id.in_(ids), Draft.kind.in_(("acknowledgment", "follow_up"))
        )
    ):
        key = (thread_id, kind)
        if key not in drafted or created > drafted[key]:
            drafted[key] = created
    cal = settings.calendar
    result: dict[int, tuple[datetime | None, datetime | None]] = {}
    for thread in threads:
        ack = None
        if thread.state == "awaiting_us" and thread.waiting_since is not None:
            last = drafted.get((thread.id, "acknowledgment"))
            if last is None or last < thread.waiting_since:
                ack = acknowledgment_due(thread.waiting_since, cal, settings.ack_after)
        follow = None
        out, inbound = thread.last_outbound_at, thread.last_inbound_at
        if (
            thread.state == "awaiting_them"
            and out is not None
            and (inbound is None or inbound <= out)
        ):
            last = drafted.get((thread.id, "follow_up"))
            if last is None or last < out:
                follow = follow_up_due(out, cal, settings.follow_up_after)
        result[thread.id] = (ack, follow)
    return result


def update_due_times(session: Session, threads: Sequence[Thread], settings: Settings) -> None:
    """Set ``ack_due_at``/``follow_up_due_at`` of ``threads`` from their tracked state."""
    due = due_times(
        session,
        [
            DueInputs(t.id, t.state, t.waiting_since, t.last_inbound_at, t.last_outbound_at)
            for t in threads
        ],
        settings,
    )
    for thread in threads:
        thread.ack_due_at, thread.follow_up_due_at = due[thread.id]


_ONCE = threading.Lock()  # the checks run in parallel threads


def ensure_due_times(factory: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    """Fill the due times of every thread once (a database from before they existed)."""
    with _ONCE:
        _ensure(factory, settings, now)


def _ensure(factory: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    with factory() as session:
        if session.get(ServiceState, MARKER) is not None:
            return
        ids = list(session.scalars(select(Thread.id).where(Thread.tracked_at.is_not(None))))
    for start in range(0, len(ids), BATCH):
        with transaction(factory) as session:
            chunk = list(
                session.scalars(select(Thread).where(Thread.id.in_(ids[start : start + BATCH])))
            )
            update_due_times(session, chunk, settings)
    try:
        with transaction(factory) as session:
            if session.get(ServiceState, MARKER) is None:
                session.add(ServiceState(key=MARKER, value=now.isoformat(), updated_at=now))
    except IntegrityError:  # another process did it at the same moment
        pass
    if ids:
        log.info("due times computed for %d threads (once, after an upgrade)", len(ids))
