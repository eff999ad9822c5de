"""``mailwatch threads`` (the conversations) and ``mailwatch thread close|snooze|ignore|reopen``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from mailwatch.cli.context import factory, parse_now, parse_when, settings
from mailwatch.cli.output import console, print_json
from mailwatch.core.business_time import business_duration
from mailwatch.core.timefmt import local, zone_name, zone_note
from mailwatch.errors import UsageError

__all__ = ["thread_app", "threads"]


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
    from mailwatch.store.queries import THREAD_FILTERS, View, thread_rows  # lazy: --help fast

    if state_filter not in THREAD_FILTERS:
        raise UsageError(
            f"{state_filter!r} is not one of {', '.join(THREAD_FILTERS)}", prefix="--state"
        )
    cfg = settings()
    when = parse_now(now)
    with factory(cfg)() as session:
        rows = thread_rows(session, when, state_filter, View.of(cfg))
    if as_json:
        print_json(rows)
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
            late = f"[red]{business_duration(row['overdue_business_minutes'])} over[/]"
        elif row["state"] == "awaiting_us":
            late = f"waiting {business_duration(row['waiting_business_minutes'])}"
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


def _set_state(thread_id: int, action: str | None, until: datetime | None = None) -> None:
    from mailwatch.track.actions import set_thread_state  # lazy: keeps --help fast

    cfg = settings()
    set_thread_state(factory(cfg), thread_id, action, datetime.now(UTC), until)
    done = {"closed": "closed", "snoozed": "snoozed", "ignored": "ignored", None: "reopened"}
    tz = cfg.calendar.tz
    extra = f" until {local(until, tz)} ({zone_name(tz)})" if until else ""
    console.print(f"thread {thread_id} {done[action]}{extra}", highlight=False)


@thread_app.command("close")
def thread_close(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Nothing more to answer; a new message from the client reopens it."""
    _set_state(thread_id, "closed")


@thread_app.command("snooze")
def thread_snooze(
    thread_id: Annotated[int, typer.Argument(help="thread id")],
    until: Annotated[str, typer.Option("--until", help="ISO date or date-time")],
) -> None:
    """Hide the thread until a date (or until the client writes again)."""
    cfg = settings()
    _set_state(thread_id, "snoozed", parse_when(until, "--until", cfg, end_of_day=False))


@thread_app.command("ignore")
def thread_ignore(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Never track this thread again."""
    _set_state(thread_id, "ignored")


@thread_app.command("reopen")
def thread_reopen(thread_id: Annotated[int, typer.Argument(help="thread id")]) -> None:
    """Undo close, snooze or ignore."""
    _set_state(thread_id, None)
