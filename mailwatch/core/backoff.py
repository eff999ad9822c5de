"""Reconnect delays: exponential with full jitter, so many clients never retry in step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial: float = 1.0
    maximum: float = 300.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """A delay in ``[cap/2, cap]`` where cap grows with each failure up to ``maximum``."""
        cap = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return cap / 2 + self.rng.random() * cap / 2

    def reset(self) -> None:
        self.attempts = 0
