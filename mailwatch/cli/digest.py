"""``mailwatch digest --print|--send [--json] [--now ISO]``: the daily digest now, and its
terminal form (:func:`print_digest`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mailwatch.cli.context import factory, loading, parse_now, settings, short_read
from mailwatch.cli.output import console, print_json
from mailwatch.config import PREFIX
from mailwatch.errors import UsageError, WorkFailed
from mailwatch.i18n import _, use_language

if TYPE_CHECKING:
    from mailwatch.digest.data import Digest

__all__ = ["digest", "print_digest"]


def digest(
    show: Annotated[bool, typer.Option("--print", help="show the digest in the terminal")] = False,
    send: Annotated[bool, typer.Option("--send", help="email it to DIGEST_TO now")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="evaluate as of this ISO 8601 instant")
    ] = None,
) -> None:
    """The daily digest now: overdue threads, drafts to approve, promises, warning signs."""
    with loading():
        from mailwatch.digest.data import build_digest  # lazy: keeps --help fast
    if not send:  # (sending talks to a server: the collector stays as it is)
        short_read()

    cfg = settings()
    when = parse_now(now)
    if send and not cfg.digest_to:
        raise UsageError(
            _("%(key)s is not set: nobody to send the digest to", key=f"{PREFIX}DIGEST_TO"),
            prefix="--send",
        )
    if send and not cfg.mailboxes[0].smtp.host:
        raise UsageError(
            _("%(key)s is not set", key=f"{cfg.mailboxes[0].env_prefix}SMTP_HOST"),
            prefix="--send",
        )
    with factory(cfg)() as session:
        built = build_digest(session, cfg, when)
    sent: dict[str, Any] | None = None
    if send:
        # lazy: only sending needs the chart (Pillow) and the SMTP client; --print stays light
        import asyncio  # lazy: ~25 ms of imports that only --send needs

        from mailwatch.digest.render import build_email
        from mailwatch.digest.send import digest_from_address, send_email

        message = build_email(built, cfg, digest_from_address(cfg), cfg.digest_to)
        refused = asyncio.run(send_email(cfg, message))
        sent = {
            "to": list(cfg.digest_to),
            "message_id": str(message["Message-ID"]),
            "refused": refused,
        }
    if as_json:
        data = built.to_json()
        if sent is not None:
            data["sent"] = sent
        print_json(data)
    elif show or not send:
        print_digest(built, console)
    if sent is not None and not as_json:
        accepted = [a for a in sent["to"] if a not in sent["refused"]]
        console.print(
            _(
                "digest sent to %(to)s: %(subject)s",
                to=", ".join(accepted),
                subject=built.subject_line(),
            ),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if sent is not None and sent["refused"]:
        who = "; ".join(f"{k}: {v}" for k, v in sent["refused"].items())
        raise WorkFailed(_("refused: %(refused)s", refused=who))


def _t(value: Any, style: str = "") -> Text:
    """Untrusted text as a rich Text: never parsed as console markup."""
    return Text("" if value is None else str(value), style=style)


def _who(name: str | None, email: str | None) -> Text:
    text = Text(name or "", style="bold")
    if email:
        text.append((" " if name else "") + email, style="dim")
    return text


def print_digest(digest: Digest, console: Console) -> None:
    """The digest as tables in the terminal, in its language."""
    with use_language(digest.language):
        _print_digest(digest, console)


def _print_digest(digest: Digest, console: Console) -> None:
    # lazy: keeps --help fast (the digest's renderer pulls in the store and SQLAlchemy)
    from mailwatch.digest.render import kind_label, overdue_summary_lines, week_line

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
    console.print(table if digest.overdue else _t(_("overdue: none")))
    if digest.overdue_more:
        for line in overdue_summary_lines(digest, None):
            console.print(_t(line.strip()), soft_wrap=True)

    title = _("drafts to approve (%(num)d)", num=len(digest.drafts))
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
    console.print(table if digest.drafts else _t(_("drafts to approve: none")))

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
    console.print(table if promises else _t(_("promises due soon or missed: none")))

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
    console.print(table if digest.warning_clients else _t(_("warning signs: none")))

    console.print(_t(_("response times (business time)"), "bold"))
    console.print(_t("  " + week_line(digest.this_week)))
    console.print(_t("  " + week_line(digest.last_week)))
    console.print(_t(_("sync"), "bold"))
    for health in digest.sync:
        console.print(_t("  " + health.line, "red" if health.problem else ""), soft_wrap=True)
