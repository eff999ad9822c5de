"""Job outcomes as read by ``/healthz``, ``/metrics`` and the daily digest.

``mailwatch.service.health`` writes one row per job after each run; these are the reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mailwatch.store.raw import Reader, reader_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Failures in a row after which ``/healthz`` answers "degraded" (one may be a passing hiccup).
DEGRADED_AFTER = 3


@dataclass(frozen=True)
class JobState:
    job: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    total_failures: int

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0

    @property
    def degraded(self) -> bool:
        return self.consecutive_failures >= DEGRADED_AFTER


def job_states(session: Session | Reader) -> list[JobState]:
    db = reader_of(session)
    convert = db.times()

    def at(value: object) -> datetime | None:
        return convert(value) if value is not None else None

    return [
        JobState(
            job=job,
            last_run_at=at(run),
            last_success_at=at(success),
            last_failure_at=at(failure),
            last_error=error,
            consecutive_failures=consecutive or 0,
            total_failures=total or 0,
        )
        for job, run, success, failure, error, consecutive, total in db.rows(
            "SELECT job, last_run_at, last_success_at, last_failure_at, last_error,"
            " consecutive_failures, total_failures FROM job_runs ORDER BY job"
        )
    ]
