"""``python -m mailwatch.send [--env-file PATH] [--now ISO] [--id N ...]``: one outbox pass.

Recovers interrupted sends, sends the approved drafts that are due, prints one JSON object per
draft handled, and exits (0; 2 for a settings or database problem). The service runs the same
pass on a schedule; this entry point is for cron, scripts and the crash tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from mailwatch.config import load_settings
from mailwatch.errors import DatabaseNotReady, MailwatchError, UsageError, error_report
from mailwatch.logs import setup_logging
from mailwatch.send.outbox import DATA_TIMEOUT, Outbox, SendResult
from mailwatch.store.db import is_current, make_engine, session_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mailwatch.send", description=__doc__)
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    parser.add_argument("--now", help="ISO 8601 with offset: the pass's clock (default: now)")
    parser.add_argument("--id", type=int, action="append", dest="ids", help="only this draft")
    parser.add_argument(
        "--smtp-timeout", type=float, default=60.0, help="seconds per SMTP command (default 60)"
    )
    parser.add_argument(
        "--data-timeout",
        type=float,
        default=None,
        help="seconds to wait for the answer to the message's final '.' (default 300)",
    )
    args = parser.parse_args(argv)
    try:
        results = _pass(args)
    except MailwatchError as error:  # the one mapping, shared with the mailwatch CLI
        line, code = error_report(error)
        print(line, file=sys.stderr)
        return code
    for result in results:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    return 0


def _pass(args: argparse.Namespace) -> list[SendResult]:
    settings = load_settings(args.env_file)
    setup_logging(settings.log_format, settings.log_level, settings.calendar.tz_name)
    now = _parse_now(args.now)
    engine = make_engine(settings.database_url)
    try:
        if not is_current(engine):
            raise DatabaseNotReady("the database is missing or out of date: run `mailwatch init`")
        outbox = Outbox(
            session_factory(engine),
            settings,
            smtp_timeout=args.smtp_timeout,
            data_timeout=DATA_TIMEOUT if args.data_timeout is None else args.data_timeout,
        )
        return outbox.send_due_sync(now=now, only_ids=args.ids)
    finally:
        engine.dispose()


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        now = None
    if now is None or now.tzinfo is None:
        raise UsageError(f"{value!r} is not ISO 8601 with an offset", prefix="--now")
    return now


if __name__ == "__main__":
    sys.exit(main())
