"""What ``mailwatch digest`` does to show the digest (``--print``, ``--json``, no ``--send``)
once its options are read.

Kept apart from the command's declaration (:mod:`.digest`, Typer) so that the quick path
(:mod:`.quick`) runs the very same code without loading the command parser; the store is
read straight through the driver (:func:`~mailwatch.cli.context.read_store`), without
SQLAlchemy. Sending (``--send``) stays in :mod:`.digest`.
"""

from __future__ import annotations

from mailwatch.cli.context import loading, parse_now, read_store, settings, short_read

__all__ = ["show_digest"]


def show_digest(show: bool, as_json: bool, now: str | None) -> None:
    """The daily digest now, as tables (``--print``, the default) or as one JSON object.

    ``show`` (``--print``) changes nothing here: without ``--send`` the digest is printed
    anyway; it is the command's option all the same."""
    with loading():
        from mailwatch.digest.data import build_digest  # lazy: keeps --help fast
    short_read()

    cfg = settings()
    when = parse_now(now)
    with read_store(cfg) as store:
        built = build_digest(store, cfg, when)
    if as_json:
        from mailwatch.cli.jsonout import print_json  # lazy: the tables need rich instead

        print_json(built.to_json())
        return
    # lazy: the JSON needs none of rich
    from mailwatch.cli.console import console
    from mailwatch.cli.digest_text import print_digest

    print_digest(built, console)
