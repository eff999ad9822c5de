"""The workers of a shared database as ``mailwatch workers`` and the settings page show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.store.db import db_now
from mailwatch.store.models import Worker


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    alive: bool
    mailboxes: tuple[str, ...]
    scheduler: bool
    web: str | None
    fingerprint: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "alive": self.alive,
            "started_at": self.started_at.isoformat(),
            "last_heartbeat": self.heartbeat_at.isoformat(),
            "mailboxes": list(self.mailboxes),
            "scheduler": self.scheduler,
            "web": self.web,
        }


def worker_info(row: Worker, now: datetime) -> WorkerInfo:
    return WorkerInfo(
        id=row.id,
        host=row.host,
        pid=row.pid,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
        alive=row.expires_at > now,
        mailboxes=tuple(row.mailboxes or ()),
        scheduler=bool(row.scheduler),
        web=row.web,
        fingerprint=dict(row.fingerprint or {}),
    )


def list_workers(factory: sessionmaker[Session]) -> list[WorkerInfo]:
    """Every worker seen in the last day, live ones first."""
    with factory() as session:
        now = db_now(session)
        rows = session.scalars(select(Worker).order_by(Worker.started_at))
        found = [worker_info(row, now) for row in rows]
    return sorted(found, key=lambda w: (not w.alive, w.started_at))
