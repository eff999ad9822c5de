"""``mailwatch threads`` (the conversations) and ``mailwatch thread close|snooze|ignore|reopen``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from mailwatch.cli.context import factory, loading, parse_now, parse_when, settings, short_read
from mailwatch.cli.output import console, err, print_json
from mailwatch.core.timefmt import local, zone_name
from mailwatch.errors import UsageError
from mailwatch.i18n import N_, _, duration

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
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=1, help="at most N conversations; the next page's cursor goes to stderr"
        ),
    ] = None,
    after: Annotated[
        str | None,
        typer.Option("--after", help="the cursor a previous --limit page printed: the next page"),
    ] = None,
) -> None:
    """List conversations: who waits for whom, and how late we are."""
    with loading():
        from mailwatch.views.context import View  # lazy: --help fast
        from mailwatch.views.threads import (  # lazy: --help fast
            THREAD_FILTERS,
            ThreadCursor,
            list_threads,
            threads_json,
        )
    short_read()

    if state_filter not in THREAD_FILTERS:
        raise UsageError(
            _(
                "%(value)r is not one of %(choices)s",
                value=state_filter,
                choices=", ".join(THREAD_FILTERS),
            ),
            prefix="--state",
        )
    cursor = ThreadCursor.decode(after) if after is not None else None
    cfg = settings()
    when = parse_now(now)
    if cursor is not None:
        # every page of one listing is evaluated as of the first page's instant
        if now is not None and when != cursor.now:
            raise UsageError("the cursor has its own --now; leave --now out", prefix="--after")
        when = cursor.now
    with factory(cfg)() as session:
        views = list_threads(session, when, state_filter, View.of(cfg), limit=limit, after=cursor)
    rows = threads_json(views)
    if limit is not None and len(views) == limit:
        # the next page's cursor on stderr, so that stdout stays one JSON array (or the table)
        next_cursor = ThreadCursor.after(state_filter, when, views[-1]).encode()
        err.print(f"next: --after {next_cursor}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(rows, floats=False)  # (ThreadView.to_json holds none)
        return
    tz = cfg.calendar.tz
    title = _(
        "conversations (%(filter)s) as of %(when)s, times in %(zone)s",
        filter=state_filter,
        when=local(when, tz),
        zone=zone_name(tz),
    )
    table = Table(title=title, title_justify="left")
    headers = (_("id"), _("state"), _("late"), _("client"), _("subject"), _("lang"))
    for column in (*headers, _("last in"), _("last out")):
        table.add_column(column, no_wrap=len(table.columns) < 3)  # id, state, late
    for row in rows:
        who = row["counterpart"]["name"] or row["counterpart"]["email"] or ""
        late = Text()
        if row["overdue"]:
            late = Text(_("%(wait)s over", wait=duration(row["overdue_business_minutes"])), "red")
        elif row["state"] == "awaiting_us":
            late = Text(_("waiting %(wait)s", wait=duration(row["waiting_business_minutes"])))
        state_text = row["state"] + (" ⚠" if row["warning_signs"] else "")
        table.add_row(
            str(row["id"]),
            state_text,
            late,
            Text(who),  # untrusted: never read as console markup
            Text((row["subject"] or "")[:50]),
            row["language"] or "",
            local(row["last_inbound_at"], tz, missing=""),
            local(row["last_outbound_at"], tz, missing=""),
        )
    console.print(table)


thread_app = typer.Typer(no_args_is_help=True, help="Close, snooze, ignore or reopen a thread.")


# what `thread ACTION ID` prints (snooze, with its date, is said where it is printed)
DONE: dict[str | None, str] = {
    "closed": N_("thread %(id)d closed"),
    "ignored": N_("thread %(id)d ignored"),
    None: N_("thread %(id)d reopened"),
}


def _set_state(thread_id: int, action: str | None, until: datetime | None = None) -> None:
    from mailwatch.track.actions import set_thread_state  # lazy: keeps --help fast

    cfg = settings()
    set_thread_state(factory(cfg), thread_id, action, datetime.now(UTC), until)
    tz = cfg.calendar.tz
    if until is not None:
        line = _(
            "thread %(id)d snoozed until %(when)s (%(zone)s)",
            id=thread_id,
            when=local(until, tz),
            zone=zone_name(tz),
        )
    else:
        line = _(DONE[action], id=thread_id)
    console.print(line, highlight=False)


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
