"""The command line (contract in docs/cli.md).

:func:`main` is the ``mailwatch`` program. A plain read (``mailwatch threads`` with its own
options) runs on the quick path (:mod:`.quick`): the same command code without loading the
command parser. Everything else, ``--help`` and every option error included, goes to the
Typer app in :mod:`.commands` (``mailwatch.cli.app``, loaded on first use).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["app", "main"]


def main() -> None:
    from mailwatch.cli.quick import run_quick  # lazy: the quick path first, no parser

    code = run_quick(sys.argv[1:])
    if code is not None:
        _exit_now(code)
    from mailwatch.cli.commands import main as full_main  # lazy: Typer only when needed

    full_main()


def _exit_now(code: int) -> None:
    """End a quick read at once: its output written, logging flushed, without the
    interpreter's teardown (freeing every object one by one: ~10 ms of the overdue list at
    1M messages). A quick read holds nothing else to clean up: its database connection is
    closed when the read ends."""
    import contextlib  # lazy: (these are loaded by the read already)
    import logging  # lazy: (as above)
    import os  # lazy: (as above)

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe: nothing to add
            stream.flush()
    logging.shutdown()
    os._exit(code)


def __getattr__(name: str) -> Any:
    """``mailwatch.cli.app``: the Typer app, imported when asked for (tests, bench)."""
    if name == "app":
        from mailwatch.cli.commands import app  # lazy: Typer only when asked for

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
