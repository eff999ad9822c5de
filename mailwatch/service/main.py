"""``mailwatch run``: sync watchers, the scheduler and the web endpoints in one asyncio process.

SIGTERM / SIGINT: the watchers finish the batch they are storing (each batch is one
transaction), the scheduler waits for running jobs, the web server closes; nothing is left
half-written. The scheduler runs only in the process holding the ``scheduler`` lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from mailwatch.config import Settings, is_loopback
from mailwatch.core.timefmt import local
from mailwatch.service import jobs as job_module
from mailwatch.service.lease import SCHEDULER, acquire, new_owner_id, release
from mailwatch.store.db import session_factory

log = logging.getLogger("mailwatch.service")

LEASE_TTL = timedelta(seconds=90)
LEASE_RENEW = 30.0
SHUTDOWN_BUDGET = 8.0

# (job id, function, trigger kind, trigger arguments)
INTERVAL_JOBS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("sla-check", job_module.sla_job, {"minutes": 1}),
    ("promise-check", job_module.promise_job, {"minutes": 5}),
    ("follow-up-check", job_module.follow_up_job, {"minutes": 30}),
    ("outbox", job_module.outbox_job, {"seconds": 30}),
    ("drafts-folder", job_module.drafts_folder_job, {"minutes": 2}),
)


def build_scheduler(settings: Settings) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url)},
        # A thread pool, not the event loop's executor: shutdown(wait=True) then really waits
        # for a running job, where the asyncio executor cancels it and logs a traceback.
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={
            "coalesce": True,  # a backlog of missed runs is run once
            "misfire_grace_time": 3600,  # APScheduler's default is 1 s: a restart would skip
            "max_instances": 1,
        },
        timezone=settings.calendar.tz,
    )
    from mailwatch import clock

    for job_id, func, every in INTERVAL_JOBS:
        seconds = clock.interval(timedelta(**every).total_seconds())  # simulated time: scaled
        scheduler.add_job(func, "interval", id=job_id, replace_existing=True, seconds=seconds)
    days = ",".join(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d]
        for d in sorted(settings.calendar.work_days)
    )
    scheduler.add_job(
        job_module.digest_job,
        "cron",
        id="daily-digest",
        replace_existing=True,
        day_of_week=days,
        hour=settings.digest_at.hour,
        minute=settings.digest_at.minute,
        timezone=settings.calendar.tz,
    )
    return scheduler


# Checks that look at what tracking found: run at once after a sync pass that changed something,
# instead of at their next interval (an acknowledgment due now is not left waiting a minute).
CHECK_JOBS = ("sla-check", "promise-check", "follow-up-check")


def wake_checks(scheduler: Any, report: Any) -> None:
    """Ask the scheduler to run the checks now when a sync pass brought news; never raises."""
    if scheduler is None or not (report.new or report.flags_changed):
        return
    now = datetime.now(UTC)
    for job_id in CHECK_JOBS:
        try:
            scheduler.modify_job(job_id, next_run_time=now)
        except Exception as exc:  # e.g. the job store is briefly locked: the interval still runs
            log.warning("could not wake job %s after a sync pass: %s", job_id, exc)


def web_server(settings: Settings, factory: Any) -> Any:
    import uvicorn

    from mailwatch.service.web import create_app

    host, _, port = settings.web_bind.rpartition(":")
    host = host.strip("[]")
    if not is_loopback(host):
        log.warning(
            "the web page listens on %s, not only on this machine: anyone who can reach it sees "
            "the login page",
            settings.web_bind,
        )
    config = uvicorn.Config(
        create_app(factory, settings),
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
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # ours do it
    return server


def run_service(
    settings: Settings, engine: Engine, on_sync: Callable[[Any], None] | None = None
) -> None:
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.watch import watch_all
    from mailwatch.track.tracker import Tracker

    factory = session_factory(engine)
    store = MailStore(factory, settings.own_addresses, settings.thread_subject_window)
    tracker = Tracker(factory, settings)
    jobs = job_module.Jobs(factory, settings)
    jobs.ready = threading.Event()
    job_module.install(jobs)
    running: dict[str, Any] = {"scheduler": None}
    synced: set[str] = set()

    def after_sync(report: Any) -> None:
        try:
            # Waiting threads are rechecked only when an \Answered flag may have come in.
            tracker.refresh(recheck_waiting=bool(getattr(report, "flags_changed", 1)))
        except Exception:  # tracking must never stop the sync; the next pass retries
            log.exception("tracking failed; will retry after the next sync pass")
        else:
            synced.add(report.mailbox)
            wake = report
            first = jobs.ready is not None and not jobs.ready.is_set()
            if first and synced >= {m.name for m in settings.mailboxes}:
                assert jobs.ready is not None
                jobs.ready.set()
                wake = _AllNews(report)  # run the checks now, on fresh data
            # In the event loop, where the scheduler lives: never after it began shutting down.
            loop, scheduler = running.get("loop"), running["scheduler"]
            if loop is not None and scheduler is not None and (wake.new or wake.flags_changed):
                with contextlib.suppress(RuntimeError):  # the loop is closing
                    loop.call_soon_threadsafe(wake_if_running, wake)
        if on_sync is not None:
            on_sync(report)

    def wake_if_running(report: Any) -> None:
        stopping = running.get("stop")
        if stopping is None or not stopping.is_set():
            wake_checks(running["scheduler"], report)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        running["loop"], running["stop"] = loop, stop
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        owner = new_owner_id()
        scheduler = None
        lease = await asyncio.to_thread(acquire, factory, SCHEDULER, owner, LEASE_TTL, _now())
        if lease.acquired:
            scheduler = await _start_scheduler(settings, factory, owner)
            running["scheduler"] = scheduler
        else:
            until = local(lease.expires_at, settings.calendar.tz, missing="unknown")
            log.error(
                "another mailwatch run (%s) already runs the scheduler on this database "
                "(lease until %s): this process syncs and serves the web page, but starts no "
                "scheduler; stop the other process first (this one takes over when its lease "
                "ends)",
                lease.owner,
                until,
            )
        server = web_server(settings, factory)
        web_task = asyncio.create_task(server.serve(), name="web")
        watch_task = asyncio.create_task(
            watch_all(settings, store, stop, on_report=after_sync), name="sync"
        )
        renew_task = asyncio.create_task(
            _renew(settings, factory, owner, stop, running), name="lease"
        )
        log.info(
            "mailwatch running: %d mailbox(es), web on http://%s, log times in %s",
            len(settings.mailboxes),
            settings.web_bind,
            settings.calendar.tz_name,
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, web_task}, return_when=asyncio.FIRST_COMPLETED)
        if web_task.done() and not stop.is_set():
            log.error("the web server stopped (is %s in use?); shutting down", settings.web_bind)
            stop.set()
        log.info("stopping")
        server.should_exit = True
        scheduler = running["scheduler"]
        running["scheduler"] = None
        renew_task.cancel()
        if scheduler is not None:
            await asyncio.to_thread(scheduler.shutdown, True)
            await asyncio.to_thread(release, factory, SCHEDULER, owner)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(watch_task, web_task, return_exceptions=True), SHUTDOWN_BUDGET
            )
        log.info("mailwatch stopped cleanly")

    asyncio.run(main())


class _AllNews:
    """A report that says "news" so the first pass wakes the checks."""

    def __init__(self, report: Any) -> None:
        self.mailbox = report.mailbox
        self.new = max(1, report.new)
        self.flags_changed = report.flags_changed


def _now() -> datetime:
    return datetime.now(UTC)


async def _start_scheduler(settings: Settings, factory: Any, owner: str) -> Any:
    from mailwatch import clock
    from mailwatch.service.backlog import first_started_at

    await asyncio.to_thread(first_started_at, factory, clock.now())  # the backlog's edge
    scheduler = build_scheduler(settings)
    scheduler.start()
    log.info("scheduler started (lease held by %s)", owner)
    return scheduler


async def _renew(
    settings: Settings, factory: Any, owner: str, stop: asyncio.Event, running: dict[str, Any]
) -> None:
    """Renew the lease while we hold it; take it over (and start the scheduler) when it ends."""
    while not stop.is_set():
        await asyncio.sleep(LEASE_RENEW)
        state = await asyncio.to_thread(acquire, factory, SCHEDULER, owner, LEASE_TTL, _now())
        scheduler = running["scheduler"]
        if scheduler is not None and not state.acquired:
            log.error("lost the scheduler lease to %s: pausing the scheduler", state.owner)
            scheduler.pause()
            return
        if scheduler is None and state.acquired and not stop.is_set():
            running["scheduler"] = await _start_scheduler(settings, factory, owner)
