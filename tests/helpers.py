"""Small builders shared by the tests: messages, settings, a store and a syncer, and the one way
to wait for something (:func:`wait_until`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select, text

from mailwatch.config import Settings, settings_from_values
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.mail import MailStore
from mailwatch.store.models import Message, MessageLocation
from mailwatch.sync.engine import MailboxSync
from mailwatch.track.tracker import Tracker

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    message: str | Callable[[], str],
    *,
    interval: float = 0.05,
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Why: a test waits for what it needs (a row, a log line, a server's answer), never a fixed
    time that is too short on a loaded machine and too long on a quiet one. After ``timeout``
    seconds it fails with ``message`` (a callable is called then, so it can show the state at
    the end). An exception in ``predicate`` (an assert that the process still runs) ends the
    wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"not within {timeout:g} s: {text}")
        time.sleep(interval)


def make_msg(
    subject: str = "Price request",
    sender: str = "Client <client@acme.test>",
    to: str = "sales@example.com",
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: datetime | None = None,
    body: str = "Hello, could you send us your prices?\n",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain RFC 5322 message; header values are used verbatim (pre-encode if needed)."""
    date = date or datetime.now(UTC) - timedelta(hours=1)
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
    ]
    if msgid != "":
        lines.append(f"Message-ID: {msgid or make_msgid(domain='acme.test')}")
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    if references:
        lines.append(f"References: {references}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def make_settings(account: Any, db_url: str, **extra: str) -> Settings:
    values = {
        "MAILWATCH_DATABASE_URL": db_url,
        "MAILWATCH_IMAP_HOST": account.host,
        "MAILWATCH_IMAP_PORT": str(account.port),
        "MAILWATCH_IMAP_SECURITY": "none",
        "MAILWATCH_IMAP_USERNAME": account.username,
        "MAILWATCH_IMAP_PASSWORD": account.password,
        "MAILWATCH_BACKFILL_DAYS": "0",
        "MAILWATCH_IMAP_TIMEOUT": "10",
    }
    values.update({f"MAILWATCH_{k.upper()}": v for k, v in extra.items()})
    return settings_from_values(values)


def engine_in_another_zone(url: str, zone: str = "America/Santiago") -> Any:
    """An engine on ``url``; on PostgreSQL with the database's session zone set to ``zone``
    (psycopg then hands out times in it), so that a read must not depend on UTC there."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            name = url.rsplit("/", 1)[1]
            conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO '{zone}'"))
        engine.dispose()
        engine = make_engine(url)
    return engine


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mailwatch.db'}"


class Harness:
    """A store plus a syncer for one mailbox, as `mailwatch sync --once` builds them."""

    def __init__(self, settings: Settings, **sync_kwargs: Any) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        upgrade(self.engine)
        self.factory = session_factory(self.engine)
        self.store = MailStore(self.factory, settings.own_addresses, settings.thread_subject_window)
        self.syncer = MailboxSync(settings, settings.mailboxes[0], self.store, **sync_kwargs)
        self.tracker = Tracker(self.factory, settings)

    def sync(self) -> Any:
        """One pass as `sync --once` does it: the sync, then tracking of what it brought."""
        report = self.syncer.sync_once()
        self.tracker.refresh()
        return report

    def close(self) -> None:
        self.syncer.close()
        self.engine.dispose()

    def count(self, model: Any = Message) -> int:
        with self.factory() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def messages(self) -> list[Message]:
        with self.factory() as session:
            return list(session.scalars(select(Message).order_by(Message.id)))

    def locations(self) -> list[MessageLocation]:
        with self.factory() as session:
            return list(session.scalars(select(MessageLocation).order_by(MessageLocation.id)))

    def by_msgid(self, message_id: str) -> Message:
        with self.factory() as session:
            return session.scalars(select(Message).where(Message.message_id == message_id)).one()
