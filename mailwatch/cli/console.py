"""The consoles a command prints tables and lines to (rich), without the command parser:
a read run on the quick path (:mod:`.quick`) prints through these too."""

from __future__ import annotations

import os
import sys

from rich.console import Console

__all__ = ["PIPED_WIDTH", "console", "err", "make_console"]

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
