"""Progress for long syncs: a bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("mailwatch.sync")


@contextmanager
def progress_reporter(console: Console, mailbox: str) -> Iterator[Callable[[str, int, int], None]]:
    if console.is_terminal:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def update(folder: str, done: int, total: int) -> None:
                if folder not in tasks:
                    tasks[folder] = bar.add_task(f"{mailbox}/{folder}", total=total)
                bar.update(tasks[folder], completed=done, total=total)

            yield update
        return
    last = [0.0]

    def log_line(folder: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last[0] >= 5:
            last[0] = now
            log.info(
                "sync progress",
                extra={"mailbox": mailbox, "folder": folder, "done": done, "total": total},
            )

    yield log_line
