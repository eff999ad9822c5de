"""What ``mailwatch threads`` does once its options are read: list the conversations as a
table or as JSON.

Kept apart from the command's declaration (:mod:`.threads`, Typer) so that the quick path
(:mod:`.quick`) runs the very same code without loading the command parser.
"""

from __future__ import annotations

import sys

from mailwatch.cli.context import loading, parse_now, read_store, settings, short_read
from mailwatch.core.timefmt import local, zone_name
from mailwatch.errors import UsageError
from mailwatch.i18n import _, duration

__all__ = ["show_threads"]


def show_threads(
    state_filter: str, as_json: bool, now: str | None, limit: int | None, after: str | None
) -> None:
    """List conversations: who waits for whom, and how late we are."""
    with loading():
        from mailwatch.views.context import View  # lazy: --help fast
        from mailwatch.views.threads import (  # lazy: --help fast
            THREAD_FILTERS,
            ThreadCursor,
            list_threads,
            threads_json,
            threads_json_times,
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
    with read_store(cfg) as store:
        views = list_threads(store, when, state_filter, View.of(cfg), limit=limit, after=cursor)
    if limit is not None and len(views) == limit:
        # the next page's cursor on stderr, so that stdout stays one JSON array (or the table)
        next_cursor = ThreadCursor.after(state_filter, when, views[-1]).encode()
        sys.stdout.flush()
        sys.stderr.write(f"next: --after {next_cursor}\n")
        sys.stderr.flush()
    if as_json:
        from mailwatch.cli.jsonout import print_json  # lazy: the table needs rich instead

        with_times = threads_json_times(views)
        if with_times is not None:  # (the same text, the times written by orjson)
            print_json(with_times, times=True)
        else:
            print_json(threads_json(views), floats=False)  # (ThreadView.to_json holds none)
        return
    rows = threads_json(views)
    # lazy: the JSON needs none of rich
    from rich.table import Table
    from rich.text import Text

    from mailwatch.cli.console import console

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
