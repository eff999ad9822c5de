"""Parsing, and analysis when tracking, of each batch the sync fetched, off its critical path.

The sync is one core of Python: fetch, parse, store. :class:`BatchPreparer` takes the parse
(and, with a tracker, the text analysis) off it: each fetched batch goes to the analysis worker
while the sync fetches the next one and stores the one before, so the worker parses and
analyses while the main process talks IMAP and writes SQL. When the worker already holds two
batches, the next one is prepared here instead: both cores stay busy, whichever is slower.

Analysed messages are stored with their verdicts in the same transaction as the messages
themselves (``MailStore.save_batch``), so nothing is read back to be analysed; a crash leaves
the batch unstored and its checkpoint unmoved, and the next pass fetches it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from mailwatch.core.analysis import AnalysisSettings
from mailwatch.core.parse import RawMessage
from mailwatch.track.pool import AnalysisPool, Prepared, PrepareJob, prepare_batch

__all__ = ["BatchPreparer", "PreparingBatch"]

# Fewer messages than this in a batch, and no worker running: prepared here (a new mail or
# two in the running service; starting a worker would cost more than it saves).
WORKER_MIN = 200
# Batches a worker may hold at once before the next one is prepared in this process.
WORKER_QUEUE = 2


@dataclass
class PreparingBatch:
    """A batch handed to :meth:`BatchPreparer.submit`; :meth:`BatchPreparer.result` gives it."""

    job: PrepareJob
    future: Future[list[Prepared]]
    in_worker: bool

    def done(self) -> bool:
        return self.future.done()


class BatchPreparer:
    """Prepares the fetched batches of one mailbox's sync (one per ``MailboxSync``)."""

    def __init__(
        self,
        settings: AnalysisSettings,
        pool: AnalysisPool | None = None,
        analyse: bool = False,
        text_since: Callable[[], datetime | None] = lambda: None,
        before_first: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.analyse = analyse
        self.text_since = text_since
        self.before_first = before_first
        self._in_worker: list[PreparingBatch] = []

    def submit(
        self, raws: Sequence[RawMessage], folder: str, uidvalidity: int | None, role: str | None
    ) -> PreparingBatch:
        if self.before_first is not None:
            self.before_first()  # e.g. re-analyse stored mail after a settings change, first
            self.before_first = None
        job = PrepareJob(list(raws), folder, uidvalidity, role, self.analyse, self.text_since())
        self._in_worker = [b for b in self._in_worker if not b.done()]
        pool = self.pool
        use_worker = (
            pool is not None
            and not pool.inline
            and (pool.started or len(raws) >= WORKER_MIN)
            and len(self._in_worker) < WORKER_QUEUE * pool.workers
        )
        if pool is None:
            future: Future[list[Prepared]] = Future()
            future.set_result(prepare_batch(job, self.settings))
            return PreparingBatch(job, future, in_worker=False)
        batch = PreparingBatch(job, pool.submit_prepare(job, inline=not use_worker), use_worker)
        if use_worker:
            self._in_worker.append(batch)
        return batch

    def result(self, batch: PreparingBatch) -> list[Prepared]:
        if self.pool is None:
            return batch.future.result()
        return self.pool.prepared(batch.future, batch.job)
