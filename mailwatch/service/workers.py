"""Many ``mailwatch run`` processes on one PostgreSQL: heartbeats and each one's share of mailboxes.

Every process writes a heartbeat row (``workers``) by the database's clock, every third of
LEASE_TTL. The live workers (heartbeat not expired) divide the mailboxes: each aims at
``ceil(M / N)`` mailbox leases, claims free or expired ones up to that, and gives extra ones
back when a new worker appears. A worker that dies stops renewing: its heartbeat and its
leases expire after LEASE_TTL and the others take its mailboxes over at their next round.

Each held mailbox has its own watcher thread and its own fence (lease name, owner,
generation): every write the sync makes checks the fence in the same transaction, so a worker
that lost a mailbox cannot write to it, even if it does not know yet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import PREFIX, Settings
from mailwatch.errors import ConfigError, LeaseBusy
from mailwatch.store.db import db_now, transaction
from mailwatch.store.leases import (
    Fence,
    LeaseState,
    acquire,
    holder_is_gone,
    holders,
    mailbox_lease,
    release,
    renew_many,
)
from mailwatch.store.models import Worker
from mailwatch.views.workers import WorkerInfo, worker_info

log = logging.getLogger("mailwatch.service")

# Settings that change what analysis concludes: two workers disagreeing on one would write
# conflicting results into the same tables, so a worker whose values differ refuses to start.
ANALYSIS_KEYS = (
    "TIMEZONE",
    "WORK_HOURS",
    "WORK_DAYS",
    "HOLIDAYS_COUNTRY",
    "CLOSED_DATES",
    "REPLY_SLA",
    "ACK_AFTER",
    "ACK_ANSWER_WITHIN",
    "INTERNAL_DOMAINS",
    "LANGUAGES",
    "ANALYSIS_DAYS",
    "THREAD_SUBJECT_WINDOW",
    "FOLLOW_UP_AFTER",
    "RENEGOTIATE_LEAD",
    "MAILBOXES",
)
FORGET_DEAD_AFTER = timedelta(days=1)  # a dead worker stays listed (as dead) this long


def settings_fingerprint(settings: Settings) -> dict[str, str]:
    """A short hash of each analysis setting's value (values themselves are not stored)."""
    result = {}
    for key in ANALYSIS_KEYS:
        try:
            value = settings.value(key)
        except KeyError:
            continue
        if isinstance(value, frozenset | set):
            value = sorted(value, key=str)
        text = json.dumps(value, default=str, sort_keys=True)
        result[key] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return result


def fingerprint_conflict(mine: dict[str, str], theirs: dict[str, str]) -> str | None:
    """The first analysis key whose value differs between two workers, or None."""
    for key in ANALYSIS_KEYS:
        if key in mine and key in theirs and mine[key] != theirs[key]:
            return key
    return None


def heartbeat(
    factory: sessionmaker[Session],
    owner: str,
    ttl: timedelta,
    *,
    mailboxes: Sequence[str],
    scheduler: bool,
    web: str | None,
    fingerprint: dict[str, str],
) -> list[WorkerInfo]:
    """Write our heartbeat (database clock); returns the live workers, us included (a dead
    process of this host left out)."""
    with transaction(factory) as session:
        now = db_now(session)
        row = session.get(Worker, owner)
        if row is None:
            row = Worker(
                id=owner, host=socket.gethostname(), pid=os.getpid(), started_at=now, web=web
            )
            session.add(row)
        row.heartbeat_at = now
        row.expires_at = now + ttl
        row.mailboxes = sorted(mailboxes)
        row.scheduler = scheduler
        row.fingerprint = fingerprint
        session.execute(delete(Worker).where(Worker.expires_at < now - FORGET_DEAD_AFTER))
        session.flush()
        rows = session.scalars(select(Worker).where(Worker.expires_at > now))
        # A worker of this host whose process is gone (kill -9) is not counted: otherwise its
        # heartbeat, still in force, would keep its share of the mailboxes from a restart.
        return [worker_info(r, now) for r in rows if r.id == owner or not holder_is_gone(r.id)]


def leave(factory: sessionmaker[Session], owner: str) -> None:
    """Remove our heartbeat (clean stop): the others count one worker less at once."""
    with transaction(factory) as session:
        session.execute(delete(Worker).where(Worker.id == owner))


def check_settings_agree(workers: Sequence[WorkerInfo], owner: str, mine: dict[str, str]) -> None:
    """Refuse to start beside a live worker whose analysis settings differ, naming the key."""
    for worker in workers:
        if worker.id == owner or not worker.alive:
            continue
        key = fingerprint_conflict(mine, worker.fingerprint)
        if key is not None:
            raise ConfigError(
                PREFIX + key,
                f"differs from the running worker {worker.id} on the same database; every "
                "worker must use the same value (it changes what analysis concludes)",
            )


def share(mailboxes: int, workers: Sequence[str], me: str) -> int:
    """How many mailboxes ``me`` aims to hold among the live ``workers``: M // N each, and one
    more for the first M % N of them (by id), so 12 mailboxes on 5 workers are 3, 3, 2, 2, 2."""
    ids = sorted(set(workers) | {me})
    base, extra = divmod(mailboxes, len(ids))
    return base + (1 if ids.index(me) < extra else 0)


@dataclass
class Held:
    name: str
    mailbox_id: int
    generation: int
    halt: threading.Event
    thread: threading.Thread


class MailboxCoordinator:
    """This worker's mailbox leases and their watcher threads; :meth:`tick` runs in a thread."""

    def __init__(
        self,
        settings: Settings,
        store: Any,
        owner: str,
        ttl: timedelta,
        start_watcher: Callable[[Any, threading.Event], threading.Thread],
    ) -> None:
        self.settings = settings
        self.store = store
        self.factory: sessionmaker[Session] = store.factory
        self.owner = owner
        self.ttl = ttl
        self.start_watcher = start_watcher
        self.held: dict[str, Held] = {}
        self.stopping: dict[str, threading.Thread] = {}  # watchers told to stop, maybe not yet
        self.names = [m.name for m in settings.mailboxes]
        # Spread the order in which workers try mailboxes, so they do not all race for one.
        offset = zlib.crc32(owner.encode()) % max(1, len(self.names))
        self.order = self.names[offset:] + self.names[:offset]
        self.lock = threading.Lock()
        self.snapshot: tuple[str, ...] = ()

    def mailbox_names(self) -> list[str]:
        """What this worker holds now; never waits (the web answers from the event loop)."""
        return list(self.snapshot)

    def _publish(self) -> None:
        self.snapshot = tuple(sorted(self.held))

    def tick(self, live_workers: Sequence[str]) -> None:
        """Renew what we hold, drop what we lost, and claim or give back to reach our share."""
        with self.lock:
            for name, held in list(self.held.items()):
                if not held.thread.is_alive():  # it stopped on a lost lease (fencing)
                    self._drop(name, give_back=False)
            try:
                renewed = renew_many(
                    self.factory,
                    {mailbox_lease(n): h.generation for n, h in self.held.items()},
                    self.owner,
                    self.ttl,
                )
            except LeaseBusy:  # one of our batches is committing: renew next round
                renewed = {}
            for name in list(self.held):
                state = renewed.get(mailbox_lease(name))
                if state is not None and not state.acquired:
                    log.warning(
                        "mailbox %s: lost its lease to %s (generation %d); stopped syncing it",
                        name,
                        state.owner or "nobody",
                        state.generation,
                    )
                    self._drop(name, give_back=False)
            target = share(len(self.names), live_workers, self.owner)
            if len(self.held) > target:
                for name in sorted(self.held, reverse=True)[: len(self.held) - target]:
                    log.info(
                        "mailbox %s: given back to balance %d workers", name, len(live_workers)
                    )
                    self._drop(name, give_back=True)
            in_force = (
                holders(self.factory, "mailbox:") if len(self.held) < target else {}
            )  # one query, instead of one transaction per mailbox held by someone else
            for name in self.order:
                if len(self.held) >= target:
                    break
                other = in_force.get(mailbox_lease(name))
                held_elsewhere = other is not None and other.owner != self.owner
                if held_elsewhere and not holder_is_gone(other.owner):  # type: ignore[union-attr]
                    continue
                old = self.stopping.get(name)
                if name not in self.held and (old is None or not old.is_alive()):
                    try:
                        state = acquire(self.factory, mailbox_lease(name), self.owner, self.ttl)
                    except LeaseBusy:  # its holder is committing a batch: it is alive
                        continue
                    if state.acquired:
                        self._take(name, state)
            self._publish()

    def _take(self, name: str, state: LeaseState) -> None:
        mailbox = self.settings.mailbox(name)
        mailbox_id = self.store.ensure_mailbox(mailbox.name, mailbox.imap.username)
        # The thread index is rebuilt from the database on every acquire (fence() drops it).
        fence = Fence(mailbox_lease(name), self.owner, state.generation, self.ttl.total_seconds())
        self.store.fence(mailbox_id, fence)
        halt = threading.Event()
        thread = self.start_watcher(mailbox, halt)
        self.held[name] = Held(name, mailbox_id, state.generation, halt, thread)
        log.info("mailbox %s: lease taken (generation %d)", name, state.generation)

    def _drop(self, name: str, *, give_back: bool) -> None:
        held = self.held.pop(name)
        held.halt.set()
        self.stopping[name] = held.thread
        self.store.revoke(held.mailbox_id)  # its next write fails before touching the store
        if give_back:
            release(self.factory, mailbox_lease(name), self.owner, held.generation)

    def stop(self, timeout: float) -> None:
        """Stop every watcher, then release the leases (SIGTERM): others take over at once.

        A batch already committing finishes; one still being fetched is dropped at its commit
        (its checkpoint did not move, so the next holder fetches it again: nothing lost).
        """
        with self.lock:
            for held in self.held.values():
                held.halt.set()
                self.store.revoke(held.mailbox_id)
            deadline = time.monotonic() + timeout
            for held in self.held.values():
                held.thread.join(max(0.0, deadline - time.monotonic()))
            for name in list(self.held):
                held = self.held.pop(name)
                try:
                    release(self.factory, mailbox_lease(name), self.owner, held.generation)
                except Exception:  # the lease then expires by itself
                    log.exception("could not release the lease of mailbox %s", name)
            self._publish()
