"""``mailwatch run`` (the service) and ``mailwatch workers`` (who runs it on this database)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from mailwatch.cli.context import engine, factory, loading, settings
from mailwatch.cli.output import console, print_json
from mailwatch.i18n import _

__all__ = ["run", "workers"]


def run() -> None:
    """The service: sync (IDLE or polling), scheduler, web endpoints, until SIGTERM/SIGINT."""
    with loading():  # the service's modules live as long as it: out of the collector's scans
        from mailwatch.service.main import run_service  # lazy: keeps --help fast

        cfg = settings()
        cfg.require_mailboxes()
    run_service(cfg, engine(cfg))


def workers(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """The `mailwatch run` workers on this database: mailboxes held, scheduler, last heartbeat."""
    from mailwatch.views.workers import list_workers  # lazy: keeps --help fast

    cfg = settings()
    found = list_workers(factory(cfg))
    if as_json:
        print_json([w.as_dict() for w in found])
        return
    if not found:
        console.print(_("no worker is running (mailwatch run)"))
        return
    table = Table(title=_("workers"))
    headers = (_("worker"), _("state"), _("mailboxes"), _("scheduler"))
    for column in (*headers, _("last heartbeat (UTC)")):
        table.add_column(column, no_wrap=len(table.columns) != 2)  # mailboxes wrap
    for w in found:
        table.add_row(
            w.id,
            _("alive") if w.alive else _("gone"),
            ", ".join(w.mailboxes) or "-",
            _("yes") if w.scheduler else "-",
            w.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)
