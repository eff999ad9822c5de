"""What the command line prints: the consoles, JSON, and the one ``error:`` line.

:class:`ErrorReportingGroup` is the only place a :class:`~mailwatch.errors.MailwatchError` becomes
output: commands raise (or let the domain's errors rise) and it prints ``error: <user_line>`` on
standard error and exits with the error's code, without a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup, TyperOption

try:  # typer >= 0.2x coerces through pydantic (see plain_values); older ones use click's types
    from typer._coercion import build_runtime_param
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - depends on the installed typer
    build_runtime_param = None  # type: ignore[assignment]
    _TyperParameter = None  # type: ignore[assignment,misc]

from mailwatch.cli.console import PIPED_WIDTH, console, err, make_console
from mailwatch.cli.jsonout import json_text, print_json
from mailwatch.errors import MailwatchError, error_report
from mailwatch.i18n import _

__all__ = [
    "PIPED_WIDTH",
    "ErrorReportingGroup",
    "console",
    "err",
    "json_text",
    "make_console",
    "plain_flags",
    "plain_values",
    "print_error",
    "print_json",
    "print_problem",
]


def print_error(error: MailwatchError) -> int:
    """``error: <user_line>`` on standard error (the label in the UI language); the exit code.

    The message is printed as plain text: a server's ``BAD [b'...']`` or a subject with
    ``[b]`` in it is not taken for console markup.
    """
    label = _("error:")
    line, code = error_report(error, label)
    text = Text(line)
    text.stylize("bold red", 0, len(label))
    err.print(text, highlight=False, soft_wrap=True)
    return code


def print_problem(label: str, message: object, indent: str = "") -> None:
    """``label: message`` on standard error, the label in red, for a failure a command reports
    and goes on (one mailbox of several). The message is plain text: a server's answer
    (``BAD [b'...']``) is not taken for console markup."""
    text = Text(indent)
    text.append(f"{label}:", style="red")
    text.append(f" {message}")
    err.print(text, highlight=False, soft_wrap=True)


class ErrorReportingGroup(TyperGroup):
    """The root command group: a MailwatchError anywhere below a command ends the run here.

    Set once on the root Typer app (``cls=``); sub-groups and commands run inside its
    :meth:`invoke`, so no command catches an error only to print it.
    """

    def invoke(self, ctx: Any) -> Any:  # Any: typer's vendored click.Context is private
        try:
            return super().invoke(ctx)
        except MailwatchError as error:
            raise typer.Exit(print_error(error)) from None


def plain_flags() -> None:
    """Typer prints ``<bool>`` after a plain flag (--once, --json, --help): a flag takes no value."""
    original = TyperOption.display_type_rich
    if getattr(original, "_mailwatch", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        return original(self, ctx)

    display_type_rich._mailwatch = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


#: a whole number as a person types it, that Python's int() and pydantic read the same way
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,17})")


class _PlainValue:
    """Typer's coercion of one parameter, without pydantic for the values it hands on as is.

    typer 0.2x builds a pydantic ``TypeAdapter`` for each parameter a command line carries,
    even one left at its default: importing pydantic and building them was ~45 ms of every
    command's start-up (docs/benchmarks.md, session 6). A missing value, a ``str``, a plain
    whole number within the option's bounds and an existing or missing readable ``Path``
    without path options are what typer would return unchanged (``value``, ``int(value)``,
    ``Path(value)``); anything else (an error to report, a clamp, a parser, a list) goes to
    typer's own coercion, built on first need (tests/unit/test_cli_plain_values.py compares
    both).
    """

    __slots__ = ("_typer",)

    def __init__(self) -> None:
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if not (param.multiple or param.nargs == -1):
            if value is None:
                return None
            desc = param.type_descriptor
            info = desc.parameter_info
            if type(value) is str and info.parser is None and desc.file_annotation is None:
                kind = desc.annotation
                if kind is str:
                    return value
                if kind is int and not info.clamp and _PLAIN_INT.fullmatch(value):
                    number = int(value)
                    if (info.min is None or number >= info.min) and (
                        info.max is None or number <= info.max
                    ):
                        return number
                if kind is Path and _plain_path(info) and value and "\0" not in value:
                    path = Path(value)
                    try:
                        os.stat(path)
                    except OSError:
                        return path  # (typer: a missing path is fine unless exists=True)
                    if os.access(path, os.R_OK):
                        return path
        if self._typer is None:
            self._typer = build_runtime_param(param.type_descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)


def _plain_path(info: Any) -> bool:
    """A Path option with typer's defaults: no checks but "readable if it exists"."""
    return (
        info.path_type is None
        and not info.exists
        and info.file_okay
        and info.dir_okay
        and not info.writable
        and not info.resolve_path
        and not info.allow_dash
    )


def plain_values() -> None:
    """Install :class:`_PlainValue` as every typer parameter's coercion (once; nothing to do
    with a typer that has no pydantic coercion)."""
    original = getattr(_TyperParameter, "get_runtime_param", None)
    if original is None or getattr(original, "_mailwatch", False):
        return

    def get_runtime_param(self: _TyperParameter) -> Any:
        if self._runtime_param is None:
            self._runtime_param = _PlainValue()  # type: ignore[assignment]
        return self._runtime_param

    get_runtime_param._mailwatch = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
