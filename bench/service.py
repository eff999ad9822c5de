"""The running service's figures: arrival -> tracked latency, Sent reply -> thread closed,
idle CPU, and the scheduler's time per check against the number of waiting threads.

Run from the project root, as root (the test Dovecot needs it)::

    .venv/bin/python bench/service.py                      # everything
    .venv/bin/python bench/service.py --only latency --arrivals 200
    .venv/bin/python bench/service.py --only idle --idle-seconds 60
    .venv/bin/python bench/service.py --only checks --threads 1000,10000,100000

- latency: a private Dovecot and the real ``mailwatch run`` (poll interval and IDLE renewal
  10 min, so only IDLE and the checks around it find mail). Messages are appended in bursts
  (3-10 at once) and alone at random gaps (0-1.5 s); a watcher polls the SQLite database every
  20 ms and notes when each message is stored, analysed and its thread tracked. Then replies
  are appended to Sent (as Outlook does) and the time until the thread leaves "awaiting_us"
  is noted.
- idle: ``mailwatch run`` over N mailboxes (each with its own Dovecot user holding
  ``--idle-messages`` client messages, all waiting); after the first passes and checks, the
  process's CPU time (utime+stime from /proc) over ``--idle-seconds`` of quiet.
- checks: a SQLite database with N threads awaiting us (none due) plus 10 due; the time of
  one SLA check as shipped (reads the due rows only) and, as the peer measured in the same
  run, the read the check did before (every waiting thread through ``list_threads``).

Output: a table on stdout and ``bench/results/service-<timestamp>.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.servers

from tests.helpers import make_msg  # noqa: E402
from tests.servers.dovecot import DovecotServer  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def write_env(path: Path, server: DovecotServer, accounts: list[Any], **extra: str) -> Path:
    values = {
        "DATABASE_URL": f"sqlite:///{path / 'mw.db'}",
        "IMAP_HOST": server.host,
        "IMAP_PORT": str(server.port),
        "IMAP_SECURITY": "none",
        "BACKFILL_DAYS": "0",
        "IMAP_TIMEOUT": "10",
        "POLL_INTERVAL": "10m",
        "IDLE_RENEW": "10m",
        "WEB_BIND": f"127.0.0.1:{free_port()}",
        "SENDER_NAME": "Ion",
        "SIGNATURE": "Ion",
        **{key.upper(): value for key, value in extra.items()},
    }
    values["IMAP_USERNAME"] = accounts[0].username
    values["IMAP_PASSWORD"] = accounts[0].password
    if len(accounts) > 1:  # the first mailbox takes the plain keys, the others their prefix
        names = [f"box{i}" for i in range(len(accounts))]
        values["MAILBOXES"] = ",".join(names)
        for name, account in zip(names[1:], accounts[1:], strict=True):
            values[f"{name.upper()}_IMAP_USERNAME"] = account.username
            values[f"{name.upper()}_IMAP_PASSWORD"] = account.password
    env = path / "bench.env"
    env.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    return env


def start(env: Path, log: Path) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
    subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "init"],
        cwd=env.parent,
        env=clean,
        check=True,
        capture_output=True,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "run"],
        cwd=env.parent,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=clean,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def tracked(db: Path) -> dict[str, str]:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return dict(
                conn.execute(
                    "SELECT m.message_id, t.state FROM messages m JOIN threads t "
                    "ON t.id = m.thread_id WHERE m.analysis_version > 0 "
                    "AND t.tracked_at IS NOT NULL AND t.state IS NOT NULL"
                ).fetchall()
            )
    except sqlite3.OperationalError:
        return {}


def wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# -- latency ------------------------------------------------------------------------------------


def bench_latency(server: DovecotServer, arrivals: int, replies: int) -> dict[str, Any]:
    account = server.new_account("lat")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = write_env(work, server, [account])
        proc = start(env, work / "run.log")
        db = work / "mw.db"
        seen: dict[str, float] = {}
        states: dict[str, str] = {}
        appended: dict[str, float] = {}
        halt = threading.Event()

        def watch() -> None:
            while not halt.is_set():
                now = time.monotonic()
                current = tracked(db)
                for mid in current:
                    seen.setdefault(mid, now)
                states.update(current)
                halt.wait(0.02)

        try:
            wait_for(lambda: db.exists() and "sync pass done" in (work / "run.log").read_text(), 30)
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            client = server.client(account.username)
            rng = random.Random(2026)
            n = 0

            def append(folder: str = "INBOX", **kw: Any) -> str:
                nonlocal n
                n += 1
                mid = kw.pop("msgid", f"<b{n}@c{n}.test>")
                kw.setdefault("sender", f"Client {n} <buyer{n}@c{n}.test>")
                kw.setdefault("subject", f"Question {n}")
                kw.setdefault("date", datetime.now(UTC) - timedelta(seconds=5))
                client.append(folder, make_msg(msgid=mid, **kw))
                appended[mid] = time.monotonic()
                return mid

            while n < arrivals:
                if rng.random() < 0.3:
                    for _ in range(min(rng.randint(3, 10), arrivals - n)):
                        append()
                else:
                    append()
                time.sleep(rng.uniform(0.0, 1.5))
            wait_for(lambda: len([m for m in appended if m in seen]) == len(appended), 30)
            latencies = [seen.get(m, float("inf")) - t for m, t in appended.items()]
            closed: list[float] = []
            not_waiting = 0
            for r in range(replies):
                asked = append(sender=f"Ana {r} <ana{r}@client{r}.test>", subject=f"Quote {n}")
                if not wait_for(lambda asked=asked: states.get(asked) == "awaiting_us", 10):
                    not_waiting += 1
                    continue
                client.append(
                    "Sent Items",
                    make_msg(
                        sender=f"Sales <{account.username}>",
                        to=f"Ana {r} <ana{r}@client{r}.test>",
                        subject=f"Re: Quote {n}",
                        in_reply_to=asked,
                        date=datetime.now(UTC),
                        body="Dear Ana,\n\nthe quote is attached.\n",
                    ),
                )
                at = time.monotonic()
                ok = wait_for(lambda asked=asked: states.get(asked) != "awaiting_us", 15)
                closed.append(time.monotonic() - at if ok else float("inf"))
                time.sleep(rng.uniform(0.2, 1.0))
            client.logout()
        finally:
            halt.set()
            stop(proc)
    return {
        "arrivals": len(latencies),
        "tracked_median_s": round(statistics.median(latencies), 3),
        "tracked_p99_s": round(pct(latencies, 99), 3),
        "tracked_max_s": round(max(latencies), 3),
        "sent_replies": len(closed),
        "not_awaiting_us_before_reply": not_waiting,
        "closed_median_s": round(statistics.median(closed), 3),
        "closed_max_s": round(max(closed), 3),
    }


# -- idle CPU -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_idle(server: DovecotServer, boxes: int, messages: int, seconds: float) -> dict[str, Any]:
    accounts = [server.new_account(f"idle{boxes}x") for _ in range(boxes)]
    now = datetime.now(UTC)
    for i, account in enumerate(accounts):
        raws = [
            make_msg(
                sender=f"Client {i}-{j} <c{j}@box{i}.test>",
                subject=f"Request {i}-{j}",
                date=now - timedelta(hours=2, minutes=j % 600),
            )
            for j in range(messages)
        ]
        server.bulk_load_maildir(account.username, "INBOX", raws)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = write_env(work, server, accounts, ack_backlog_limit="0", auto_drafts_per_hour="1")
        proc = start(env, work / "run.log")
        db = work / "mw.db"
        try:

            def settled() -> bool:
                try:
                    with sqlite3.connect(db, timeout=5) as conn:
                        (n,) = conn.execute(
                            "SELECT count(*) FROM threads WHERE tracked_at IS NOT NULL"
                        ).fetchone()
                        (jobs,) = conn.execute(
                            "SELECT count(*) FROM job_runs WHERE job = 'sla-check'"
                        ).fetchone()
                    return n >= boxes * messages and jobs > 0
                except sqlite3.OperationalError:
                    return False

            if not wait_for(settled, 600):
                raise RuntimeError("the service did not sync and check everything in 10 min")
            time.sleep(5)
            before, started = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - started
            with sqlite3.connect(db) as conn:
                (waiting,) = conn.execute(
                    "SELECT count(*) FROM threads WHERE state = 'awaiting_us'"
                ).fetchone()
        finally:
            stop(proc)
    return {
        "mailboxes": boxes,
        "messages_per_mailbox": messages,
        "waiting_threads": waiting,
        "idle_seconds": round(wall, 1),
        "cpu_seconds": round(used, 3),
        "cpu_percent_of_a_core": round(100 * used / wall, 2),
    }


# -- scheduler checks ---------------------------------------------------------------------------


def bench_checks(sizes: list[int], rounds: int) -> list[dict[str, Any]]:
    from sqlalchemy import insert

    from mailwatch.config import settings_from_values
    from mailwatch.service.jobs import Jobs
    from mailwatch.store.db import make_engine, session_factory, upgrade
    from mailwatch.store.models import Mailbox, Thread
    from mailwatch.views.context import View
    from mailwatch.views.threads import list_threads

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_from_values(
                {
                    "MAILWATCH_DATABASE_URL": f"sqlite:///{tmp}/checks.db",
                    "MAILWATCH_IMAP_HOST": "127.0.0.1",
                    "MAILWATCH_IMAP_USERNAME": "sales@example.com",
                    "MAILWATCH_IMAP_PASSWORD": "x",
                    "MAILWATCH_IMAP_SECURITY": "none",
                    "MAILWATCH_ACK_BACKLOG_LIMIT": "0",
                }
            )
            engine = make_engine(settings.database_url)
            upgrade(engine)
            factory = session_factory(engine)
            with factory() as session, session.begin():
                box = Mailbox(name="main", username="sales@example.com")
                session.add(box)
                session.flush()
                rows = [
                    {
                        "mailbox_id": box.id,
                        "subject": f"Request {i}",
                        "state": "awaiting_us",
                        "needs_reply": True,
                        "waiting_since": now - timedelta(minutes=30),
                        "last_message_at": now - timedelta(minutes=30),
                        "tracked_at": now - timedelta(minutes=29),
                        "ack_due_at": now + timedelta(hours=1),
                    }
                    for i in range(size)
                ]
                for start_at in range(0, size, 10_000):
                    session.execute(insert(Thread), rows[start_at : start_at + 10_000])
            jobs = Jobs(factory, settings)
            jobs.sla_check(now)  # fills the once-only marker
            shipped, before = [], []
            for _ in range(rounds):
                t0 = time.perf_counter()
                jobs.sla_check(now)
                shipped.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                with factory() as session:
                    list_threads(session, now, "awaiting_us", View.of(settings))
                before.append(time.perf_counter() - t0)
            engine.dispose()
        results.append(
            {
                "waiting_threads": size,
                "check_ms_median": round(1000 * statistics.median(shipped), 2),
                "before_read_all_ms_median": round(1000 * statistics.median(before), 1),
            }
        )
        print(results[-1], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("latency", "idle", "checks"))
    parser.add_argument("--arrivals", type=int, default=200)
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--idle-messages", type=int, default=500)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--mailboxes", default="1,10")
    parser.add_argument("--threads", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_before": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    if args.only in (None, "checks"):
        report["checks"] = bench_checks([int(x) for x in args.threads.split(",")], args.rounds)
    if args.only in (None, "latency", "idle"):
        server = DovecotServer(profile="full").start()
        try:
            if args.only in (None, "latency"):
                report["latency"] = bench_latency(server, args.arrivals, args.replies)
                print(report["latency"], flush=True)
            if args.only in (None, "idle"):
                report["idle"] = []
                for boxes in (int(x) for x in args.mailboxes.split(",")):
                    report["idle"].append(
                        bench_idle(server, boxes, args.idle_messages, args.idle_seconds)
                    )
                    print(report["idle"][-1], flush=True)
        finally:
            server.stop()
    report["loadavg_after"] = os.getloadavg()
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"service-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
