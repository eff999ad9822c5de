"""``mailwatch demo``: everything on embedded servers with sample conversations."""

from __future__ import annotations

from mailwatch.cli.output import console

__all__ = ["demo"]


def demo() -> None:
    """Sync a sample mailbox on an embedded IMAP server and list its conversations."""
    from mailwatch.demo import run_demo  # lazy: keeps --help fast (the embedded servers)

    run_demo(console)
