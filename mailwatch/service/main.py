"""``mailwatch run``: sync watchers, the scheduler and the web endpoints in one asyncio process.

SIGTERM / SIGINT: the watchers finish the batch they are storing (each batch is one
transaction), the scheduler waits for running jobs, the web server closes; nothing is left
half-written. Every process runs the scheduler; each due run is claimed in the database, so
it happens once across workers (mailwatch.service.schedule).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.engine import Engine, make_url

from mailwatch import clock
from mailwatch.config import PREFIX, Settings, is_loopback
from mailwatch.errors import ConfigError, UsageError
from mailwatch.i18n import _
from mailwatch.service import jobs as job_module
from mailwatch.service import workers
from mailwatch.service.backlog import first_started_at
from mailwatch.service.schedule import Daily, Entry, Every, Scheduler, period
from mailwatch.service.web import create_app
from mailwatch.store import claims
from mailwatch.store.db import session_factory
from mailwatch.store.leases import new_owner_id
from mailwatch.store.mail import MailStore
from mailwatch.store.models import Mailbox
from mailwatch.sync.engine import MailboxSync
from mailwatch.sync.watch import MailboxWatcher
from mailwatch.track.tracker import Tracker

log = logging.getLogger("mailwatch.service")

SHUTDOWN_BUDGET = 8.0
PRUNE_EVERY = 3600.0  # real seconds between two prunings of old job claims

# (job id, function, interval)
INTERVAL_JOBS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("sla-check", job_module.sla_job, {"minutes": 1}),
    ("promise-check", job_module.promise_job, {"minutes": 5}),
    ("follow-up-check", job_module.follow_up_job, {"minutes": 30}),
    ("outbox", job_module.outbox_job, {"seconds": 30}),
    ("drafts-folder", job_module.drafts_folder_job, {"minutes": 2}),
)
DIGEST_JOB = "daily-digest"

# Checks that look at what tracking found: run at once after a sync pass that changed something,
# instead of at their next interval (an acknowledgment due now is not left waiting a minute).
CHECK_JOBS = ("sla-check", "promise-check", "follow-up-check")


def build_schedule(settings: Settings) -> list[Entry]:
    """Every job's schedule: the interval checks, the outbox, and the digest at ``DIGEST_AT``
    on work days (local time: it stays at 08:30 across a change of summer time)."""
    entries: list[Entry] = [
        Every(job_id, period(timedelta(**every).total_seconds()))
        for job_id, _func, every in INTERVAL_JOBS
    ]
    entries.append(
        Daily(
            DIGEST_JOB,
            settings.digest_at,
            frozenset(settings.calendar.work_days),
            settings.calendar.tz,
            # An hour late is still worth sending; with a fast simulated clock (tests) up to 30
            # real seconds (at most 12 simulated hours), so a busy machine does not skip it.
            grace=max(
                timedelta(hours=1), min(timedelta(seconds=30 * clock.speed()), timedelta(hours=12))
            ),
        )
    )
    return entries


def run_job(job_id: str) -> None:
    """Run one job through its entry point (which records its outcome and logs a failure)."""
    job_module.ENTRY_POINTS[job_id]()


def wake_checks(scheduler: Scheduler | None, report: Any) -> None:
    """Ask the scheduler to run the checks now when a sync pass brought news."""
    if scheduler is None or not (report.new or report.flags_changed):
        return
    scheduler.wake(CHECK_JOBS)


def web_server(settings: Settings, factory: Any, process: Any = None) -> Any:
    host, _, port = settings.web_bind.rpartition(":")
    host = host.strip("[]")
    if not is_loopback(host):
        log.warning(
            "the web page listens on %s, not only on this machine: anyone who can reach it sees "
            "the login page",
            settings.web_bind,
        )
    config = uvicorn.Config(
        create_app(factory, settings, process=process),
        host=host,
        port=int(port),
        log_level="warning",
        access_log=False,
        lifespan="off",
        # X-Forwarded-For/-Proto only from the reverse proxies named in WEB_TRUSTED_PROXIES;
        # uvicorn's default trusts 127.0.0.1, where anyone on this machine could spoof them.
        proxy_headers=bool(settings.web_trusted_proxies),
        forwarded_allow_ips=list(settings.web_trusted_proxies) or "",
    )
    server = uvicorn.Server(config)
    # uvicorn takes SIGTERM/SIGINT over while it serves (``capture_signals``), then raises
    # them again; ours (stop everything in order) must see them first and alone.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server


class AlreadyRunning(UsageError, RuntimeError):
    """A second ``mailwatch run`` on one SQLite database (SQLite carries one process)."""


def _sqlite_lock(settings: Settings) -> Any:
    """On SQLite: an exclusive OS lock beside the database file, held while we run.

    The OS drops it when the process dies (even by kill -9), so a restart never waits.
    """
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        return None
    path = f"{database}.run-lock"
    handle = open(path, "a+")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise AlreadyRunning(
            _(
                "another mailwatch run (%(holder)s) already uses the SQLite database "
                "%(database)s: SQLite carries one process; stop it first, or move to PostgreSQL "
                "to run several workers (docs/deploy.md)",
                holder=holder,
                database=database,
            )
        ) from None
    handle.truncate(0)
    handle.write(new_owner_id())
    handle.flush()
    return handle


def run_service(
    settings: Settings, engine: Engine, on_sync: Callable[[Any], None] | None = None
) -> None:
    sqlite = engine.dialect.name == "sqlite"
    if not sqlite and not settings.web_secret:
        raise ConfigError(
            PREFIX + "WEB_SECRET",
            "is required when DATABASE_URL is not SQLite: every worker must sign sessions and "
            "digest links with the same key (set a long random value, the same on each)",
        )
    lock = _sqlite_lock(settings) if sqlite else None
    factory = session_factory(engine)
    owner = new_owner_id()
    ttl = timedelta(seconds=settings.value("LEASE_TTL"))
    fingerprint = workers.settings_fingerprint(settings)
    live = workers.heartbeat(
        factory,
        owner,
        ttl,
        mailboxes=(),
        scheduler=False,
        web=settings.web_bind,
        fingerprint=fingerprint,
    )
    try:
        workers.check_settings_agree(live, owner, fingerprint)
    except ConfigError:
        workers.leave(factory, owner)
        raise
    store = MailStore(factory, settings.own_addresses, settings.thread_subject_window)
    tracker = Tracker(factory, settings)
    jobs = job_module.Jobs(factory, settings)
    jobs.ready = threading.Event()
    job_module.install(jobs)

    def checks_may_run(job_id: str) -> bool:
        """The drafting checks wait for this worker's first sync passes (``Jobs.ready``);
        until then it claims none of their runs, so another worker runs them.

        A worker that holds no mailbox (more workers than mailboxes) has no pass of its own
        to wait for: it is ready once every mailbox had a pass by whichever worker holds it.
        """
        if job_id not in CHECK_JOBS or jobs.ready is None or jobs.ready.is_set():
            return True
        if not coordinator.mailbox_names() and first_passes_done():
            jobs.ready.set()
            return True
        return False

    scheduler = Scheduler(
        factory, owner, build_schedule(settings), run_job, checks_may_run, shared=not sqlite
    )
    running: dict[str, Any] = {"scheduler": None}
    synced: set[str] = set()
    started = datetime.now(UTC)

    def after_sync(report: Any) -> None:
        try:
            # Waiting threads are rechecked only when an \Answered flag may have come in.
            # Only the synced mailbox: with several workers each analyses the mailboxes it holds.
            held = coordinator.held.get(getattr(report, "mailbox", ""))
            tracker.refresh(
                mailbox_id=held.mailbox_id if held is not None else None,
                recheck_waiting=bool(getattr(report, "flags_changed", 1)),
            )
        except Exception:  # tracking must never stop the sync; the next pass retries
            log.exception("tracking failed; will retry after the next sync pass")
        else:
            synced.add(report.mailbox)
            wake = report
            first = jobs.ready is not None and not jobs.ready.is_set()
            if first and first_passes_done():
                assert jobs.ready is not None
                jobs.ready.set()
                wake = _AllNews(report)  # run the checks now, on fresh data
            # In the event loop, where the scheduler lives: never after it began shutting down.
            loop = running.get("loop")
            if (
                loop is not None
                and running["scheduler"] is not None
                and (wake.new or wake.flags_changed)
            ):
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    loop.call_soon_threadsafe(wake_if_running, wake)
        if on_sync is not None:
            on_sync(report)

    def first_passes_done() -> bool:
        """Every configured mailbox had a sync pass since this process started: the ones we
        hold here, the others by whichever worker holds them (their ``last_sync_at``, stamped
        by that worker's clock). Until then the drafting checks wait (see ``Jobs.ready``)."""
        if not synced >= set(coordinator.mailbox_names()):
            return False
        others = {m.name for m in settings.mailboxes} - synced
        if not others:
            return True
        with factory() as session:
            rows = session.execute(
                select(Mailbox.name, Mailbox.last_sync_at).where(Mailbox.name.in_(others))
            ).all()
        done = {
            name
            for name, at in rows
            if at is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) >= started
        }
        return done >= others

    def wake_if_running(report: Any) -> None:
        stopping = running.get("stop")
        if stopping is None or not stopping.is_set():
            wake_checks(running["scheduler"], report)

    def start_watcher(mailbox: Any, halt: threading.Event) -> threading.Thread:
        syncer = MailboxSync(
            settings, mailbox, store, after_batch=tracker.feed, preparer=tracker.preparer()
        )
        watcher = MailboxWatcher(syncer, settings, halt, after_sync)
        thread = threading.Thread(target=watcher.run, name=f"sync-{mailbox.name}", daemon=True)
        thread.start()
        return thread

    coordinator = workers.MailboxCoordinator(settings, store, owner, ttl, start_watcher)
    pruned = {"at": 0.0}

    def coordinate() -> None:
        """One round: heartbeat, mailbox leases, old job claims; run in a thread."""
        live = workers.heartbeat(
            factory,
            owner,
            ttl,
            mailboxes=coordinator.mailbox_names(),
            scheduler=running["scheduler"] is not None,
            web=settings.web_bind,
            fingerprint=fingerprint,
        )
        coordinator.tick([w.id for w in live])
        if not sqlite and time.monotonic() - pruned["at"] > PRUNE_EVERY:
            pruned["at"] = time.monotonic()
            claims.prune(factory)
        if jobs.ready is not None and not jobs.ready.is_set() and first_passes_done():
            # The mailboxes other workers hold had their passes there: run the checks now.
            jobs.ready.set()
            loop = running.get("loop")
            if loop is not None and running["scheduler"] is not None:
                news = _AllNews(SimpleNamespace(mailbox="", new=1, flags_changed=0))
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    loop.call_soon_threadsafe(wake_if_running, news)

    async def coordinate_forever(stop: asyncio.Event) -> None:
        every = max(1.0, ttl.total_seconds() / 3)
        while not stop.is_set():
            try:
                await asyncio.to_thread(coordinate)
            except Exception:  # e.g. the database is briefly unreachable: leases expire safely
                log.exception("lease round failed; retrying in %.0f s", every)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        running["loop"], running["stop"] = loop, stop
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def process() -> dict[str, Any]:
            return {
                "worker": owner,
                "alive": True,
                "mailboxes": coordinator.mailbox_names(),
                "scheduler": running["scheduler"] is not None,
            }

        server = web_server(settings, factory, process)
        web_task = asyncio.create_task(server.serve(), name="web")
        lease_task = asyncio.create_task(coordinate_forever(stop), name="leases")
        log.info(
            "mailwatch running: worker %s, %d mailbox(es) configured, web on http://%s, "
            "log times in %s",
            owner,
            len(settings.mailboxes),
            settings.web_bind,
            settings.calendar.tz_name,
        )
        try:  # the backlog's edge (the SLA check records it too, if this fails)
            await asyncio.to_thread(first_started_at, factory, clock.now())
        except Exception as exc:
            log.warning("could not record the first start yet: %s", exc)
        running["scheduler"] = scheduler
        scheduler_task = asyncio.create_task(scheduler.serve(), name="scheduler")
        log.info("scheduler started: %s", ", ".join(scheduler.jobs()))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, web_task}, return_when=asyncio.FIRST_COMPLETED)
        if web_task.done() and not stop.is_set():
            log.error("the web server stopped (is %s in use?); shutting down", settings.web_bind)
            stop.set()
        log.info("stopping")
        server.should_exit = True
        scheduler.stop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(lease_task, return_exceptions=True), 5)
        # A running job is waited for (never cancelled half-way), within the budget.
        done, _ = await asyncio.wait({scheduler_task}, timeout=SHUTDOWN_BUDGET)
        if not done:
            log.warning(
                "job(s) %s still running after %.0f s: stopping without them (each job's own "
                "state makes its next run safe)",
                ", ".join(sorted(scheduler.running)) or "?",
                SHUTDOWN_BUDGET,
            )
        running["scheduler"] = None
        await asyncio.to_thread(coordinator.stop, SHUTDOWN_BUDGET)
        await asyncio.to_thread(workers.leave, factory, owner)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(web_task, return_exceptions=True), 3)
        if not scheduler_task.done():
            scheduler_task.cancel()  # only waits on a job thread left behind
            await asyncio.gather(scheduler_task, return_exceptions=True)
        log.info("mailwatch stopped cleanly")

    try:
        asyncio.run(main())
    finally:
        if lock is not None:
            lock.close()


class _AllNews:
    """A report that says "news" so the first pass wakes the checks."""

    def __init__(self, report: Any) -> None:
        self.mailbox = report.mailbox
        self.new = max(1, report.new)
        self.flags_changed = report.flags_changed
