"""Sending approved drafts: the RFC 5322 message, the outbox and its exactly-once rules.

See docs/sending.md for the states and the reasoning.
"""

from mailwatch.send.message import BuiltMessage, DraftMessageError, build_message
from mailwatch.send.outbox import Outbox, SendResult

__all__ = ["BuiltMessage", "DraftMessageError", "Outbox", "SendResult", "build_message"]
