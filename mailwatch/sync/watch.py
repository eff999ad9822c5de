"""Keep a mailbox in sync: IDLE where the server has it, polling otherwise, reconnecting
with backoff and jitter. Runs in its own thread (imapclient blocks); one connection each.

Fetching that silently stops is the classic failure of mail tools, so: every wait has a
deadline, a dead link raises instead of looking quiet, IDLE is re-issued well before the
29-minute limit, and each wake-up runs a full UID reconciliation pass.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from mailwatch.config import Settings
from mailwatch.core.backoff import Backoff
from mailwatch.service.lease import LeaseLost
from mailwatch.store.mail import MailStore
from mailwatch.sync.engine import MailboxSync, SyncReport
from mailwatch.sync.imap import MailAccessError

log = logging.getLogger(__name__)

NEWS = (b"EXISTS", b"EXPUNGE", b"FETCH", b"RECENT", b"VANISHED")


class MailboxWatcher:
    def __init__(
        self,
        syncer: MailboxSync,
        settings: Settings,
        stop: threading.Event,
        on_report: Callable[[SyncReport], None] | None = None,
    ) -> None:
        self.syncer = syncer
        self.settings = settings
        self.stop = stop
        self.on_report = on_report
        self.backoff = Backoff(initial=1.0, maximum=300.0)
        self.passes = 0

    def run(self) -> None:
        name = self.syncer.mailbox.name
        while not self.stop.is_set():
            try:
                report = self.syncer.sync_once()
                self.passes += 1
                self.backoff.reset()
                log.info(
                    "sync pass done",
                    extra={
                        "mailbox": name,
                        "new": report.new,
                        "flags": report.flags_changed,
                        "commands": report.commands,
                        "seconds": round(report.seconds, 3),
                    },
                )
                if self.on_report is not None:
                    self.on_report(report)
                self.wait_for_news()
            except LeaseLost as exc:  # another worker syncs this mailbox now: stop, write nothing
                # One line per lost mailbox: when told to stop, whoever stopped us said why.
                level = logging.DEBUG if self.stop.is_set() else logging.WARNING
                log.log(level, "mailbox %s: stopped syncing it, nothing written: %s", name, exc)
                break
            except MailAccessError as exc:
                delay = self.backoff.next_delay()
                if not exc.retryable:
                    delay = max(delay, 60.0)
                if exc.retry_after is not None:  # e.g. Office 365's "Suggested Backoff Time"
                    delay = max(delay, exc.retry_after)
                log.warning("mailbox %s: %s; retrying in %.0f s", name, exc, delay)
                self._record(str(exc))
                self.syncer.close()
                self.stop.wait(delay)
            except Exception as exc:  # a bug must not end the watch: log it, back off, go on
                delay = self.backoff.next_delay()
                log.exception("mailbox %s: unexpected error; retrying in %.0f s", name, delay)
                self._record(f"{exc.__class__.__name__}: {exc}")
                self.syncer.close()
                self.stop.wait(delay)
        self.syncer.close()

    def _record(self, error: str) -> None:
        try:
            self.syncer.store.record_mailbox_error(self.syncer.mailbox_id, error)
        except Exception:
            log.exception("cannot record the mailbox error in the store")

    def wait_for_news(self) -> None:
        """Block until the server reports news, the poll interval passes, or we are stopped."""
        conn = self.syncer.conn
        window = min(self.settings.idle_renew, self.settings.poll_interval).total_seconds()
        inbox = self.syncer.roles.get("inbox", "INBOX")
        if not conn.has_idle:
            self.stop.wait(window)
            return
        conn.examine(inbox)
        conn.idle_start()
        deadline = time.monotonic() + window
        news = False
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                responses = conn.idle_wait(min(1.0, max(0.0, deadline - time.monotonic())))
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] in NEWS for r in responses):
                    news = True
                    break
        finally:
            if conn.client is not None and conn.idling:
                conn.idle_stop()
        if news:
            log.debug("IDLE: news in %s", inbox)


async def watch_all(
    settings: Settings,
    store: MailStore,
    stop: asyncio.Event,
    on_report: Callable[[SyncReport], None] | None = None,
) -> None:
    """Run one watcher thread per mailbox until ``stop`` is set."""
    halt = threading.Event()
    watchers = [
        MailboxWatcher(MailboxSync(settings, mailbox, store), settings, halt, on_report)
        for mailbox in settings.mailboxes
    ]
    tasks = [asyncio.create_task(asyncio.to_thread(w.run)) for w in watchers]
    try:
        await stop.wait()
    finally:
        halt.set()
        await asyncio.gather(*tasks, return_exceptions=True)
