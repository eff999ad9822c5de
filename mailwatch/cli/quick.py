"""The quick path: ``mailwatch [--env-file F] COMMAND [options]`` without the command parser,
for the read commands of :data:`QUICK_COMMANDS`.

Why: Typer, Click and the option types are ~35 ms of a read that users run often and
scripts run in loops (``threads --state overdue --json``, ``digest --print``, ``promises
--json``); the command itself then reads the store without SQLAlchemy
(:func:`mailwatch.cli.context.read_store`). ``digest`` takes the quick path only without
``--send`` (not one of its options here). The parse here accepts
only the plain forms of the command's own options, each at most once; anything else
(``--help``, an unknown option, a missing or odd value, a repeated option) returns None and
the Typer app runs instead, so every message and error stays Typer's. A test runs both
paths on the same arguments and compares what they print.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["QUICK_COMMANDS", "QuickCall", "QuickCommand", "quick_call", "run_quick"]

FLAG, TEXT, POSITIVE = "flag", "text", "positive"  # the kinds of option the quick path reads
_PLAIN_POSITIVE = re.compile(r"[1-9][0-9]{0,8}")  # an int option with min=1, plainest form


@dataclass(frozen=True)
class QuickCommand:
    """A command the quick path runs: its options (option -> keyword, kind), the keywords'
    defaults (the Typer command's), and the function that does the work once options are
    read (``module:function``, the one the Typer command calls too)."""

    options: dict[str, tuple[str, str]]
    defaults: dict[str, Any]
    run: str


QUICK_COMMANDS: dict[str, QuickCommand] = {
    "threads": QuickCommand(
        options={
            "--state": ("state_filter", TEXT),
            "--json": ("as_json", FLAG),
            "--now": ("now", TEXT),
            "--limit": ("limit", POSITIVE),
            "--after": ("after", TEXT),
        },
        defaults={
            "state_filter": "all",
            "as_json": False,
            "now": None,
            "limit": None,
            "after": None,
        },
        run="mailwatch.cli.thread_list:show_threads",
    ),
    # the read forms only: a command line with --send goes to Typer (it sends mail)
    "digest": QuickCommand(
        options={
            "--print": ("show", FLAG),
            "--json": ("as_json", FLAG),
            "--now": ("now", TEXT),
        },
        defaults={"show": False, "as_json": False, "now": None},
        run="mailwatch.cli.digest_show:show_digest",
    ),
    "promises": QuickCommand(
        options={
            "--status": ("status", TEXT),
            "--json": ("as_json", FLAG),
            "--now": ("now", TEXT),
        },
        defaults={"status": None, "as_json": False, "now": None},
        run="mailwatch.cli.promise_list:show_promises",
    ),
}


@dataclass(frozen=True)
class QuickCall:
    """A command line the quick path runs: the command, the settings file, the options."""

    command: str
    env_file: str | None
    options: dict[str, Any]


def _option_value(args: list[str], i: int) -> tuple[str, int] | None:
    """The value of the option at ``args[i]`` (``--name=value`` or ``--name value``) and the
    index after it; None when it is missing, empty or looks like an option (Typer's to say)."""
    _name, eq, value = args[i].partition("=")
    end = i + 1
    if not eq:
        if end >= len(args):
            return None
        value, end = args[end], end + 1
    if not value or value.startswith("-"):
        return None
    return value, end


def quick_call(argv: Sequence[str]) -> QuickCall | None:
    """The call, when ``argv`` is a plain command line of a quick command; else None."""
    args = list(argv)
    env_file: str | None = None
    if args and args[0].startswith("--env-file"):
        taken = _option_value(args, 0) if args[0].partition("=")[0] == "--env-file" else None
        if taken is None:
            return None
        env_file, start = taken
        args = args[start:]
    if not args or args[0] not in QUICK_COMMANDS:
        return None
    command = QUICK_COMMANDS[args[0]]
    options = dict(command.defaults)
    seen: set[str] = set()
    rest = args[1:]
    i = 0
    while i < len(rest):
        name, eq, _ = rest[i].partition("=")
        if name not in command.options or name in seen:
            return None
        seen.add(name)
        keyword, kind = command.options[name]
        if kind == FLAG:
            if eq:
                return None
            options[keyword] = True
            i += 1
            continue
        taken = _option_value(rest, i)
        if taken is None:
            return None
        value, i = taken
        if kind == POSITIVE:
            if not _PLAIN_POSITIVE.fullmatch(value):
                return None
            options[keyword] = int(value)
        else:
            options[keyword] = value
    return QuickCall(args[0], env_file, options)


def run_quick(argv: Sequence[str]) -> int | None:
    """Run ``argv`` on the quick path and return the exit code; None: not a quick call."""
    call = quick_call(argv)
    if call is None:
        return None
    # lazy: a command line that is not a quick call loads none of these here
    from importlib import import_module

    from mailwatch.cli import context
    from mailwatch.config import env_language
    from mailwatch.errors import MailwatchError
    from mailwatch.i18n import set_language

    module, _sep, function = QUICK_COMMANDS[call.command].run.partition(":")
    run = getattr(import_module(module), function)
    context.whole_process(threads=False)  # (a quick read starts no thread)
    env_file = Path(call.env_file) if call.env_file is not None else None
    # as the Typer app's root callback does
    context.reset(env_file)
    set_language(env_language(env_file if env_file is not None else Path(".env")))
    try:
        run(**call.options)
    except MailwatchError as error:
        from mailwatch.cli.output import print_error  # lazy: only to say what went wrong

        return print_error(error)
    except BrokenPipeError:  # `mailwatch threads | head`: as Click does, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0
