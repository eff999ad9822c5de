"""Job outcomes as read by ``/healthz``, ``/metrics`` and the daily digest.

``mailwatch.service.health`` writes one row per job after each run; these are the reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailwatch.store.models import JobRun

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


def job_states(session: Session) -> list[JobState]:
    return [
        JobState(
            job=row.job,
            last_run_at=row.last_run_at,
            last_success_at=row.last_success_at,
            last_failure_at=row.last_failure_at,
            last_error=row.last_error,
            consecutive_failures=row.consecutive_failures or 0,
            total_failures=row.total_failures or 0,
        )
        for row in session.scalars(select(JobRun).order_by(JobRun.job))
    ]
