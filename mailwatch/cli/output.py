"""What the command line prints: the consoles, JSON, and the one ``error:`` line.

:class:`ErrorReportingGroup` is the only place a :class:`~mailwatch.errors.MailwatchError` becomes
output: commands raise (or let the domain's errors rise) and it prints ``error: <user_line>`` on
standard error and exits with the error's code, without a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup, TyperOption

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
    "print_error",
    "print_json",
    "print_problem",
]

#: the width of a console that is not a terminal (a pipe, a file) when COLUMNS is not set
PIPED_WIDTH = 400


def make_console(stderr: bool = False) -> Console:
    """Rich's console; piped, it does not wrap at 80 columns in the middle of a word.

    Rich assumes 80 columns when the output is not a terminal, so tables and long lines were
    cut mid-word in a pipe or a file. There the width is COLUMNS if set, else wide enough for
    a table's natural width (tables and lines are not padded to it).
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not stream.isatty() and "COLUMNS" not in os.environ:
        width = PIPED_WIDTH
    return Console(stderr=stderr, width=width)


console = make_console()
err = make_console(stderr=True)


#: a line of indented JSON that ends in a float (a string cannot end a line: its newlines are
#: escaped), where orjson may write it differently from Python (``1e-7`` against ``1e-07``)
_FLOAT_LINE = re.compile(rb"\d[.eE][-+]?\d+,?\n")
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _not_plain_json(value: Any) -> Any:
    raise TypeError  # what json.dumps refuses, orjson refuses too: then json.dumps says why


def json_text(rows: Any, *, floats: bool = True) -> str:
    """``json.dumps(rows, ensure_ascii=False, indent=2)``, the same text, written by orjson.

    Python's json uses its pure-Python encoder whenever ``indent`` is set: ~0.3 s for the 5,846
    overdue threads of a 1M-message store, against ~10 ms here. orjson's indented output is the
    same for str, int, bool, None, lists and dicts with str keys; whatever it writes otherwise
    (a float, an int beyond 64 bits, a non-str key, a lone surrogate, a type json refuses) goes
    to ``json.dumps`` (tests/unit/test_cli_json.py compares the two). NaN and infinities, which
    no mailwatch output holds and JSON does not allow, would come out as ``null``.

    ``floats=False`` is the caller's word that ``rows`` hold no float (their types say so, as
    ``ThreadView.to_json``'s do): then the search for a float's line is skipped (25 ms of the
    6 MB overdue list at 1M messages).
    """
    data = _orjson_text(rows, floats)
    return data.decode() if isinstance(data, bytes) else data


def _orjson_text(rows: Any, floats: bool) -> bytes | str:
    """orjson's UTF-8 bytes, or ``json.dumps``'s text where orjson would write otherwise."""
    try:
        data = orjson.dumps(rows, default=_not_plain_json, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if floats and _FLOAT_LINE.search(data + b"\n"):
        return json.dumps(rows, ensure_ascii=False, indent=2)
    return data


def print_json(rows: Any, *, floats: bool = True) -> None:
    """One JSON document on standard output (``--json``): UTF-8 as is, indented.

    orjson's bytes go straight to the binary buffer of a UTF-8 standard output (a terminal, a
    pipe, a file): a long list is not decoded and encoded again. ``floats``: see
    :func:`json_text`.
    """
    out = sys.stdout
    data = _orjson_text(rows, floats)
    buffer = getattr(out, "buffer", None)
    utf8 = (getattr(out, "encoding", None) or "").lower().replace("-", "") == "utf8"
    if isinstance(data, bytes) and buffer is not None and utf8:
        out.flush()  # what was written as text comes first
        buffer.write(data + b"\n")
        buffer.flush()
        return
    out.write((data.decode() if isinstance(data, bytes) else data) + "\n")


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
