"""The watcher's pieces against real Dovecot: news kept during commands, the check before
IDLE, and Sent watched on its own connection."""

from __future__ import annotations

import threading
import time

from mailwatch.sync.watch import MailboxWatcher, SentWatcher
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until


def harness(imap_user, tmp_path) -> Harness:
    return Harness(
        make_settings(imap_user, sqlite_url(tmp_path), poll_interval="10m", idle_renew="10m")
    )


def test_news_sent_during_a_command_is_kept(imap_user, tmp_path):
    h = harness(imap_user, tmp_path)
    try:
        h.sync()
        conn = h.syncer.conn
        conn.examine("INBOX")
        assert not conn.take_news()
        imap_user.server.append(imap_user.username, "INBOX", make_msg())

        # A UID SEARCH, not a NOOP: Dovecot tells about the new mail in its answer.
        def told() -> bool:
            conn.search_uids(0, None)
            return bool(conn.news)

        wait_until(told, 5, "Dovecot told of the new mail in a UID SEARCH answer", interval=0.01)
        assert conn.take_news("INBOX")
        assert not conn.take_news("INBOX")  # taken once
        # A SELECT's own EXISTS is its answer, not news.
        conn.examine("INBOX")
        assert not conn.take_news()
    finally:
        h.close()


def test_mail_arriving_during_the_pass_is_fetched_before_idle(imap_user, tmp_path):
    """Append from inside on_report (while tracking would run): no wait for IDLE or a poll."""
    h = harness(imap_user, tmp_path)
    stop = threading.Event()
    appended: list[str] = []

    def during_tracking(report) -> None:
        if len(appended) < 3:
            mid = f"<during{len(appended)}@acme.test>"
            imap_user.server.append(imap_user.username, "INBOX", make_msg(msgid=mid))
            appended.append(mid)

    watcher = MailboxWatcher(h.syncer, h.settings, stop, on_report=during_tracking)
    thread = threading.Thread(target=watcher.run, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        wait_until(lambda: h.count() == 3, 10, "the 3 messages appended during the pass")
        assert time.monotonic() - started < 3
        assert {s.name for s in h.syncer.seen.values()} >= {"INBOX"}
    finally:
        stop.set()
        thread.join(15)
        h.close()
    assert not thread.is_alive()
    assert watcher.passes >= 4  # the first pass, then one per message found before IDLE


def test_changed_since_pass_compares_uidnext_and_exists(imap_user, tmp_path):
    h = harness(imap_user, tmp_path)
    try:
        imap_user.server.append(imap_user.username, "INBOX", make_msg())
        h.sync()
        conn = h.syncer.conn
        assert not h.syncer.changed_since_pass(conn.examine("INBOX"))
        imap_user.server.append(imap_user.username, "INBOX", make_msg())
        assert h.syncer.changed_since_pass(conn.examine("INBOX"))
        h.sync()
        assert not h.syncer.changed_since_pass(conn.examine("INBOX"))
    finally:
        h.close()


def test_a_reply_appended_to_sent_wakes_the_watcher(imap_user, tmp_path):
    h = harness(imap_user, tmp_path)
    stop = threading.Event()
    watcher = MailboxWatcher(h.syncer, h.settings, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: watcher.passes >= 1 and watcher.sent_watcher is not None,
            10,
            "a first pass and a Sent watcher",
        )
        sent = watcher.sent_watcher
        assert isinstance(sent, SentWatcher) and sent.folder == "Sent Items"
        wait_until(lambda: sent.conn.idling, 10, "the Sent watcher in IDLE")
        passes = watcher.passes
        started = time.monotonic()
        imap_user.server.append(
            imap_user.username,
            "Sent Items",
            make_msg(sender=f"Sales <{imap_user.username}>", msgid="<out@example.com>"),
        )
        # The pass stores the message (count) before it counts itself (passes): wait for both.
        wait_until(
            lambda: h.count() == 1 and watcher.passes > passes, 10, "the reply in Sent stored"
        )
        assert time.monotonic() - started < 3
        assert sent.wakes >= 1
    finally:
        stop.set()
        thread.join(15)
        h.close()
    assert not thread.is_alive()
    assert not sent.thread.is_alive()


def test_mail_appended_just_before_idle_is_reported_at_once(imap_user, tmp_path):
    """Dovecot sends "* n EXISTS" in the same packet as "+ idling": it lands in imaplib's
    read buffer, where polling the socket cannot see it (it used to wait for the next mail)."""
    from mailwatch.mail.imap import ImapConnection
    from mailwatch.sync.watch import has_news

    settings = make_settings(imap_user, sqlite_url(tmp_path))
    conn = ImapConnection(settings.mailboxes[0].imap, timeout=10)
    conn.connect()
    try:
        for n in range(3):
            conn.examine("INBOX")
            imap_user.server.append(imap_user.username, "INBOX", make_msg())
            time.sleep(0.6 * n)  # before, while, and after Dovecot's own notify delay
            started = time.monotonic()
            conn.idle_start()
            news = conn.take_news("INBOX")
            while not news and time.monotonic() - started < 5:
                news = has_news(conn.idle_wait(1.0))
            conn.idle_stop()
            assert news and time.monotonic() - started < 1.5
    finally:
        conn.close()


def test_a_lost_lease_ends_the_watcher_and_its_sent_watcher(imap_user, tmp_path):
    """Scale-out: when another worker took the mailbox (its writes are refused), the watcher
    stops without writing, and so does its Sent connection, though nobody set ``stop``."""
    h = harness(imap_user, tmp_path)
    stop = threading.Event()
    watcher = MailboxWatcher(h.syncer, h.settings, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: watcher.passes >= 1 and watcher.sent_watcher is not None,
            10,
            "a first pass and a Sent watcher",
        )
        sent = watcher.sent_watcher
        assert sent is not None
        wait_until(lambda: sent.conn.idling, 10, "the Sent watcher in IDLE")
        h.syncer.store.revoke(h.syncer.mailbox_id)  # what the coordinator does on a lost lease
        imap_user.server.append(imap_user.username, "INBOX", make_msg(msgid="<late@x.test>"))
        wait_until(lambda: not thread.is_alive(), 15, "the watcher ends")
        wait_until(
            lambda: sent.thread is not None and not sent.thread.is_alive(),
            15,
            "the Sent watcher ends",
        )
        assert not stop.is_set()
        assert h.count() == 0  # nothing written under a lost lease
    finally:
        stop.set()
        thread.join(15)
        h.close()
    assert not thread.is_alive()
