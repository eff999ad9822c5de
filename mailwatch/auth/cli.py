"""`mailwatch auth login [--mailbox NAME]` and `mailwatch auth status`: OAuth2 sign-in.

``register(app)`` adds the ``auth`` group to the main Typer app (mailwatch/cli.py calls it).
The helpers of mailwatch.cli are imported inside the commands, so that module can import
this one at load time without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailwatch.config import MAILBOX_KEYS

if TYPE_CHECKING:
    from mailwatch.config import MailboxSettings, Settings

__all__ = ["register"]

_OAUTH_KEYS = tuple(key for key in MAILBOX_KEYS if key.startswith("OAUTH_"))


def register(app: typer.Typer) -> None:
    auth = typer.Typer(
        no_args_is_help=True,
        help="OAuth2 (XOAUTH2) sign-in for Office 365 and other providers.",
    )
    auth.command("login")(login_command)
    auth.command("status")(status_command)
    app.add_typer(auth, name="auth")


def _mailbox(cfg: Settings, name: str | None) -> MailboxSettings:
    from mailwatch.cli import fail
    from mailwatch.config import ConfigError

    try:
        box = cfg.mailbox(name) if name else cfg.mailboxes[0]
    except ConfigError as exc:
        raise fail(f"config: {exc}") from None
    wanted = {box.env_prefix + key for key in _OAUTH_KEYS}
    for problem in cfg.problems:
        if problem.key in wanted:
            raise fail(f"config: {problem}")
    if "oauth2" not in (box.imap.auth, box.smtp.auth):
        raise fail(
            f"mailbox {box.name!r} does not use OAuth2: set {box.env_prefix}IMAP_AUTH=oauth2 "
            "(and SMTP_AUTH) first"
        )
    return box


def _expiry(epoch: float | None, tz: Any = None) -> str:
    """When a token expires, for people: the mailbox's TIMEZONE, to the minute, zone named."""
    from mailwatch.core.timefmt import local, zone_name

    if epoch is None:
        return "unknown"
    moment = datetime.fromtimestamp(epoch, UTC)
    if tz is None:
        return local(moment, UTC) + " UTC"
    return f"{local(moment, tz)} {zone_name(tz)}"


def login_command(
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
    from mailwatch.auth.tokens import DeviceCodeProvider, TokenError, build_provider
    from mailwatch.cli import console, fail, settings

    cfg = settings()
    box = _mailbox(cfg, mailbox)
    try:
        provider = build_provider(box)
    except TokenError as exc:
        raise fail(str(exc)) from None
    if not isinstance(provider, DeviceCodeProvider):
        try:
            provider()
        except TokenError as exc:
            raise fail(f"{box.name}: {exc}", code=1) from None
        console.print(
            f"{box.name}: OAUTH_FLOW={box.oauth.flow} needs no sign-in; a token was obtained "
            f"(valid until {_expiry(provider.expires_at, cfg.calendar.tz)})",
            highlight=False,
        )
        return

    def show(flow: Mapping[str, Any]) -> None:
        console.print(str(flow.get("message", "")), highlight=False, soft_wrap=True)
        console.print(f"  address: {flow.get('verification_uri', '')}", highlight=False)
        console.print(f"  code:    [bold]{flow.get('user_code', '')}[/]", highlight=False)
        console.print("waiting for the sign-in (Ctrl+C to give up)...", highlight=False)

    try:
        user = provider.login(show, timeout=timeout)
    except TokenError as exc:
        raise fail(f"{box.name}: {exc}", code=1) from None
    except KeyboardInterrupt:
        raise fail("sign-in cancelled", code=130) from None
    console.print(
        f"{box.name}: signed in as {user or '(unknown user)'}; token cache "
        f"{box.oauth.token_cache} (0600); tokens are renewed from it silently",
        highlight=False,
        soft_wrap=True,
    )
    if user and user.lower() != box.imap.username.lower():
        console.print(
            f"  note: {user} will open {box.imap.username} (a shared mailbox or a delegate: "
            "it needs Full Access to it)",
            highlight=False,
            soft_wrap=True,
        )


def status_command(
    mailbox: Annotated[str | None, typer.Option("--mailbox", help="only this mailbox")] = None,
) -> None:
    """Check that each OAuth2 mailbox can get a token now (silently, nothing is shown)."""
    from mailwatch.auth.tokens import TokenError, build_provider
    from mailwatch.cli import console, err, settings

    cfg = settings()
    boxes = [_mailbox(cfg, mailbox)] if mailbox else []
    if not boxes:
        boxes = [b for b in cfg.mailboxes if "oauth2" in (b.imap.auth, b.smtp.auth)]
    if not boxes:
        console.print("no mailbox uses OAuth2 (IMAP_AUTH / SMTP_AUTH=oauth2)")
        return
    ok = True
    for box in boxes:
        try:
            provider = build_provider(box)
            provider()
        except TokenError as exc:
            ok = False
            err.print(f"[red]{box.name}:[/] {exc}", highlight=False, soft_wrap=True)
            continue
        console.print(
            f"{box.name}: OAuth2 ({box.oauth.flow}) token OK, valid until "
            f"{_expiry(provider.expires_at, cfg.calendar.tz)}",
            highlight=False,
        )
    if not ok:
        raise typer.Exit(1)
