"""Parsing and analysis on a second core, through a real Dovecot backfill: the stored results
are the same when each batch is analysed before it is stored (in the worker, as `sync --once`
does) as when rows are stored first and analysed by the tracking pass after, in one process;
and a crash with batches in the worker loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mailwatch.store.mail import MailStore
from mailwatch.track import prepare as prepare_module
from mailwatch.track.prepare import WORKER_MIN
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until
from tests.mailsample import corpus_files

ROOT = Path(__file__).resolve().parents[2]
EVAL = sorted((ROOT / "tests" / "data" / "eval").rglob("*.eml"))
DEMO = sorted((ROOT / "mailwatch" / "demo" / "data").glob("*.eml"))
_MSGID = re.compile(rb"(?im)^message-id[ \t]*:[ \t]*<([^>]*)>")

# Text of every message is read whatever its date (the samples are years old); small fetch
# batches (at least WORKER_MIN) so the sync hands the worker several.
EXTRA = {"analysis_days": "0", "fetch_batch": "200", "own_addresses": "sales@example.com"}


def _load(account) -> int:
    """The evaluation set, the demo mail and the real-mail sample in INBOX; the evaluation set
    again in Sent Items (new Message-IDs), where promises are looked for."""
    inbox = [*EVAL, *DEMO, *corpus_files()]
    account.server.bulk_load_maildir(account.username, "INBOX", inbox)
    sent = [_MSGID.sub(rb"Message-ID: <sent-\1>", p.read_bytes(), count=1) for p in EVAL]
    account.server.bulk_load_maildir(account.username, "Sent Items", sent)
    return len(inbox) + len(sent)


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """What the tracker stored, keyed by Message-ID (row ids may differ between databases)."""
    with sqlite3.connect(db) as conn:
        return {
            "messages": conn.execute(
                "SELECT message_id, direction, needs_reply, category, reason, language, "
                "requested_by, signs, analysis_version FROM messages ORDER BY message_id, id"
            ).fetchall(),
            "promises": conn.execute(
                "SELECT m.message_id, p.text, p.due_at, p.time_given, p.source FROM promises p "
                "JOIN messages m ON m.id = p.message_row_id ORDER BY 1, 2, 3"
            ).fetchall(),
            "threads": conn.execute(
                "SELECT m.message_id, t.state, t.needs_reply, t.needs_reply_reason, "
                "t.waiting_since, t.requested_by, t.language, t.signs FROM messages m "
                "JOIN threads t ON t.id = m.thread_id ORDER BY m.message_id, m.id"
            ).fetchall(),
        }


def _reference(account, tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """One process, one message batch after another: the path without workers."""
    ref = tmp_path / "ref"
    ref.mkdir()
    h = Harness(make_settings(account, sqlite_url(ref), analysis_workers="0", **EXTRA))
    try:
        h.sync()
        assert not h.tracker.pool.started
    finally:
        h.close()
    return _snapshot(ref / "mailwatch.db")


def _check_really_analysed(snap: dict[str, list[tuple[object, ...]]], total: int) -> None:
    messages = snap["messages"]
    assert len(messages) == total
    assert all(row[-1] == 2 for row in messages)  # every message analysed (ANALYSIS_VERSION)
    assert sum(row[5] is not None for row in messages) > 150  # languages
    assert any(row[6] for row in messages)  # requested deadlines
    assert any(row[7] for row in messages)  # warning signs
    assert len(snap["promises"]) > 5
    assert not any(row[3] == "error" for row in messages)


def test_sync_once_with_the_pool_stores_what_one_process_stores(imap_user, tmp_path):
    total = _load(imap_user)
    assert total > 2 * WORKER_MIN  # the sync hands batches to the worker during the pass
    want = _reference(imap_user, tmp_path)
    _check_really_analysed(want, total)

    # The real command, as a user runs it, with one analysis worker beside the sync.
    run = tmp_path / "pool"
    run.mkdir()
    values = {
        "DATABASE_URL": f"sqlite:///{run / 'mw.db'}",
        "IMAP_HOST": imap_user.host,
        "IMAP_PORT": str(imap_user.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": imap_user.username,
        "IMAP_PASSWORD": imap_user.password,
        "BACKFILL_DAYS": "0",
        "ANALYSIS_WORKERS": "1",
        **{k.upper(): v for k, v in EXTRA.items()},
    }
    env_file = run / "test.env"
    env_file.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    env_file.chmod(0o600)
    for command in (["init"], ["sync", "--once"]):
        done = subprocess.run(
            [sys.executable, "-m", "mailwatch", "--env-file", str(env_file), *command],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=run,
            env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert f"{total} new messages" in done.stdout.replace("\n", " "), done.stdout
    # the worker really did the work (a broken pool falls back to this process, with a warning)
    assert "analysis workers stopped" not in done.stdout + done.stderr
    got = _snapshot(run / "mw.db")
    assert got == want


class Crash(BaseException):
    """The process dying: nothing below the sync catches it."""


def _wired(settings) -> Harness:
    """A sync wired to its tracker as `sync --once` and `run` wire it: batches parsed and
    analysed by the tracker's preparer (in its worker) and stored with their verdicts."""
    h = Harness(settings)
    h.syncer.after_batch = h.tracker.feed
    h.syncer.preparer = h.tracker.preparer()
    return h


def test_a_crash_while_the_worker_prepares_batches_loses_and_duplicates_nothing(
    imap_user, tmp_path, monkeypatch
):
    # Batches of 200 go to the worker as they are fetched (WORKER_MIN 1); the process dies at
    # the third store, with batches fetched, parsed or analysed but not stored.
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 1)
    total = _load(imap_user)
    want = _reference(imap_user, tmp_path)

    run = tmp_path / "crash"
    run.mkdir()
    settings = make_settings(imap_user, sqlite_url(run), analysis_workers="1", **EXTRA)
    h = _wired(settings)
    save = MailStore.save_batch
    saved: list[int] = []

    def dies_at_the_third_store(self: MailStore, folder, fetched, checkpoint_uid):
        if len(saved) == 2:
            raise Crash
        result = save(self, folder, fetched, checkpoint_uid)
        saved.append(result[0].stored)
        return result

    monkeypatch.setattr(MailStore, "save_batch", dies_at_the_third_store)
    try:
        with pytest.raises(Crash):
            h.syncer.sync_once()
        assert h.tracker.pool.started  # the worker was preparing batches
        h.tracker.pool.close()  # the worker goes with the process
        monkeypatch.setattr(MailStore, "save_batch", save)
        with sqlite3.connect(run / "mailwatch.db") as conn:
            stored = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            analysed = conn.execute(
                "SELECT count(*) FROM messages WHERE analysis_version = 2"
            ).fetchone()[0]
        # what was stored was stored analysed, with its batch, and nothing else
        assert stored == analysed == sum(saved) > 0
        # The next run syncs the rest, analysing it as it stores it: each message once.
        again = _wired(settings)
        try:
            again.syncer.sync_once()
            report = again.tracker.refresh()
            assert report.analysed == total - stored
            assert again.tracker.refresh().analysed == 0  # nothing left, nothing twice
        finally:
            again.close()
    finally:
        h.close()
    got = _snapshot(run / "mailwatch.db")
    assert got == want


def test_new_mail_in_a_tracked_thread_is_retracked_after_a_crash_before_tracking(
    imap_user, tmp_path
):
    """The client writes again in a thread that waits for them; the process stores the
    message (analysed, with the sync) and dies before its tracking pass. The next process's
    tracking pass must still see that the client now waits for us."""
    client = "Ana Popescu <ana@client.test>"
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(sender=client, msgid="<t1@client.test>")
    )
    imap_user.server.append(
        imap_user.username,
        "Sent Items",
        make_msg(
            subject="Re: Price request",
            sender="Sales <sales@example.com>",
            to=client,
            msgid="<t2@example.com>",
            in_reply_to="<t1@client.test>",
        ),
    )
    settings = make_settings(imap_user, sqlite_url(tmp_path), own_addresses="sales@example.com")
    first = _wired(settings)
    try:
        first.syncer.sync_once()
        first.tracker.refresh()
        assert _states(tmp_path) == ["awaiting_them"]
        imap_user.server.append(
            imap_user.username,
            "INBOX",
            make_msg(
                subject="Re: Price request",
                sender=client,
                msgid="<t3@client.test>",
                in_reply_to="<t2@example.com>",
                body="Could you also quote 40 more units?\n",
            ),
        )
        first.syncer.sync_once()  # stored and analysed; the process dies here
    finally:
        first.close()
    with sqlite3.connect(tmp_path / "mailwatch.db") as conn:
        assert conn.execute(
            "SELECT analysis_version, needs_reply FROM messages WHERE message_id = ?",
            ("<t3@client.test>",),
        ).fetchone() == (2, 1)
    assert _states(tmp_path) == ["awaiting_them"]  # not tracked yet
    again = _wired(settings)
    try:
        again.tracker.refresh(recheck_waiting=False)  # no \Answered rescan: only marked threads
    finally:
        again.close()
    assert _states(tmp_path) == ["awaiting_us"]


def _states(db_dir: Path) -> list[str]:
    with sqlite3.connect(db_dir / "mailwatch.db") as conn:
        return [state for (state,) in conn.execute("SELECT state FROM threads ORDER BY id")]


def test_mailwatch_run_killed_mid_backfill_then_restarted_keeps_every_message_once(
    imap_user, tmp_path
):
    """The service as users run it: `mailwatch run` backfills with its analysis worker, is
    killed with SIGKILL in the middle, and started again. Every message ends up stored once
    and analysed, nothing is left behind (no orphaned worker), and the log has no traceback."""
    from tests.integration.test_cli import mailwatch, write_env
    from tests.integration.test_service import _free_port, _start, _stop

    # four copies of every sample (own Message-IDs): enough batches to be killed among them
    copies = [
        _MSGID.sub(rb"Message-ID: <copy%d-\1>" % n, path.read_bytes(), count=1)
        for n in range(4)
        for path in [*EVAL, *DEMO, *corpus_files()]
    ]
    imap_user.server.bulk_load_maildir(imap_user.username, "INBOX", copies)
    total = len(copies)
    env = write_env(
        tmp_path,
        imap_user,
        web_bind=f"127.0.0.1:{_free_port()}",
        backfill_days="0",
        analysis_workers="1",
        analysis_days="0",
        fetch_batch="200",
        own_addresses="sales@example.com",
    )
    assert mailwatch(env, "init").returncode == 0
    db = tmp_path / "mw.db"

    def stored() -> int:
        """INBOX messages stored, by UID (copies of a message without a Message-ID are one
        row with one place per UID)."""
        try:
            with sqlite3.connect(db) as conn:
                return int(conn.execute("SELECT count(*) FROM message_locations").fetchone()[0])
        except sqlite3.Error:
            return 0

    proc, log = _start(env, tmp_path / "run1.log")
    try:
        wait_until(lambda: stored() >= 200, 60, "the first batches stored")
        workers = [p for p in _children(proc.pid)]
        proc.kill()
        proc.wait(10)
    finally:
        log.close()
    partly = stored()
    assert 0 < partly < total, "killed too late to be in the middle of the backfill"
    wait_until(lambda: not any(_running(p) for p in workers), 10, "the orphaned worker gone")

    proc, log = _start(env, tmp_path / "run2.log")
    try:
        wait_until(lambda: stored() >= total, 120, "the backfill finished after the restart")
        with sqlite3.connect(db) as conn:
            wait_until(
                lambda: (
                    conn.execute(
                        "SELECT count(*) FROM threads WHERE tracked_at IS NULL"
                    ).fetchone()[0]
                    == 0
                ),
                60,
                "every thread tracked",
            )
    finally:
        _stop(proc)
        log.close()
    output = (tmp_path / "run2.log").read_text()
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "stopped cleanly" in output
    with sqlite3.connect(db) as conn:
        rows, keys, analysed = conn.execute(
            "SELECT count(*), count(DISTINCT message_key), sum(analysis_version = 2) FROM messages"
        ).fetchone()
        places, uids = conn.execute(
            "SELECT count(*), count(DISTINCT uid) FROM message_locations"
        ).fetchone()
    assert places == uids == total  # every UID once
    assert rows == keys == analysed  # every message once, and analysed


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (from /proc: no psutil in the test environment)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except OSError:
        return False
    return state != "Z"
