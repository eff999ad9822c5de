"""Service-wide roles held through a row in the database, so two processes never share one.

APScheduler's job store must never be shared by two schedulers: the scheduler runs only in the
process that holds the ``scheduler`` lease, renewed while it lives; a dead process's lease
simply expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.store.db import transaction
from mailwatch.store.models import Lease

SCHEDULER = "scheduler"


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_gone(owner: str) -> bool:
    """The holder ran on this machine and its process no longer exists (a ``kill -9``).

    A restart right after a crash would otherwise run without a scheduler until the dead
    process's lease expired. Another machine's holder, or a live process, is never taken over.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass(frozen=True)
class LeaseState:
    acquired: bool
    owner: str
    expires_at: datetime | None


def acquire(
    factory: sessionmaker[Session], name: str, owner: str, ttl: timedelta, now: datetime
) -> LeaseState:
    """Take or renew the lease; returns who holds it when someone else does."""
    try:
        with transaction(factory) as session:
            row = session.get(Lease, name, with_for_update=True)
            if row is None:
                session.add(Lease(name=name, owner=owner, expires_at=now + ttl, acquired_at=now))
                return LeaseState(True, owner, now + ttl)
            if row.owner != owner and row.expires_at > now and not holder_is_gone(row.owner):
                return LeaseState(False, row.owner, row.expires_at)
            if row.owner != owner:
                row.acquired_at = now
            row.owner = owner
            row.expires_at = now + ttl
            return LeaseState(True, owner, row.expires_at)
    except IntegrityError:  # another process inserted it at the same moment
        return LeaseState(False, "another process", None)


def release(factory: sessionmaker[Session], name: str, owner: str) -> None:
    with transaction(factory) as session:
        row = session.get(Lease, name, with_for_update=True)
        if row is not None and row.owner == owner:
            session.delete(row)
