"""The command line (contract in SPEC.md): init, check, sync, threads, run, demo."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mailwatch.config import ConfigError, Settings, describe, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="mailwatch: no client waits for an answer, no promised deadline slips silently.",
)
console = Console()
err = Console(stderr=True)
log = logging.getLogger("mailwatch")


class _State:
    env_file: Path = Path(".env")
    settings: Settings | None = None


state = _State()


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    if state.settings is None:
        try:
            state.settings = load_settings(state.env_file)
        except ConfigError as exc:
            raise fail(f"config: {exc}") from None
        from mailwatch.logs import setup_logging

        setup_logging(state.settings.log_format, state.settings.log_level)
    return state.settings


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise fail(f"--now: {value!r} needs an offset, e.g. 2026-03-11T10:00:00+02:00")
    return parsed


@app.callback()
def main_options(
    env_file: Annotated[
        Path, typer.Option("--env-file", help="settings file (MAILWATCH_* keys)")
    ] = Path(".env"),
) -> None:
    state.env_file = env_file
    state.settings = None


def _engine(cfg: Settings) -> Any:
    from mailwatch.store.db import is_current, make_engine

    engine = make_engine(cfg.database_url)
    try:
        if not is_current(engine):
            raise fail("the database is missing or out of date: run `mailwatch init` first")
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(
            f"database {describe(cfg)['database_url']}: {exc.__class__.__name__}: {exc}"
        ) from None
    return engine


@app.command()
def init() -> None:
    """Create or upgrade the database (Alembic) and check the configuration."""
    cfg = settings()
    from mailwatch.store.db import make_engine, upgrade

    try:
        revision = upgrade(make_engine(cfg.database_url))
    except Exception as exc:
        raise fail(
            f"database {describe(cfg)['database_url']}: {exc.__class__.__name__}: {exc}"
        ) from None
    console.print(f"database ready at revision {revision} ({describe(cfg)['database_url']})")
    if cfg.problems:
        for problem in cfg.problems:
            err.print(f"[yellow]config:[/] {problem}", highlight=False)
        raise typer.Exit(2)
    names = ", ".join(m.name for m in cfg.mailboxes)
    console.print(f"configuration OK: mailbox(es) {names}")


@app.command()
def check() -> None:
    """Connect to IMAP and SMTP, print capabilities and the folder mapping."""
    cfg = settings()
    try:
        cfg.require_mailboxes()
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    from mailwatch.core.folders import map_folder_roles
    from mailwatch.sync.imap import ImapConnection, MailAccessError
    from mailwatch.sync.smtp_check import check_smtp

    ok = True
    for mailbox in cfg.mailboxes:
        console.print(
            f"[bold]{mailbox.name}[/] IMAP {mailbox.imap.host}:{mailbox.imap.port} ({mailbox.imap.security})"
        )
        try:
            with ImapConnection(mailbox.imap, timeout=min(cfg.imap_timeout, 20.0)) as conn:
                console.print("  capabilities: " + " ".join(sorted(conn.capabilities)))
                roles = map_folder_roles(conn.list_folders())
                for role in ("inbox", "sent", "drafts", "junk", "trash"):
                    console.print(f"  {role:7} -> {roles.get(role, '(not found)')}")
        except MailAccessError as exc:
            ok = False
            err.print(f"  [red]IMAP:[/] {exc}", highlight=False)
        if mailbox.smtp.host:
            console.print(
                f"  SMTP {mailbox.smtp.host}:{mailbox.smtp.port} ({mailbox.smtp.security})"
            )
            problem = check_smtp(mailbox.smtp, timeout=min(cfg.imap_timeout, 20.0))
            if problem.error:
                ok = False
                err.print(f"  [red]SMTP:[/] {problem.error}", highlight=False)
            else:
                console.print("  SMTP extensions: " + " ".join(problem.extensions))
        else:
            console.print("  SMTP: not configured (MAILWATCH_SMTP_HOST)")
    if not ok:
        raise typer.Exit(1)


@app.command()
def sync(
    once: Annotated[bool, typer.Option("--once", help="one full pass, then exit")] = False,
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="only this mailbox")] = None,
) -> None:
    """Sync the mailboxes: backfill, new mail and flag changes."""
    cfg = settings()
    try:
        cfg.require_mailboxes()
        targets = [cfg.mailbox(mailbox)] if mailbox else list(cfg.mailboxes)
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    engine = _engine(cfg)
    if not once:
        _run_service(cfg, engine)
        return
    from mailwatch.store.db import session_factory
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.engine import MailboxSync
    from mailwatch.sync.imap import MailAccessError
    from mailwatch.sync.progress import progress_reporter

    store = MailStore(session_factory(engine), cfg.own_addresses, cfg.thread_subject_window)
    failed = False
    for target in targets:
        with progress_reporter(console, target.name) as progress:
            syncer = MailboxSync(cfg, target, store, progress=progress)
            try:
                report = syncer.sync_once()
            except MailAccessError as exc:
                failed = True
                store.record_mailbox_error(syncer.mailbox_id, str(exc))
                err.print(f"[red]{target.name}:[/] {exc}", highlight=False)
                continue
            finally:
                syncer.close()
        folders = ", ".join(f"{f.folder}: {f.new} new" for f in report.folders)
        extra = f", {report.parse_errors} kept aside unreadable" if report.parse_errors else ""
        console.print(
            f"{target.name}: {report.new} new messages, {report.flags_changed} flag changes{extra} "
            f"({folders}) in {report.seconds:.1f} s, {report.commands} IMAP commands",
            highlight=False,
            soft_wrap=True,  # one line even when piped, for scripts that parse it
        )
    if failed:
        raise typer.Exit(1)


def _run_service(cfg: Settings, engine: Any) -> None:
    from mailwatch.store.db import session_factory
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.watch import watch_all

    store = MailStore(session_factory(engine), cfg.own_addresses, cfg.thread_subject_window)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("mailwatch watching %d mailbox(es)", len(cfg.mailboxes))
        await watch_all(cfg, store, stop)
        log.info("mailwatch stopped cleanly")

    asyncio.run(main())


@app.command()
def run() -> None:
    """The service: keep every mailbox in sync (IDLE or polling) until SIGTERM/SIGINT."""
    cfg = settings()
    try:
        cfg.require_mailboxes()
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    _run_service(cfg, _engine(cfg))


@app.command()
def threads(
    state_filter: Annotated[
        str, typer.Option("--state", help="awaiting_us|awaiting_them|overdue|all")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="evaluate as of this ISO 8601 instant")
    ] = None,
) -> None:
    """List conversations."""
    if state_filter not in (
        "awaiting_us",
        "awaiting_them",
        "overdue",
        "all",
        "closed",
        "snoozed",
        "ignored",
    ):
        raise fail(
            f"--state: {state_filter!r} is not one of awaiting_us, awaiting_them, overdue, all"
        )
    cfg = settings()
    when = parse_now(now)
    engine = _engine(cfg)
    from mailwatch.store.db import session_factory
    from mailwatch.store.queries import thread_rows

    with session_factory(engine)() as session:
        rows = thread_rows(session, when, state_filter)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(
        title=f"conversations ({state_filter}) as of {when.isoformat(timespec='minutes')}"
    )
    for column in (
        "id",
        "mailbox",
        "state",
        "client",
        "subject",
        "msgs",
        "last inbound",
        "last outbound",
    ):
        table.add_column(column)
    for row in rows:
        who = row["counterpart"]["name"] or row["counterpart"]["email"] or ""
        table.add_row(
            str(row["id"]),
            row["mailbox"] or "",
            row["state"],
            who,
            (row["subject"] or "")[:60],
            str(row["message_count"]),
            _short_time(row["last_inbound_at"]),
            _short_time(row["last_outbound_at"]),
        )
    console.print(table)


def _short_time(value: str | None) -> str:
    """ISO 8601 to the minute, offset kept (the contract prints times with their offset)."""
    return datetime.fromisoformat(value).isoformat(timespec="minutes") if value else ""


@app.command()
def demo() -> None:
    """Sync a sample mailbox on an embedded IMAP server and list its conversations."""
    from mailwatch.demo import run_demo

    run_demo(console)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
