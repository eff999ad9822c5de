"""Scheduler runs claimed per job and scheduled slot, so every worker can run the scheduler.

Each worker computes the same slots (a job's schedule is aligned to the epoch, or to the
local time of day), and for a due slot inserts ``(job, slot)`` into ``job_claims`` with
``INSERT … ON CONFLICT DO NOTHING``: the worker whose insert won runs it, the others skip it.
No lease, no leader: a worker that dies simply stops claiming.

Two more rules keep a job from running twice at once or being lost:

* **One run at a time across workers.** A claim is refused (``busy``) while another live
  worker has an unfinished claim of the same job made in the last ``BUSY_FOR``; the claims
  of one job are serialised by a transaction-scoped advisory lock on PostgreSQL (SQLite has
  one writer anyway).
* **Takeover.** A due slot whose claimer died (heartbeat expired, or its process gone on this
  host) before finishing it is taken over by the next worker that asks for that slot. What
  the job itself does is still guarded by its own state (the digest's claim, send, mark; the
  outbox's claims): a run taken over after its claimer died mid-send does not send again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.store.db import db_now, transaction
from mailwatch.store.leases import holder_is_gone
from mailwatch.store.models import JobClaim, Worker

Outcome = Literal["won", "takeover", "busy", "lost"]

# An unfinished claim older than this no longer blocks the job elsewhere (a hung run).
BUSY_FOR = timedelta(hours=1)
# Claims are kept this long (by the database's clock), then pruned.
KEEP = timedelta(days=2)


def live_workers(session: Session, now: datetime) -> set[str]:
    """Workers whose heartbeat is in force (a dead process of this host left out)."""
    ids = session.scalars(select(Worker.id).where(Worker.expires_at > now))
    return {worker for worker in ids if not holder_is_gone(worker)}


def claim(
    factory: sessionmaker[Session],
    job: str,
    slot: datetime,
    owner: str,
    reason: str = "due",
) -> Outcome:
    """Claim one run of ``job`` at ``slot`` for ``owner``; run it only on ``won``/``takeover``.

    ``busy``: another live worker is running this job now. ``lost``: the slot is another's.
    """
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"job:{job}"}
            )
        now = db_now(session)
        live = live_workers(session, now)
        running = session.scalars(
            select(JobClaim.owner).where(
                JobClaim.job == job,
                JobClaim.finished_at.is_(None),
                JobClaim.claimed_at > now - BUSY_FOR,
                JobClaim.owner != owner,
            )
        )
        if any(other in live for other in running):
            return "busy"
        values = {
            "job": job,
            "slot": slot,
            "owner": owner,
            "reason": reason,
            "claimed_at": now,
        }
        stmt: Any
        if session.get_bind().dialect.name == "postgresql":
            stmt = pg_insert(JobClaim).values(**values)
        else:
            stmt = sqlite_insert(JobClaim).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["job", "slot"]).returning(JobClaim.job)
        if session.execute(stmt).scalar() is not None:  # our row went in
            return "won"
        row = session.get(JobClaim, (job, slot), with_for_update=True)
        if (
            reason != "due"
            or row is None
            or row.finished_at is not None
            or row.owner == owner
            or row.owner in live
        ):
            return "lost"
        row.owner, row.reason, row.claimed_at = owner, "takeover", now
        return "takeover"


def finish(factory: sessionmaker[Session], job: str, slot: datetime, owner: str) -> None:
    """Mark our run of ``job`` at ``slot`` done (it no longer blocks the job elsewhere)."""
    with transaction(factory) as session:
        session.execute(
            update(JobClaim)
            .where(JobClaim.job == job, JobClaim.slot == slot, JobClaim.owner == owner)
            .values(finished_at=db_now(session))
        )


def prune(factory: sessionmaker[Session]) -> int:
    """Forget claims older than ``KEEP``; returns how many went."""
    with transaction(factory) as session:
        result = session.execute(
            delete(JobClaim).where(JobClaim.claimed_at < db_now(session) - KEEP)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
