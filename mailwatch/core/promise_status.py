"""Whether a promise we made was kept, as of an instant.

Apart from :mod:`mailwatch.core.promises` (the detectors, with dateparser and every language's
patterns): the reads that show promises (``promises --json``, the digest, the web page) need
only this, and importing the detectors cost every such command ~27 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = ["check_aware", "promise_status"]


def check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def promise_status(
    due_at: datetime,
    now: datetime,
    our_messages_after: Sequence[datetime],
    marked_done: bool = False,
    renegotiated: bool = False,
) -> str:
    """``open`` | ``kept`` | ``missed`` | ``renegotiated`` as of ``now``.

    ``our_messages_after`` are our messages in the thread after the promise was made. Writing
    again by the due time counts as keeping it; the renegotiation notice itself is such a
    message, so the renegotiated flag wins over it. Messages later than ``now`` have not
    happened yet when evaluating "as of" a past instant.
    """
    check_aware(due_at, "due_at")
    check_aware(now, "now")
    if marked_done:
        return "kept"
    if renegotiated:
        return "renegotiated"
    for sent in our_messages_after:
        check_aware(sent, "message time")
        if sent <= due_at and sent <= now:
            return "kept"
    if now > due_at:
        return "missed"
    return "open"
