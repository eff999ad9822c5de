"""Drafts as the approval queue shows them: ``DraftView``.

A frozen copy of one stored draft, with real datetimes, taken inside the session so that the
CLI, the web page and the demo never hold an ORM object. ``to_json()`` is the contract's draft
shape (docs/cli.md), called only at those edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailwatch.store.models import Draft, Thread

__all__ = ["DraftView", "address_text", "list_drafts"]


def address_text(item: dict[str, Any]) -> str:
    """``Name <email>``, or the bare address when there is no name."""
    name, email = item.get("name") or "", item.get("email") or ""
    return f"{name} <{email}>" if name else email


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True, slots=True)
class DraftView:
    id: int
    thread_id: int | None
    kind: str
    language: str
    status: str
    message_id: str
    from_addr: dict[str, Any]
    to_addrs: tuple[dict[str, Any], ...]
    subject: str
    body_text: str
    in_reply_to: str | None
    references: tuple[str, ...]
    etiquette: tuple[dict[str, Any], ...]
    automatic: bool
    edited: bool
    created_at: datetime
    new_date: datetime | None
    approved_at: datetime | None
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, draft: Draft) -> DraftView:
        return cls(
            id=draft.id,
            thread_id=draft.thread_id,
            kind=draft.kind,
            language=draft.language,
            status=draft.status,
            message_id=draft.message_id,
            from_addr=dict(draft.from_addr or {}),
            to_addrs=tuple(dict(a) for a in draft.to_addrs or ()),
            subject=draft.subject,
            body_text=draft.body_text,
            in_reply_to=draft.in_reply_to,
            references=tuple(draft.references or ()),
            etiquette=tuple(dict(f) for f in draft.etiquette or ()),
            automatic=draft.automatic,
            edited=draft.edited,
            created_at=draft.created_at,
            new_date=draft.new_date,
            approved_at=draft.approved_at,
            sent_at=draft.sent_at,
            attempts=draft.attempts,
            last_error=draft.last_error,
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's draft shape (docs/cli.md), plus a few extra keys; key order is fixed."""
        return {
            "id": self.id,
            "thread_id": self.thread_id,
            "kind": self.kind,
            "language": self.language,
            "to": ", ".join(address_text(a) for a in self.to_addrs),
            "subject": self.subject,
            "body_text": self.body_text,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "status": self.status,
            "created_at": _iso(self.created_at),
            "message_id": self.message_id,
            "from": address_text(self.from_addr),
            "to_addresses": [dict(a) for a in self.to_addrs],
            "etiquette": [dict(f) for f in self.etiquette],
            "automatic": self.automatic,
            "edited": self.edited,
            "new_date": _iso(self.new_date),
            "approved_at": _iso(self.approved_at),
            "sent_at": _iso(self.sent_at),
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


def list_drafts(session: Session, status: str | None = None) -> list[DraftView]:
    """Drafts, the client who has waited longest first (then the oldest draft).

    The queue is worked from the top, so its order is the client's wait (the thread's
    ``waiting_since``), not the draft's age: a draft written late for an old question
    still comes first. Drafts of threads nobody waits on follow, oldest first.
    """
    query = (
        select(Draft)
        .outerjoin(Thread, Thread.id == Draft.thread_id)
        .order_by(
            Thread.waiting_since.is_(None),
            Thread.waiting_since,
            Draft.created_at,
            Draft.id,
        )
    )
    if status is not None:
        query = query.where(Draft.status == status)
    return [DraftView.of(d) for d in session.scalars(query)]
