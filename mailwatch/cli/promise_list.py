"""What ``mailwatch promises`` does once its options are read: the promises as a table or as
JSON.

Kept apart from the command's declaration (:mod:`.promises`, Typer) so that the quick path
(:mod:`.quick`) runs the very same code without loading the command parser; the store is
read straight through the driver (:func:`~mailwatch.cli.context.read_store`).
"""

from __future__ import annotations

from mailwatch.cli.context import loading, parse_now, read_store, settings, short_read
from mailwatch.core.timefmt import local, zone_name
from mailwatch.errors import UsageError
from mailwatch.i18n import _

__all__ = ["show_promises"]


def show_promises(status: str | None, as_json: bool, now: str | None) -> None:
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
    with read_store(cfg) as store:
        rows = [p.to_json() for p in list_promises(store, when, View.of(cfg), status)]
    if as_json:
        from mailwatch.cli.jsonout import print_json  # lazy: the table needs rich instead

        print_json(rows, floats=False)  # (PromiseView.to_json holds none)
        return
    # lazy: the JSON needs none of rich
    from rich.table import Table
    from rich.text import Text

    from mailwatch.cli.console import console
    from mailwatch.cli.plain_table import print_table

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
    print_table(console, table)
