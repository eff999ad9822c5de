"""Scale-out benchmark: M mailboxes backfilled by 1, 2, 4 ... `mailwatch run` workers on one PostgreSQL.

Run from the project root (as root: the test Dovecot and PostgreSQL need it)::

    .venv/bin/python bench/scale.py --mailboxes 50 --messages 2000 --workers 1,2,4

What it does:

1. Starts a private Dovecot and a private PostgreSQL 15 (``tests/servers``), creates M
   Dovecot users and writes N small messages (unique Message-IDs) into each INBOX.
2. For each worker count W: a fresh database, ``mailwatch init``, then W real
   ``mailwatch run`` processes with the same settings. Timed from their start until every one
   of the M × N messages is stored (polled in the database). PostgreSQL connections of that
   database (``pg_stat_activity``) are sampled every 0.5 s; the peak is reported.
3. Prints a table and writes ``bench/results/scale-<timestamp>.json``.

Throughput counts messages stored per second of wall clock, including start-up and the
first rounds in which the workers divide the mailboxes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.helpers import make_msg  # noqa: E402
from tests.servers.dovecot import DovecotServer  # noqa: E402
from tests.servers.postgres import PostgresServer  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"


@dataclass
class Run:
    workers: int
    mailboxes: int
    messages: int
    seconds: float
    messages_per_second: float
    peak_connections: int
    cpu_count: int


def env_file(directory: Path, name: str, accounts, db_url: str, port: int, ttl: int) -> Path:
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
        "LEASE_TTL": str(ttl),
        "WEB_SECRET": "bench-secret-bench-secret-bench-secret",
        "WEB_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "warning",
        **{f"M{i}_IMAP_USERNAME": a.username for i, a in enumerate(accounts) if i},
    }
    path = directory / f"{name}.env"
    path.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    return path


def mailwatch(env: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), *args],
        cwd=env.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
        **kwargs,
    )


def one_run(postgres, accounts, workers: int, messages: int, ttl: int, work: Path) -> Run:
    url = postgres.create_database()
    dbname = url.rsplit("/", 1)[1]
    directory = work / f"w{workers}"
    directory.mkdir()
    init = env_file(directory, "init", accounts, url, 18000, ttl)
    if mailwatch(init, "init", stdout=subprocess.DEVNULL).wait() != 0:
        raise SystemExit("mailwatch init failed")
    engine = create_engine(url)
    total = len(accounts) * messages
    procs = []
    logs = []
    started = time.monotonic()
    for i in range(workers):
        env = env_file(directory, f"worker{i}", accounts, url, 18100 + i, ttl)
        log = open(directory / f"worker{i}.log", "w")  # noqa: SIM115
        logs.append(log)
        procs.append(mailwatch(env, "run", stdout=log, stderr=subprocess.STDOUT))
    peak = 0
    try:
        while True:
            with engine.connect() as conn:
                stored = conn.scalar(text("SELECT count(*) FROM messages"))
                connections = conn.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": dbname},
                )
            peak = max(peak, int(connections) - 1)  # not counting this sampler
            if stored >= total:
                break
            for proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(f"a worker exited early; see {directory}")
            time.sleep(0.5)
        seconds = time.monotonic() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()
        engine.dispose()
        postgres.drop_database(dbname)
    return Run(
        workers=workers,
        mailboxes=len(accounts),
        messages=total,
        seconds=round(seconds, 1),
        messages_per_second=round(total / seconds, 1),
        peak_connections=peak,
        cpu_count=os.cpu_count() or 0,
    )


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # runs the finally blocks: workers, Dovecot, PostgreSQL stopped


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000, help="per mailbox")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--lease-ttl", type=int, default=15)
    parser.add_argument("--logs", type=Path, help="copy the workers' logs into this directory")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="mw-scale-") as tmp:
        work = Path(tmp)
        dovecot = DovecotServer().start()
        postgres = PostgresServer().start()
        try:
            accounts = []
            for i in range(args.mailboxes):
                account = dovecot.new_account("scale")
                dovecot.bulk_load_maildir(
                    account.username,
                    "INBOX",
                    (
                        make_msg(subject=f"Order {i}-{n}", msgid=f"<s{i}-{n}@client.test>")
                        for n in range(args.messages)
                    ),
                )
                accounts.append(account)
            runs = []
            for workers in counts:
                run = one_run(postgres, accounts, workers, args.messages, args.lease_ttl, work)
                print(
                    f"{run.workers} worker(s): {run.messages} messages in {run.seconds} s = "
                    f"{run.messages_per_second} msg/s, peak {run.peak_connections} PostgreSQL "
                    "connections",
                    flush=True,
                )
                runs.append(run)
        finally:
            if args.logs is not None:
                import shutil

                shutil.copytree(work, args.logs, dirs_exist_ok=True)
            postgres.stop()
            dovecot.stop()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS_DIR / f"scale-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "runs": [asdict(r) for r in runs],
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
