"""The command line (contract in docs/cli.md): init, check, sync, threads, promises, run, demo."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mailwatch.config import ConfigError, Settings, describe, load_settings
from mailwatch.core.business_time import business_duration as _minutes
from mailwatch.core.timefmt import local, zone_name, zone_note
from mailwatch.i18n import _, set_language

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
    help="mailwatch: no client waits for an answer, no promised deadline slips silently.",
)


def _console(stderr: bool = False) -> Console:
    """Rich's console; piped, it does not wrap at 80 columns in the middle of a word.

    Rich assumes 80 columns when the output is not a terminal, so tables and long lines were
    cut mid-word in a pipe or a file. There the width is COLUMNS if set, else wide enough for
    a table's natural width (tables and lines are not padded to it).
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty() and "COLUMNS" not in os.environ:
        width = PIPED_WIDTH
    return Console(stderr=stderr, width=width)


PIPED_WIDTH = 400


def _plain_flags() -> None:
    """Typer prints ``<bool>`` after a plain flag (--once, --json, --help): a flag takes no value."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_mailwatch", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        return original(self, ctx)

    display_type_rich._mailwatch = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_plain_flags()
console = _console()
err = _console(stderr=True)
log = logging.getLogger("mailwatch")


class _State:
    env_file: Path = Path(".env")
    env_file_named: bool = False  # given with --env-file: then it must exist
    settings: Settings | None = None


state = _State()


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print("[bold red]" + _("error:") + f"[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings() -> Settings:
    if state.settings is None:
        try:
            state.settings = load_settings(state.env_file, required=state.env_file_named)
        except ConfigError as exc:
            raise fail(f"config: {exc}") from None
        from mailwatch.logs import setup_logging

        setup_logging(
            state.settings.log_format,
            state.settings.log_level,
            state.settings.calendar.tz_name,
        )
        _warn_exposed(state.settings)
        # what this run prints: the first mailbox's UI_LANGUAGE (logs and JSON stay English)
        first = state.settings.mailboxes[0] if state.settings.mailboxes else None
        set_language(first.values.get("UI_LANGUAGE") if first is not None else None)
    return state.settings


def _warn_exposed(cfg: Settings) -> None:
    """At start: the database, .env and token caches must not be readable by other users."""
    from mailwatch.store.db import exposed_files, private_paths

    caches = [
        m.oauth.token_cache
        for m in cfg.mailboxes
        if "oauth2" in (m.imap.auth, m.smtp.auth) and not m.oauth.token_command
    ]
    for warning in exposed_files(private_paths(cfg.database_url, state.env_file, caches)):
        log.warning("%s", warning)


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
        Path | None,
        typer.Option(
            "--env-file",
            help="settings file (MAILWATCH_* keys); default .env here, if there is one",
            show_default=False,
        ),
    ] = None,
) -> None:
    state.env_file = env_file if env_file is not None else Path(".env")
    state.env_file_named = env_file is not None
    state.settings = None
    set_language(None)


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
    """Check the configuration, then create or upgrade the database (Alembic)."""
    cfg = settings()
    if cfg.problems:  # before anything is created: a wrong setup leaves nothing behind
        for problem in cfg.problems:
            err.print(f"[bold red]error:[/] config: {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    from mailwatch.store.db import make_engine, upgrade

    try:
        revision = upgrade(make_engine(cfg.database_url))
    except Exception as exc:
        raise fail(
            f"database {describe(cfg)['database_url']}: {exc.__class__.__name__}: {exc}"
        ) from None
    console.print(f"database ready at revision {revision} ({describe(cfg)['database_url']})")
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
    from mailwatch.auth.tokens import imap_provider, smtp_provider
    from mailwatch.core.folders import map_folder_roles
    from mailwatch.errors import MailAccessError
    from mailwatch.mail.imap import ImapConnection
    from mailwatch.mail.smtp_check import check_smtp

    ok = True
    for mailbox in cfg.mailboxes:
        console.print(
            f"[bold]{mailbox.name}[/] IMAP {mailbox.imap.host}:{mailbox.imap.port} ({mailbox.imap.security})"
        )
        try:
            with ImapConnection(
                mailbox.imap,
                timeout=min(cfg.imap_timeout, 20.0),
                token_provider=imap_provider(mailbox),
            ) as conn:
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
            problem = check_smtp(
                mailbox.smtp,
                timeout=min(cfg.imap_timeout, 20.0),
                token_provider=smtp_provider(mailbox),
            )
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
    from mailwatch.errors import LeaseLost, MailAccessError
    from mailwatch.store import leases as lease
    from mailwatch.store.db import session_factory
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.engine import MailboxSync
    from mailwatch.sync.progress import progress_reporter

    store = MailStore(session_factory(engine), cfg.own_addresses, cfg.thread_subject_window)
    owner = lease.new_owner_id()
    ttl = timedelta(seconds=cfg.value("LEASE_TTL"))
    failed = False
    for target in targets:
        # The mailbox's lease, like a worker's: never two writers on one mailbox.
        name = lease.mailbox_lease(target.name)
        state = lease.acquire(store.factory, name, owner, ttl)
        if not state.acquired:
            failed = True
            until = state.expires_at.isoformat(timespec="seconds") if state.expires_at else "?"
            err.print(
                f"[red]{target.name}:[/] not synced: another process ({state.owner}) holds "
                f"this mailbox's lease until {until}; it is syncing it already",
                highlight=False,
                soft_wrap=True,
            )
            continue
        renewing = lease.Renewer(store.factory, name, owner, ttl, state.generation)
        with progress_reporter(console, target.name) as progress, renewing:
            syncer = MailboxSync(cfg, target, store, progress=progress)
            fence = lease.Fence(name, owner, state.generation, ttl.total_seconds())
            store.fence(syncer.mailbox_id, fence)
            try:
                report = syncer.sync_once()
            except (MailAccessError, LeaseLost) as exc:
                failed = True
                if isinstance(exc, MailAccessError):
                    store.record_mailbox_error(syncer.mailbox_id, str(exc))
                err.print(f"[red]{target.name}:[/] {exc}", highlight=False)
                continue
            finally:
                syncer.close()
                lease.release(store.factory, name, owner, state.generation)
        folders = ", ".join(f"{f.folder}: {f.new} new" for f in report.folders)
        extra = f", {report.parse_errors} kept aside unreadable" if report.parse_errors else ""
        console.print(
            f"{target.name}: {report.new} new messages, {report.flags_changed} flag changes{extra} "
            f"({folders}) in {report.seconds:.1f} s, {report.commands} IMAP commands",
            highlight=False,
            soft_wrap=True,  # one line even when piped, for scripts that parse it
        )
    _refresh_tracking(cfg, store.factory)
    if cfg.drafts_to_mailbox:
        from mailwatch.drafts.mailbox import reconcile_all

        reconcile_all(store.factory, cfg, datetime.now(UTC))
    if failed:
        raise typer.Exit(1)


def _run_service(cfg: Settings, engine: Any) -> None:
    from mailwatch.service.main import AlreadyRunning, run_service

    try:
        run_service(cfg, engine)
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    except AlreadyRunning as exc:
        raise fail(str(exc)) from None


@app.command()
def workers(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """The `mailwatch run` workers on this database: mailboxes held, scheduler, last heartbeat."""
    from mailwatch.service.workers import list_workers

    cfg = settings()
    found = list_workers(_factory(cfg))
    if as_json:
        _print_json([w.as_dict() for w in found])
        return
    if not found:
        console.print("no worker is running (mailwatch run)")
        return
    table = Table(title="workers")
    for column in ("worker", "state", "mailboxes", "scheduler", "last heartbeat (UTC)"):
        table.add_column(column, no_wrap=column != "mailboxes")
    for w in found:
        table.add_row(
            w.id,
            "alive" if w.alive else "gone",
            ", ".join(w.mailboxes) or "-",
            "yes" if w.scheduler else "-",
            w.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@app.command()
def run() -> None:
    """The service: sync (IDLE or polling), scheduler, web endpoints, until SIGTERM/SIGINT."""
    cfg = settings()
    try:
        cfg.require_mailboxes()
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    _run_service(cfg, _engine(cfg))


def _factory(cfg: Settings) -> Any:
    from mailwatch.store.db import session_factory

    return session_factory(_engine(cfg))


def _view(cfg: Settings) -> Any:
    from mailwatch.views.context import View

    return View.of(cfg)


def _print_json(rows: Any) -> None:
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


def parse_when(value: str, option: str, cfg: Settings, end_of_day: bool) -> datetime:
    """An ISO date or date-time; without an offset it is the team's local time.

    A bare date means the end of that business day for a deadline, its start for a snooze.
    """
    from datetime import date as date_type

    try:
        if len(value.strip()) == 10:
            day = date_type.fromisoformat(value.strip())
            cal = cfg.calendar
            return cal.end_of_business_day(day) if end_of_day else cal.start_of_business_day(day)
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise fail(f"{option}: {value!r} is not an ISO 8601 date or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=cfg.calendar.tz)
    return parsed


def _refresh_tracking(cfg: Settings, factory: Any) -> None:
    from mailwatch.track.tracker import Tracker

    Tracker(factory, cfg).refresh()


@app.command()
def threads(
    state_filter: Annotated[
        str,
        typer.Option(
            "--state", help="awaiting_us|awaiting_them|overdue|closed|snoozed|ignored|all"
        ),
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="evaluate as of this ISO 8601 instant")
    ] = None,
) -> None:
    """List conversations: who waits for whom, and how late we are."""
    from mailwatch.views.threads import THREAD_FILTERS, list_threads

    if state_filter not in THREAD_FILTERS:
        raise fail(f"--state: {state_filter!r} is not one of {', '.join(THREAD_FILTERS)}")
    cfg = settings()
    when = parse_now(now)
    factory = _factory(cfg)
    with factory() as session:
        rows = [t.to_json() for t in list_threads(session, when, state_filter, _view(cfg))]
    if as_json:
        _print_json(rows)
        return
    tz = cfg.calendar.tz
    table = Table(
        title=f"conversations ({state_filter}) as of {local(when, tz)}, {zone_note(tz)}",
        title_justify="left",
    )
    for column in ("id", "state", "late", "client", "subject", "lang", "last in", "last out"):
        table.add_column(column, no_wrap=column in ("id", "state", "late"))
    for row in rows:
        who = row["counterpart"]["name"] or row["counterpart"]["email"] or ""
        late = ""
        if row["overdue"]:
            late = f"[red]{_minutes(row['overdue_business_minutes'])} over[/]"
        elif row["state"] == "awaiting_us":
            late = f"waiting {_minutes(row['waiting_business_minutes'])}"
        state_text = row["state"] + (" ⚠" if row["warning_signs"] else "")
        table.add_row(
            str(row["id"]),
            state_text,
            late,
            who,
            (row["subject"] or "")[:50],
            row["language"] or "",
            local(row["last_inbound_at"], tz, missing=""),
            local(row["last_outbound_at"], tz, missing=""),
        )
    console.print(table)


thread_app = typer.Typer(no_args_is_help=True, help="Close, snooze, ignore or reopen a thread.")
app.add_typer(thread_app, name="thread")


def _thread_action(thread_id: int, action: str, until: datetime | None = None) -> None:
    from mailwatch.track.actions import ActionError, set_thread_state

    cfg = settings()
    factory = _factory(cfg)
    try:
        set_thread_state(factory, thread_id, action, datetime.now(UTC), until)
    except ActionError as exc:
        raise fail(str(exc)) from None
    done = {"closed": "closed", "snoozed": "snoozed", "ignored": "ignored", None: "reopened"}
    tz = cfg.calendar.tz
    extra = f" until {local(until, tz)} ({zone_name(tz)})" if until else ""
    console.print(f"thread {thread_id} {done[action]}{extra}", highlight=False)


@thread_app.command("close")
def thread_close(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Nothing more to answer; a new message from the client reopens it."""
    _thread_action(thread_id, "closed")


@thread_app.command("snooze")
def thread_snooze(
    thread_id: Annotated[int, typer.Argument(help="thread id")],
    until: Annotated[str, typer.Option("--until", help="ISO date or date-time")],
) -> None:
    """Hide the thread until a date (or until the client writes again)."""
    cfg = settings()
    _thread_action(thread_id, "snoozed", parse_when(until, "--until", cfg, end_of_day=False))


@thread_app.command("ignore")
def thread_ignore(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Never track this thread again."""
    _thread_action(thread_id, "ignored")


@thread_app.command("reopen")
def thread_reopen(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Undo close, snooze or ignore."""
    _thread_action(thread_id, None)


@app.command()
def promises(
    status: Annotated[
        str | None, typer.Option("--status", help="open|kept|missed|renegotiated")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="evaluate as of this ISO 8601 instant")
    ] = None,
) -> None:
    """Deadlines we promised, with their status."""
    from mailwatch.views.promises import PROMISE_STATUSES, list_promises

    if status is not None and status not in PROMISE_STATUSES:
        raise fail(f"--status: {status!r} is not one of {', '.join(PROMISE_STATUSES)}")
    cfg = settings()
    when = parse_now(now)
    factory = _factory(cfg)
    with factory() as session:
        rows = [p.to_json() for p in list_promises(session, when, _view(cfg), status)]
    if as_json:
        _print_json(rows)
        return
    tz = cfg.calendar.tz
    table = Table(title=f"promises as of {local(when, tz)}, {zone_note(tz)}", title_justify="left")
    for column in ("id", "thread", "due", "status", "source", "text"):
        table.add_column(column)
    colours = {"missed": "red", "open": "yellow", "kept": "green", "renegotiated": "cyan"}
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["thread_id"] or ""),
            local(row["due_at"], tz, missing=""),
            f"[{colours[row['status']]}]{row['status']}[/]",
            row["source"],
            row["text"][:70],
        )
    console.print(table)


promise_app = typer.Typer(no_args_is_help=True, help="Record a promise or mark one kept.")
app.add_typer(promise_app, name="promise")


@promise_app.command("add")
def promise_add(
    thread_id: Annotated[int, typer.Argument(help="thread id")],
    due: Annotated[str, typer.Option("--due", help="ISO date (end of that work day) or date-time")],
    text: Annotated[str, typer.Option("--text", help="what we promised")],
) -> None:
    """Record a promise made outside the mailbox (a call, a meeting)."""
    from mailwatch.track.actions import ActionError, add_promise

    cfg = settings()
    due_at = parse_when(due, "--due", cfg, end_of_day=True)
    factory = _factory(cfg)
    try:
        promise_id = add_promise(factory, thread_id, due_at, text, datetime.now(UTC))
    except ActionError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"promise {promise_id} added to thread {thread_id}, due {local(due_at, cfg.calendar.tz)} "
        f"({zone_name(cfg.calendar.tz)})",
        highlight=False,
    )


@promise_app.command("done")
def promise_done(promise_id: Annotated[int, typer.Argument(help="promise id")]) -> None:
    """Mark a promise kept."""
    from mailwatch.track.actions import ActionError, mark_promise_done

    cfg = settings()
    try:
        mark_promise_done(_factory(cfg), promise_id, datetime.now(UTC))
    except ActionError as exc:
        raise fail(str(exc)) from None
    console.print(f"promise {promise_id} marked kept", highlight=False)


def _drafts(cfg: Settings) -> Any:
    from mailwatch.drafts.service import DraftService

    return DraftService(_factory(cfg), cfg)


def _print_draft(draft: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json([draft])
        return
    console.print(
        f"[bold]draft {draft['id']}[/] ({draft['kind']}, {draft['language']}, {draft['status']}) "
        f"for thread {draft['thread_id']}",
        highlight=False,
    )
    console.print(
        f"From: {draft['from']}\nTo: {draft['to']}\nSubject: {draft['subject']}",
        highlight=False,
        markup=False,
    )
    if draft["in_reply_to"]:
        console.print(f"In-Reply-To: {draft['in_reply_to']}", highlight=False, markup=False)
    console.print("")
    console.print(draft["body_text"], highlight=False, markup=False)
    from mailwatch.i18n_text import finding_text

    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
    for finding in draft["etiquette"]:
        console.print(
            f"  {marks.get(finding['level'], finding['level'])} {finding_text(finding['message'])}",
            highlight=False,
        )
    if draft["status"] == "uncertain":
        console.print(
            "[yellow]outcome uncertain:[/] decide with `mailwatch drafts mark-sent "
            f"{draft['id']}` or `mailwatch drafts resend {draft['id']}`",
            highlight=False,
        )
    if draft.get("last_error"):
        label = "evidence" if draft["status"] == "uncertain" else "last error"
        console.print(f"[red]{label}:[/] ", end="", highlight=False)
        console.print(draft["last_error"], highlight=False, markup=False)


def _draft_call(call: Any) -> Any:
    from mailwatch.drafts.service import DraftError

    try:
        return call()
    except DraftError as exc:
        raise fail(str(exc)) from None


@app.command()
def draft(
    kind: Annotated[
        str,
        typer.Argument(
            help="acknowledgment|decline|renegotiation|follow_up|closing|clarify, "
            "or the thread id with --auto"
        ),
    ],
    thread_id: Annotated[int | None, typer.Argument(help="thread id")] = None,
    auto: Annotated[
        bool,
        typer.Option("--auto", help="pick the kind from the client's last message (its intent)"),
    ] = False,
    new_date: Annotated[
        str | None, typer.Option("--new-date", help="renegotiation: the new date (ISO)")
    ] = None,
    reply_by: Annotated[
        str | None,
        typer.Option("--reply-by", help="acknowledgment: when the full answer comes (ISO)"),
    ] = None,
    promise_id: Annotated[
        int | None, typer.Option("--promise", help="renegotiation: which promise")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Write a draft now; it waits in the approval queue (`mailwatch drafts`)."""
    cfg = settings()
    if auto:
        # `mailwatch draft --auto 12`: the one argument is the thread
        if thread_id is None and kind.isdigit():
            thread_id = int(kind)
        if thread_id is None:
            raise fail("--auto needs a thread id: mailwatch draft --auto THREAD")
        picked, intent = _draft_call(lambda: _drafts(cfg).reply_kind(thread_id))
        if picked is None:
            err.print(
                f"thread {thread_id}: no reply needed ({intent.intent}: {intent.evidence})",
                highlight=False,
            )
            if as_json:
                print("[]")
            return
        err.print(f"intent {intent.intent} ({intent.evidence}): {picked}", highlight=False)
        kind = picked
    if thread_id is None:
        raise fail("a thread id is needed: mailwatch draft KIND THREAD")
    new_at = parse_when(new_date, "--new-date", cfg, end_of_day=True) if new_date else None
    reply_at = parse_when(reply_by, "--reply-by", cfg, end_of_day=True) if reply_by else None
    service = _drafts(cfg)
    result = _draft_call(
        lambda: service.create(
            kind,
            thread_id,
            datetime.now(UTC),
            new_date=new_at,
            reply_by=reply_at,
            promise_id=promise_id,
        )
    )
    if result.created and cfg.drafts_to_mailbox:
        from mailwatch.drafts.mailbox import reconcile_all

        reconcile_all(service.factory, cfg, datetime.now(UTC))
        result = type(result)(service.get(result.draft["id"]), result.created)
    if not result.created and not as_json:
        err.print(
            f"a pending {kind} draft for thread {thread_id} already exists: "
            f"draft {result.draft['id']}",
            highlight=False,
        )
    _print_draft(result.draft, as_json)


drafts_app = typer.Typer(no_args_is_help=True, help="The approval queue.")
app.add_typer(drafts_app, name="drafts")


@drafts_app.command("list")
def drafts_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending|approved|sending|sent|rejected|failed|uncertain|all (default: the "
            "drafts that need you: pending, approved, failed, uncertain)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """The approval queue, longest-waiting client first (default: the drafts that need you)."""
    from mailwatch.core.etiquette import PROBLEM_WORDS
    from mailwatch.store.models import DRAFT_STATUSES

    if status is not None and status not in (*DRAFT_STATUSES, "all"):
        raise fail(f"--status: {status!r} is not one of {', '.join(DRAFT_STATUSES)}, all")
    cfg = settings()
    service = _drafts(cfg)
    rows = service.list(None if status == "all" else status)
    if status is None:  # the same rows for people and for --json
        rows = [r for r in rows if r["status"] in NEEDS_YOU]
    if as_json:
        _print_json(rows)
        return
    shown = "the drafts that need you" if status is None else f"{status} drafts"
    table = Table(
        title=f"{shown} ({len(rows)}), longest-waiting client first", title_justify="left"
    )
    for column in ("id", "thread", "kind", "lang", "status", "to", "subject", "check"):
        table.add_column(column, no_wrap=column in ("id", "status"))
    for row in rows:
        problems = [
            PROBLEM_WORDS.get(f["code"], f["code"]) for f in row["etiquette"] if f["level"] != "ok"
        ]
        table.add_row(
            str(row["id"]),
            str(row["thread_id"] or ""),
            row["kind"].replace("_", "-"),
            row["language"],
            row["status"],
            row["to"],
            row["subject"][:50],
            "; ".join(problems) or "reads well",
        )
    console.print(table)


NEEDS_YOU = ("pending", "approved", "failed", "uncertain")


@drafts_app.command("show")
def drafts_show(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """One draft with its etiquette check."""
    cfg = settings()
    service = _drafts(cfg)
    _print_draft(_draft_call(lambda: service.get(draft_id)), as_json)


@drafts_app.command("edit")
def drafts_edit(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="take the new text from this file")
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="a new subject")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Change a pending draft's text (in $EDITOR unless --body-file) or subject."""
    import shlex
    import subprocess
    import tempfile

    from mailwatch.drafts.service import editor_command

    cfg = settings()
    service = _drafts(cfg)
    current = _draft_call(lambda: service.get(draft_id))
    if current["status"] != "pending":
        raise fail(f"draft {draft_id} is {current['status']}; only pending drafts change")
    body: str | None = None
    if body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"--body-file: {exc}") from None
    elif subject is None:
        with tempfile.NamedTemporaryFile(
            "w",
            suffix=".txt",
            prefix=f"mailwatch-draft-{draft_id}-",
            delete=False,
            encoding="utf-8",
        ) as handle:
            handle.write(current["body_text"])
            path = Path(handle.name)
        try:
            done = subprocess.run([*shlex.split(editor_command()), str(path)], check=False)
            if done.returncode != 0:
                raise fail(f"the editor exited with {done.returncode}; draft unchanged")
            body = path.read_text(encoding="utf-8")
        finally:
            path.unlink(missing_ok=True)
        if body == current["body_text"]:
            console.print("no change")
            return
    edited = _draft_call(lambda: service.edit(draft_id, datetime.now(UTC), body, subject))
    _print_draft(edited, as_json)


def _report_send(
    draft_id: int, draft: dict[str, Any], as_json: bool, exit_on: tuple[str, ...]
) -> None:
    """What became of a send (approve, resend): its status, the server's reason when it did
    not go, and exit 1 for the statuses the caller counts as failure."""
    if as_json:
        _print_json([draft])
    else:
        colour = {"sent": "green", "failed": "red"}.get(draft["status"], "yellow")
        console.print(f"draft {draft_id} [{colour}]{draft['status']}[/]", end="", highlight=False)
        extra = (
            f": {draft['last_error']}"
            if draft["status"] != "sent" and draft.get("last_error")
            else ""
        )
        console.print(extra, highlight=False, markup=False)
    if draft["status"] in exit_on:
        raise typer.Exit(1)


@drafts_app.command("approve")
def drafts_approve(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    send: Annotated[
        bool,
        typer.Option(
            "--send/--no-send", help="send right away (default) or leave it to the service"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Approve a pending (or failed) draft; it is sent exactly once."""
    cfg = settings()
    service = _drafts(cfg)
    approved = _draft_call(lambda: service.approve(draft_id, datetime.now(UTC)))
    if send:
        approved = service.send_now(draft_id, datetime.now(UTC))
    _report_send(draft_id, approved, as_json, exit_on=("failed",))


@drafts_app.command("reject")
def drafts_reject(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Reject a draft: it is never sent."""
    cfg = settings()
    service = _drafts(cfg)
    rejected = _draft_call(lambda: service.reject(draft_id, datetime.now(UTC)))
    if as_json:
        _print_json([rejected])
    else:
        console.print(f"draft {draft_id} rejected", highlight=False)


@drafts_app.command("mark-sent")
def drafts_mark_sent(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """An uncertain draft that did arrive (the client answered, the server log shows it)."""
    cfg = settings()
    service = _drafts(cfg)
    done = _draft_call(lambda: service.mark_sent(draft_id, datetime.now(UTC)))
    if as_json:
        _print_json([done])
    else:
        console.print(f"draft {draft_id} marked sent", highlight=False)


@drafts_app.command("resend")
def drafts_resend(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    send: Annotated[
        bool,
        typer.Option(
            "--send/--no-send", help="send right away (default) or leave it to the service"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """An uncertain draft that did NOT arrive: send it again (Sent is checked once more)."""
    cfg = settings()
    service = _drafts(cfg)
    done = _draft_call(lambda: service.resend(draft_id, datetime.now(UTC)))
    if send:
        done = service.send_now(draft_id, datetime.now(UTC))
    _report_send(draft_id, done, as_json, exit_on=("failed", "uncertain"))


@app.command()
def demo() -> None:
    """Sync a sample mailbox on an embedded IMAP server and list its conversations."""
    from mailwatch.demo import run_demo

    run_demo(console)


def _register_extras() -> None:
    from mailwatch.auth.cli import register as register_auth
    from mailwatch.digest.cli import register as register_digest

    register_digest(app)
    register_auth(app)


_register_extras()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
