"""A no-change poll: the sync pass itself (in one process) against the whole ``sync --once`` process.

    .venv/bin/python bench/nochange.py --messages 2000 --repeat 20      # as root (Dovecot)

A private Dovecot (tests/servers/dovecot.py) gets N messages; ``mailwatch init`` and a first
``sync --once`` store them. Then, with nothing new on the server:

- ``pass (connection reused)``: ``MailboxSync.sync_once()`` again and again on one connection,
  as ``mailwatch run`` polls (the issue's "a no-change pass ≤ 50 ms");
- ``pass (new connection)``: a new ``MailboxSync`` each time (connect, log in, list folders);
- ``tracking refresh``: the ``Tracker.refresh()`` that ``sync --once`` ends with;
- ``sync --once (process)``: the whole command, start-up included; and ``--help`` and
  ``threads --limit 1`` (start-up with and without the database) in the same run, alternating.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.reads import summary as figures  # noqa: E402
from bench.reads import timed as in_process  # noqa: E402
from tests.helpers import make_msg  # noqa: E402
from tests.servers.dovecot import DovecotServer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()

    from mailwatch.cli.sync import refresh_tracking
    from mailwatch.config import load_settings
    from mailwatch.store.db import make_engine, session_factory
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.engine import MailboxSync

    results: dict[str, Any] = {}
    with DovecotServer(profile="full") as server, tempfile.TemporaryDirectory() as tmp:
        account = server.new_account("nochange")
        with account.client() as client:
            for i in range(args.messages):
                raw = make_msg(msgid=f"<nc{i}@client.test>", subject=f"Quote {i % 400}")
                client.append("INBOX", raw)
        env_file = Path(tmp) / "bench.env"
        db = Path(tmp) / "mw.db"
        env_file.write_text(
            "".join(
                f"MAILWATCH_{k}={v}\n"
                for k, v in {
                    "IMAP_HOST": account.host,
                    "IMAP_PORT": account.port,
                    "IMAP_SECURITY": "none",
                    "IMAP_USERNAME": account.username,
                    "IMAP_PASSWORD": account.password,
                    "DATABASE_URL": f"sqlite:///{db}",
                    "BACKFILL_DAYS": 0,
                }.items()
            )
        )
        env_file.chmod(0o600)
        base = [sys.executable, "-m", "mailwatch", "--env-file", str(env_file)]
        for step in (["init"], ["sync", "--once"]):
            subprocess.run([*base, *step], check=True, capture_output=True, timeout=1800)

        cfg = load_settings(env_file, required=True)
        target = cfg.mailboxes[0]
        store = MailStore(
            session_factory(make_engine(cfg.database_url)),
            cfg.own_addresses,
            cfg.thread_subject_window,
        )
        syncer = MailboxSync(cfg, target, store)
        reports = []

        def one_pass() -> None:
            reports.append(syncer.sync_once())

        results["pass (connection reused), in process"] = in_process(one_pass, args.repeat)
        results["IMAP commands per pass"] = sorted({r.commands for r in reports[1:]})
        results["new messages in the passes"] = sum(r.new for r in reports[1:])
        syncer.close()

        fresh_reports = []

        def fresh_pass() -> None:
            fresh = MailboxSync(cfg, target, store)
            try:
                fresh_reports.append(fresh.sync_once())
            finally:
                fresh.close()

        results["pass (new connection), in process"] = in_process(fresh_pass, args.repeat)
        results["IMAP commands per pass (new connection)"] = sorted(
            {r.commands for r in fresh_reports}
        )
        results["tracking refresh, in process"] = in_process(
            lambda: refresh_tracking(cfg, store.factory), args.repeat
        )

        commands = {
            "mailwatch --help": ["--help"],
            "mailwatch threads --limit 1": ["threads", "--limit", "1"],
            "mailwatch sync --once": ["sync", "--once"],
        }
        runs: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in commands}
        reported: list[float] = []
        reported_commands: set[int] = set()
        for _ in range(max(3, args.repeat // 2)):
            for name, extra in commands.items():
                before = os.times()
                w0 = time.perf_counter()
                done = subprocess.run(
                    [*base, *extra], check=True, capture_output=True, text=True, timeout=600
                )
                runs[name][0].append(time.perf_counter() - w0)
                after = os.times()
                runs[name][1].append(
                    after.children_user
                    - before.children_user
                    + after.children_system
                    - before.children_system
                )
                found = re.search(r"in ([0-9.]+) s, (\d+) IMAP commands", done.stdout)
                if name.endswith("sync --once") and found:
                    reported.append(float(found.group(1)))
                    reported_commands.add(int(found.group(2)))
        for name, (walls, cpus) in runs.items():
            results[f"{name} (process)"] = figures(walls, cpus)
        results["sync --once: the pass as the command reports it (s, 0.1 s resolution)"] = sorted(
            set(reported)
        )
        results["sync --once: IMAP commands it reports"] = sorted(reported_commands)
    results["loadavg"] = {"start": load_start, "end": os.getloadavg()}
    results["messages"] = args.messages
    for name, value in results.items():
        print(f"{name:<60} {value}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"nochange-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
