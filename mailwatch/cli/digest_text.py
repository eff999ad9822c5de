"""The digest in the terminal: :func:`print_digest`, rich tables in the digest's language.

Kept apart from the command's declaration (:mod:`.digest`, Typer) and its read body
(:mod:`.digest_show`) so that ``digest --json`` loads no rich and ``digest --print`` no Jinja2
(the lines it shares with the templates are :mod:`mailwatch.digest.lines`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailwatch.cli.plain_table import print_table
from mailwatch.digest.lines import (
    drafts_more_line,
    kind_label,
    overdue_summary_lines,
    week_line,
)
from mailwatch.i18n import _, use_language

if TYPE_CHECKING:
    from mailwatch.digest.data import Digest

__all__ = ["print_digest"]


def _t(value: Any, style: str = "") -> Text:
    """Untrusted text as a rich Text: never parsed as console markup."""
    return Text("" if value is None else str(value), style=style)


def _who(name: str | None, email: str | None) -> Text:
    text = Text(name or "", style="bold")
    if email:
        text.append((" " if name else "") + email, style="dim")
    return text


def _print_table(console: Console, table: Table, rows: object, none: Text) -> None:
    """The table when it has rows, else the one line that says there are none."""
    if rows:
        print_table(console, table)
    else:
        console.print(none)


def print_digest(digest: Digest, console: Console) -> None:
    """The digest as tables in the terminal, in its language."""
    with use_language(digest.language):
        _print_digest(digest, console)


def _print_digest(digest: Digest, console: Console) -> None:

    console.print(_t(digest.subject_line(), "bold"))
    console.print(
        _t(
            _("as of %(when)s; all times in %(zone)s", when=digest.as_of, zone=digest.timezone),
            "dim",
        )
    )
    for line in digest.alerts:
        console.print(_t(f"{_('SYNC PROBLEM')}: {line}", "bold red"), soft_wrap=True)
    for line in digest.job_problems:
        console.print(_t(f"{_('JOB FAILING')}: {line}", "bold red"), soft_wrap=True)
    if digest.backlog:
        console.print(_t(f"{_('BACKLOG')}: {digest.backlog}", "yellow"), soft_wrap=True)

    title = _("overdue (%(num)d), business time", num=digest.overdue_count)
    if digest.overdue_more:
        title += ", " + _("the %(num)d longest waits", num=len(digest.overdue))
    table = Table(title=title, title_justify="left")
    for column in (_("thread"), _("waiting"), _("client"), _("subject / last message")):
        table.add_column(column, no_wrap=len(table.columns) < 2)
    for t in digest.overdue:
        body = _t(t.subject)
        if t.snippet:
            body.append("\n" + t.snippet, style="dim")
        table.add_row(_t(t.thread_id), _t(t.wait, "red"), _who(t.client_name, t.client_email), body)
    _print_table(console, table, digest.overdue, _t(_("overdue: none")))
    if digest.overdue_more:
        for line in overdue_summary_lines(digest, None):
            console.print(_t(line.strip()), soft_wrap=True)

    title = _("drafts to approve (%(num)d)", num=digest.drafts_count)
    if digest.drafts_more:
        title += ", " + _("the %(num)d oldest", num=len(digest.drafts))
    table = Table(title=title, title_justify="left")
    for column in (_("draft"), _("kind"), _("age"), _("to"), _("subject"), _("link")):
        table.add_column(column, no_wrap=len(table.columns) < 3)
    for d in digest.drafts:
        table.add_row(
            _t(d.id),
            _t(kind_label(d.kind)),
            _t(d.age),
            _who(d.client_name, d.client_email),
            _t(d.subject),
            _t(d.link, "blue"),
        )
    _print_table(console, table, digest.drafts, _t(_("drafts to approve: none")))
    more = drafts_more_line(digest, None)
    if more:
        console.print(_t(more.strip()), soft_wrap=True)

    promises = [(p, "yellow") for p in digest.promises_due] + [
        (p, "red") for p in digest.promises_missed
    ]
    title = _("promises due soon or missed (%(num)d)", num=len(promises))
    table = Table(title=title, title_justify="left")
    for column in (_("promise"), _("thread"), _("when"), _("client"), _("text")):
        table.add_column(column, no_wrap=len(table.columns) < 2)
    for p, colour in promises:
        table.add_row(
            _t(p.id),
            _t(p.thread_id),
            _t(p.when, colour),
            _who(p.client_name, p.client_email),
            _t(p.text),
        )
    _print_table(console, table, promises, _t(_("promises due soon or missed: none")))

    title = _("clients showing warning signs (%(num)d)", num=digest.warning_count)
    table = Table(title=title, title_justify="left")
    for column in (_("client"), _("threads"), _("signs and evidence")):
        table.add_column(column)
    for c in digest.warning_clients:
        signs = Text()
        for index, s in enumerate(c.signs):
            if index:
                signs.append("\n")
            signs.append(s.label, style="bold")
            signs.append(f': "{s.evidence}"')
        table.add_row(
            _who(c.client_name, c.client_email),
            _t(", ".join(f"#{tid}" for tid in c.thread_ids)),
            signs,
        )
    _print_table(console, table, digest.warning_clients, _t(_("warning signs: none")))

    console.print(_t(_("response times (business time)"), "bold"))
    console.print(_t("  " + week_line(digest.this_week)))
    console.print(_t("  " + week_line(digest.last_week)))
    console.print(_t(_("sync"), "bold"))
    for health in digest.sync:
        console.print(_t("  " + health.line, "red" if health.problem else ""), soft_wrap=True)
