"""``mailwatch threads`` (the conversations) and ``mailwatch thread close|snooze|ignore|reopen``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from mailwatch.cli.context import factory, parse_when, settings
from mailwatch.cli.output import console
from mailwatch.cli.thread_list import show_threads
from mailwatch.core.timefmt import local, zone_name
from mailwatch.i18n import N_, _

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
    show_threads(state_filter, as_json, now, limit, after)


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
