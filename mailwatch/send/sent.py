"""The mailbox's Sent folder as the outbox uses it: look a Message-ID up, append a copy.

Blocking (imapclient); the outbox calls it through ``asyncio.to_thread``. One connection per
mailbox per outbox pass, opened on first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from mailwatch.config import MailboxSettings
from mailwatch.core.folders import map_folder_roles
from mailwatch.errors import MailAccessError
from mailwatch.mail.imap import ImapConnection

__all__ = ["SELF_FILING_IMAP_HOSTS", "NoSentFolder", "SentFolder", "sent_copy_needed"]

# IMAP hosts whose providers file a copy of every message sent through their SMTP submission
# server into Sent themselves: Office 365 / Exchange Online, Outlook.com, Gmail. With
# SENT_COPY=auto no copy is appended there (it would show twice).
SELF_FILING_IMAP_HOSTS = frozenset(
    {
        "outlook.office365.com",
        "outlook.office.com",
        "imap-mail.outlook.com",
        "imap.gmail.com",
        "imap.googlemail.com",
    }
)


def sent_copy_needed(sent_copy: str, imap_host: str) -> bool:
    """Should the outbox APPEND a copy to Sent after SMTP accepted a message?"""
    if sent_copy == "always":
        return True
    if sent_copy == "never":
        return False
    return imap_host.strip().rstrip(".").lower() not in SELF_FILING_IMAP_HOSTS


class NoSentFolder(MailAccessError):
    """The mailbox has no Sent folder (neither SPECIAL-USE \\Sent nor a usual name)."""

    def __init__(self, mailbox: str) -> None:
        super().__init__(
            f"mailbox {mailbox}: no Sent folder found (SPECIAL-USE \\Sent or a usual name)",
            retryable=False,
        )


class SentFolder:
    def __init__(
        self,
        mailbox: MailboxSettings,
        timeout: float = 60.0,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.timeout = timeout
        self.token_provider = token_provider
        self.conn: ImapConnection | None = None
        self.name: str | None = None

    def _ready(self) -> tuple[ImapConnection, str]:
        if self.conn is None or self.conn.client is None:
            conn = ImapConnection(
                self.mailbox.imap, timeout=self.timeout, token_provider=self.token_provider
            )
            conn.connect()
            self.conn = conn
            if self.name is None:
                self.name = map_folder_roles(conn.list_folders()).get("sent")
        if self.name is None:
            raise NoSentFolder(self.mailbox.name)
        return self.conn, self.name

    def contains(self, message_id: str) -> bool:
        """Is a message with this Message-ID in Sent? (``UID SEARCH HEADER Message-ID``)"""
        conn, name = self._ready()
        conn.examine(name)
        return bool(conn.search(["HEADER", "Message-ID", message_id]))

    def contains_reply(self, in_reply_to: str, since: datetime) -> bool:
        """Is a reply to ``in_reply_to`` in Sent, filed since ``since``? (A draft put into
        Drafts that the user sent from their mail client, maybe edited: a new Message-ID.)"""
        conn, name = self._ready()
        conn.examine(name)
        return bool(conn.search(["SINCE", since.date(), "HEADER", "In-Reply-To", in_reply_to]))

    def append(self, raw: bytes) -> None:
        """File the message as sent: APPEND with \\Seen."""
        conn, name = self._ready()
        conn.append(name, raw, flags=["\\Seen"])

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
