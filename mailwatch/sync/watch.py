"""Keep a mailbox in sync: IDLE where the server has it, polling otherwise, reconnecting
with backoff and jitter. Runs in its own thread (imapclient blocks); one connection each,
plus one for Sent.

Fetching that silently stops is the classic failure of mail tools, so: every wait has a
deadline, a dead link raises instead of looking quiet, IDLE is re-issued well before the
29-minute limit, and each wake-up runs a full UID reconciliation pass.

No message is missed between passes:

- news the server sends during any command (``* 12 EXISTS`` in the middle of a FETCH) is
  kept by the connection (``ImapConnection.news``) and starts another pass at once;
- before going into IDLE the inbox is examined again and its UIDNEXT/EXISTS compared with
  what the last pass stored: mail that came while the pass or the tracking ran is fetched
  now, not when the next message arrives or IDLE is renewed;
- Sent is watched on a second connection (IDLE, or a short poll where the server has no
  IDLE), so a reply written in Outlook closes its thread within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from mailwatch.config import Settings
from mailwatch.core.backoff import Backoff
from mailwatch.errors import LeaseLost
from mailwatch.store.mail import MailStore
from mailwatch.sync.engine import MailboxSync, SyncReport
from mailwatch.sync.imap import ImapConnection, MailAccessError

log = logging.getLogger(__name__)

NEWS = (b"EXISTS", b"EXPUNGE", b"FETCH", b"RECENT", b"VANISHED")
SENT_POLL = 15.0  # seconds between looks at Sent on a server without IDLE
IDLE_TICK = 1.0  # how often a wait in IDLE looks at the stop and wake events


def has_news(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] in NEWS for r in responses)


class MailboxWatcher:
    def __init__(
        self,
        syncer: MailboxSync,
        settings: Settings,
        stop: threading.Event,
        on_report: Callable[[SyncReport], None] | None = None,
        watch_sent: bool = True,
    ) -> None:
        self.syncer = syncer
        self.settings = settings
        self.stop = stop
        self.on_report = on_report
        self.backoff = Backoff(initial=1.0, maximum=300.0)
        self.passes = 0
        self.wake = threading.Event()  # set by the Sent watcher: run a pass now
        self.watch_sent = watch_sent
        self.sent_watcher: SentWatcher | None = None
        # The Sent watcher's own stop: set when this watcher ends, whatever ended it.
        self.sent_stop = threading.Event()

    def run(self) -> None:
        name = self.syncer.mailbox.name
        try:
            while not self.stop.is_set():
                try:
                    self.wake.clear()  # this pass covers Sent too
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
                    self._start_sent_watcher()
                    self.wait_for_news()
                except LeaseLost as exc:  # another worker syncs this mailbox now: write nothing
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
        finally:
            self.sent_stop.set()  # also when the loop ended on a lost lease, not on ``stop``
            self.syncer.close()
            if self.sent_watcher is not None:
                self.sent_watcher.join()

    def _record(self, error: str) -> None:
        try:
            self.syncer.store.record_mailbox_error(self.syncer.mailbox_id, error)
        except Exception:
            log.exception("cannot record the mailbox error in the store")

    def _start_sent_watcher(self) -> None:
        sent = self.syncer.roles.get("sent")
        if not self.watch_sent or sent is None or self.sent_watcher is not None:
            return
        self.sent_watcher = SentWatcher(self.syncer, sent, self.settings, self.sent_stop, self.wake)
        self.sent_watcher.start()

    def wait_for_news(self) -> None:
        """Block until there is something to fetch, the poll interval passes, or we stop.

        Returns at once when news came during the pass, or when the inbox changed since
        the pass looked at it; otherwise waits in IDLE (or sleeps where there is none).
        """
        conn = self.syncer.conn
        window = min(self.settings.idle_renew, self.settings.poll_interval).total_seconds()
        inbox = self.syncer.roles.get("inbox", "INBOX")
        if conn.take_news() or self.wake.is_set():
            log.debug("news during the pass in %s: syncing again", self.syncer.mailbox.name)
            return
        status = conn.examine(inbox)
        if self.syncer.changed_since_pass(status):
            log.debug("%s changed during the pass: syncing again", inbox)
            return
        if not conn.has_idle:
            deadline = time.monotonic() + window
            while not self.stop.is_set() and not self.wake.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.wake.wait(min(left, IDLE_TICK))
            return
        conn.idle_start()
        deadline = time.monotonic() + window
        news = conn.take_news(inbox)  # an EXISTS that came just before "+ idling"
        try:
            while not news and not self.stop.is_set() and not self.wake.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                news = has_news(conn.idle_wait(min(IDLE_TICK, left)))
        finally:
            if conn.client is not None and conn.idling:
                conn.idle_stop()
        if news:
            log.debug("IDLE: news in %s", inbox)


class SentWatcher:
    """Watches Sent on its own connection and wakes the mailbox's watcher when it changes.

    IDLE on Sent where the server has it; otherwise a look (EXAMINE) every ``SENT_POLL``
    seconds. The pass that follows fetches the reply and tracking closes the thread.
    A failure here only slows the detection down to the main watcher's own rhythm: it is
    logged, and the connection is re-made with backoff.
    """

    def __init__(
        self,
        syncer: MailboxSync,
        folder: str,
        settings: Settings,
        stop: threading.Event,
        wake: threading.Event,
        connection: ImapConnection | None = None,
    ) -> None:
        mailbox = syncer.mailbox
        self.syncer = syncer
        self.folder = folder
        self.settings = settings
        self.stop = stop
        self.wake = wake
        # The same token source as the main connection: one token cache per mailbox.
        self.conn = connection or ImapConnection(
            mailbox.imap,
            timeout=settings.imap_timeout,
            token_provider=syncer.conn.token_provider,
        )
        self.backoff = Backoff(initial=1.0, maximum=300.0)
        self.thread: threading.Thread | None = None
        self.wakes = 0

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.run, name=f"sent-{self.syncer.mailbox.name}", daemon=True
        )
        self.thread.start()

    def join(self, timeout: float = 5.0) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _notify(self, why: str) -> None:
        self.wakes += 1
        log.debug("%s: %s; waking the sync", self.folder, why)
        self.wake.set()

    def run(self) -> None:
        name = self.syncer.mailbox.name
        try:
            while not self.stop.is_set():
                try:
                    self.watch_once()
                    self.backoff.reset()
                except MailAccessError as exc:
                    delay = max(self.backoff.next_delay(), exc.retry_after or 0.0)
                    log.warning(
                        "mailbox %s: watching %s: %s; retrying in %.0f s",
                        name,
                        self.folder,
                        exc,
                        delay,
                    )
                    self.conn.close()
                    self.stop.wait(delay)
                except Exception:
                    delay = self.backoff.next_delay()
                    log.exception(
                        "mailbox %s: watching %s failed; retrying in %.0f s",
                        name,
                        self.folder,
                        delay,
                    )
                    self.conn.close()
                    self.stop.wait(delay)
        finally:
            self.conn.close()

    def watch_once(self) -> None:
        """Connect if needed, compare Sent with the last pass, then wait for news in it."""
        conn = self.conn
        if conn.client is None:
            conn.connect()
        status = conn.examine(self.folder)
        if self.syncer.changed_since_pass(status):
            self._notify("changed since the last pass")
            # Give the pass a moment to run before comparing again.
            self.stop.wait(IDLE_TICK)
            return
        window = min(self.settings.idle_renew.total_seconds(), 600.0)
        if not conn.has_idle:
            self.stop.wait(SENT_POLL)
            return
        conn.idle_start()
        deadline = time.monotonic() + window
        news = conn.take_news(self.folder)
        try:
            while not news and not self.stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                news = has_news(conn.idle_wait(min(IDLE_TICK, left)))
        finally:
            if conn.client is not None and conn.idling:
                conn.idle_stop()
        if news:
            self._notify("news in IDLE")
            self.stop.wait(IDLE_TICK)


async def watch_all(
    settings: Settings,
    store: MailStore,
    stop: asyncio.Event,
    on_report: Callable[[SyncReport], None] | None = None,
) -> None:
    """Run one watcher thread per mailbox until ``stop`` is set.

    Dedicated threads, not ``asyncio.to_thread``: the loop's default pool has min(32, cores + 4)
    workers (6 on 2 cores), so with more mailboxes than that the rest never started, and the
    lease renewal and ``/healthz`` (which use the same pool) waited behind the watchers.
    """
    halt = threading.Event()
    watchers = [
        MailboxWatcher(MailboxSync(settings, mailbox, store), settings, halt, on_report)
        for mailbox in settings.mailboxes
    ]
    threads = [
        threading.Thread(target=w.run, name=f"watch-{w.syncer.mailbox.name}", daemon=True)
        for w in watchers
    ]
    for thread in threads:
        thread.start()
    try:
        await stop.wait()
    finally:
        halt.set()
        for thread in threads:
            await asyncio.to_thread(thread.join)
