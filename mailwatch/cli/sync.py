"""``mailwatch sync``: one pass over the mailboxes (``--once``), or the service without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from mailwatch.cli.context import engine, loading, settings
from mailwatch.cli.output import console, print_problem
from mailwatch.cli.service import run
from mailwatch.config import Settings
from mailwatch.errors import LeaseLost, MailAccessError
from mailwatch.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from mailwatch.track.tracker import Tracker

__all__ = ["refresh_tracking", "start_tracking", "sync"]


def sync(
    once: Annotated[bool, typer.Option("--once", help="one full pass, then exit")] = False,
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="only this mailbox")] = None,
) -> None:
    """Sync the mailboxes: backfill, new mail and flag changes."""
    if not once:
        cfg = settings()
        cfg.require_mailboxes()
        run()
        return
    with loading():  # a backfill allocates millions of objects: not scanning these each time
        # lazy: keeps --help fast (SQLAlchemy, imapclient)
        from mailwatch.store import leases as lease
        from mailwatch.store.db import session_factory
        from mailwatch.store.mail import MailStore
        from mailwatch.sync.engine import MailboxSync
        from mailwatch.sync.progress import progress_reporter

        cfg = settings()
        cfg.require_mailboxes()
        targets = [cfg.mailbox(mailbox)] if mailbox else list(cfg.mailboxes)
        store = MailStore(
            session_factory(engine(cfg)), cfg.own_addresses, cfg.thread_subject_window
        )
        tracker = start_tracking(cfg, store.factory)
    owner = lease.new_owner_id()
    ttl = timedelta(seconds=cfg.value("LEASE_TTL"))
    failed = False
    flags_changed = False
    for target in targets:
        # The mailbox's lease, like a worker's: never two writers on one mailbox.
        name = lease.mailbox_lease(target.name)
        held = lease.acquire(store.factory, name, owner, ttl)
        if not held.acquired:
            failed = True
            until = held.expires_at.isoformat(timespec="seconds") if held.expires_at else "?"
            print_problem(
                target.name,
                _(
                    "not synced: another process (%(owner)s) holds this mailbox's lease until "
                    "%(until)s; it is syncing it already",
                    owner=held.owner,
                    until=until,
                ),
            )
            continue
        renewing = lease.Renewer(store.factory, name, owner, ttl, held.generation)
        with progress_reporter(console, target.name) as progress, renewing:
            syncer = MailboxSync(
                cfg,
                target,
                store,
                progress=progress,
                after_batch=tracker.feed if tracker is not None else None,
                preparer=tracker.preparer() if tracker is not None else None,
            )
            fence = lease.Fence(name, owner, held.generation, ttl.total_seconds())
            store.fence(syncer.mailbox_id, fence)
            try:
                report = syncer.sync_once()
            except (MailAccessError, LeaseLost) as exc:  # reported; the next mailbox runs
                failed = True
                if isinstance(exc, MailAccessError):
                    store.record_mailbox_error(syncer.mailbox_id, str(exc))
                print_problem(target.name, exc)
                continue
            finally:
                syncer.close()
                lease.release(store.factory, name, owner, held.generation)
        flags_changed = flags_changed or report.flags_changed > 0
        # one sentence with several counts: "label: count" forms in the catalogs, no plurals
        # (bench/backfill.py and scripts parse the English line as it was)
        folders = ", ".join(
            _("%(folder)s: %(num)d new", folder=f.folder, num=f.new) for f in report.folders
        )
        extra = (
            _(", %(num)d kept aside unreadable", num=report.parse_errors)
            if report.parse_errors
            else ""
        )
        console.print(
            _(
                "%(mailbox)s: %(new)d new messages, %(flags)d flag changes%(aside)s "
                "(%(folders)s) in %(seconds).1f s, %(commands)d IMAP commands",
                mailbox=target.name,
                new=report.new,
                flags=report.flags_changed,
                aside=extra,
                folders=folders,
                seconds=report.seconds,
                commands=report.commands,
            ),
            highlight=False,
            soft_wrap=True,  # one line even when piped, for scripts that parse it
        )
    # Waiting threads are rechecked only when an \Answered flag may have come in (as the
    # service does): a pass with no flag change, or one cut short, leaves them as they are.
    refresh_tracking(cfg, store.factory, tracker, recheck_waiting=flags_changed or failed)
    if cfg.drafts_to_mailbox:
        # lazy: the Drafts-folder code (Jinja, the sender): ~40 ms of every pass's start-up
        from mailwatch.drafts.mailbox import reconcile_all

        reconcile_all(store.factory, cfg, datetime.now(UTC))
    if failed:
        raise typer.Exit(1)


def start_tracking(cfg: Settings, factory: sessionmaker[Session]) -> Tracker | None:
    """The tracker the sync feeds while it runs: new mail is analysed on another core while
    the sync fetches and stores (bench/backfill.py stubs this out with --no-tracking)."""
    from mailwatch.track.tracker import Tracker  # lazy: keeps --help fast

    return Tracker(factory, cfg)


def refresh_tracking(
    cfg: Settings,
    factory: sessionmaker[Session],
    tracker: Tracker | None = None,
    recheck_waiting: bool = True,
) -> None:
    """Thread states, promises and drafts after new mail (bench/backfill.py stubs it out)."""
    from mailwatch.track.tracker import Tracker  # lazy: keeps --help fast

    tracker = tracker or Tracker(factory, cfg)
    try:
        tracker.refresh(recheck_waiting=recheck_waiting)
    finally:
        tracker.close()
