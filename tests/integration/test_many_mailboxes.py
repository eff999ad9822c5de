"""More mailboxes than the event loop's default thread pool has workers (6 on 2 cores):
every one is watched, and the lease renewal and /healthz still answer."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mailwatch.store.mail import MailStore
from mailwatch.store.models import Mailbox
from mailwatch.sync.watch import watch_all
from tests.helpers import Harness, make_msg, make_settings, sqlite_url


@pytest.mark.timeout(120)
def test_ten_mailboxes_are_all_watched(dovecot, tmp_path):
    accounts = [dovecot.new_account("many") for _ in range(10)]
    for account in accounts:
        dovecot.append(account.username, "INBOX", make_msg())
    extra = {"mailboxes": ",".join(f"box{i}" for i in range(10))}
    for i, account in enumerate(accounts[1:], start=1):
        extra[f"box{i}_imap_username"] = account.username
        extra[f"box{i}_imap_password"] = account.password
    settings = make_settings(accounts[0], sqlite_url(tmp_path), poll_interval="10m", **extra)
    h = Harness(settings)
    store = MailStore(h.factory, settings.own_addresses, settings.thread_subject_window)
    synced: set[str] = set()
    done = threading.Event()

    def on_report(report) -> None:
        synced.add(report.mailbox)
        if len(synced) == 10:
            done.set()

    async def main() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(watch_all(settings, store, stop, on_report))
        # The loop's pool still serves other work while ten watchers run.
        pool_ok = await asyncio.wait_for(asyncio.to_thread(lambda: True), 10)
        ok = await asyncio.to_thread(done.wait, 60)
        stop.set()
        await asyncio.wait_for(task, 30)
        return ok and pool_ok

    try:
        assert asyncio.run(main()), f"only {sorted(synced)} were synced"
        with h.factory() as session:
            assert session.query(Mailbox).count() == 10
    finally:
        h.close()
