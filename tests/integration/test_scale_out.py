"""Scale-out: several real `mailwatch run` workers on one real PostgreSQL and real Dovecot users.

What must hold: the workers share the mailboxes (about M/N each); a worker killed with -9
mid-backfill has its mailboxes resumed by the others within the lease time + 10 s with no
message lost or duplicated; a worker paused (SIGSTOP) past its lease cannot write when it
wakes (fencing); every worker runs the scheduler and each due run happens once across them,
the digest once per day, also when a worker is killed in the middle of sending it; on SQLite
a second worker refuses clearly and the one worker runs every job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from mailwatch import clock
from mailwatch.errors import LeaseLost
from mailwatch.service.main import INTERVAL_JOBS
from mailwatch.service.schedule import EPOCH
from mailwatch.service.workers import heartbeat, leave
from mailwatch.store import claims
from mailwatch.store.db import db_now, make_engine, session_factory, transaction, upgrade
from mailwatch.store.leases import (
    Fence,
    acquire,
    check,
    mailbox_lease,
    release,
)
from mailwatch.store.models import (
    JobClaim,
    JobRun,
    Lease,
    Mailbox,
    Message,
    MessageLocation,
    ServiceState,
)
from tests.helpers import make_msg, wait_until
from tests.integration.test_cli import mailwatch
from tests.integration.test_service import _free_port, _get

LEASE_TTL = 4  # seconds: takeover within this (+ one renewal round)
SECRET = "a-long-random-web-secret-shared-by-every-worker"


def _env(tmp_path: Path, name: str, accounts, db_url: str, **extra: str) -> Path:
    first = accounts[0]
    values = {
        "DATABASE_URL": db_url,
        "MAILBOXES": ",".join(f"m{i}" for i in range(len(accounts))),
        "IMAP_HOST": first.host,
        "IMAP_PORT": str(first.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": first.username,
        "IMAP_PASSWORD": first.password,
        "BACKFILL_DAYS": "0",
        "IMAP_TIMEOUT": "10",
        "LEASE_TTL": str(LEASE_TTL),
        "FETCH_BATCH": "10",
        "POLL_INTERVAL": "1m",
        "WEB_SECRET": SECRET,
        **{f"M{i}_IMAP_USERNAME": a.username for i, a in enumerate(accounts) if i},
        **{k.upper(): v for k, v in extra.items()},
    }
    path = tmp_path / f"{name}.env"
    path.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    return path


class Worker:
    def __init__(
        self,
        tmp_path: Path,
        name: str,
        accounts,
        db_url: str,
        environ: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        self.name = name
        self.port = _free_port()
        self.env = _env(
            tmp_path, name, accounts, db_url, web_bind=f"127.0.0.1:{self.port}", **extra
        )
        self.log_path = tmp_path / f"{name}.log"
        self.handle = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailwatch", "--env-file", str(self.env), "run"],
            cwd=tmp_path,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
                **(environ or {}),
            },
        )

    def health(self) -> dict | None:
        try:
            _status, body = _get(f"http://127.0.0.1:{self.port}/healthz")
        except OSError:
            return None
        return json.loads(body)

    def log(self) -> str:
        if not self.handle.closed:
            self.handle.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.handle.closed:
            self.handle.close()


def wait_for(what: str, condition, timeout: float, every: float = 0.2):
    return wait_until(condition, timeout, f"waiting for {what}", interval=every)


def owners(engine: Engine) -> dict[str, tuple[str, int]]:
    """Mailbox name -> (owner, generation) of each mailbox lease in force."""
    with session_factory(engine)() as session:
        now = db_now(session)
        rows = session.scalars(select(Lease).where(Lease.name.startswith("mailbox:")))
        return {
            r.name.removeprefix("mailbox:"): (r.owner, r.generation)
            for r in rows
            if r.owner and r.expires_at > now
        }


def stored(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """Mailbox name -> (messages, distinct message keys, locations) in the store."""
    result = {}
    with session_factory(engine)() as session:
        for mailbox in session.scalars(select(Mailbox)):
            count = session.scalar(
                select(func.count()).select_from(Message).where(Message.mailbox_id == mailbox.id)
            )
            keys = session.scalar(
                select(func.count(func.distinct(Message.message_key))).where(
                    Message.mailbox_id == mailbox.id
                )
            )
            locations = session.scalar(
                select(func.count())
                .select_from(MessageLocation)
                .join(Message, Message.id == MessageLocation.message_id)
                .where(Message.mailbox_id == mailbox.id)
            )
            result[mailbox.name] = (count or 0, keys or 0, locations or 0)
    return result


def accounts_with_mail(dovecot, count: int, messages: int, prefix: str):
    accounts = []
    for i in range(count):
        account = dovecot.new_account(prefix)
        dovecot.bulk_load_maildir(
            account.username,
            "INBOX",
            (
                make_msg(subject=f"Order {i}-{n}", msgid=f"<{prefix}{i}-{n}@client.test>")
                for n in range(messages)
            ),
        )
        accounts.append(account)
    return accounts


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# -- the lease protocol itself, on PostgreSQL -----------------------------------------------------


def test_lease_takeover_and_fencing_use_the_database_clock(pg_engine):
    factory = session_factory(pg_engine)
    name, ttl = mailbox_lease("sales"), timedelta(seconds=1)
    a = acquire(factory, name, "worker-a", ttl)
    assert a.acquired and a.generation == 1
    # In force: another worker cannot take it, and sees who holds it.
    b = acquire(factory, name, "worker-b", ttl)
    assert not b.acquired and b.owner == "worker-a"
    # A renewal keeps the generation; a write under it passes the fence.
    assert acquire(factory, name, "worker-a", ttl, held=1).generation == 1
    with transaction(factory) as session:
        check(session, Fence(name, "worker-a", 1))
    # Expired (by the database's clock): taken over, with a new generation.
    wait_for("expiry", lambda: acquire(factory, name, "worker-b", ttl).acquired, 5)
    assert owners(pg_engine)["sales"] == ("worker-b", 2)
    # The old holder can neither renew nor write.
    assert not acquire(factory, name, "worker-a", ttl, held=1).acquired
    with pytest.raises(LeaseLost, match="worker-b"), transaction(factory) as session:
        check(session, Fence(name, "worker-a", 1))
    # Released: free at once for another, and generations only grow.
    release(factory, name, "worker-b", 2)
    c = acquire(factory, name, "worker-c", timedelta(seconds=30))
    assert c.acquired and c.generation == 3


# -- real workers ----------------------------------------------------------------------------------


def test_three_workers_share_twelve_mailboxes_and_survive_kill_9(dovecot, pg_url, tmp_path):
    messages = 1000
    accounts = accounts_with_mail(dovecot, 12, messages, "so")
    assert mailwatch(_env(tmp_path, "init", accounts, pg_url), "init").returncode == 0
    engine = create_engine(pg_url)
    workers = [Worker(tmp_path, f"w{i}", accounts, pg_url) for i in range(3)]
    survivors: list[Worker] = []
    try:
        ids = {}
        for w in workers:
            health = wait_for(f"{w.name} healthz", w.health, 30)
            ids[health["process"]["worker"]] = w

        def balanced():
            held = Counter(owner for owner, _gen in owners(engine).values())
            return held if sorted(held.values()) == [4, 4, 4] and set(held) == set(ids) else None

        held = wait_for("4 mailboxes per worker", balanced, 30)
        assert set(held) == set(ids)
        # /healthz of each worker says what it holds, the same as the lease table.
        leases = owners(engine)
        for worker_id, w in ids.items():
            mine = sorted(m for m, (o, _g) in leases.items() if o == worker_id)
            assert sorted(w.health()["process"]["mailboxes"]) == mine

        # kill -9 a worker that is still backfilling one of its mailboxes.
        counts = stored(engine)
        backfilling = [o for m, (o, _g) in leases.items() if counts.get(m, (0,))[0] < messages]
        assert backfilling, "the backfill finished before the kill"
        victim_id = backfilling[0]
        victim = ids[victim_id]
        lost = {m: g for m, (o, g) in leases.items() if o == victim_id}
        victim.proc.kill()
        killed_at = time.monotonic()
        victim.proc.wait()

        def taken_over():
            now = owners(engine)
            return all(
                m in now and now[m][0] != victim_id and now[m][1] > gen for m, gen in lost.items()
            )

        wait_for("takeover of the dead worker's mailboxes", taken_over, LEASE_TTL + 10)
        assert time.monotonic() - killed_at <= LEASE_TTL + 10
        survivors = [w for w in workers if w is not victim]
        held = Counter(o for o, _g in owners(engine).values())
        assert sorted(held.values()) == [6, 6] and victim_id not in held

        # `mailwatch workers --json`: the two live workers with 6 each; the dead one is "gone".
        def listed_after_kill():
            rows = json.loads(mailwatch(workers[0].env, "workers", "--json").stdout)
            shares = sorted(len(r["mailboxes"]) for r in rows if r["alive"])
            gone = [r["id"] for r in rows if not r["alive"]]
            return rows if shares == [6, 6] and gone == [victim_id] else None

        listed = wait_for("the heartbeats to show the takeover", listed_after_kill, 60, 0.5)
        assert {r["id"] for r in listed if r["alive"]} == set(ids) - {victim_id}
        assert all(r["scheduler"] for r in listed if r["alive"])  # every worker runs it

        # Every message stored exactly once, in every mailbox.
        def complete():
            now = stored(engine)
            return now if len(now) == 12 and all(c[0] == messages for c in now.values()) else None

        final = wait_for("every message stored", complete, 180, every=1)
        for name, (count, keys, locations) in final.items():
            assert (count, keys, locations) == (messages, messages, messages), name
        for w in survivors:
            assert w.proc.poll() is None
            assert "Traceback" not in w.log()
    finally:
        for w in workers:
            w.stop()
        engine.dispose()
    for w in survivors:
        assert w.proc.returncode == 0, w.log()
        assert "stopped cleanly" in w.log()
    # A clean stop gives every lease back and leaves the workers table.
    assert owners(engine) == {}


def test_a_worker_paused_past_its_lease_cannot_write(dovecot, pg_url, tmp_path):
    messages = 1500
    accounts = accounts_with_mail(dovecot, 2, messages, "fz")
    assert mailwatch(_env(tmp_path, "init", accounts, pg_url), "init").returncode == 0
    engine = create_engine(pg_url)
    first = Worker(tmp_path, "first", accounts, pg_url)
    second = None
    try:
        first_id = wait_for("first healthz", first.health, 30)["process"]["worker"]
        wait_for("first holds both", lambda: len(owners(engine)) == 2, 20)
        wait_for("backfill under way", lambda: sum(c[0] for c in stored(engine).values()), 30)
        first.proc.send_signal(signal.SIGSTOP)
        paused = stored(engine)
        assert any(c[0] < messages for c in paused.values()), "backfill already finished"
        second = Worker(tmp_path, "second", accounts, pg_url)
        second_id = wait_for("second healthz", second.health, 30)["process"]["worker"]
        wait_for(
            "second takes both over",
            lambda: {o for o, _g in owners(engine).values()} == {second_id},
            LEASE_TTL + 10,
        )
        first.proc.send_signal(signal.SIGCONT)
        # On waking, the first worker finds it lost the leases and writes nothing more.
        wait_for("the fenced worker's one line", lambda: "stopped syncing it" in first.log(), 20)

        def complete():
            now = stored(engine)
            return now if len(now) == 2 and all(c[0] == messages for c in now.values()) else None

        final = wait_for("every message stored", complete, 180, every=1)
        for name, (count, keys, locations) in final.items():
            assert (count, keys, locations) == (messages, messages, messages), name
        assert first.proc.poll() is None, "the fenced worker must keep running"
        assert "Traceback" not in first.log()
        assert first_id != second_id
    finally:
        first.stop()
        if second is not None:
            second.stop()
        engine.dispose()


def test_workers_must_agree_on_analysis_settings_and_web_secret(dovecot, pg_url, tmp_path):
    accounts = accounts_with_mail(dovecot, 1, 1, "st")
    assert mailwatch(_env(tmp_path, "init", accounts, pg_url), "init").returncode == 0
    first = Worker(tmp_path, "first", accounts, pg_url, timezone="Europe/Bucharest")
    try:
        wait_for("first healthz", first.health, 30)
        other = _env(tmp_path, "other", accounts, pg_url, timezone="Europe/Madrid")
        refused = mailwatch(other, "run", timeout=60)
        assert refused.returncode != 0
        assert "MAILWATCH_TIMEZONE" in refused.stderr and "differs" in refused.stderr
        no_secret = _env(tmp_path, "nosecret", accounts, pg_url, web_secret="")
        refused = mailwatch(no_secret, "run", timeout=60)
        assert refused.returncode != 0
        assert "MAILWATCH_WEB_SECRET" in refused.stderr
        # A one-off sync takes the mailbox's lease too, and says who holds it.
        once = mailwatch(
            _env(tmp_path, "once", accounts, pg_url, timezone="Europe/Bucharest"),
            "sync",
            "--once",
        )
        assert once.returncode == 1
        assert "holds this mailbox's lease" in once.stderr
    finally:
        first.stop()


def test_sqlite_refuses_a_second_worker_clearly(imap_user, tmp_path):
    db = f"sqlite:///{tmp_path / 'mw.db'}"
    assert mailwatch(_env(tmp_path, "init", [imap_user], db), "init").returncode == 0
    first = Worker(tmp_path, "first", [imap_user], db)
    engine = create_engine(db)
    try:
        wait_for("first healthz", first.health, 30)
        # The one worker runs every job (its current slots at once); on SQLite the slots are
        # not claimed in the database: the OS lock already makes it the only scheduler.
        jobs = {job for job, *_ in INTERVAL_JOBS}

        def ran() -> set[str]:
            try:
                with session_factory(engine)() as session:
                    done = {r.job for r in session.scalars(select(JobRun)) if r.runs}
            except OperationalError:  # the database is briefly locked by the worker
                return set()
            return done if done >= jobs else set()

        wait_for("every job run by the one worker", ran, 30, 0.5)
        assert claim_rows(engine) == []
        assert first.health()["process"]["scheduler"] is True
        second = Worker(tmp_path, "second", [imap_user], db)
        second.proc.wait(timeout=30)
        second.handle.close()
        assert second.proc.returncode != 0
        text = second.log()
        assert "already uses the SQLite database" in text and "PostgreSQL" in text
        assert "Traceback" not in text
        assert first.proc.poll() is None
    finally:
        first.stop()
        engine.dispose()
    assert first.proc.returncode == 0
    # After the first stopped (even killed: the OS lock goes with the process), one may start.
    again = Worker(tmp_path, "again", [imap_user], db)
    try:
        wait_for("restart healthz", again.health, 30)
    finally:
        again.stop()


# -- shared budgets -------------------------------------------------------------------------------


def test_send_rate_is_one_budget_per_smtp_account_across_processes(pg_url, pg_engine):
    from mailwatch.send.rate import SharedRateLimiter

    # Two workers = two engines (two connection pools), one database.
    other = make_engine(pg_url)
    try:
        a = SharedRateLimiter(session_factory(pg_engine), rate=3)
        b = SharedRateLimiter(session_factory(other), rate=3)
        delays = [
            a.reserve("smtp.test:sales"),
            b.reserve("smtp.test:sales"),
            a.reserve("smtp.test:sales"),
            b.reserve("smtp.test:sales"),  # the 4th in one minute, from either process, waits
        ]
        assert delays[:3] == [0.0, 0.0, 0.0]
        assert 59.0 <= delays[3] <= 60.0
        # Another SMTP account has its own budget.
        assert b.reserve("smtp.test:support") == 0.0
    finally:
        other.dispose()


# -- the digest: once per day across workers ----------------------------------------------------


def test_the_digest_is_sent_once_per_day_across_workers(imap_user, pg_url, pg_engine):
    import threading
    from datetime import UTC, datetime

    from mailwatch.service.jobs import Jobs, _claim_digest
    from tests.helpers import make_settings

    settings = make_settings(imap_user, pg_url, digest_to="boss@example.com")
    factory = session_factory(pg_engine)
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    sent: list[str] = []
    start = threading.Barrier(3)

    def slow_send(name: str):
        def send(_when: datetime) -> None:
            sent.append(name)
            time.sleep(0.5)  # a send in progress while the others ask

        return send

    def worker(name: str) -> None:
        other = make_engine(pg_url)  # each worker its own pool, as separate processes
        try:
            start.wait()
            Jobs(session_factory(other), settings).digest(now, send=slow_send(name))
        finally:
            other.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(sent) == 1
    # Killed between send and mark (claim left, no mark): the day's digest is not sent again.
    next_day = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert _claim_digest(factory, "2026-11-24", next_day)  # ...and then the process died
    assert Jobs(factory, settings).digest(next_day, send=slow_send("again")) is False
    assert sent == sent[:1]
    # A send that failed (no acceptance) gives the claim back: the next run sends it.
    third = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)

    def refused(_when: datetime) -> None:
        raise ConnectionRefusedError("smtp down")

    with pytest.raises(ConnectionRefusedError):
        Jobs(factory, settings).digest(third, send=refused)
    assert Jobs(factory, settings).digest(third, send=slow_send("retry")) is True
    assert sent[1:] == ["retry"]


# -- the scheduler: every worker runs it, each due run happens once -----------------------------

SPEED = 6000.0  # a simulated day in 14.4 real seconds; every interval job every 0.5 s
DAY1 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # a Monday, at DIGEST_AT


def claim_rows(engine: Engine) -> list[JobClaim]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(JobClaim).order_by(JobClaim.slot)))


def test_claims_make_each_run_happen_once_on_postgresql(pg_engine, pg_url):
    other = make_engine(pg_url)  # a second worker: its own pool, as another process
    try:
        a, b = session_factory(pg_engine), session_factory(other)
        # live workers on another host (this host's "is that process gone?" does not apply)
        far_a, far_b = "far-a:1:aaaa", "far-b:2:bbbb"
        for owner in (far_a, far_b):
            heartbeat(
                a,
                owner,
                timedelta(seconds=60),
                mailboxes=(),
                scheduler=True,
                web=None,
                fingerprint={},
            )
        slot = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        start, results = threading.Barrier(2), {}

        def ask(factory, owner):
            start.wait()
            results[owner] = claims.claim(factory, "outbox", slot, owner)

        threads = [threading.Thread(target=ask, args=x) for x in ((a, far_a), (b, far_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        # The second waits for the first's claim, then finds the slot taken (or the job running).
        assert sorted(results.values()) in (["busy", "won"], ["lost", "won"])
        winner = next(o for o, r in results.items() if r == "won")
        loser = far_b if winner == far_a else far_a
        # While the winner runs it, the next slot and a wake-up wait: one run at a time.
        later = slot + timedelta(seconds=30)
        assert claims.claim(b, "outbox", later, loser) == "busy"
        assert claims.claim(b, "outbox", later + timedelta(seconds=1), loser, "wake") == "busy"
        claims.finish(a, "outbox", slot, winner)
        assert claims.claim(b, "outbox", later, loser) == "won"
        claims.finish(b, "outbox", later, loser)
        assert claims.claim(a, "outbox", later, winner) == "lost"  # done: never again
        # The claimer dies in the middle (its heartbeat ends): the slot is taken over, once.
        third = later + timedelta(seconds=30)
        assert claims.claim(a, "outbox", third, far_a) == "won"
        leave(a, far_a)
        assert claims.claim(b, "outbox", third, far_b) == "takeover"
        assert claims.claim(a, "outbox", third, "far-c:3:cccc") == "busy"  # far_b runs it now
        claims.finish(b, "outbox", third, far_b)
        assert claims.claim(a, "outbox", third, "far-c:3:cccc") == "lost"
        rows = claim_rows(pg_engine)
        assert [(r.slot, r.owner, r.reason) for r in rows] == [
            (slot, winner, "due"),
            (later, loser, "due"),
            (third, far_b, "takeover"),
        ]
        assert all(r.finished_at is not None for r in rows)
    finally:
        other.dispose()


def test_every_worker_runs_the_scheduler_and_each_due_run_happens_once(
    dovecot, pg_url, smtp_server, tmp_path
):
    accounts = accounts_with_mail(dovecot, 2, 1, "sc")
    extra = {
        "digest_to": "boss@example.com",
        "digest_at": "08:30",
        "timezone": "UTC",
        "work_days": "Mon-Fri",  # the last digest before Monday's is Friday's: long past
        "smtp_host": smtp_server.host,
        "smtp_port": str(smtp_server.port),
        "smtp_security": "none",
    }
    assert mailwatch(_env(tmp_path, "init", accounts, pg_url, **extra), "init").returncode == 0
    lead = 12.0  # real seconds from now to the first digest (08:30 on Monday, simulated)
    anchor = time.time()
    start = DAY1 - timedelta(seconds=lead * SPEED)
    environ = {clock.ENV: clock.simulated(start, SPEED, anchor)}

    def simulated(real: float) -> datetime:
        return start + timedelta(seconds=(real - anchor) * SPEED)

    def digest_claim(slot: datetime) -> JobClaim | None:
        return next(
            (r for r in claim_rows(engine) if r.job == "daily-digest" and r.slot == slot), None
        )

    smtp_server.fault_next("slow_filter", 4.0)  # the first digest takes 4 s to be accepted
    engine = create_engine(pg_url)
    workers = [Worker(tmp_path, f"s{i}", accounts, pg_url, environ, **extra) for i in range(3)]
    try:
        ids = {}
        for w in workers:
            health = wait_for(f"{w.name} healthz", w.health, 30)
            assert health["process"]["scheduler"] is True
            ids[health["process"]["worker"]] = w

        # Day 1: the worker whose claim won sends the digest; kill -9 it while the server holds
        # its DATA (mid-run).
        first = wait_for("the first digest claimed", lambda: digest_claim(DAY1), lead + 30)
        wait_for("the first digest's DATA", lambda: smtp_server.attempts >= 1, 15, 0.02)
        victim = ids[first.owner]
        victim.proc.kill()
        killed = time.time()
        victim.proc.wait()
        assert smtp_server.attempts == 1
        claim = digest_claim(DAY1)
        assert claim is not None and claim.finished_at is None  # it died in the middle
        survivors = {i: w for i, w in ids.items() if w is not victim}

        # The others' jobs go on: every interval job has a run claimed and finished by a
        # survivor after the kill.
        def resumed() -> bool:
            rows = [r for r in claim_rows(engine) if r.finished_at is not None]
            return all(
                any(
                    r.job == job and r.owner in survivors and r.slot > simulated(killed)
                    for r in rows
                )
                for job, *_ in INTERVAL_JOBS
            )

        wait_for("every job run by the survivors after the kill", resumed, 20, 0.5)
        assert len(smtp_server.wait_for(1, timeout=10)) == 1  # the filter took day 1's

        # Day 2: sent once, by a survivor; a SIGTERM in the middle of the send waits for it.
        smtp_server.fault_next("slow_filter", 3.0)
        day2 = DAY1 + timedelta(days=1)
        due = anchor + lead + 86400 / SPEED
        second = wait_for(
            "the second digest claimed", lambda: digest_claim(day2), due - time.time() + 30
        )
        assert second.owner in survivors
        wait_for("the second digest's DATA", lambda: smtp_server.attempts >= 2, 15, 0.02)
        sender = survivors[second.owner]
        sender.proc.send_signal(signal.SIGTERM)
        sender.proc.wait(timeout=20)
        log = sender.log()
        assert sender.proc.returncode == 0, log
        assert "stopped cleanly" in log
        assert "Traceback" not in log and "CancelledError" not in log, log
        claim = digest_claim(day2)
        assert claim is not None and claim.finished_at is not None  # the stop waited for it
        with session_factory(engine)() as session:
            assert session.get_one(ServiceState, "digest_sent_for").value == "2026-11-24"
        assert len(smtp_server.received) == 2
    finally:
        for w in workers:
            w.stop()
    for w in survivors.values():
        assert w.proc.returncode == 0
        assert "Traceback" not in w.log() and "Adding job" not in w.log()

    # Once per day: every digest slot claimed was sent exactly once (day 1 by the killed one).
    rows = claim_rows(engine)
    days = [r.slot for r in rows if r.job == "daily-digest"]
    assert days[:2] == [DAY1, day2]
    assert len(smtp_server.received) == len(days)
    # Each due run once across the three workers: claims on the schedule's grid (one per slot,
    # not one per worker), and the runs counted by the jobs never exceed the claims.
    with session_factory(engine)() as session:
        runs = {r.job: r.runs for r in session.scalars(select(JobRun))}
    for job, _func, every in INTERVAL_JOBS:
        mine = [r for r in rows if r.job == job]
        grid = timedelta(seconds=max(timedelta(**every).total_seconds(), 0.5 * SPEED))
        due_slots = [r.slot for r in mine if r.reason != "wake"]
        assert all((slot - EPOCH) % grid == timedelta(0) for slot in due_slots), job
        finished = sum(1 for r in mine if r.finished_at is not None)
        assert finished <= runs[job] <= len(mine), (job, finished, runs[job], len(mine))
        assert len(due_slots) >= 20, job  # ~0.5 s apart for the test's duration
        assert len({r.owner for r in mine}) >= 2, job  # not one scheduler: whoever claims first
    engine.dispose()
