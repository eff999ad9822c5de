"""SEND_RATE: at most N messages in any 60-second window, per process.

A sliding log of send times: the next send may start once fewer than N sends lie in the 60
seconds before it. One limiter is shared by every outbox of a process
(:func:`process_rate_limiter`), so two mailboxes on one SMTP account cannot add up to twice
the limit. The clock and the sleep are injectable for tests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter", "process_rate_limiter"]


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
            start = now
            if self._slots:
                start = max(start, self._slots[-1])
            if len(self._slots) >= self.rate:
                start = max(start, self._slots[-self.rate] + self.window)
            self._slots.append(start)
            return start - now

    async def acquire(self) -> float:
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
