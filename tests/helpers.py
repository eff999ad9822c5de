"""Small builders shared by the tests: messages, settings, a store and a syncer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mailwatch.config import Settings, settings_from_values
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.mail import MailStore
from mailwatch.store.models import Message, MessageLocation
from mailwatch.sync.engine import MailboxSync
from mailwatch.track.tracker import Tracker


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
