"""``mailwatch auth login [--mailbox NAME]`` and ``mailwatch auth status``: OAuth2 sign-in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

import typer

from mailwatch.cli.context import settings
from mailwatch.cli.output import console, print_problem
from mailwatch.config import MAILBOX_KEYS, MailboxSettings, Settings
from mailwatch.core.timefmt import local, zone_name
from mailwatch.errors import UsageError
from mailwatch.i18n import _

__all__ = ["auth_app", "login", "status"]

_OAUTH_KEYS = tuple(key for key in MAILBOX_KEYS if key.startswith("OAUTH_"))
#: the exit code of a sign-in given up with Ctrl+C (128 + SIGINT, as a shell reports it)
EXIT_INTERRUPTED = 130

auth_app = typer.Typer(
    no_args_is_help=True,
    help="OAuth2 (XOAUTH2) sign-in for Office 365 and other providers.",
)


def _mailbox(cfg: Settings, name: str | None) -> MailboxSettings:
    """The mailbox named (default: the first), once its OAuth2 settings are complete."""
    box = cfg.mailbox(name) if name else cfg.mailboxes[0]
    wanted = {box.env_prefix + key for key in _OAUTH_KEYS}
    for problem in cfg.problems:
        if problem.key in wanted:
            raise problem
    if "oauth2" not in (box.imap.auth, box.smtp.auth):
        raise UsageError(
            _(
                "mailbox %(name)r does not use OAuth2: set %(key)s=oauth2 (and SMTP_AUTH) first",
                name=box.name,
                key=f"{box.env_prefix}IMAP_AUTH",
            )
        )
    return box


def _expiry(epoch: float | None, tz: tzinfo | None = None) -> str:
    """When a token expires, for people: the mailbox's TIMEZONE, to the minute, zone named."""
    if epoch is None:
        return "unknown"
    moment = datetime.fromtimestamp(epoch, UTC)
    if tz is None:
        return local(moment, UTC) + " UTC"
    return f"{local(moment, tz)} {zone_name(tz)}"


@auth_app.command("login")
def login(
    mailbox: Annotated[
        str | None, typer.Option("--mailbox", help="the mailbox to sign in for (default: first)")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="give up after this many seconds (default: the code's life)"
        ),
    ] = None,
) -> None:
    """Sign in a user with a device code (OAUTH_FLOW=device) and keep the token cache.

    Prints a web address and a code: open the address anywhere, enter the code, sign in as
    the mailbox's user (or a delegate of a shared mailbox). Other flows only check that a
    token can be had.
    """
    # lazy: keeps --help fast (MSAL and requests come with the token code)
    from mailwatch.auth.tokens import DeviceCodeProvider, build_provider

    cfg = settings()
    box = _mailbox(cfg, mailbox)
    provider = build_provider(box)
    if not isinstance(provider, DeviceCodeProvider):
        provider()
        console.print(
            _(
                "%(mailbox)s: OAUTH_FLOW=%(flow)s needs no sign-in; a token was obtained "
                "(valid until %(until)s)",
                mailbox=box.name,
                flow=box.oauth.flow,
                until=_expiry(provider.expires_at, cfg.calendar.tz),
            ),
            highlight=False,
        )
        return

    def show(flow: Mapping[str, Any]) -> None:
        console.print(str(flow.get("message", "")), highlight=False, soft_wrap=True)
        address, code = _("address:"), _("code:")
        width = max(len(address), len(code))
        console.print(
            f"  {address.ljust(width)} {flow.get('verification_uri', '')}", highlight=False
        )
        console.print(
            f"  {code.ljust(width)} [bold]{flow.get('user_code', '')}[/]", highlight=False
        )
        console.print(_("waiting for the sign-in (Ctrl+C to give up)..."), highlight=False)

    try:
        user = provider.login(show, timeout=timeout)
    except KeyboardInterrupt:  # the user gave up: a clear line, not click's "Aborted!"
        raise UsageError(_("sign-in cancelled"), exit_code=EXIT_INTERRUPTED) from None
    console.print(
        _(
            "%(mailbox)s: signed in as %(user)s; token cache %(cache)s (0600); tokens are "
            "renewed from it silently",
            mailbox=box.name,
            user=user or _("(unknown user)"),
            cache=box.oauth.token_cache,
        ),
        highlight=False,
        soft_wrap=True,
    )
    if user and user.lower() != box.imap.username.lower():
        console.print(
            "  "
            + _(
                "note: %(user)s will open %(mailbox)s (a shared mailbox or a delegate: it needs "
                "Full Access to it)",
                user=user,
                mailbox=box.imap.username,
            ),
            highlight=False,
            soft_wrap=True,
        )


@auth_app.command("status")
def status(
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="only this mailbox")] = None,
) -> None:
    """Check that each OAuth2 mailbox can get a token now (silently, nothing is shown)."""
    from mailwatch.auth.tokens import TokenError, build_provider  # lazy: keeps --help fast

    cfg = settings()
    boxes = [_mailbox(cfg, mailbox)] if mailbox else []
    if not boxes:
        boxes = [b for b in cfg.mailboxes if "oauth2" in (b.imap.auth, b.smtp.auth)]
    if not boxes:
        console.print(_("no mailbox uses OAuth2 (IMAP_AUTH / SMTP_AUTH=oauth2)"))
        return
    ok = True
    for box in boxes:
        try:
            provider = build_provider(box)
            provider()
        except TokenError as exc:  # reported per mailbox; the others are still checked
            ok = False
            print_problem(box.name, exc)
            continue
        console.print(
            _(
                "%(mailbox)s: OAuth2 (%(flow)s) token OK, valid until %(until)s",
                mailbox=box.name,
                flow=box.oauth.flow,
                until=_expiry(provider.expires_at, cfg.calendar.tz),
            ),
            highlight=False,
        )
    if not ok:
        raise typer.Exit(1)
