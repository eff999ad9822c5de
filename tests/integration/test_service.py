"""The service: scheduler checks on synced mail, and `mailwatch run` as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mailwatch.service.jobs import Jobs
from mailwatch.service.main import build_schedule
from mailwatch.store.models import Draft, ServiceState
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until
from tests.integration.test_cli import write_env

CLIENT = "Ana Popescu <ana@client.test>"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)  # the 20th is a Friday


def drafts(h: Harness) -> list[Draft]:
    with h.factory() as session:
        return list(session.scalars(select(Draft).order_by(Draft.id)))


@pytest.fixture
def harness(imap_user, tmp_path):
    def make(**extra: str) -> Harness:
        values = {
            "sender_name": "Ion Rusu",
            "signature": "Ion Rusu\\nAcme SRL",
            "reply_sla": "4h",
            "ack_after": "2h",
            **extra,
        }
        return Harness(make_settings(imap_user, sqlite_url(tmp_path), **values))

    made: list[Harness] = []

    def factory(**extra: str) -> Harness:
        made.append(make(**extra))
        return made[-1]

    yield factory
    for h in made:
        h.close()


def test_acknowledgment_draft_comes_before_the_thread_is_overdue(imap_user, harness):
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(sender=CLIENT, date=utc(23, 9, 0))
    )
    h = harness()
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    assert jobs.sla_check(utc(23, 10, 59)).created == []  # 1h59 into the wait
    created = jobs.sla_check(utc(23, 11, 0)).created  # ACK_AFTER=2h, overdue only at 13:00
    assert len(created) == 1
    (draft,) = drafts(h)
    assert draft.kind == "acknowledgment" and draft.status == "pending"
    assert not draft.automatic
    # Run again (or after a restart): nothing more.
    assert jobs.sla_check(utc(23, 11, 30)).created == []
    assert len(drafts(h)) == 1


def test_auto_send_approves_acknowledgments_with_limits(imap_user, harness):
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(
            sender=CLIENT,
            date=utc(23, 9, 0),
            headers={
                "Authentication-Results": "mx.example.com; dmarc=pass header.from=client.test"
            },
        ),
    )
    h = harness(auto_send="acknowledgment", trusted_authserv_ids="mx.example.com")
    h.sync()
    Jobs(h.factory, h.settings).sla_check(utc(23, 12))
    (draft,) = drafts(h)
    assert draft.automatic and draft.status == "approved"


def test_no_automatic_answer_to_a_no_reply_sender(imap_user, harness):
    # A contact form: no-reply sender with a personal Reply-To still needs a reply, but an
    # automatic answer goes only to the person, never to the no-reply address.
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(
            sender="Website <no-reply@shop.test>",
            headers={"Reply-To": "Ion Client <ion@client.test>"},
            date=utc(23, 9),
        ),
    )
    h = harness(auto_send="acknowledgment")
    h.sync()
    Jobs(h.factory, h.settings).sla_check(utc(23, 12))
    (draft,) = drafts(h)
    assert [a["email"] for a in draft.to_addrs] == ["ion@client.test"]


def test_renegotiation_draft_one_business_day_before_the_promise(imap_user, harness):
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(sender=CLIENT, subject="Proposal", msgid="<q@client.test>", date=utc(16, 9)),
    )
    imap_user.server.append(
        imap_user.username,
        "Sent Items",
        make_msg(
            sender=f"Sales <{imap_user.username}>",
            to=CLIENT,
            subject="Re: Proposal",
            in_reply_to="<q@client.test>",
            date=utc(16, 10),
            body="Dear Ana,\n\nI will send you the proposal by Friday.\n",
        ),
    )
    h = harness()
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    assert jobs.promise_check(utc(19, 17, 59)).created == []
    created = jobs.promise_check(utc(19, 18, 0)).created  # due Friday 20th 18:00, lead 1 day
    assert len(created) == 1
    (draft,) = drafts(h)
    assert draft.kind == "renegotiation" and draft.promise_id is not None
    assert draft.new_date == utc(24, 18)  # a first suggestion, the user edits it
    assert "20 November" in draft.body_text and "24 November" in draft.body_text
    assert jobs.promise_check(utc(20, 9)).created == []


def test_follow_up_when_the_client_does_not_answer_our_proposal(imap_user, harness):
    imap_user.server.append(
        imap_user.username,
        "Sent Items",
        make_msg(
            sender=f"Sales <{imap_user.username}>",
            to=CLIENT,
            subject="Our offer",
            date=utc(16, 10),
            body="Dear Ana,\n\nplease find our offer attached.\n",
        ),
    )
    h = harness(follow_up_after="3")
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    assert jobs.follow_up_check(utc(19, 9, 59)).created == []
    assert len(jobs.follow_up_check(utc(19, 10, 0)).created) == 1
    assert [d.kind for d in drafts(h)] == ["follow_up"]
    assert jobs.follow_up_check(utc(20, 10)).created == []


def test_digest_goes_out_once_per_local_day(imap_user, harness):
    h = harness(digest_to="boss@example.com")
    sent: list[datetime] = []
    jobs = Jobs(h.factory, h.settings)
    assert jobs.digest(utc(23, 8, 30), send=sent.append) is True
    assert jobs.digest(utc(23, 9, 30), send=sent.append) is False  # a restart at 09:30
    assert jobs.digest(utc(24, 8, 30), send=sent.append) is True
    assert sent == [utc(23, 8, 30), utc(24, 8, 30)]
    with h.factory() as session:
        assert session.get_one(ServiceState, "digest_sent_for").value == "2026-11-24"


def test_every_start_builds_the_same_jobs_once(imap_user, tmp_path):
    settings = make_settings(imap_user, sqlite_url(tmp_path))
    Harness(settings).close()  # creates the schema

    for _ in range(2):  # a restart builds the same ids
        ids = sorted(entry.job for entry in build_schedule(settings))
    assert ids == [
        "daily-digest",
        "drafts-folder",
        "follow-up-check",
        "outbox",
        "promise-check",
        "sla-check",
    ]


# --------------------------------------------------------------------------- the real process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _start(env, log_path):
    handle = open(log_path, "w")  # noqa: SIM115 - closed by the caller through the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "run"],
        cwd=env.parent,
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )
    return proc, handle


def _wait_healthy(port: int, proc) -> dict:
    def healthy() -> dict | None:
        assert proc.poll() is None, "mailwatch run exited early"
        try:
            status, body = _get(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            return None
        return json.loads(body) if status == 200 else None

    return wait_until(healthy, 30, "never healthy", interval=0.2)


def _stop(proc) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    return time.monotonic() - started


def test_run_serves_health_and_metrics_and_stops_cleanly(imap_user, tmp_path):
    from tests.integration.test_cli import mailwatch

    imap_user.server.append(imap_user.username, "INBOX", make_msg(sender=CLIENT))
    port = _free_port()
    env = write_env(
        tmp_path,
        imap_user,
        web_bind=f"127.0.0.1:{port}",
        poll_interval="1m",
        timezone="Europe/Chisinau",
    )
    assert mailwatch(env, "init").returncode == 0
    proc, log = _start(env, tmp_path / "run.log")
    second = None
    try:
        health = _wait_healthy(port, proc)
        assert health["status"] == "ok"
        assert health["mailboxes"][0]["mailbox"] == "main"
        status, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert 'mailwatch_last_sync_timestamp_seconds{mailbox="main"}' in metrics
        assert "mailwatch_pending_drafts 0.0" in metrics
        assert "mailwatch_overdue_threads" in metrics

        # A second process on the same SQLite database refuses clearly (SQLite: one process).
        port2 = _free_port()
        env2 = write_env(tmp_path, imap_user, web_bind=f"127.0.0.1:{port2}", poll_interval="1m")
        second, log2 = _start(env2, tmp_path / "run2.log")
        second.wait(timeout=30)
        log2.close()
        second_log = (tmp_path / "run2.log").read_text()
        assert "already uses the SQLite database" in second_log
        assert second.returncode != 0
    finally:
        if second is not None and second.poll() is None:
            second.kill()
        elapsed = _stop(proc) if proc.poll() is None else 0.0
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, output
    assert elapsed < 10
    assert "stopped cleanly" in output
    assert "scheduler started" in output
    assert imap_user.password not in output
    assert "Traceback" not in output
    # one clock: log lines carry the mailbox's local time, and the zone is named once
    running = next(line for line in output.splitlines() if "mailwatch running" in line)
    assert running.endswith("log times in Europe/Chisinau"), running
    from zoneinfo import ZoneInfo

    stamp = datetime.strptime(running[:19], "%Y-%m-%d %H:%M:%S")
    local_now = datetime.now(ZoneInfo("Europe/Chisinau")).replace(tzinfo=None)
    assert abs(local_now - stamp) < timedelta(minutes=5), (running, local_now)


def test_health_reports_a_mailbox_that_cannot_sync(imap_user, tmp_path):
    from tests.integration.test_cli import mailwatch

    port = _free_port()
    env = write_env(
        tmp_path, imap_user, web_bind=f"127.0.0.1:{port}", imap_password="wrong-password"
    )
    assert mailwatch(env, "init").returncode == 0
    proc, log = _start(env, tmp_path / "run.log")
    try:

        def degraded() -> str | None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
            except OSError:
                return None
            if status == 503 and "problem" in body and json.loads(body)["mailboxes"][0]["problem"]:
                return body
            return None

        body = wait_until(degraded, 30, "/healthz never showed the login problem", interval=0.2)
        health = json.loads(body)
        assert health["status"] == "degraded"
        assert health["mailboxes"][0]["problem"]
    finally:
        _stop(proc)
        log.close()
    assert "wrong-password" not in (tmp_path / "run.log").read_text()


def test_the_digest_job_mails_the_digest_once(imap_user, smtp_server, harness):
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(sender=CLIENT, date=utc(20, 9, 0))
    )
    h = harness(
        digest_to="boss@example.com",
        smtp_host=smtp_server.host,
        smtp_port=str(smtp_server.port),
        smtp_security="none",
    )
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    assert jobs.digest(utc(23, 8, 30)) is True
    assert jobs.digest(utc(23, 8, 31)) is False
    (received,) = smtp_server.wait_for(1)
    assert received.message["To"] == "boss@example.com"
    assert "1 overdue" in received.message["Subject"]


def test_the_scheduler_picks_the_kind_from_the_clients_intent(imap_user, harness):
    """A refusal gets a closing, a vague request a clarify, and 'thanks, received' nothing."""
    for sender, subject, body in (
        (CLIENT, "Cutii cadou", "Bună ziua,\n\nVă mulțumim, dar nu mai avem nevoie de cutii.\n"),
        ("Dan <dan@other.test>", "Colaborare", "Bună ziua,\n\nSuntem interesați de produsele "
         "dumneavoastră. Ce ne puteți oferi?\n"),
        ("Ion <ion@third.test>", "Factura", "Mulțumesc, am primit!\n"),
    ):  # fmt: skip
        imap_user.server.append(
            imap_user.username,
            "INBOX",
            make_msg(sender=sender, subject=subject, body=body, date=utc(23, 9, 0)),
        )
    h = harness()
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    created = jobs.sla_check(utc(23, 11, 0)).created
    assert len(created) == 2
    kinds = {d.subject: d.kind for d in drafts(h)}
    assert kinds == {"Re: Cutii cadou": "closing", "Re: Colaborare": "clarify"}
    assert jobs.sla_check(utc(23, 11, 30)).created == []
