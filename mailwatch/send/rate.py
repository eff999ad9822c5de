"""SEND_RATE: at most N messages in any 60-second window, per SMTP account.

A sliding log of send times: the next send may start once fewer than N sends lie in the 60
seconds before it. :class:`SharedRateLimiter` keeps that log in the database (``send_log``,
the database's clock), so every process and every mailbox sending through one SMTP account
share one budget: three workers cannot add up to three times the limit. :class:`RateLimiter`
is the same rule in memory, for one process and for tests (clock and sleep injectable).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["RateLimiter", "SharedRateLimiter", "process_rate_limiter", "slot_start"]


def slot_start(now: float, recent: list[float], rate: int, window: float) -> float:
    """The earliest start for one more send, given the booked starts of the last ``window``
    (ascending): after the last one, and ``window`` after the ``rate``-th latest."""
    start = now
    if recent:
        start = max(start, recent[-1])
    if len(recent) >= rate:
        start = max(start, recent[-rate] + window)
    return start


class RateLimiter:
    def __init__(
        self,
        rate: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1")
        self.rate = rate
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._slots: deque[float] = deque()  # start times of sends, ascending (some reserved)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the earliest allowed start for one send; returns how long to wait for it."""
        with self._lock:
            now = self.clock()
            while self._slots and self._slots[0] <= now - self.window:
                self._slots.popleft()
            start = slot_start(now, list(self._slots), self.rate, self.window)
            self._slots.append(start)
            return start - now

    async def acquire(self, account: str = "") -> float:
        """Wait until one more send is allowed; returns the time waited (seconds)."""
        delay = self.reserve()
        if delay > 0:
            await self.sleep(delay)
        return delay


_limiters: dict[int, RateLimiter] = {}
_limiters_lock = threading.Lock()


def process_rate_limiter(rate: int) -> RateLimiter:
    """The limiter every outbox of this process shares for ``rate`` per minute."""
    with _limiters_lock:
        limiter = _limiters.get(rate)
        if limiter is None:
            limiter = _limiters[rate] = RateLimiter(rate)
        return limiter


class SharedRateLimiter:
    """SEND_RATE per SMTP account, booked in the database so all processes share it."""

    def __init__(
        self,
        factory: Any,
        rate: int,
        window: float = 60.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1")
        self.factory = factory
        self.rate = rate
        self.window = window
        self.sleep = sleep
        self._lock = threading.Lock()

    def reserve(self, account: str) -> float:
        """Book the earliest allowed start on ``account``; returns how long to wait for it."""
        from datetime import timedelta

        from sqlalchemy import delete, select, text

        from mailwatch.store.db import transaction
        from mailwatch.store.leases import db_now
        from mailwatch.store.models import SendLog

        with self._lock, transaction(self.factory) as session:
            if session.get_bind().dialect.name == "postgresql":
                # One booking at a time per account, across processes; ends with the transaction.
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:account))"),
                    {"account": account},
                )
            now = db_now(session)
            horizon = now - timedelta(seconds=self.window)
            session.execute(
                delete(SendLog).where(SendLog.account == account, SendLog.sent_at <= horizon)
            )
            recent = [
                (at - now).total_seconds()
                for at in session.scalars(
                    select(SendLog.sent_at)
                    .where(SendLog.account == account, SendLog.sent_at > horizon)
                    .order_by(SendLog.sent_at)
                )
            ]
            start = slot_start(0.0, recent, self.rate, self.window)
            session.add(SendLog(account=account, sent_at=now + timedelta(seconds=start)))
            return start

    async def acquire(self, account: str = "") -> float:
        """Wait until one more send on ``account`` is allowed; returns the time waited."""
        delay = await asyncio.to_thread(self.reserve, account)
        if delay > 0:
            await self.sleep(delay)
        return delay
