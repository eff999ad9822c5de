"""The one clock the service's scheduler reads, and the simulated clock of the week test.

In production ``now()`` is ``datetime.now(UTC)``. With the environment variable
``MAILWATCH_SIMULATED_CLOCK=<ISO start>@<unix anchor>*<speed>`` (read only here, set only
by tests and benchmarks) the service lives in simulated time: ``start + (time() - anchor) *
speed``. Every process started with the same value shares one timeline, so a process killed
and restarted carries on where the other left off. The scheduler's intervals are divided by the
speed (``interval``), so "every minute" stays every simulated minute.

What reads it: the scheduler's jobs (their "now"), the first-start instant of the backlog
policy, and the scheduler's intervals and slots (mailwatch.service.schedule). Sync, IMAP and SMTP timeouts stay in real time.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

ENV = "MAILWATCH_SIMULATED_CLOCK"


def _parse(value: str) -> tuple[datetime, float, float]:
    start, _, rest = value.partition("@")
    anchor, _, speed = rest.partition("*")
    when = datetime.fromisoformat(start)
    if when.tzinfo is None:
        raise ValueError(f"{ENV}: the start needs a UTC offset")
    return when, float(anchor), float(speed or 1)


def _config() -> tuple[datetime, float, float] | None:
    value = os.environ.get(ENV, "").strip()
    return _parse(value) if value else None


def now() -> datetime:
    config = _config()
    if config is None:
        return datetime.now(UTC)
    start, anchor, speed = config
    return (start + timedelta(seconds=(time.time() - anchor) * speed)).astimezone(UTC)


def speed() -> float:
    config = _config()
    return config[2] if config is not None else 1.0


def interval(seconds: float) -> float:
    """A scheduler interval in real seconds (``seconds`` of simulated time, at least 0.5 s)."""
    factor = speed()
    return seconds if factor == 1.0 else max(0.5, seconds / factor)


def simulated(start: datetime, speed: float, anchor: float | None = None) -> str:
    """The environment value for a simulated timeline starting now (tests, benchmarks)."""
    return f"{start.isoformat()}@{time.time() if anchor is None else anchor}*{speed}"
