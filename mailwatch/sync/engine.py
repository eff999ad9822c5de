"""One sync pass over a mailbox: new mail by UID, UIDVALIDITY changes, flag changes.

Per folder:
1. EXAMINE (read-only) gives UIDVALIDITY, UIDNEXT and, with CONDSTORE, HIGHESTMODSEQ.
   An unchanged folder costs this one command and nothing else.
2. New UIDs above the checkpoint (limited to the backfill window) are fetched in batches:
   headers + BODYSTRUCTURE + FLAGS + INTERNALDATE first, then a bounded prefix of the
   first text part of the messages not already stored (BODY.PEEK: never sets \\Seen).
   Each batch is stored with its checkpoint in one transaction.
3. Flags: CHANGEDSINCE with CONDSTORE; otherwise a periodic scan of a recent window.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mailwatch.auth.tokens import imap_provider
from mailwatch.config import MailboxSettings, Settings
from mailwatch.core.bodystructure import TextPart, choose_text_part
from mailwatch.core.folders import map_folder_roles
from mailwatch.core.message import FETCHED_HEADERS
from mailwatch.core.parse import (
    normalize_message_id,
    parse_fetched_headers,
    split_header_block,
    unparseable,
)
from mailwatch.core.uidset import batches, compact
from mailwatch.errors import MailAccessError
from mailwatch.mail.imap import ConnectionLost, FolderStatus, ImapConnection
from mailwatch.store.mail import FetchedMessage, FolderState, MailStore

log = logging.getLogger(__name__)

SYNCED_ROLES = ("inbox", "sent")
HEADER_ITEM = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(h.upper() for h in FETCHED_HEADERS))
META_ITEMS = ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "BODYSTRUCTURE", HEADER_ITEM)

Progress = Callable[[str, int, int], None]  # folder, done, total
AfterBatch = Callable[[int], None]  # mailbox id; a batch of new messages was just committed


@dataclass
class FolderReport:
    folder: str
    role: str | None
    new: int = 0
    relocated: int = 0
    flags_changed: int = 0
    parse_errors: int = 0
    uidvalidity_reset: bool = False


@dataclass
class SyncReport:
    mailbox: str
    folders: list[FolderReport] = field(default_factory=list)
    commands: int = 0
    seconds: float = 0.0

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    @property
    def flags_changed(self) -> int:
        return sum(f.flags_changed for f in self.folders)

    @property
    def parse_errors(self) -> int:
        return sum(f.parse_errors for f in self.folders)


def _find(data: dict[bytes, Any], prefix: bytes) -> Any:
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix):
            return value
    return None


class MailboxSync:
    """Syncs one mailbox over one connection; not thread-safe (one thread per mailbox)."""

    def __init__(
        self,
        settings: Settings,
        mailbox: MailboxSettings,
        store: MailStore,
        connection: ImapConnection | None = None,
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_batch: AfterBatch | None = None,
    ) -> None:
        """``after_batch``: called after each committed batch of new mail (the tracker's
        ``feed``, which hands the rows to the analysis workers while the next batch is
        fetched)."""
        self.settings = settings
        self.mailbox = mailbox
        self.store = store
        self.conn = connection or ImapConnection(
            mailbox.imap, timeout=settings.imap_timeout, token_provider=imap_provider(mailbox)
        )
        self.progress = progress
        self.now = now
        self.after_batch = after_batch
        self.mailbox_id = store.ensure_mailbox(mailbox.name, mailbox.imap.username)
        self.roles: dict[str, str] = {}
        # Each folder's EXAMINE answer at its last pass (what the store's checkpoint reflects).
        self.seen: dict[str, FolderStatus] = {}

    # -- connection ---------------------------------------------------------------------------

    def ensure_connected(self) -> None:
        if self.conn.client is None:
            self.conn.connect()
            self.roles = {}
        if not self.roles:
            self.roles = map_folder_roles(self.conn.list_folders())
            if "sent" not in self.roles:
                log.warning(
                    "mailbox %s: no Sent folder found (SPECIAL-USE or usual names); "
                    "our replies will only be seen through the \\Answered flag",
                    self.mailbox.name,
                )

    def close(self) -> None:
        self.conn.close()

    # -- a full pass ----------------------------------------------------------------------------

    def sync_once(self) -> SyncReport:
        started = time.monotonic()
        commands_before = self.conn.commands
        self.ensure_connected()
        report = SyncReport(self.mailbox.name)
        for role in SYNCED_ROLES:
            name = self.roles.get(role)
            if name is not None:
                report.folders.append(self.sync_folder(name, role))
        report.commands = self.conn.commands - commands_before
        report.seconds = time.monotonic() - started
        self.store.record_mailbox_error(self.mailbox_id, None)
        return report

    def sync_folder(self, name: str, role: str | None) -> FolderReport:
        report = FolderReport(folder=name, role=role)
        folder = self.store.folder(self.mailbox_id, name, role)
        status = self.conn.examine(name)
        self.seen[name] = status
        if folder.uidvalidity != status.uidvalidity:
            report.uidvalidity_reset = folder.uidvalidity is not None
            folder = self.store.reset_for_uidvalidity(folder, status.uidvalidity)
        if folder.last_uid == 0 and not folder.backfill_done and folder.backfill_since is None:
            days = self.mailbox.backfill_days
            since = (self.now() - timedelta(days=days)).date() if days > 0 else None
            folder = self.store.start_backfill(folder, since)
        if status.uidnext is None or folder.uidnext != status.uidnext or not folder.backfill_done:
            folder = self._fetch_new(folder, status, report)
        flag_scan_at = self._sync_flags(folder, status, report)
        self.store.finish_folder_pass(
            folder,
            uidnext=status.uidnext,
            highestmodseq=status.highestmodseq,
            backfill_done=True,
            flag_scan_at=flag_scan_at,
        )
        return report

    def changed_since_pass(self, status: FolderStatus) -> bool:
        """True when ``status`` (a fresh EXAMINE) differs from what the last pass stored.

        Mail that arrived while the pass or the tracking after it ran shows as a new UIDNEXT
        or EXISTS; going into IDLE without this check would leave it unseen until the next
        message or the IDLE renewal.
        """
        before = self.seen.get(status.name)
        if before is None or before.uidvalidity != status.uidvalidity:
            return True
        return before.uidnext != status.uidnext or before.exists != status.exists

    # -- new messages ---------------------------------------------------------------------

    def _fetch_new(
        self, folder: FolderState, status: FolderStatus, report: FolderReport
    ) -> FolderState:
        if status.exists == 0:
            return folder
        uids = self.conn.search_uids(folder.last_uid, folder.backfill_since)
        total = len(uids)
        done = 0
        if self.progress and total:
            self.progress(folder.name, 0, total)
        for batch in batches(uids, self.settings.fetch_batch):
            fetched = self._fetch_batch(folder, batch)
            result, folder = self.store.save_batch(folder, fetched, checkpoint_uid=batch[-1])
            report.new += result.stored
            report.relocated += result.relocated
            report.parse_errors += result.parse_errors
            if result.stored and self.after_batch is not None:
                try:
                    self.after_batch(self.mailbox_id)
                except Exception:  # the rows stay unanalysed: the tracking pass reads them
                    log.exception("analysis during the sync failed; the tracking pass retries")
            done += len(batch)
            if self.progress:
                self.progress(folder.name, done, total)
        return folder

    def _fetch_batch(self, folder: FolderState, uids: list[int]) -> list[FetchedMessage]:
        try:
            meta = self.conn.fetch(compact(uids), META_ITEMS)
        except MailAccessError:
            raise
        except Exception as exc:
            # One unreadable response spoils the whole batch: fetch one by one to isolate it.
            if len(uids) == 1:
                log.warning("message UID %s in %s cannot be fetched: %s", uids[0], folder.name, exc)
                return [self._kept_aside(folder, uids[0], f"fetch failed: {exc}")]
            log.info("batch fetch failed in %s (%s); retrying one by one", folder.name, exc)
            result: list[FetchedMessage] = []
            for uid in uids:
                result.extend(self._fetch_batch(folder, [uid]))
            return result
        parts: dict[int, TextPart | None] = {}
        for uid, data in meta.items():
            try:
                parts[uid] = choose_text_part(data.get(b"BODYSTRUCTURE"))
            except Exception:
                parts[uid] = None
        headers: dict[int, dict[str, bytes] | Exception] = {}
        for uid, data in meta.items():
            try:
                headers[uid] = split_header_block(_find(data, b"BODY[HEADER") or b"")
            except Exception as exc:  # never expected; the message is kept aside below
                headers[uid] = exc
        # Only messages not stored yet need their text (a Sent copy of a known message doesn't).
        keys = {}
        for uid, fields in headers.items():
            mid = (
                normalize_message_id(fields.get("message-id")) if isinstance(fields, dict) else None
            )
            if mid:
                keys[uid] = mid
        known = self.store.known_keys(self.mailbox_id, keys.values())
        # A known Message-ID on a different message (a reused id) is a new row: it needs its
        # text too. Only those few are parsed here, from their headers alone.
        stored: set[int] = set()
        for uid, mid in keys.items():
            fields = headers[uid]
            if (
                mid in known
                and isinstance(fields, dict)
                and self.store.is_stored(self.mailbox_id, parse_fetched_headers(fields))
            ):
                stored.add(uid)
        bodies = self._fetch_text({uid: part for uid, part in parts.items() if uid not in stored})
        fetched: list[FetchedMessage] = []
        for uid in uids:
            found = meta.get(uid)
            if found is None:
                continue  # expunged between SEARCH and FETCH
            data = found
            part = parts.get(uid)
            try:
                fields = headers[uid]
                if isinstance(fields, Exception):
                    raise fields
                parsed = parse_fetched_headers(
                    fields,
                    bodies.get(uid, b""),
                    transfer_encoding=part.encoding if part else None,
                    charset=part.charset if part else None,
                    body_subtype=part.subtype if part else "plain",
                )
            except Exception as exc:  # parse_fetched should never raise; belt and braces
                log.warning("message UID %s in %s kept aside: %s", uid, folder.name, exc)
                parsed = unparseable(
                    f"parse failed: {exc}", (folder.name, str(folder.uidvalidity), str(uid))
                )
            internal = data.get(b"INTERNALDATE")
            if isinstance(internal, datetime) and internal.tzinfo is None:
                internal = internal.replace(tzinfo=UTC)
            size = data.get(b"RFC822.SIZE")
            flags = tuple(
                f.decode(errors="replace") if isinstance(f, bytes) else str(f)
                for f in data.get(b"FLAGS", ())
            )
            fetched.append(
                FetchedMessage(
                    uid=uid,
                    flags=flags,
                    internal_date=internal if isinstance(internal, datetime) else None,
                    size=int(size) if isinstance(size, int) else None,
                    parsed=parsed,
                )
            )
        return fetched

    def _kept_aside(self, folder: FolderState, uid: int, reason: str) -> FetchedMessage:
        return FetchedMessage(
            uid=uid,
            flags=(),
            internal_date=None,
            size=None,
            parsed=unparseable(reason, (folder.name, str(folder.uidvalidity), str(uid))),
        )

    def _fetch_text(self, parts: dict[int, TextPart | None]) -> dict[int, bytes]:
        """Fetch a prefix of each message's text part, one command per distinct section."""
        limit = self.settings.text_prefix_bytes
        by_section: dict[str, list[int]] = defaultdict(list)
        for uid, part in parts.items():
            by_section[part.section if part else "TEXT"].append(uid)
        bodies: dict[int, bytes] = {}
        for section, uids in by_section.items():
            item = f"BODY.PEEK[{section}]<0.{limit}>"
            prefix = f"BODY[{section}]".encode()
            for chunk in batches(uids, 1000):
                try:
                    data = self.conn.fetch(compact(chunk), [item])
                except MailAccessError:
                    raise
                except Exception as exc:
                    log.warning(
                        "text fetch of section %s failed (%s); messages kept without text",
                        section,
                        exc,
                    )
                    continue
                for uid, values in data.items():
                    body = _find(values, prefix)
                    if isinstance(body, bytes):
                        bodies[uid] = body
        return bodies

    # -- flags --------------------------------------------------------------------------------

    def _sync_flags(
        self, folder: FolderState, status: FolderStatus, report: FolderReport
    ) -> datetime | None:
        if folder.last_uid == 0:
            return None
        if self.conn.has_condstore and status.highestmodseq is not None:
            if folder.highestmodseq is None or status.highestmodseq <= folder.highestmodseq:
                return None
            data = self.conn.fetch(
                f"1:{folder.last_uid}",
                ["FLAGS"],
                modifiers=[f"CHANGEDSINCE {folder.highestmodseq}"],
            )
            report.flags_changed += self.store.update_flags(
                folder, _flags(data), status.highestmodseq
            )
            return None
        now = self.now()
        due = (
            folder.last_flag_scan_at is None
            or now - folder.last_flag_scan_at >= self.settings.flag_scan_interval
        )
        if not due:
            return None
        recent = self.store.uids_since(folder, now - timedelta(days=self.settings.flag_scan_days))
        if recent:
            data = self.conn.fetch(f"{min(recent)}:{folder.last_uid}", ["FLAGS"])
            report.flags_changed += self.store.update_flags(folder, _flags(data), None)
        return now


def _flags(data: dict[int, dict[bytes, Any]]) -> dict[int, list[str]]:
    return {
        uid: [
            f.decode(errors="replace") if isinstance(f, bytes) else str(f)
            for f in values.get(b"FLAGS", ())
        ]
        for uid, values in data.items()
    }


__all__ = ["ConnectionLost", "MailboxSync", "SyncReport"]
