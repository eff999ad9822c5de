"""``mailwatch init`` and ``mailwatch check``: the configuration, the database, the servers."""

from __future__ import annotations

import typer

from mailwatch.cli.context import database_error, settings
from mailwatch.cli.output import console, print_error, print_problem
from mailwatch.config import describe
from mailwatch.core.folders import map_folder_roles
from mailwatch.errors import MailAccessError
from mailwatch.i18n import _

__all__ = ["check", "init"]


def init() -> None:
    """Check the configuration, then create or upgrade the database (Alembic)."""
    from mailwatch.store.db import make_engine, upgrade  # lazy: keeps --help fast

    cfg = settings()
    if cfg.problems:  # before anything is created: a wrong setup leaves nothing behind
        codes = [print_error(problem) for problem in cfg.problems]  # every problem at once
        raise typer.Exit(max(codes))
    try:
        revision = upgrade(make_engine(cfg.database_url))
    except Exception as exc:  # the driver's or Alembic's failure: one line naming the database
        raise database_error(cfg, exc) from None
    url = describe(cfg)["database_url"]
    console.print(
        _("database ready at revision %(revision)s (%(url)s)", revision=revision, url=url)
    )
    names = ", ".join(m.name for m in cfg.mailboxes)
    console.print(_("configuration OK: mailbox(es) %(names)s", names=names))


def check() -> None:
    """Connect to IMAP and SMTP, print capabilities and the folder mapping."""
    # lazy: keeps --help fast (imapclient, the token code, the SMTP client)
    from mailwatch.auth.tokens import imap_provider, smtp_provider
    from mailwatch.mail.imap import ImapConnection
    from mailwatch.mail.smtp_check import check_smtp

    cfg = settings()
    cfg.require_mailboxes()
    ok = True
    for mailbox in cfg.mailboxes:
        console.print(
            f"[bold]{mailbox.name}[/] IMAP {mailbox.imap.host}:{mailbox.imap.port} ({mailbox.imap.security})"
        )
        try:
            with ImapConnection(
                mailbox.imap,
                timeout=min(cfg.imap_timeout, 20.0),
                token_provider=imap_provider(mailbox),
            ) as conn:
                console.print("  capabilities: " + " ".join(sorted(conn.capabilities)))
                roles = map_folder_roles(conn.list_folders())
                for role in ("inbox", "sent", "drafts", "junk", "trash"):
                    console.print(f"  {role:7} -> {roles.get(role, '(not found)')}")
        except MailAccessError as exc:  # reported per mailbox; the others are still checked
            ok = False
            print_problem("IMAP", exc, indent="  ")
        if mailbox.smtp.host:
            console.print(
                f"  SMTP {mailbox.smtp.host}:{mailbox.smtp.port} ({mailbox.smtp.security})"
            )
            problem = check_smtp(
                mailbox.smtp,
                timeout=min(cfg.imap_timeout, 20.0),
                token_provider=smtp_provider(mailbox),
            )
            if problem.error:
                ok = False
                print_problem("SMTP", problem.error, indent="  ")
            else:
                console.print("  SMTP extensions: " + " ".join(problem.extensions))
        else:
            console.print("  SMTP: not configured (MAILWATCH_SMTP_HOST)")
    if not ok:
        raise typer.Exit(1)
