"""``mailwatch promises`` (the deadlines we promised) and ``mailwatch promise add|done``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from mailwatch.cli.context import factory, parse_when, settings
from mailwatch.cli.output import console
from mailwatch.cli.promise_list import show_promises
from mailwatch.core.timefmt import local, zone_name
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
    show_promises(status, as_json, now)


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
