"""Every status change of a draft is a conditional UPDATE (issue #16, attack 3), and an
``uncertain`` draft waits for a person, who decides from the CLI (real process) or the page.

The reject-versus-send race is replayed exactly: ``reject`` reads the draft while it is still
``approved``, the outbox claims it (another connection commits ``sending``) before ``reject``
writes. Before the fix the draft ended ``rejected`` although it was being sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mailwatch.drafts.service import DraftError, DraftService
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Draft, Mailbox
from tests.helpers import make_settings, sqlite_url
from tests.sending import Env, make_env
from tests.servers.dovecot import ImapAccount
from tests.servers.smtp import SmtpServer

ACCOUNT = type(
    "A", (), {"host": "127.0.0.1", "port": 1, "username": "s@example.com", "password": "x"}
)()
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def _world(url: str) -> tuple[DraftService, Any, int]:
    settings = make_settings(ACCOUNT, url)
    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        mailbox = Mailbox(name="main", username="s@example.com")
        session.add(mailbox)
        session.flush()
        draft = Draft(
            mailbox_id=mailbox.id,
            kind="acknowledgment",
            language="en",
            status="approved",
            message_id="<race@example.com>",
            from_addr={"email": "s@example.com"},
            to_addrs=[{"name": "", "email": "client@acme.test"}],
            subject="Re: x",
            body_text="hello\n",
        )
        session.add(draft)
        session.flush()
        draft_id = draft.id
    return DraftService(factory, settings), engine, draft_id


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


def _claim_in_between(monkeypatch: pytest.MonkeyPatch, engine: Any, draft_id: int) -> None:
    """After the service read the draft, the outbox (another connection) claims it."""
    original = DraftService._draft
    done = {"claimed": False}

    def read_then_race(session: Any, wanted: int) -> Draft:
        draft = original(session, wanted)
        if not done["claimed"]:
            done["claimed"] = True
            with engine.connect() as other, other.begin():
                other.execute(
                    text("UPDATE drafts SET status = 'sending', attempts = 1 WHERE id = :id"),
                    {"id": draft_id},
                )
        return draft

    monkeypatch.setattr(DraftService, "_draft", staticmethod(read_then_race))


def _status(engine: Any, draft_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM drafts WHERE id = :i"), {"i": draft_id}
            ).scalar_one()
        )


def test_reject_racing_a_send_loses_and_says_so(db_url, monkeypatch):
    service, engine, draft_id = _world(db_url)
    try:
        _claim_in_between(monkeypatch, engine, draft_id)
        with pytest.raises(DraftError, match="sending now"):
            service.reject(draft_id, NOW)
        assert _status(engine, draft_id) == "sending"  # the send goes on; never "rejected"
    finally:
        engine.dispose()


def test_approve_racing_a_decision_elsewhere_loses(db_url, monkeypatch):
    service, engine, draft_id = _world(db_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("UPDATE drafts SET status = 'failed' WHERE id = :i"), {"i": draft_id})
        _claim_in_between(monkeypatch, engine, draft_id)
        with pytest.raises(DraftError, match="changed meanwhile"):
            service.approve(draft_id, NOW)
        assert _status(engine, draft_id) == "sending"
    finally:
        engine.dispose()


def test_only_an_uncertain_draft_is_marked_sent_or_resent(tmp_path):
    service, engine, draft_id = _world(sqlite_url(tmp_path))
    try:
        for call in (service.mark_sent, service.resend):
            with pytest.raises(DraftError, match="only an uncertain one"):
                call(draft_id, NOW)
        assert _status(engine, draft_id) == "approved"
    finally:
        engine.dispose()


# -- the person's decision, through the real CLI -------------------------------------------------


@pytest.fixture
def env(imap_user: ImapAccount, smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Env]:
    yield from make_env(imap_user, smtp_server, tmp_path)


def _cli(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env.env_file()), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env.tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )


def _uncertain(env: Env, smtp: SmtpServer) -> int:
    smtp.fault_next("drop")
    draft_id = env.add_draft()
    assert env.run_send().returncode == 0
    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    assert env.run_send("--now", later).returncode == 0
    assert env.draft(draft_id).status == "uncertain"
    return draft_id


def test_cli_shows_the_uncertain_draft_with_its_evidence_then_mark_sent(env, smtp_server):
    draft_id = _uncertain(env, smtp_server)
    listed = _cli(env, "drafts", "list")
    assert listed.returncode == 0, listed.stderr
    assert "uncertain" in listed.stdout
    shown = _cli(env, "drafts", "show", str(draft_id))
    assert "evidence" in shown.stdout and "outcome uncertain" in shown.stdout
    assert "mark-sent" in shown.stdout
    marked = _cli(env, "drafts", "mark-sent", str(draft_id), "--json")
    assert marked.returncode == 0, marked.stderr
    [row] = json.loads(marked.stdout)
    assert row["status"] == "sent" and "marked sent by a person" in row["last_error"]
    assert len(smtp_server.received) == 1  # nothing sent by marking


def test_cli_resend_sends_exactly_one_more_copy_on_purpose(env, smtp_server):
    draft_id = _uncertain(env, smtp_server)
    resent = _cli(env, "drafts", "resend", str(draft_id), "--json")
    assert resent.returncode == 0, resent.stdout + resent.stderr
    [row] = json.loads(resent.stdout)
    assert row["status"] == "sent"
    assert len(smtp_server.received) == 2  # the person's explicit decision
    again = _cli(env, "drafts", "resend", str(draft_id))
    assert again.returncode != 0 and "only an uncertain one" in (again.stdout + again.stderr)
    assert len(smtp_server.received) == 2
