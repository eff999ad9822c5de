"""Warning signs as data: their kinds, how they are stored, the one that is timing alone.

Apart from :mod:`mailwatch.core.warning_signs` (the phrase detectors, whose patterns are
compiled at import): tracking and every read of threads need only these, and importing the
detectors cost each read command ~9 ms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mailwatch.core.pickling import tuple_pickled

__all__ = [
    "SignKind",
    "WarningSign",
    "detect_slow_but_demanding",
    "signs_from_json",
    "signs_to_json",
    "thread_signs",
]


class SignKind(StrEnum):
    PRICE_PRESSURE = "price_pressure"
    URGENCY = "urgency"
    MEETING_PUSH = "meeting_push"
    CONTRACT_NITPICKING = "contract_nitpicking"
    NO_CLEAR_GOAL = "no_clear_goal"
    SLOW_BUT_DEMANDING = "slow_but_demanding"


@tuple_pickled
@dataclass(frozen=True, slots=True)
class WarningSign:
    kind: SignKind
    evidence: str
    message_id: str | None


def _duration(minutes: float) -> str:
    total = round(minutes)
    hours, mins = divmod(total, 60)
    if hours and mins:
        return f"{hours}h {mins}m"
    return f"{hours}h" if hours else f"{mins}m"


def detect_slow_but_demanding(
    their_reply_business_minutes: Sequence[int],
    our_sla_minutes: int,
    urgency_signs: int,
    *,
    factor: float = 3.0,
    min_samples: int = 3,
) -> WarningSign | None:
    """Urgency demanded of us but not shown by them: their median reply is ``factor`` x our SLA.

    The median, not the mean, so one reply after a holiday does not make a client "slow".
    """
    samples = [m for m in their_reply_business_minutes if m >= 0]
    if urgency_signs <= 0 or our_sla_minutes <= 0 or len(samples) < min_samples:
        return None
    import statistics  # lazy: (fractions, decimal) only when a client's replies are judged

    median = statistics.median(samples)
    if median <= factor * our_sla_minutes:
        return None
    times = "time" if urgency_signs == 1 else "times"
    evidence = (
        f"asked for urgency {urgency_signs} {times}, but their median reply time is "
        f"{_duration(median)} of business time over {len(samples)} replies "
        f"(our SLA {_duration(our_sla_minutes)}, {median / our_sla_minutes:.1f}x)"
    )
    return WarningSign(SignKind.SLOW_BUT_DEMANDING, evidence, None)


def thread_signs(per_message: Sequence[Sequence[WarningSign]]) -> list[WarningSign]:
    """One sign per kind for the whole thread, keeping the first (oldest) evidence."""
    seen: dict[SignKind, WarningSign] = {}
    for signs in per_message:
        for sign in signs:
            seen.setdefault(sign.kind, sign)
    return list(seen.values())


def signs_to_json(signs: Iterable[WarningSign]) -> list[dict[str, Any]]:
    """Warning signs as they are stored (the threads' ``signs`` column) and printed."""
    return [
        {"kind": s.kind.value, "evidence": s.evidence, "message_id": s.message_id} for s in signs
    ]


def signs_from_json(values: Iterable[Any] | None) -> tuple[WarningSign, ...]:
    """The stored form back as WarningSigns; an entry this version cannot read is skipped."""
    result = []
    for item in values or ():
        if not isinstance(item, dict):
            continue
        try:
            result.append(
                WarningSign(SignKind(item["kind"]), item["evidence"], item.get("message_id"))
            )
        except (KeyError, ValueError, TypeError):
            continue
    return tuple(result)
