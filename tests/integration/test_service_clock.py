"""The scheduler's jobs on a walking clock (time-machine), the digest across DST, SIGTERM mid-sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from mailwatch.service import jobs as job_module
from mailwatch.service.main import build_schedule
from mailwatch.store.models import Draft
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until
from tests.integration.test_cli import _count, mailwatch, write_env
from tests.integration.test_service import _free_port
from tests.mailsample import repeated_sample

TZ = ZoneInfo("Europe/Chisinau")
CLIENT = "Ana Popescu <ana@client.test>"


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def test_a_week_on_the_clock_drafts_come_early(imap_user, tmp_path):
    """Monday 23 to Monday 30 November 2026 in 15-minute steps, jobs run as the scheduler does."""
    server, user = imap_user.server, imap_user.username
    server.append(
        user,
        "INBOX",
        make_msg(sender=CLIENT, subject="Quote", msgid="<q@client.test>", date=local(23, 9, 5)),
    )
    server.append(
        user,
        "INBOX",
        make_msg(sender=CLIENT, subject="Samples", msgid="<s@client.test>", date=local(23, 9, 0)),
    )
    server.append(
        user,
        "Sent Items",
        make_msg(
            sender=f"Sales <{user}>",
            to=CLIENT,
            subject="Re: Samples",
            in_reply_to="<s@client.test>",
            date=local(23, 10),
            body="Dear Ana,\n\nI will send you the samples by Thursday.\n",
        ),
    )
    h = Harness(
        make_settings(
            imap_user,
            sqlite_url(tmp_path),
            timezone="Europe/Chisinau",
            reply_sla="4h",
            ack_after="2h",
            renegotiate_lead="1",
            sender_name="Ion",
            signature="Ion",
        )
    )
    try:
        with time_machine.travel(local(23, 9, 10), tick=False):
            h.sync()
        job_module.install(job_module.Jobs(h.factory, h.settings))
        first_seen: dict[str, datetime] = {}
        moment = local(23, 9, 15)
        while moment < local(30, 9):
            with time_machine.travel(moment, tick=False):
                job_module.sla_job()
                job_module.promise_job()
            with h.factory() as session:
                for kind in session.scalars(select(Draft.kind)):
                    first_seen.setdefault(kind, moment)
            moment += timedelta(minutes=15)
    finally:
        job_module.install(None)
        h.close()
    # The client has waited since 09:05; ACK_AFTER 2h -> 11:05; the SLA runs out at 13:05.
    assert first_seen["acknowledgment"] == local(23, 11, 15)
    assert first_seen["acknowledgment"] < local(23, 13, 5)
    # "by Thursday", said Monday 10:00 -> Thursday 26th 18:00: 35 business hours. The lead is
    # one business day (9 h) or a quarter of the span (8 h 45 min) if shorter -> Thu 09:15.
    assert first_seen["renegotiation"] == local(26, 9, 15)
    assert first_seen["renegotiation"] < local(26, 18)


def test_digest_fires_at_the_local_hour_across_the_dst_change(imap_user, tmp_path):
    """Europe/Chisinau leaves summer time on Sunday 25 October 2026."""
    settings = make_settings(
        imap_user, sqlite_url(tmp_path), timezone="Europe/Chisinau", digest_at="08:30"
    )
    Harness(settings).close()

    def fire_times() -> list[datetime]:
        (digest,) = [e for e in build_schedule(settings) if e.job == "daily-digest"]
        times, previous = [], datetime.now(TZ)
        for _ in range(4):
            previous = digest.after(previous)
            times.append(previous)
        return times

    with time_machine.travel(datetime(2026, 10, 22, 12, 0, tzinfo=TZ), tick=False):
        times = fire_times()
    assert [t.astimezone(TZ).strftime("%a %d %H:%M") for t in times] == [
        "Fri 23 08:30",
        "Mon 26 08:30",
        "Tue 27 08:30",
        "Wed 28 08:30",
    ]
    assert times[0].astimezone(UTC).hour == 5  # 08:30 at +03:00
    assert times[1].astimezone(UTC).hour == 6  # 08:30 at +02:00


def test_sigterm_during_a_sync_stops_cleanly_and_loses_nothing(imap_user, tmp_path):
    files = repeated_sample(1500)
    imap_user.server.bulk_load_maildir(imap_user.username, "INBOX", files)
    env = write_env(tmp_path, imap_user, fetch_batch="50", web_bind=f"127.0.0.1:{_free_port()}")
    assert mailwatch(env, "init").returncode == 0
    db = tmp_path / "mw.db"
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "run"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )
    try:

        def backfilling() -> bool:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            return _count(db, "messages") >= 100

        wait_until(backfilling, 60, "100 messages stored", interval=0.02)
        assert _count(db, "messages") < len(files), "the backfill finished before SIGTERM"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, output
    assert elapsed < 10
    assert "stopped cleanly" in output and "Traceback" not in output
    resumed = mailwatch(env, "sync", "--once")
    assert resumed.returncode == 0, resumed.stderr
    import sqlite3

    with sqlite3.connect(db) as conn:
        count, distinct = conn.execute(
            "select count(*), count(distinct uid) from message_locations"
        ).fetchone()
    assert (count, distinct) == (len(files), len(files))
