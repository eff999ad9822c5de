"""Compact IMAP UID sets, split so that no command line grows past a few KB."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def compact(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1:3,7,9:10"``."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    if not ordered:
        return ""
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def batches(uids: Iterable[int], max_count: int, max_chars: int = 2000) -> Iterator[list[int]]:
    """Ascending batches of at most ``max_count`` UIDs whose compact form fits ``max_chars``."""
    batch: list[int] = []
    length = 0
    prev: int | None = None
    for uid in sorted(set(uids)):
        # A new run costs "start:end," at most (UIDs are 32-bit: 10 digits); a continued run nothing.
        extra = 0 if prev is not None and uid == prev + 1 else len(str(uid)) + 12
        if batch and (len(batch) >= max_count or length + extra > max_chars):
            yield batch
            batch, length, prev = [], 0, None
            extra = len(str(uid)) + 12
        batch.append(uid)
        length += extra
        prev = uid
    if batch:
        yield batch
