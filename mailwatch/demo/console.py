"""What `mailwatch demo` runs and prints: the real sync and tracking, then the tables.

Exactly what ``mailwatch init`` + ``sync --once`` + ``threads`` run: Alembic upgrade of a
throw-away SQLite database, one ``MailboxSync.sync_once()`` and ``list_threads``; then the
scheduler's first pass (promises, drafts). In a terminal (or with
``MAILWATCH_DEMO_KEEP_RUNNING=1``) the whole service keeps running until Ctrl-C.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from mailwatch.config import settings_from_values
from mailwatch.core.timefmt import local
from mailwatch.demo.samples import DEMO_TIMEZONE, load_samples, sample_notes
from mailwatch.demo.servers import (
    DEMO_DOMAIN,
    DEMO_HOST,
    DEMO_PASSWORD,
    DEMO_USER,
    EmbeddedImapServer,
    EmbeddedSmtpServer,
    free_port,
)
from mailwatch.drafts.service import DraftService
from mailwatch.logs import setup_logging
from mailwatch.service.jobs import Jobs
from mailwatch.service.main import run_service
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.mail import MailStore
from mailwatch.sync.engine import MailboxSync
from mailwatch.sync.progress import progress_reporter
from mailwatch.track.tracker import Tracker
from mailwatch.views.context import View
from mailwatch.views.promises import list_promises
from mailwatch.views.threads import list_threads

__all__ = ["KEEP_RUNNING_ENV", "demo_values", "mailwatch_command", "run_demo"]

KEEP_RUNNING_ENV = "MAILWATCH_DEMO_KEEP_RUNNING"


def demo_values(
    port: int, workdir: Path, smtp_port: int = 0, web_port: int = 0, web_password: str = ""
) -> dict[str, str]:
    """The MAILWATCH_* settings of the demo; also written to ``demo.env`` for other commands."""
    extra = {}
    if smtp_port:
        extra.update(
            {
                "MAILWATCH_SMTP_HOST": DEMO_HOST,
                "MAILWATCH_SMTP_PORT": str(smtp_port),
                "MAILWATCH_SMTP_SECURITY": "none",
                "MAILWATCH_DIGEST_TO": DEMO_USER,
            }
        )
    if web_port:
        extra["MAILWATCH_WEB_BIND"] = f"{DEMO_HOST}:{web_port}"
    if web_password:
        extra["MAILWATCH_WEB_PASSWORD"] = web_password
        # sessions signed with a key of this run: no "WEB_SECRET is empty" warning in the demo
        extra["MAILWATCH_WEB_SECRET"] = secrets.token_urlsafe(32)
    return extra | {
        "MAILWATCH_DATABASE_URL": f"sqlite:///{(workdir / 'mailwatch-demo.db').as_posix()}",
        "MAILWATCH_MAILBOXES": "sales",
        "MAILWATCH_IMAP_HOST": DEMO_HOST,
        "MAILWATCH_IMAP_PORT": str(port),
        "MAILWATCH_IMAP_SECURITY": "none",
        "MAILWATCH_IMAP_USERNAME": DEMO_USER,
        "MAILWATCH_IMAP_PASSWORD": DEMO_PASSWORD,
        "MAILWATCH_IMAP_TIMEOUT": "15",
        "MAILWATCH_BACKFILL_DAYS": "0",
        "MAILWATCH_OWN_ADDRESSES": DEMO_USER,
        "MAILWATCH_INTERNAL_DOMAINS": DEMO_DOMAIN,
        "MAILWATCH_TIMEZONE": DEMO_TIMEZONE,
        "MAILWATCH_WORK_HOURS": "09:00-18:00",
        "MAILWATCH_REPLY_SLA": "4h",
        "MAILWATCH_ACK_AFTER": "2h",
        "MAILWATCH_SENDER_NAME": "Elena Rusu",
        "MAILWATCH_SIGNATURE": "Elena Rusu\\nSales Manager, Rackwise SRL\\n+373 22 555 010",
        # The watcher of the keep-running mode: IDLE wakes it at once; poll every 6 s anyway.
        "MAILWATCH_POLL_INTERVAL": "0.1m",
        "MAILWATCH_IDLE_RENEW": "1m",
        # pymap has no CONDSTORE: an \Answered flag set elsewhere is found by this scan.
        "MAILWATCH_FLAG_SCAN_INTERVAL": "0.1m",
        "MAILWATCH_LOG_LEVEL": "warning",
    }


def _local(value: str | None, tz: ZoneInfo) -> str:
    return local(value, tz, missing="")


def conversations_table(
    rows: list[dict[str, Any]], notes: dict[str, str], tz: ZoneInfo, title: str
) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "state", "late", "client", "subject", "msgs", "lang", "last in", "shows"):
        table.add_column(column, overflow="fold")
    for row in rows:
        who = row["counterpart"]["name"] or row["counterpart"]["email"] or ""
        note = next((notes[m] for m in reversed(row["message_ids"]) if m in notes), "")
        style = "bold" if row["state"] == "awaiting_us" else None
        late = ""
        if row["overdue"]:
            late = f"{row['overdue_business_minutes']} min over"
        elif row["state"] == "awaiting_us":
            late = f"waiting {row['waiting_business_minutes']} min"
        table.add_row(
            str(row["id"]),
            row["state"] + (" (warning signs)" if row["warning_signs"] else ""),
            late,
            who,
            row["subject"] or "",
            str(row["message_count"]),
            row["language"] or "",
            _local(row["last_inbound_at"], tz),
            note,
            style=style,
        )
    return table


def run_demo(console: Console) -> None:
    """Embedded IMAP server + sample mail + the real sync, then the conversations table."""
    keep_running = _keep_running_wanted()
    tz = ZoneInfo(DEMO_TIMEZONE)
    server = EmbeddedImapServer()
    try:
        server.start()
    except (RuntimeError, OSError, concurrent.futures.TimeoutError) as exc:
        console.print(f"[bold red]error:[/] cannot start the demo IMAP server: {exc}")
        raise SystemExit(1) from None
    smtp = EmbeddedSmtpServer(console)
    try:
        smtp.start()
    except OSError as exc:
        server.stop()
        console.print(f"[bold red]error:[/] cannot start the demo SMTP server: {exc}")
        raise SystemExit(1) from None
    with tempfile.TemporaryDirectory(prefix="mailwatch-demo-") as tmp, server, smtp:
        workdir = Path(tmp)
        console.print(
            f"embedded IMAP server (pymap {server.version}, in memory, no TLS) listening on "
            f"[bold]{server.host}:{server.port}[/]; login [bold]{server.username}[/], "
            f"password [bold]{server.password}[/]; embedded SMTP server (aiosmtpd) on "
            f"[bold]{smtp.host}:{smtp.port}[/] (it only prints what it receives)",
            highlight=False,
        )
        now = datetime.now(UTC)
        count = load_samples(server.host, server.port, server.username, server.password, now, tz)
        console.print(f"loaded {count} sample messages into INBOX and Sent over IMAP APPEND")

        web_password = secrets.token_urlsafe(9)
        values = demo_values(
            server.port, workdir, smtp.port, free_port() if keep_running else 0, web_password
        )
        env_file = workdir / "demo.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        cfg = settings_from_values(values)
        setup_logging(cfg.log_format, cfg.log_level, cfg.calendar.tz_name)
        mailbox = cfg.mailboxes[0]
        engine = make_engine(cfg.database_url)
        try:
            upgrade(engine)
            store = MailStore(session_factory(engine), cfg.own_addresses, cfg.thread_subject_window)
            syncer = MailboxSync(cfg, mailbox, store)
            try:
                with progress_reporter(console, mailbox.name) as progress:
                    syncer.progress = progress
                    report = syncer.sync_once()
                syncer.progress = None
                tracker = Tracker(store.factory, cfg)
                tracker.refresh()
                folders = ", ".join(f"{f.folder}: {f.new} new" for f in report.folders)
                console.print(
                    f"sync --once: {report.new} messages stored ({folders}) in "
                    f"{report.seconds:.1f} s, {report.commands} IMAP commands; server "
                    f"capabilities: {' '.join(sorted(syncer.conn.capabilities))}",
                    highlight=False,
                )
            finally:
                syncer.close()
            notes = sample_notes()

            def show(title: str) -> None:
                tracker.refresh()
                with session_factory(engine)() as session:
                    rows = [
                        t.to_json()
                        for t in list_threads(session, datetime.now(UTC), "all", View.of(cfg))
                    ]
                console.print(conversations_table(rows, notes, tz, title))

            show(f"conversations in the demo mailbox ({DEMO_TIMEZONE} time)")
            _show_scheduler_work(console, cfg, store.factory)
            if keep_running:
                _keep_running(console, cfg, engine, show, server, env_file, web_password)
            else:
                mw = mailwatch_command()
                console.print(
                    f"next: in a terminal, [bold]make demo[/] (or [bold]"
                    f"MAILWATCH_DEMO_KEEP_RUNNING=1 {mw} demo[/]) keeps everything running: "
                    "the service syncs, drafts and sends, and the web page opens for "
                    "approvals. For your own mailbox: [bold]cp config.example.env .env[/], "
                    f"fill it in, then [bold]{mw} init[/], [bold]{mw} sync --once[/] and "
                    f"[bold]{mw} threads[/].",
                    highlight=False,
                )
        finally:
            engine.dispose()


def _keep_running_wanted() -> bool:
    """Keep the service up when a person runs the demo in a terminal; one pass when piped.

    ``MAILWATCH_DEMO_KEEP_RUNNING=1`` or ``=0`` decides explicitly.
    """
    value = os.environ.get(KEEP_RUNNING_ENV, "").strip().lower()
    if value:
        return value in ("1", "true", "yes")
    return sys.stdin.isatty() and sys.stdout.isatty()


def _show_scheduler_work(console: Console, cfg: Any, factory: Any) -> None:
    """What the scheduler does on its first pass: drafts written early, promises at risk."""
    jobs = Jobs(factory, cfg)
    now = datetime.now(UTC)
    for check in (jobs.sla_check, jobs.promise_check, jobs.follow_up_check):
        check(now)
    with factory() as session:
        promises = [p.to_json() for p in list_promises(session, now, View.of(cfg))]
    table = Table(title="promises we made", title_justify="left")
    for column in ("id", "due", "status", "text"):
        table.add_column(column, overflow="fold")
    tz = ZoneInfo(DEMO_TIMEZONE)
    for row in promises:
        table.add_row(str(row["id"]), _local(row["due_at"], tz), row["status"], row["text"])
    console.print(table)
    drafts = [d.to_json() for d in DraftService(factory, cfg).list("pending")]
    table = Table(title="drafts waiting for approval", title_justify="left")
    for column in ("id", "thread", "kind", "lang", "to", "first line"):
        table.add_column(column, overflow="fold")
    for draft in drafts:
        first = next((line for line in draft["body_text"].splitlines() if line.strip()), "")
        table.add_row(
            str(draft["id"]),
            str(draft["thread_id"]),
            draft["kind"],
            draft["language"],
            draft["to"],
            first,
        )
    console.print(table)


def mailwatch_command() -> str:
    """How to run mailwatch again, as it was run now, so printed commands work when pasted.

    ``mailwatch`` when that is on PATH and the same program; else the path that was used
    (``.venv/bin/mailwatch`` after ``make demo``); else ``python -m mailwatch``.
    """
    argv0 = Path(sys.argv[0])
    if argv0.name == "mailwatch" and argv0.exists():
        found = shutil.which("mailwatch")
        if found and Path(found).resolve() == argv0.resolve():
            return "mailwatch"
        try:
            shown = argv0.resolve().relative_to(Path.cwd().resolve())
            return str(shown) if shown.parts[0] != ".." else str(argv0.resolve())
        except ValueError:
            return str(argv0.resolve())
    return f"{sys.executable} -m mailwatch"


def _keep_running(
    console: Console,
    cfg: Any,
    engine: Any,
    show: Any,
    server: EmbeddedImapServer,
    env_file: Path,
    web_password: str,
) -> None:
    """The whole service (sync with IDLE, scheduler, web page) until Ctrl-C or SIGTERM."""

    def on_report(report: Any) -> None:
        if report.new or report.flags_changed:
            console.print(
                f"sync: {report.new} new messages, {report.flags_changed} flag changes",
                highlight=False,
            )
            show("conversations now")

    console.print(
        f"the service runs: web page [bold]http://{cfg.web_bind}/[/] (password "
        f"[bold]{web_password}[/]); IMAP {server.host}:{server.port} keeps syncing; other "
        f"commands work too: [bold]{mailwatch_command()} --env-file {env_file} drafts list[/]. "
        "Press Ctrl-C to stop.",
        highlight=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_service(cfg, engine, on_sync=on_report)
    console.print("demo stopped")
