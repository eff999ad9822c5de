"""Promises we make in outgoing mail, and deadlines clients ask of us.

``engine`` finds and resolves them; ``dates`` turns date phrases into days and times; ``en``,
``ru``, ``ro`` and ``es`` hold each language's patterns (dates, commitments, negations,
conditionals, request words). Callers use only what this module exports.
"""

from __future__ import annotations

from mailwatch.core.promises.engine import (
    DetectedPromise,
    detect_promises,
    detect_requested_deadline,
    promise_status,
)
from mailwatch.core.text import LANGUAGES

__all__ = [
    "LANGUAGES",
    "DetectedPromise",
    "detect_promises",
    "detect_requested_deadline",
    "promise_status",
]
