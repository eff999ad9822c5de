"""Conversation threading: which stored conversation does a message belong to?

Order of evidence, strongest first:
1. References / In-Reply-To (JWZ): a link to any stored message, in either direction
   (a reply may be stored before its parent). When one message links two conversations
   they are merged, so every reply link ends inside one thread.
2. Outlook's Thread-Index: its first 22 bytes name the conversation.
3. Last resort: the same normalised subject with the same counterpart within a window.

The index is an in-memory structure the store loads once per sync pass; thread ids are
allocated by the store and registered here. Merges are kept in a union-find so that
nothing has to be rewritten in the maps.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailwatch.core.message import Address, Direction, ParsedMessage

_PREFIX_RE = re.compile(
    r"^\s*(?:"
    r"\[[^\]]{0,40}\]"  # [EXTERNAL], [SPAM], [list-name]
    r"|(?:re|fw|fwd|aw|wg|sv|vs|rv|tr|antw|doorst|odp|vá|ynt|res|enc|r|i|"
    r"ответ|отв|пересл|fwd|răspuns|raspuns|redirecționat|reenviado|rif)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
    r")\s*",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"\s+")


def normalize_subject(subject: str) -> str:
    """Strip reply/forward prefixes in many languages, list tags, case and spacing."""
    text = subject or ""
    while True:
        stripped = _PREFIX_RE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return _SPACES_RE.sub(" ", text).strip().casefold()


def _thread_index_bytes(value: str | None) -> bytes | None:
    """Outlook's Thread-Index decoded (padding forgiven), or None when it is not one."""
    if not value:
        return None
    try:
        raw = base64.b64decode(value.strip() + "=" * (-len(value.strip()) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) >= 22 else None


def thread_index_root(value: str | None) -> str | None:
    """The conversation part of Outlook's Thread-Index (the first 22 bytes), or None."""
    raw = _thread_index_bytes(value)
    return base64.b64encode(raw[:22]).decode("ascii") if raw is not None else None


def message_direction(
    msg: ParsedMessage, folder_role: str | None, own_addresses: frozenset[str]
) -> Direction:
    """Ours when it sits in Sent/Drafts or comes from one of our addresses."""
    if folder_role in ("sent", "drafts"):
        return Direction.OUTBOUND
    if msg.from_addr is not None and msg.from_addr.email in own_addresses:
        return Direction.OUTBOUND
    return Direction.INBOUND


def counterpart_of(
    msg: ParsedMessage, direction: Direction, own_addresses: frozenset[str]
) -> Address | None:
    """The client side of a message: its sender when inbound, first foreign recipient when ours."""
    if direction is Direction.INBOUND:
        if msg.reply_to and msg.from_addr is not None and msg.from_addr.email in own_addresses:
            return msg.reply_to[0]
        return msg.from_addr
    for addr in (*msg.to, *msg.cc):
        if addr.email not in own_addresses:
            return addr
    return msg.to[0] if msg.to else None


NEW_THREAD = -1


@dataclass(frozen=True, slots=True)
class ThreadChoice:
    """Where a message goes: ``thread_id`` (NEW_THREAD for a new one) and threads to fold into it."""

    thread_id: int
    merge: frozenset[int]
    via: str


@dataclass
class ThreadIndex:
    """What threading needs to know about the stored messages of one mailbox."""

    subject_window: timedelta = timedelta(days=30)
    _thread_of_message: dict[str, int] = field(default_factory=dict)
    _children_of: dict[str, set[int]] = field(default_factory=dict)
    _index_roots: dict[str, int] = field(default_factory=dict)
    _subjects: dict[tuple[str, str], list[tuple[datetime, int]]] = field(default_factory=dict)
    _parent: dict[int, int] = field(default_factory=dict)

    def find(self, thread_id: int) -> int:
        """The surviving thread a (possibly merged) id now lives in."""
        root = thread_id
        while root in self._parent:
            root = self._parent[root]
        while thread_id != root:  # path compression
            nxt = self._parent[thread_id]
            self._parent[thread_id] = root
            thread_id = nxt
        return root

    def thread_of(self, message_id: str) -> int | None:
        found = self._thread_of_message.get(message_id)
        return None if found is None else self.find(found)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._thread_of_message

    def __len__(self) -> int:
        return len(self._thread_of_message)

    def choose(
        self,
        msg: ParsedMessage,
        counterpart: Address | None,
        when: datetime | None,
    ) -> ThreadChoice:
        linked: set[int] = set()
        for parent in msg.parent_ids:
            found = self._thread_of_message.get(parent)
            if found is not None:
                linked.add(self.find(found))
        for child_thread in self._children_of.get(msg.message_id, ()):
            linked.add(self.find(child_thread))
        if linked:
            keep = min(linked)
            return ThreadChoice(keep, frozenset(linked - {keep}), "references")
        root = thread_index_root(msg.thread_index)
        if root is not None and root in self._index_roots:
            return ThreadChoice(self.find(self._index_roots[root]), frozenset(), "thread-index")
        subject = normalize_subject(msg.subject)
        if subject and counterpart is not None and when is not None:
            best: tuple[timedelta, int] | None = None
            for seen_at, thread_id in self._subjects.get((subject, counterpart.email), ()):
                gap = abs(when - seen_at)
                if gap <= self.subject_window and (best is None or gap < best[0]):
                    best = (gap, thread_id)
            if best is not None:
                return ThreadChoice(self.find(best[1]), frozenset(), "subject")
        return ThreadChoice(NEW_THREAD, frozenset(), "new")

    def register(
        self,
        msg: ParsedMessage,
        thread_id: int,
        counterpart: Address | None,
        when: datetime | None,
    ) -> None:
        """Record a stored message so that later messages can find its thread."""
        self._thread_of_message[msg.message_id] = thread_id
        for parent in msg.parent_ids:
            if parent not in self._thread_of_message:
                self._children_of.setdefault(parent, set()).add(thread_id)
        self._children_of.pop(msg.message_id, None)
        root = thread_index_root(msg.thread_index)
        if root is not None:
            self._index_roots.setdefault(root, thread_id)
        subject = normalize_subject(msg.subject)
        if subject and counterpart is not None and when is not None:
            self._subjects.setdefault((subject, counterpart.email), []).append((when, thread_id))

    def new_thread(self, thread_id: int) -> None:
        """A fresh thread id: it must not inherit a merge recorded under a reused id."""
        self._parent.pop(thread_id, None)

    def merge(self, keep: int, others: Iterable[int]) -> None:
        for other in others:
            other_root = self.find(other)
            if other_root != keep:
                self._parent[other_root] = keep


# 100-ns intervals between 1601-01-01 (Windows FILETIME epoch) and 1970-01-01.
_FILETIME_EPOCH_OFFSET = 116444736000000000


def _filetime(moment: datetime) -> int:
    return int(moment.timestamp() * 10_000_000) + _FILETIME_EPOCH_OFFSET


def new_thread_index(moment: datetime, guid: bytes) -> str:
    """A conversation header for a message that starts a conversation (MS-OXOMSG 2.2.1.3)."""
    if len(guid) != 16:
        raise ValueError("guid must be 16 bytes")
    stamp = (_filetime(moment) >> 16) & 0xFFFFFFFFFFFF  # the top 6 of FILETIME's 8 bytes
    return base64.b64encode(stamp.to_bytes(6, "big") + guid).decode("ascii")


def child_thread_index(parent: str | None, moment: datetime, salt: int = 0) -> str | None:
    """Outlook's Thread-Index for a reply: the parent's value plus one 5-byte child block.

    Without it Outlook may show our reply outside the client's conversation. The block holds
    the time since the conversation started, coarsened as MS-OXOMSG describes; ``salt``
    fills the 4 random bits. None when the parent has no usable Thread-Index.
    """
    raw = _thread_index_bytes(parent)
    if raw is None or (len(raw) - 22) % 5:
        return None
    header_time = int.from_bytes(raw[:6], "big") << 16
    delta = max(0, _filetime(moment) - header_time)
    # Code bit 0: the delta in units of 2**18 (about 26 ms); 1: in units of 2**23 for old threads.
    near = delta < (1 << 49)
    block = (delta >> 18) & 0x7FFFFFFF if near else (1 << 31) | ((delta >> 23) & 0x7FFFFFFF)
    child = (block << 8) | ((salt & 0xF) << 4) | ((len(raw) - 22) // 5 & 0xF)
    return base64.b64encode(raw + child.to_bytes(5, "big")).decode("ascii")
