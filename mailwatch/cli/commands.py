"""The command line's parser (contract in docs/cli.md): the Typer app and its command groups.

Each group lives in its own module (``setup``, ``sync``, ``service``, ``threads``, ``promises``,
``drafts``, ``digest``, ``auth``, ``demo``); :mod:`.context` holds what every command starts
from (settings, logging, language, database) and :mod:`.output` what they print. Errors are
raised, never printed by a command: the root group (:class:`.output.ErrorReportingGroup`) turns
any :class:`~mailwatch.errors.MailwatchError` into one ``error:`` line and its exit code.

The heavy libraries (SQLAlchemy, imapclient, MSAL, Pillow) are imported inside the command
bodies, so ``mailwatch --help`` stays at about 0.2 s (tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailwatch.cli import auth, demo, digest, drafts, promises, service, setup, sync, threads
from mailwatch.cli.context import reset, whole_process
from mailwatch.cli.output import ErrorReportingGroup, plain_flags, plain_values
from mailwatch.config import env_language
from mailwatch.i18n import set_language

__all__ = ["app", "main"]

plain_flags()
plain_values()

app = typer.Typer(
    cls=ErrorReportingGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
    help="mailwatch: no client waits for an answer, no promised deadline slips silently.",
)


@app.callback()
def main_options(
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            help="settings file (MAILWATCH_* keys); default .env here, if there is one",
            show_default=False,
        ),
    ] = None,
) -> None:
    reset(env_file)
    # option errors and the settings' own errors come before the settings: say them already
    # in the interface language (the settings set it again, checked, when they load)
    set_language(env_language(env_file if env_file is not None else Path(".env")))


# The order of `mailwatch --help`: single commands first, then the groups.
app.command()(setup.init)
app.command()(setup.check)
app.command()(sync.sync)
app.command()(service.workers)
app.command()(service.run)
app.command()(threads.threads)
app.command()(promises.promises)
app.command()(drafts.draft)
app.command()(demo.demo)
app.command("digest")(digest.digest)
app.add_typer(threads.thread_app, name="thread")
app.add_typer(promises.promise_app, name="promise")
app.add_typer(drafts.drafts_app, name="drafts")
app.add_typer(auth.auth_app, name="auth")


def main() -> None:
    """The whole command line, through Typer (:func:`mailwatch.cli.main` tries the quick path
    first)."""
    whole_process()
    app()
