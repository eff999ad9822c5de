"""Approval from Outlook: pending drafts also sit in the mailbox's Drafts folder (DRAFTS_TO_MAILBOX).

The user opens the draft in their own mail client, edits it if they like, and sends it. Then
it (or another reply to the same message) shows up in Sent, and the draft becomes ``sent``.
Deleting it from Drafts means "no": the draft becomes ``rejected``. A draft that Outlook saved
again after an edit has a new UID; it is found again by its In-Reply-To. Drafts decided in
mailwatch (approved, rejected) are taken out of the Drafts folder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import MailboxSettings, Settings
from mailwatch.core.folders import map_folder_roles
from mailwatch.mail.imap import ImapConnection
from mailwatch.send.message import build_message
from mailwatch.store.db import transaction
from mailwatch.store.models import Draft, Mailbox, Message

log = logging.getLogger(__name__)

_APPENDUID = re.compile(rb"APPENDUID\s+(\d+)\s+(\d+)", re.IGNORECASE)


@dataclass
class ReconcileReport:
    published: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


class DraftsFolder:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        mailbox: MailboxSettings,
        token_provider: Callable[[], str] | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.mailbox = mailbox
        self.token_provider = token_provider
        self._conn: ImapConnection | None = None
        self._roles: dict[str, str] = {}

    # -- connection -----------------------------------------------------------------------------

    def _connection(self) -> ImapConnection:
        if self._conn is None or self._conn.client is None:
            conn = ImapConnection(
                self.mailbox.imap,
                timeout=self.settings.imap_timeout,
                token_provider=self.token_provider,
            )
            conn.connect()
            self._conn = conn
            self._roles = map_folder_roles(conn.list_folders())
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _folder(self, role: str) -> str | None:
        self._connection()
        return self._roles.get(role)

    # -- the pass -------------------------------------------------------------------------------

    def _mailbox_id(self, session: Session) -> int | None:
        return session.scalar(select(Mailbox.id).where(Mailbox.name == self.mailbox.name))

    def reconcile(self, now: datetime) -> ReconcileReport:
        """One pass: publish new pending drafts, then see what the user did with the others."""
        report = ReconcileReport()
        with self.factory() as session:
            mailbox_id = self._mailbox_id(session)
            if mailbox_id is None:
                return report
            drafts = list(
                session.scalars(
                    select(Draft).where(
                        Draft.mailbox_id == mailbox_id,
                        (Draft.status == "pending") | Draft.mailbox_draft_uid.is_not(None),
                    )
                )
            )
        if not drafts:
            return report
        try:
            for draft in drafts:
                if draft.status == "pending" and draft.mailbox_draft_uid is None:
                    self._publish(draft, now, report)
                elif draft.status == "pending":
                    self._check(draft, now, report)
                elif draft.mailbox_draft_uid is not None:
                    self._remove(draft, report)
        finally:
            self.close()
        return report

    def _publish(self, draft: Draft, now: datetime, report: ReconcileReport) -> None:
        folder = self._folder("drafts")
        if folder is None:
            log.warning(
                "mailbox %s has no Drafts folder: drafts stay in mailwatch", self.mailbox.name
            )
            return
        conn = self._connection()
        assert conn.client is not None
        raw = build_message(draft, now).raw
        answer = conn._call(conn.client.append, folder, raw, flags=["\\Draft", "\\Seen"])
        found = _APPENDUID.search(answer if isinstance(answer, bytes) else str(answer).encode())
        uidvalidity: int | None
        if found:
            uidvalidity, uid = int(found.group(1)), int(found.group(2))
        else:  # no UIDPLUS: find it by its Message-ID
            status = conn.examine(folder)
            uids = conn.search(["HEADER", "Message-ID", draft.message_id])
            uidvalidity, uid = status.uidvalidity, (uids[-1] if uids else 0)
        with transaction(self.factory) as session:
            row = session.get_one(Draft, draft.id)
            row.mailbox_draft_uid = uid
            row.mailbox_draft_uidvalidity = uidvalidity
            # From now on the user may send it from their mail client: the outbox looks in
            # Sent before it ever sends this draft itself.
            row.published_at = now
        report.published.append(draft.id)
        log.info("draft %s put into %s (UID %s)", draft.id, folder, uid)

    def _sent_in_store(self, draft: Draft) -> datetime | None:
        """Our reply to the same message, stored by the sync from Sent after the draft was made."""
        with self.factory() as session:
            query = select(Message.date, Message.internal_date).where(
                Message.mailbox_id == draft.mailbox_id, Message.direction == "outbound"
            )
            if draft.in_reply_to:
                query = query.where(
                    (Message.message_id == draft.message_id)
                    | (Message.in_reply_to == draft.in_reply_to)
                )
            else:
                query = query.where(Message.message_id == draft.message_id)
            for date, internal in session.execute(query):
                when = date or internal
                if when is not None and when >= draft.created_at - timedelta(minutes=1):
                    return when
        return None

    def _sent_on_server(self, draft: Draft) -> bool:
        folder = self._folder("sent")
        if folder is None:
            return False
        conn = self._connection()
        conn.examine(folder)
        criteria: list[Any] = ["HEADER", "Message-ID", draft.message_id]
        if conn.search(criteria):
            return True
        if draft.in_reply_to:
            since = (draft.created_at - timedelta(days=1)).date()
            return bool(conn.search(["SINCE", since, "HEADER", "In-Reply-To", draft.in_reply_to]))
        return False

    def _check(self, draft: Draft, now: datetime, report: ReconcileReport) -> None:
        sent_at = self._sent_in_store(draft)
        if sent_at is None and self._still_in_drafts(draft, report):
            return
        if sent_at is None and self._sent_on_server(draft):
            sent_at = now
        values: dict[str, Any] = {"updated_at": now, "mailbox_draft_uid": None}
        if sent_at is not None:
            values.update(status="sent", sent_at=sent_at, last_error=None)
        else:
            values.update(status="rejected", last_error="deleted from the Drafts folder")
        with transaction(self.factory) as session:
            changed = cast(
                CursorResult[Any],
                session.execute(
                    update(Draft)
                    .where(Draft.id == draft.id, Draft.status == "pending")
                    .values(**values)
                ),
            ).rowcount
        if changed != 1:
            return  # decided in mailwatch meanwhile: the outbox checks Sent before sending
        if sent_at is not None:
            report.sent.append(draft.id)
            log.info("draft %s was sent from the mail client", draft.id)
        else:
            report.rejected.append(draft.id)
            log.info("draft %s was deleted from the Drafts folder: rejected", draft.id)

    def _still_in_drafts(self, draft: Draft, report: ReconcileReport) -> bool:
        folder = self._folder("drafts")
        if folder is None:
            return True  # cannot tell: leave it pending
        conn = self._connection()
        status = conn.examine(folder)
        uid = draft.mailbox_draft_uid
        same_folder = status.uidvalidity == draft.mailbox_draft_uidvalidity
        if same_folder and uid and uid in conn.search(["UID", str(uid)]):
            return True
        # Saved again after an edit (new UID), or the folder was rebuilt: look it up.
        found: list[int] = conn.search(["HEADER", "Message-ID", draft.message_id])
        if not found and draft.in_reply_to:
            found = conn.search(["HEADER", "In-Reply-To", draft.in_reply_to])
        if not found:
            return False
        with transaction(self.factory) as session:
            row = session.get_one(Draft, draft.id)
            row.mailbox_draft_uid = found[-1]
            row.mailbox_draft_uidvalidity = status.uidvalidity
        report.moved.append(draft.id)
        return True

    def _remove(self, draft: Draft, report: ReconcileReport) -> None:
        """Decided in mailwatch: take our copy out of the Drafts folder."""
        folder = self._folder("drafts")
        conn = self._connection()
        if folder is not None and conn.client is not None:
            conn._call(conn.client.select_folder, folder)
            conn.selected = folder
            status_uidvalidity = int(
                conn._call(conn.client.folder_status, folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]
            )
            if status_uidvalidity == draft.mailbox_draft_uidvalidity and draft.mailbox_draft_uid:
                uid = draft.mailbox_draft_uid
                if conn.search(["UID", str(uid), "HEADER", "Message-ID", draft.message_id]):
                    conn._call(conn.client.add_flags, [uid], [b"\\Deleted"])
                    if "UIDPLUS" in conn.capabilities:
                        conn._call(conn.client.uid_expunge, [uid])
        with transaction(self.factory) as session:
            row = session.get_one(Draft, draft.id)
            row.mailbox_draft_uid = None
        report.removed.append(draft.id)


def reconcile_all(
    factory: sessionmaker[Session], settings: Settings, now: datetime
) -> list[ReconcileReport]:
    if not settings.drafts_to_mailbox:
        return []
    reports = []
    for mailbox in settings.mailboxes:
        try:
            reports.append(DraftsFolder(factory, settings, mailbox).reconcile(now))
        except Exception as exc:  # one mailbox's trouble must not stop the others
            log.warning("Drafts folder of %s: %s", mailbox.name, exc)
    return reports
