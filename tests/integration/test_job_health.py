"""Scheduler jobs never fail silently: every job runs clean under the service's own logging,
and a job that fails is counted in /metrics, turns /healthz degraded and is in the digest."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry
from sqlalchemy import select

from mailwatch.digest.data import build_digest
from mailwatch.digest.render import render_html, render_text
from mailwatch.logs import setup_logging
from mailwatch.service import jobs as job_module
from mailwatch.service.main import CHECK_JOBS, INTERVAL_JOBS
from mailwatch.service.web import StoreCollector, create_app
from mailwatch.store.models import Draft
from mailwatch.views.jobs import DEGRADED_AFTER, job_states
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until
from tests.integration.test_cli import mailwatch, write_env
from tests.integration.test_service import _free_port, _get, _start, _stop, _wait_healthy

CLIENT = "Ana Popescu <ana@client.test>"
OTHER = "Dan Lungu <dan@other.test>"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # the 20th is a Friday


@pytest.fixture
def service_logging():
    """The service's real logging set-up (mailwatch.logs), restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield setup_logging
    root.handlers[:], level = saved
    root.setLevel(level)


def asgi_get(app, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI app, without a network (no httpx in the test deps)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
        "http_version": "1.1",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_scheduler_job_runs_clean_under_the_service_logging(
    fmt, imap_user, smtp_server, tmp_path, capsys, service_logging
):
    server, user = imap_user.server, imap_user.username
    server.append(user, "INBOX", make_msg(sender=CLIENT, subject="Price", date=utc(23, 9)))
    server.append(
        user,
        "INBOX",
        make_msg(sender=CLIENT, subject="Proposal", msgid="<q@client.test>", date=utc(16, 9)),
    )
    server.append(
        user,
        "Sent Items",
        make_msg(
            sender=f"Sales <{user}>",
            to=CLIENT,
            subject="Re: Proposal",
            in_reply_to="<q@client.test>",
            date=utc(16, 10),
            body="Dear Ana,\n\nI will send you the proposal by Friday.\n",
        ),
    )
    server.append(
        user,
        "Sent Items",
        make_msg(
            sender=f"Sales <{user}>",
            to=OTHER,
            subject="Our offer",
            date=utc(16, 10),
            body="Dear Dan,\n\nplease find our offer attached.\n",
        ),
    )
    h = Harness(
        make_settings(
            imap_user,
            sqlite_url(tmp_path),
            sender_name="Ion Rusu",
            signature="Ion Rusu",
            reply_sla="4h",
            ack_after="2h",
            follow_up_after="3",
            auto_send="acknowledgment",
            digest_to="boss@example.com",
            drafts_to_mailbox="true",
            smtp_host=smtp_server.host,
            smtp_port=str(smtp_server.port),
            smtp_security="none",
        )
    )
    service_logging(fmt, "info")
    job_module.install(job_module.Jobs(h.factory, h.settings))
    try:
        with time_machine.travel(utc(16, 11), tick=False):
            h.sync()
        # Thursday 19th, 18:30: the renegotiation (promise due Friday) and the follow-up.
        with time_machine.travel(utc(19, 18, 30), tick=False):
            job_module.promise_job()
            job_module.follow_up_job()
        # Monday 23rd: the new request is acknowledged, sent, and the digest goes out.
        with time_machine.travel(utc(23, 9, 10), tick=False):
            h.sync()
        with time_machine.travel(utc(23, 12), tick=False):
            for job_id, _func, _every in INTERVAL_JOBS:
                job_module.ENTRY_POINTS[job_id]()
            job_module.digest_job()
        with h.factory() as session:
            kinds = {d.kind for d in session.scalars(select(Draft))}
            states = {s.job: s for s in job_states(session)}
        assert kinds == {"acknowledgment", "follow_up", "renegotiation"}
        smtp_server.wait_for(2)  # the automatic acknowledgment and the digest
    finally:
        job_module.install(None)
        h.close()
    log = capsys.readouterr().err
    assert "draft created" in log
    assert "Traceback" not in log and "failed" not in log, log
    assert set(states) == {job_id for job_id, *_ in INTERVAL_JOBS} | {"daily-digest"}
    for state in states.values():
        assert state.consecutive_failures == 0 and state.total_failures == 0
        assert state.last_success_at is not None
    if fmt == "json":  # the structured fields are there, thread_id among them
        records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        created = [r for r in records if r["msg"] == "draft created"]
        assert {r["kind"] for r in created} == kinds
        assert all(isinstance(r["thread_id"], int) for r in created)


def test_a_failing_job_is_counted_degrades_health_and_reaches_the_digest(
    imap_user, tmp_path, monkeypatch, capsys, service_logging
):
    service_logging("text", "info")
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    jobs = job_module.Jobs(h.factory, h.settings)

    def broken(now: datetime):
        raise KeyError("Attempt to overwrite 'thread' in LogRecord; password=hunter2")

    monkeypatch.setattr(jobs, "sla_check", broken)
    job_module.install(jobs)
    app = create_app(h.factory, h.settings, pages=False)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(h.factory, h.settings))
    try:
        h.sync()
        status, body = asgi_get(app, "/healthz")
        assert status == 200, body
        for run in range(1, DEGRADED_AFTER + 1):
            job_module.sla_job()
            metrics = generate_latest(registry).decode()
            assert f'mailwatch_job_failures_total{{job="sla-check"}} {run}.0' in metrics
            status, body = asgi_get(app, "/healthz")
            health = json.loads(body)
            (item,) = [j for j in health["jobs"] if j["job"] == "sla-check"]
            assert item["consecutive_failures"] == run
            assert "KeyError" in item["last_error"]
            if run < DEGRADED_AFTER:
                assert status == 200 and health["status"] == "ok"
        assert status == 503 and health["status"] == "degraded"
        assert "sla-check" in item["problem"] and "Attempt to overwrite" in item["problem"]
        assert "hunter2" not in body.decode()

        with h.factory() as session:
            digest = build_digest(session, h.settings, datetime.now(UTC))
        (line,) = digest.job_problems
        assert line.startswith("job sla-check: 3 failed runs in a row")
        assert "Attempt to overwrite" in line and "hunter2" not in line
        assert "JOB FAILING" in digest.subject_line()
        text = render_text(digest)
        assert text.index("FAILING JOBS") < text.index("OVERDUE")
        assert "Failing jobs" in render_html(digest)

        # It works again: healthy, out of the digest; the counter keeps its total.
        monkeypatch.undo()
        job_module.sla_job()
        status, body = asgi_get(app, "/healthz")
        assert status == 200
        metrics = generate_latest(registry).decode()
        assert f'mailwatch_job_failures_total{{job="sla-check"}} {DEGRADED_AFTER}.0' in metrics
        assert 'mailwatch_job_consecutive_failures{job="sla-check"} 0.0' in metrics
        with h.factory() as session:
            assert build_digest(session, h.settings, datetime.now(UTC)).job_problems == []
    finally:
        job_module.install(None)
        h.close()
    log = capsys.readouterr().err
    assert log.count("job sla-check failed") == DEGRADED_AFTER
    assert "hunter2" not in log


def _query(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # the schema is not there yet, or the database is briefly locked


def test_the_running_service_drafts_an_acknowledgment_without_a_traceback(imap_user, tmp_path):
    """Through `mailwatch run`: the SLA job's first draft used to crash the job every minute."""
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(sender=CLIENT, date=datetime.now(UTC) - timedelta(minutes=30)),
    )
    port = _free_port()
    env = write_env(
        tmp_path,
        imap_user,
        web_bind=f"127.0.0.1:{port}",
        timezone="UTC",
        work_hours="00:00-23:59",
        work_days="Mon-Sun",
        reply_sla="4h",
        ack_after="1m",
        sender_name="Ion Rusu",
        signature="Ion Rusu",
    )
    assert mailwatch(env, "init").returncode == 0
    db = tmp_path / "mw.db"
    proc, handle = _start(env, tmp_path / "run.log")
    try:
        _wait_healthy(port, proc)

        def checks_ran() -> bool:  # they run right after the first sync pass
            done = _query(db, "SELECT job FROM job_runs WHERE last_success_at IS NOT NULL")
            return {j for (j,) in done} >= set(CHECK_JOBS)

        wait_until(checks_ran, 30, f"every check job ({', '.join(CHECK_JOBS)}) ran", interval=0.2)
        assert _query(db, "SELECT kind, status FROM drafts") == [("acknowledgment", "pending")]
        failures = _query(db, "SELECT job, total_failures FROM job_runs")
        assert failures and all(n == 0 for _job, n in failures), failures
        status, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert 'mailwatch_job_failures_total{job="sla-check"} 0.0' in metrics
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        _stop(proc)
        handle.close()
    output = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, output
    assert "draft created" in output and "thread_id=" in output
    assert "Traceback" not in output and "failed" not in output, output
