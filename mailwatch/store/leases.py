"""Roles held through a row of ``leases``: each mailbox (``mailbox:<name>``).

Three rules make this safe with many processes on one PostgreSQL:

* **The database's clock.** Expiry is computed and compared with the database's time
  (``clock_timestamp()`` on PostgreSQL), never a host's: hosts whose clocks disagree still
  agree on who holds what. (SQLite has one process, whose clock is the only one.)
* **Takeover.** A lease that expired (its holder died or stalled) is taken by the next
  process that asks; each change of hands raises ``generation``.
* **Fencing.** Every write made under a lease checks, in its own transaction and under a
  share lock of the lease row, that the lease still has our owner and generation and has not
  expired (:func:`check`). A process paused past its lease (SIGSTOP, a long GC, a partition)
  that wakes up cannot write: its transaction fails with :class:`LeaseLost`. A takeover waits
  for a running fenced transaction to end, so the new holder reads what it committed.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.errors import LeaseBusy, LeaseLost
from mailwatch.store.db import db_now, transaction
from mailwatch.store.models import Lease

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def mailbox_lease(name: str) -> str:
    return f"mailbox:{name}"


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_gone(owner: str) -> bool:
    """True when ``owner`` is a process of THIS host that no longer exists (e.g. killed -9):
    its lease need not run out first, so a restart right after a crash does not wait for the
    dead process's lease to expire. Another machine's holder, or a live process, is left to
    expiry; fencing covers a mistaken verdict (a live holder just loses its lease and cannot
    write)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


LOCK_WAIT_MS = 2000  # at most this long for a lease row; never block a renewal round


@dataclass(frozen=True)
class LeaseState:
    acquired: bool
    owner: str
    expires_at: datetime | None
    generation: int = 0


@dataclass(frozen=True)
class Fence:
    """What a write must find in the lease row to be allowed: our owner and generation."""

    name: str
    owner: str
    generation: int
    hold_limit: float = 60.0  # seconds a fenced transaction may idle (PostgreSQL ends it)


def _locked_row(session: Session, name: str, *, share: bool = False) -> Lease | None:
    return session.scalars(
        select(Lease).where(Lease.name == name).with_for_update(read=share)
    ).one_or_none()


def _ensure_row(session: Session, name: str) -> None:
    """Insert a free lease row if there is none; two processes doing it at once is fine."""
    stmt: Any
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = pg_insert(Lease).on_conflict_do_nothing(index_elements=["name"])
    else:
        stmt = sqlite_insert(Lease).on_conflict_do_nothing(index_elements=["name"])
    session.execute(
        stmt.values(name=name, owner="", expires_at=_EPOCH, acquired_at=_EPOCH, generation=0)
    )


def acquire(
    factory: sessionmaker[Session],
    name: str,
    owner: str,
    ttl: timedelta,
    held: int | None = None,
) -> LeaseState:
    """Take a free or expired lease (a new generation), or renew ours.

    ``held``: the generation we believe we hold. A renewal succeeds only while the row still
    has our owner and that generation (even past its expiry: nobody took it, so nobody wrote).
    """
    try:
        with transaction(factory) as session:
            return _acquire(session, name, owner, ttl, held)
    except OperationalError as exc:
        if (
            getattr(exc.orig, "sqlstate", None) == "55P03"
        ):  # lock_timeout: the row is in use right now
            raise LeaseBusy(f"lease {name} is locked; retrying next round") from None
        raise


def _acquire(
    session: Session, name: str, owner: str, ttl: timedelta, held: int | None
) -> LeaseState:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}"))
    _ensure_row(session, name)
    row = _locked_row(session, name)
    assert row is not None
    now = db_now(session)
    mine = row.owner == owner and (held is None or row.generation == held)
    if mine:
        row.expires_at = now + ttl
        return LeaseState(True, owner, row.expires_at, row.generation)
    if held is not None or (row.owner and row.expires_at > now and not holder_is_gone(row.owner)):
        # Renewing a lease that changed hands, or asking for one that is in force.
        return LeaseState(False, row.owner, row.expires_at, row.generation)
    row.owner = owner
    row.generation += 1
    row.acquired_at = now
    row.expires_at = now + ttl
    return LeaseState(True, owner, row.expires_at, row.generation)


def renew_many(
    factory: sessionmaker[Session], held: dict[str, int], owner: str, ttl: timedelta
) -> dict[str, LeaseState]:
    """Renew every lease in ``held`` (name -> our generation) in one transaction; the result
    says, per name, whether it is still ours."""
    if not held:
        return {}
    try:
        with transaction(factory) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}"))
            now = db_now(session)
            rows = session.scalars(
                select(Lease).where(Lease.name.in_(held)).order_by(Lease.name).with_for_update()
            )
            result = {}
            for row in rows:
                if row.owner == owner and row.generation == held[row.name]:
                    row.expires_at = now + ttl
                    result[row.name] = LeaseState(True, owner, row.expires_at, row.generation)
                else:
                    result[row.name] = LeaseState(False, row.owner, row.expires_at, row.generation)
            for name in held:
                result.setdefault(name, LeaseState(False, "", None, 0))
            return result
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":
            raise LeaseBusy("a lease row is locked; renewing next round") from None
        raise


def release(factory: sessionmaker[Session], name: str, owner: str, held: int | None = None) -> None:
    """Give the lease up at once (on SIGTERM, or to let a new worker take its share).

    The row stays, with its generation, so fencing numbers only ever grow.
    """
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}"))
        row = _locked_row(session, name)
        if row is not None and row.owner == owner and (held is None or row.generation == held):
            row.owner = ""
            row.expires_at = _EPOCH


def begin_fenced(session: Session, fence: Fence) -> None:
    """First statement of a fenced transaction: PostgreSQL ends it if it idles past the lease,
    so a process paused inside it (SIGSTOP, a partition) cannot keep its row locks."""
    if session.get_bind().dialect.name == "postgresql":
        limit = max(1000, int(fence.hold_limit * 1000))
        session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {limit}"))


def still_holds(factory: sessionmaker[Session], fence: Fence) -> bool:
    """Whether ``fence`` still holds (asked in a transaction of its own)."""
    try:
        with transaction(factory) as session:
            check(session, fence)
    except LeaseLost:
        return False
    return True


def check(session: Session, fence: Fence) -> None:
    """Inside a write's transaction: raise :class:`LeaseLost` unless ``fence`` still holds.

    The share lock makes a concurrent takeover wait until this transaction ends.
    """
    row = _locked_row(session, fence.name, share=True)
    if row is None or row.owner != fence.owner or row.generation != fence.generation:
        holder = row.owner if row is not None and row.owner else "nobody"
        generation = row.generation if row is not None else 0
        raise LeaseLost(
            f"lease {fence.name} is now held by {holder} (generation {generation}, "
            f"ours was {fence.generation})"
        )
    # An expired lease that nobody took (same owner, same generation) still fences: a takeover
    # raises the generation, and it waits for this transaction's share lock to end.


def holders(factory: sessionmaker[Session], prefix: str = "") -> dict[str, LeaseState]:
    """Leases in force by name (expired and released ones left out)."""
    with factory() as session:
        now = db_now(session)
        rows = session.scalars(select(Lease).where(Lease.name.startswith(prefix)))
        return {
            row.name: LeaseState(True, row.owner, row.expires_at, row.generation)
            for row in rows
            if row.owner and row.expires_at > now
        }


class Renewer:
    """Renew one lease every third of its time while a one-off job (``sync --once``) runs."""

    def __init__(
        self, factory: sessionmaker[Session], name: str, owner: str, ttl: timedelta, held: int
    ) -> None:
        self.args = (factory, name, owner, ttl, held)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"renew-{name}", daemon=True)

    def _run(self) -> None:
        factory, name, owner, ttl, held = self.args
        while not self.done.wait(max(0.5, ttl.total_seconds() / 3)):
            try:
                if not acquire(factory, name, owner, ttl, held).acquired:
                    return  # lost: the fenced writes fail and say so
            except Exception:  # LeaseBusy, a database hiccup: the next round retries
                continue

    def __enter__(self) -> Renewer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(5)
