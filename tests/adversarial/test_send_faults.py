"""Uncertain SMTP outcomes (issue #16, attack 1 and 2): never a second copy.

A real aiosmtpd server misbehaves after the message's final "." (stores it and cuts the link,
holds its 250 past the client's timeout, runs a slow content filter), and the sending process
(``python -m mailwatch.send``) is killed with SIGKILL at each step. Each case counts the copies
the server received: exactly one, or zero with the draft ``uncertain`` for a person; never two.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.sending import Env, make_env
from tests.servers.dovecot import ImapAccount
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.dovecot


@pytest.fixture
def env(imap_user: ImapAccount, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    yield from make_env(imap_user, smtp_server, tmp_path)


def _later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def _settle(env: Env, *args: str) -> None:
    """Passes as a restarted service would make them: now, after the grace, much later."""
    for when in (None, 11, 40, 24 * 60):
        extra = () if when is None else ("--now", _later(when))
        done = env.run_send(*args, *extra)
        assert done.returncode == 0, done.stderr


def _assert_never_twice(env: Env, smtp: SmtpServer, draft_id: int) -> tuple[str, int]:
    draft = env.draft(draft_id)
    copies = len([m for m in smtp.received if m.message["Message-ID"] == draft.message_id])
    assert copies <= 1, f"{copies} copies received"
    assert draft.status in ("sent", "uncertain"), draft.status
    if draft.status == "sent":
        assert copies == 1
    if copies == 0:
        assert draft.status == "uncertain"
    if draft.status == "uncertain":  # the evidence, for the person who decides
        assert draft.message_id in (draft.last_error or "")
    return draft.status, copies


def test_stored_then_link_dropped_before_250_is_uncertain_not_resent(env, smtp_server):
    smtp_server.fault_next("drop")
    draft_id = env.add_draft()
    first = env.run_send()
    assert first.returncode == 0, first.stderr
    assert '"status": "sending"' in first.stdout and "outcome uncertain" in first.stdout
    assert len(smtp_server.received) == 1
    _settle(env)
    assert _assert_never_twice(env, smtp_server, draft_id) == ("uncertain", 1)
    assert smtp_server.attempts == 1


def test_stored_then_dropped_with_a_self_filing_server_is_sent(env, smtp_server):
    env.extra["sent_copy"] = "never"
    smtp_server.file_into(env.account)
    smtp_server.fault_next("drop")
    draft_id = env.add_draft()
    first = env.run_send()
    assert '"outcome": "found_in_sent"' in first.stdout, first.stdout + first.stderr
    _settle(env)
    assert _assert_never_twice(env, smtp_server, draft_id) == ("sent", 1)


def test_250_held_past_the_client_timeout_is_uncertain(env, smtp_server):
    smtp_server.fault_next("hold", seconds=3)
    draft_id = env.add_draft()
    first = env.run_send("--data-timeout", "1")
    assert first.returncode == 0, first.stderr
    assert "timed out" in first.stdout
    _settle(env, "--data-timeout", "1")
    assert _assert_never_twice(env, smtp_server, draft_id) == ("uncertain", 1)


def test_slow_content_filter_waits_for_the_servers_copy(env, smtp_server):
    """The filter outlasts the client's patience, then the server accepts and files the copy:
    the next pass finds it in Sent, and the draft is sent with one copy."""
    env.extra["sent_copy"] = "never"
    smtp_server.file_into(env.account)
    smtp_server.fault_next("slow_filter", seconds=2)
    draft_id = env.add_draft()
    first = env.run_send("--data-timeout", "0.5")
    assert '"status": "sending"' in first.stdout, first.stdout + first.stderr
    assert len(smtp_server.wait_for(1, timeout=10)) == 1
    message_id = env.draft(draft_id).message_id
    wait_until(lambda: env.sent_items(message_id), 10, "the server's copy filed in Sent")
    second = env.run_send()
    assert '"outcome": "found_in_sent"' in second.stdout, second.stdout + second.stderr
    _settle(env)
    assert _assert_never_twice(env, smtp_server, draft_id) == ("sent", 1)


@pytest.mark.parametrize(
    ("step", "self_filing", "expected"),
    [
        ("claim", False, ("sent", 1)),  # before connecting: resent after the grace
        ("data", False, ("uncertain", 0)),  # recipients accepted, DATA not yet sent
        ("smtp", False, ("uncertain", 1)),  # accepted, our copy not yet in Sent
        ("smtp", True, ("sent", 1)),  # accepted, the server's own copy is in Sent
        ("append", False, ("sent", 1)),  # our copy is in Sent
    ],
)
def test_killed_at_each_step(env, smtp_server, step, self_filing, expected):
    if self_filing:
        env.extra["sent_copy"] = "never"
        smtp_server.file_into(env.account)
    draft_id = env.add_draft()
    crashed = env.run_send(crash_after=step)
    assert crashed.returncode == 137, crashed.stderr
    _settle(env)
    assert _assert_never_twice(env, smtp_server, draft_id) == expected


@pytest.mark.parametrize("self_filing", [False, True])
def test_sigkill_while_the_server_holds_its_250(env, smtp_server, self_filing):
    if self_filing:
        env.extra["sent_copy"] = "never"
        smtp_server.file_into(env.account)
    smtp_server.fault_next("hold", seconds=4)
    draft_id = env.add_draft()
    process = env.start_send("--data-timeout", "30")
    try:
        assert len(smtp_server.wait_for(1, timeout=30)) == 1  # stored; the 250 is held back
        assert env.draft(draft_id).smtp_data_at is not None
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert env.draft(draft_id).status == "sending"
    _settle(env)
    expected = ("sent", 1) if self_filing else ("uncertain", 1)
    assert _assert_never_twice(env, smtp_server, draft_id) == expected


def test_the_running_service_never_resends_an_uncertain_message(env, smtp_server):
    """Through `mailwatch run` (its scheduler's outbox job, its production logging): the link
    is cut after the server stored the message; the service logs the uncertain outcome with
    its evidence, checks Sent, and sends nothing more while it runs."""
    import os
    import subprocess
    import sys

    from tests.servers.common import free_port

    port = free_port()
    env.extra.update(web_bind=f"127.0.0.1:{port}", poll_interval="1m")
    smtp_server.fault_next("drop")
    draft_id = env.add_draft()
    log_path = env.tmp_path / "run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailwatch", "--env-file", str(env.env_file()), "run"],
            cwd=env.tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
        )
        try:

            def tried() -> bool:
                assert proc.poll() is None, log_path.read_text()
                draft = env.draft(draft_id)
                return draft.smtp_data_at is not None and "uncertain" in (draft.last_error or "")

            wait_until(
                tried, 90, lambda: "the outbox never tried: " + log_path.read_text(), interval=0.5
            )
            # The next outbox passes (every 30 s) must leave it alone.
            attempts = smtp_server.attempts
            wait_until(
                lambda: "left alone" in log_path.read_text(),
                35,
                lambda: "no later pass left it alone: " + log_path.read_text(),
                interval=0.5,
            )
            assert smtp_server.attempts == attempts == 1
            assert env.draft(draft_id).status == "sending"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    output = log_path.read_text()
    assert "outcome uncertain" in output and "final '.'" in output
    assert "left alone" in output  # the later pass, waiting for the Sent check
    assert env.account.password not in output and "Traceback" not in output
    assert len(smtp_server.received) == 1
