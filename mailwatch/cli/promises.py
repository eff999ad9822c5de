"""``mailwatch promises`` (the deadlines we promised) and ``mailwatch promise add|done``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from mailwatch.cli.context import factory, loading, parse_now, parse_when, settings, short_read
from mailwatch.cli.output import console, print_json
from mailwatch.core.timefmt import local, zone_name
from mailwatch.errors import UsageError
from mailwatch.i18n import _

__all__ = ["promise_app", "promises"]


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
    with loading():
        from mailwatch.views.context import View  # lazy: --help fast
        from mailwatch.views.promises import PROMISE_STATUSES, list_promises  # lazy: --help fast
    short_read()

    if status is not None and status not in PROMISE_STATUSES:
        raise UsageError(
            _(
                "%(value)r is not one of %(choices)s",
                value=status,
                choices=", ".join(PROMISE_STATUSES),
            ),
            prefix="--status",
        )
    cfg = settings()
    when = parse_now(now)
    with factory(cfg)() as session:
        rows = [p.to_json() for p in list_promises(session, when, View.of(cfg), status)]
    if as_json:
        print_json(rows)
        return
    tz = cfg.calendar.tz
    title = _(
        "promises as of %(when)s, times in %(zone)s", when=local(when, tz), zone=zone_name(tz)
    )
    table = Table(title=title, title_justify="left")
    for column in (_("id"), _("thread"), _("due"), _("status"), _("source"), _("text")):
        table.add_column(column)
    colours = {"missed": "red", "open": "yellow", "kept": "green", "renegotiated": "cyan"}
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["thread_id"] or ""),
            local(row["due_at"], tz, missing=""),
            f"[{colours[row['status']]}]{row['status']}[/]",
            row["source"],
            Text(row["text"][:70]),  # from a client's mail: never read as console markup
        )
    console.print(table)


promise_app = typer.Typer(no_args_is_help=True, help="Record a promise or mark one kept.")


@promise_app.command("add")
def promise_add(
    thread_id: Annotated[int, typer.Argument(help="thread id")],
    due: Annotated[str, typer.Option("--due", help="ISO date (end of that work day) or date-time")],
    text: Annotated[str, typer.Option("--text", help="what we promised")],
) -> None:
    """Record a promise made outside the mailbox (a call, a meeting)."""
    from mailwatch.track.actions import add_promise  # lazy: keeps --help fast

    cfg = settings()
    due_at = parse_when(due, "--due", cfg, end_of_day=True)
    promise_id = add_promise(factory(cfg), thread_id, due_at, text, datetime.now(UTC))
    line = _(
        "promise %(id)d added to thread %(thread)d, due %(when)s (%(zone)s)",
        id=promise_id,
        thread=thread_id,
        when=local(due_at, cfg.calendar.tz),
        zone=zone_name(cfg.calendar.tz),
    )
    console.print(line, highlight=False)


@promise_app.command("done")
def promise_done(promise_id: Annotated[int, typer.Argument(help="promise id")]) -> None:
    """Mark a promise kept."""
    from mailwatch.track.actions import mark_promise_done  # lazy: keeps --help fast

    cfg = settings()
    mark_promise_done(factory(cfg), promise_id, datetime.now(UTC))
    console.print(_("promise %(id)d marked kept", id=promise_id), highlight=False)
