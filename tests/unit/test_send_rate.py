"""SEND_RATE: never more than N sends in any 60 seconds, checked with a fake clock."""

from __future__ import annotations

import asyncio
import random

from mailwatch.send.rate import RateLimiter, process_rate_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_first_n_go_at_once_then_one_waits_a_window():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        starts = []
        for _ in range(7):
            await limiter.acquire()
            starts.append(clock.now)
        return starts

    starts = asyncio.run(run())
    assert starts == [1000.0, 1000.0, 1000.0, 1060.0, 1060.0, 1060.0, 1120.0]


def test_no_window_of_60_seconds_ever_holds_more_than_the_rate():
    clock = FakeClock()
    rng = random.Random(7)
    limiter = RateLimiter(30, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        starts = []
        for _ in range(400):
            clock.now += rng.choice([0.0, 0.0, 0.1, 0.5, 2.0, 7.0])  # bursts and pauses
            await limiter.acquire()
            starts.append(clock.now)
        return starts

    starts = asyncio.run(run())
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + 60.0]
        assert len(in_window) <= 30
    assert starts == sorted(starts)
    # It only waits when it has to: a burst of 30 after a long pause goes at once.
    clock.now += 3600
    before = len(clock.slept)
    for _ in range(30):
        assert limiter.reserve() == 0.0
    assert len(clock.slept) == before


def test_reservations_without_waiting_are_spread_out():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    delays = [limiter.reserve() for _ in range(5)]
    assert delays == [0.0, 0.0, 60.0, 60.0, 120.0]


def test_one_limiter_per_process_and_rate():
    assert process_rate_limiter(30) is process_rate_limiter(30)
    assert process_rate_limiter(30) is not process_rate_limiter(10)
