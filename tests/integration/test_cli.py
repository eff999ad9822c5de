"""The command line as a user runs it: init, check, sync --once, threads --json; crash resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_msg, wait_until
from tests.mailsample import repeated_sample


def mailwatch(env_file: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env_file.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )


def write_env(tmp_path: Path, account, **extra: str) -> Path:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'mw.db'}",
        "IMAP_HOST": account.host,
        "IMAP_PORT": str(account.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": account.username,
        "IMAP_PASSWORD": account.password,
        "BACKFILL_DAYS": "0",
        "IMAP_TIMEOUT": "5",
        **{k.upper(): v for k, v in extra.items()},
    }
    env = tmp_path / "test.env"
    env.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    env.chmod(0o600)  # it holds passwords (mailwatch warns about one others can read)
    return env


def test_init_sync_threads_json(imap_user, tmp_path):
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(msgid="<c1@acme.test>", subject="Quote please")
    )
    imap_user.server.append(
        imap_user.username,
        "Sent Items",
        make_msg(
            msgid="<c2@example.com>",
            sender=imap_user.username,
            to="Client <client@acme.test>",
            subject="Re: Quote please",
            in_reply_to="<c1@acme.test>",
        ),
    )
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "threads").returncode == 2  # before init: told to run init
    init = mailwatch(env, "init")
    assert init.returncode == 0, init.stderr
    synced = mailwatch(env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    assert "2 new messages" in synced.stdout
    listed = mailwatch(env, "threads", "--state", "all", "--json")
    assert listed.returncode == 0, listed.stderr
    threads = json.loads(listed.stdout)
    assert len(threads) == 1
    thread = threads[0]
    for key in (
        "id",
        "mailbox",
        "subject",
        "counterpart",
        "state",
        "needs_reply",
        "overdue",
        "overdue_business_minutes",
        "last_inbound_at",
        "last_outbound_at",
        "first_response_business_minutes",
        "language",
        "message_ids",
        "warning_signs",
    ):
        assert key in thread
    assert thread["counterpart"] == {"name": "Client", "email": "client@acme.test"}
    assert thread["message_ids"] == ["<c1@acme.test>", "<c2@example.com>"]
    assert thread["state"] == "awaiting_them"
    assert thread["last_inbound_at"].endswith("+00:00")
    assert (
        mailwatch(env, "threads", "--now", "2026-03-11T10:00:00").returncode == 2
    )  # needs an offset


def test_config_errors_are_one_clear_line(tmp_path):
    env = tmp_path / "bad.env"
    env.write_text("MAILWATCH_IMAP_PORT=imap\nMAILWATCH_IMAP_HOST=x.example.com\n")
    env.chmod(0o600)
    result = mailwatch(env, "init")
    assert result.returncode == 2
    assert "MAILWATCH_IMAP_PORT" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_missing_env_file_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "nonexistent.env"
    result = mailwatch(missing, "init")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[0].startswith("error: config: --env-file")
    assert "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no ./mailwatch.db


def test_a_misspelled_key_stops_init_before_the_database_exists(tmp_path):
    env = tmp_path / "typo.env"
    db = tmp_path / "mw.db"
    env.write_text(
        f"MAILWATCH_DATABASE_URL=sqlite:///{db}\nMAILWATCH_IMAP_HOST=imap.example.com\n"
        "MAILWATCH_IMAP_USERNAME=sales@example.com\nMAILWATCH_IMAP_PASSWORD=x\n"
        "MAILWATCH_REPLY_SAL=4h\n"
    )
    result = mailwatch(env, "init")
    assert result.returncode == 2
    assert "MAILWATCH_REPLY_SAL: unknown setting; did you mean MAILWATCH_REPLY_SLA?" in (
        result.stderr
    )
    assert "configuration OK" not in result.stdout
    assert not db.exists()


def test_init_checks_the_configuration_before_creating_the_database(tmp_path):
    env = tmp_path / "half.env"
    db = tmp_path / "mw.db"
    env.write_text(f"MAILWATCH_DATABASE_URL=sqlite:///{db}\nMAILWATCH_IMAP_HOST=imap.example.com\n")
    result = mailwatch(env, "init")
    assert result.returncode == 2
    assert "MAILWATCH_IMAP_USERNAME" in result.stderr
    assert not db.exists()
    env.write_text(
        env.read_text() + "MAILWATCH_IMAP_USERNAME=s@example.com\nMAILWATCH_IMAP_PASSWORD=x\n"
    )
    done = mailwatch(env, "init")
    assert done.returncode == 0, done.stderr
    assert db.exists() and "configuration OK" in done.stdout


def test_check_reports_capabilities_and_folders(imap_user, tmp_path):
    env = write_env(tmp_path, imap_user)
    result = mailwatch(env, "check")
    assert result.returncode == 0, result.stderr
    assert "IDLE" in result.stdout and "CONDSTORE" in result.stdout
    assert "sent    -> Sent Items" in result.stdout
    assert "drafts  -> Drafts" in result.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"imap_password": "wrong"}, "login refused"),
        ({"imap_port": "CLOSED"}, "connection refused"),
        ({"imap_host": "no-such-host.invalid", "allow_insecure": "true"}, "cannot resolve host"),
        ({"imap_security": "ssl"}, "TLS error"),  # TLS spoken to a plain-text port
    ],
)
def test_check_explains_connection_problems(imap_user, tmp_path, change, expected):
    if change.get("imap_port") == "CLOSED":
        change = {"imap_port": str(_closed_port())}
    env = write_env(tmp_path, imap_user, **change)
    result = mailwatch(env, "check", timeout=60)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert imap_user.password not in result.stderr + result.stdout or change.get("imap_password")


def test_kill_9_mid_backfill_resumes_without_loss_or_duplicates(imap_user, tmp_path):
    files = repeated_sample(1200)  # real mail, enough of it to be killed mid-way
    imap_user.server.bulk_load_maildir(imap_user.username, "INBOX", files)
    env = write_env(tmp_path, imap_user, fetch_batch="50")
    assert mailwatch(env, "init").returncode == 0
    db = tmp_path / "mw.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "sync", "--once"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(
        lambda: proc.poll() is not None or _count(db, "messages") >= 200,
        60,
        "200 messages stored",
        interval=0.02,
    )
    assert proc.poll() is None, "the sync finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after_kill = _count(db, "messages")
    assert 0 < after_kill < len(files)
    resumed = mailwatch(env, "sync", "--once")
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as conn:
        locations = conn.execute(
            "select count(*), count(distinct uid) from message_locations"
        ).fetchone()
        keys = conn.execute("select count(*), count(distinct message_key) from messages").fetchone()
        last_uid = conn.execute("select last_uid from folders where role = 'inbox'").fetchone()[0]
    assert locations == (len(files), len(files))  # every message, once
    assert keys[0] == keys[1]
    assert last_uid == len(files)


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute(f"select count(*) from {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_errors_from_below_a_command_are_one_line_with_their_exit_code(tmp_path):
    """The one wrapper in a real process: a domain error (unknown id), a wrong state, a bad
    option value and a database not created yet each print one `error:` line, no traceback."""
    env = tmp_path / "mw.env"
    env.write_text(
        f"MAILWATCH_DATABASE_URL=sqlite:///{tmp_path / 'mw.db'}\n"
        "MAILWATCH_IMAP_HOST=imap.example.com\nMAILWATCH_IMAP_USERNAME=s@example.com\n"
        "MAILWATCH_IMAP_PASSWORD=x\n"
    )
    env.chmod(0o600)
    before_init = mailwatch(env, "workers")
    assert before_init.returncode == 2
    assert before_init.stderr.strip().endswith("run `mailwatch init` first")
    assert mailwatch(env, "init").returncode == 0
    for args, line in [
        (("thread", "close", "999"), "error: no thread with id 999"),
        (("drafts", "show", "999"), "error: no draft with id 999"),
        (("promise", "done", "999"), "error: no promise with id 999"),
        (("draft", "bogus", "1"), "error: unknown kind 'bogus' (one of acknowledgment, decline, renegotiation, follow_up, closing, clarify)"),
        (("thread", "snooze", "1", "--until", "soon"), "error: --until: 'soon' is not an ISO 8601 date or date-time"),
        (("drafts", "list", "--status", "lost"), "error: --status: 'lost' is not one of pending, approved, sending, sent, rejected, failed, uncertain, all"),
    ]:  # fmt: skip
        result = mailwatch(env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.splitlines() == [line], args
        assert result.stdout == ""


def test_sync_once_rechecks_waiting_threads_only_when_a_flag_changed(imap_user, tmp_path):
    """As the service does: a pass that saw no flag change leaves a waiting thread as it was
    tracked (nothing can have answered it); an \\Answered flag set by another client moves it."""
    uid = imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(msgid="<ask@acme.test>", subject="Price list?", body="Could you send it?"),
    )
    env = write_env(tmp_path, imap_user)
    assert mailwatch(env, "init").returncode == 0

    def thread() -> tuple[str, str]:
        with sqlite3.connect(tmp_path / "mw.db") as db:
            state, tracked_at = db.execute("SELECT state, tracked_at FROM threads").fetchone()
        return state, tracked_at

    first = mailwatch(env, "sync", "--once")
    assert first.returncode == 0, first.stderr
    state, tracked_at = thread()
    assert state == "awaiting_us"
    quiet = mailwatch(env, "sync", "--once")  # nothing new, no flag changed
    assert quiet.returncode == 0, quiet.stderr
    assert "0 new messages, 0 flag changes" in quiet.stdout
    assert thread() == ("awaiting_us", tracked_at)  # not recomputed
    imap_user.server.set_flags(imap_user.username, "INBOX", uid, [b"\\Answered", b"\\Seen"])
    answered = mailwatch(env, "sync", "--once")
    assert answered.returncode == 0, answered.stderr
    assert "1 flag changes" in answered.stdout
    state, retracked_at = thread()
    assert state == "awaiting_them" and retracked_at != tracked_at
