"""Job outcomes kept in the store: a job that fails is counted, shown and reported.

A scheduler job that raises is logged by its wrapper (mailwatch.service.jobs); a log line alone
is a silent failure for an operator who reads ``/healthz``, ``/metrics`` or the daily digest, so
each run's outcome is written here and read by all three (the digest is another process).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from mailwatch.logs import redact
from mailwatch.store.db import transaction
from mailwatch.store.models import JobRun

log = logging.getLogger(__name__)

ERROR_CHARS = 500


def error_line(exc: BaseException) -> str:
    """``KeyError: "..."`` on one line, secrets masked, bounded."""
    text = " ".join(f"{exc.__class__.__name__}: {exc}".split())
    return redact(text)[:ERROR_CHARS]


def record_job(
    factory: sessionmaker[Session], job: str, now: datetime, error: str | None = None
) -> None:
    """Store one run's outcome; never raises (a broken store must not hide the job's own error)."""
    try:
        with transaction(factory) as session:
            row = session.get(JobRun, job, with_for_update=True)
            if row is None:
                row = JobRun(job=job, consecutive_failures=0, total_failures=0, runs=0)
                session.add(row)
            row.last_run_at = now
            row.runs = (row.runs or 0) + 1
            if error is None:
                row.last_success_at = now
                row.consecutive_failures = 0
            else:
                row.last_failure_at = now
                row.last_error = error
                row.consecutive_failures = (row.consecutive_failures or 0) + 1
                row.total_failures = (row.total_failures or 0) + 1
    except Exception:
        log.exception("cannot record the outcome of job %s in the store", job)
