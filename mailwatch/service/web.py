"""The service's HTTP side: ``/healthz``, ``/metrics`` and the approval pages (mailwatch.web).

Health is not "the process is up": a mailbox whose last successful sync is older than a few
poll intervals, or that reports an error, makes ``/healthz`` answer 503 with the reason, so
fetching that silently stopped is visible; so does a scheduler job that failed several times
in a row (``jobs``: which job, and its last error).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from mailwatch.config import Settings
from mailwatch.views.context import View
from mailwatch.views.jobs import JobState, job_states
from mailwatch.views.threads import list_threads
from mailwatch.web import reads
from mailwatch.web.app import pages_app
from mailwatch.web.security import SecurityHeaders


def stale_after(settings: Settings) -> timedelta:
    """How old a last sync may be before the mailbox counts as stuck."""
    return max(settings.idle_renew, settings.poll_interval) * 3


def mailbox_health(
    factory: sessionmaker[Session], settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    result = []
    rows = reads.sync_states(factory)
    for mailbox in settings.mailboxes:
        row = rows.get(mailbox.name)
        last = row.last_sync_at if row is not None else None
        lag = (now - last).total_seconds() if last is not None else None
        problem = None
        if (
            row is not None
            and row.last_error
            and (last is None or (row.last_error_at is not None and row.last_error_at > last))
        ):
            problem = row.last_error
        elif last is None:
            problem = "no successful sync yet"
        elif lag is not None and lag > stale_after(settings).total_seconds():
            problem = f"no successful sync for {int(lag)} s"
        result.append(
            {
                "mailbox": mailbox.name,
                "last_sync_at": last.isoformat() if last else None,
                "sync_lag_seconds": round(lag, 1) if lag is not None else None,
                "ok": problem is None,
                "problem": problem,
            }
        )
    return result


def job_health(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Each scheduler job's last outcome; ``ok`` is false after repeated failures in a row."""
    with factory() as session:
        states = job_states(session)
    return [_job_item(state) for state in states]


def _job_item(state: JobState) -> dict[str, Any]:
    problem = None
    if state.degraded:
        problem = (
            f"job {state.job} failed {state.consecutive_failures} times in a row; "
            f"last error: {state.last_error}"
        )
    return {
        "job": state.job,
        "ok": problem is None,
        "problem": problem,
        "consecutive_failures": state.consecutive_failures,
        "total_failures": state.total_failures,
        "last_error": state.last_error if state.failing else None,
        "last_failure_at": state.last_failure_at.isoformat() if state.last_failure_at else None,
        "last_success_at": state.last_success_at.isoformat() if state.last_success_at else None,
    }


class StoreCollector:
    """Metrics read from the database at scrape time, so every process reports the truth."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings

    def collect(self) -> Any:
        now = datetime.now(UTC)
        health = mailbox_health(self.factory, self.settings, now)
        last = GaugeMetricFamily(
            "mailwatch_last_sync_timestamp_seconds",
            "Unix time of the last successful sync pass",
            labels=["mailbox"],
        )
        lag = GaugeMetricFamily(
            "mailwatch_sync_lag_seconds",
            "Seconds since the last successful sync",
            labels=["mailbox"],
        )
        for item in health:
            if item["last_sync_at"]:
                when = datetime.fromisoformat(item["last_sync_at"])
                last.add_metric([item["mailbox"]], when.timestamp())
                lag.add_metric([item["mailbox"]], item["sync_lag_seconds"])
        yield last
        yield lag
        with self.factory() as session:
            states = job_states(session)
        failures = CounterMetricFamily(
            "mailwatch_job_failures",
            "Runs of a scheduler job that raised (the digest and /healthz name the error)",
            labels=["job"],
        )
        in_a_row = GaugeMetricFamily(
            "mailwatch_job_consecutive_failures",
            "Failures of a scheduler job since its last successful run",
            labels=["job"],
        )
        last_ok = GaugeMetricFamily(
            "mailwatch_job_last_success_timestamp_seconds",
            "Unix time of a scheduler job's last successful run",
            labels=["job"],
        )
        for state in states:
            failures.add_metric([state.job], state.total_failures)
            in_a_row.add_metric([state.job], state.consecutive_failures)
            if state.last_success_at is not None:
                last_ok.add_metric([state.job], state.last_success_at.timestamp())
        yield failures
        yield in_a_row
        yield last_ok
        with self.factory() as session:
            overdue = len(
                list_threads(
                    session, now, "overdue", View.of(self.settings), with_message_ids=False
                )
            )
        counts = reads.draft_counts(self.factory)
        yield GaugeMetricFamily(
            "mailwatch_overdue_threads", "Client threads waiting past REPLY_SLA", value=overdue
        )
        yield GaugeMetricFamily(
            "mailwatch_pending_drafts", "Drafts awaiting approval", value=counts.get("pending", 0)
        )
        yield GaugeMetricFamily(
            "mailwatch_send_failures", "Drafts whose sending failed", value=counts.get("failed", 0)
        )


def create_app(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    pages: bool = True,
    process: Any = None,
    **page_options: Any,
) -> Starlette:
    """``/healthz`` and ``/metrics`` always; the approval pages when ``WEB_PASSWORD`` is set
    (``page_options`` go to :func:`mailwatch.web.app.pages_app`, for tests)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(factory, settings))

    async def healthz(request: Request) -> Response:
        health = await asyncio.to_thread(mailbox_health, factory, settings, datetime.now(UTC))
        jobs = await asyncio.to_thread(job_health, factory)
        ok = all(item["ok"] for item in health) and all(item["ok"] for item in jobs)
        body: dict[str, Any] = {
            "status": "ok" if ok else "degraded",
            "mailboxes": health,
            "jobs": jobs,
        }
        if process is not None:  # this process: alive (it answers), and what it holds
            body["process"] = process()
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/metrics", metrics)]
    web = pages_app(factory, settings, **page_options) if pages else None
    if web is not None:
        routes.append(Mount("/", app=web))
    else:

        async def disabled(request: Request) -> Response:
            return PlainTextResponse(
                "The approval web page is off: set MAILWATCH_WEB_PASSWORD and restart mailwatch.\n",
                status_code=503,
            )

        routes.append(Route("/{path:path}", disabled, methods=["GET", "HEAD", "POST"]))
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
