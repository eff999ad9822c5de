"""``mailwatch digest --print|--send [--json] [--now ISO]``: the daily digest now.

The read forms (no ``--send``) are :func:`.digest_show.show_digest`, which the quick path
runs too; the terminal form is :func:`.digest_text.print_digest`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mailwatch.cli.context import factory, loading, parse_now, settings
from mailwatch.cli.digest_show import show_digest
from mailwatch.cli.output import console, print_json
from mailwatch.config import PREFIX
from mailwatch.errors import UsageError, WorkFailed
from mailwatch.i18n import _

__all__ = ["digest"]


def digest(
    show: Annotated[bool, typer.Option("--print", help="show the digest in the terminal")] = False,
    send: Annotated[bool, typer.Option("--send", help="email it to DIGEST_TO now")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="evaluate as of this ISO 8601 instant")
    ] = None,
) -> None:
    """The daily digest now: overdue threads, drafts to approve, promises, warning signs."""
    if not send:
        show_digest(show, as_json, now)
        return
    with loading():
        from mailwatch.digest.data import build_digest  # lazy: keeps --help fast

    cfg = settings()
    when = parse_now(now)
    if not cfg.digest_to:
        raise UsageError(
            _("%(key)s is not set: nobody to send the digest to", key=f"{PREFIX}DIGEST_TO"),
            prefix="--send",
        )
    if not cfg.mailboxes[0].smtp.host:
        raise UsageError(
            _("%(key)s is not set", key=f"{cfg.mailboxes[0].env_prefix}SMTP_HOST"),
            prefix="--send",
        )
    with factory(cfg)() as session:
        built = build_digest(session, cfg, when)
    # lazy: only sending needs the chart (Pillow) and the SMTP client; --print stays light
    import asyncio  # lazy: ~25 ms of imports that only --send needs

    from mailwatch.digest.render import build_email
    from mailwatch.digest.send import digest_from_address, send_email

    message = build_email(built, cfg, digest_from_address(cfg), cfg.digest_to)
    refused = asyncio.run(send_email(cfg, message))
    sent: dict[str, Any] = {
        "to": list(cfg.digest_to),
        "message_id": str(message["Message-ID"]),
        "refused": refused,
    }
    if as_json:
        data = built.to_json()
        data["sent"] = sent
        print_json(data)
    elif show:
        from mailwatch.cli.digest_text import print_digest  # lazy: keeps --help fast

        print_digest(built, console)
    if not as_json:
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
    if sent["refused"]:
        who = "; ".join(f"{k}: {v}" for k, v in sent["refused"].items())
        raise WorkFailed(_("refused: %(refused)s", refused=who))
