"""Parsing, and analysis when tracking, of each batch the sync fetched, off its critical path.

The sync is one core of Python: fetch, parse, store. :class:`BatchPreparer` takes the parse
(and, with a tracker, the text analysis) off it: every fetched batch is handed to the analysis
worker at once, which takes them in order, so it never waits for the sync to come back with
more. Whenever the sync would otherwise wait for a batch it must store, it takes back the
newest batch the worker has not started and prepares it itself (work stealing, from the end
the worker reaches last). Both cores stay busy whichever is slower, and on a machine whose other
core is taken by something else the sync simply does more of the work.

Analysed messages are stored with their verdicts in the same transaction as the messages
themselves (``MailStore.save_batch``), so nothing is read back to be analysed; a crash leaves
the batches not yet stored, and their checkpoint, unwritten: the next pass fetches them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from mailwatch.core.analysis import AnalysisSettings
from mailwatch.core.parse import RawMessage
from mailwatch.track.pool import AnalysisPool, Prepared, PrepareJob, prepare_batch

__all__ = ["BatchPreparer", "PreparingBatch"]

# Fewer messages than this in a batch, and no worker running: prepared here at once (a new
# mail or two in the running service; starting a worker would cost more than it saves).
WORKER_MIN = 200


class PreparingBatch:
    """A fetched batch: queued, in the worker, or prepared."""

    __slots__ = ("job", "result", "running")

    def __init__(self, job: PrepareJob) -> None:
        self.job = job
        self.running: Future[list[Prepared]] | None = None  # in the worker
        self.result: list[Prepared] | None = None

    def done(self) -> bool:
        return self.result is not None or (self.running is not None and self.running.done())


class BatchPreparer:
    """Prepares the fetched batches of one mailbox's sync (one per ``MailboxSync``; used by
    its thread only)."""

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
        self._in_worker: list[PreparingBatch] = []  # handed to the pool, oldest first

    def forget(self) -> None:
        """A new pass: batches handed over by a pass that failed (a dropped connection) are
        not wanted any more; the next pass fetches them again. Those the worker has not
        started are withdrawn, the others finish unread."""
        for batch in self._in_worker:
            if batch.running is not None:
                batch.running.cancel()
        self._in_worker.clear()

    def submit(
        self, raws: Sequence[RawMessage], folder: str, uidvalidity: int | None, role: str | None
    ) -> PreparingBatch:
        if self.before_first is not None:
            self.before_first()  # e.g. re-analyse stored mail after a settings change, first
            self.before_first = None
        batch = PreparingBatch(
            PrepareJob(list(raws), folder, uidvalidity, role, self.analyse, self.text_since())
        )
        pool = self.pool
        if pool is None or pool.inline or (not pool.started and len(raws) < WORKER_MIN):
            self._prepare_here(batch)
            return batch
        batch.running = pool.submit_prepare(batch.job)
        if batch.running.done() and not pool.started:  # the pool gave up: done here
            self._collect_now(batch)
        else:
            self._in_worker.append(batch)
        return batch

    def result(self, batch: PreparingBatch) -> list[Prepared]:
        """The batch's messages; while the worker still has it, the sync prepares batches the
        worker has not started (the newest first) instead of waiting."""
        while True:
            if batch.result is not None:
                return batch.result
            running = batch.running
            if running is None:  # never handed over (no pool): here
                self._prepare_here(batch)
            elif running.done():
                self._collect(batch)
            elif not self._steal_newest():
                wait([running], return_when=FIRST_COMPLETED)

    def _steal_newest(self) -> bool:
        """Take back the newest batch the worker has not started and prepare it here."""
        for batch in reversed(self._in_worker):
            if batch.running is not None and batch.running.cancel():
                self._in_worker.remove(batch)
                batch.running = None
                self._prepare_here(batch)
                return True
        return False

    def _prepare_here(self, batch: PreparingBatch) -> None:
        batch.result = prepare_batch(batch.job, self.settings)

    def _collect(self, batch: PreparingBatch) -> None:
        if batch in self._in_worker:
            self._in_worker.remove(batch)
        self._collect_now(batch)

    def _collect_now(self, batch: PreparingBatch) -> None:
        assert batch.running is not None
        running, batch.running = batch.running, None
        try:
            batch.result = running.result()
        except BrokenProcessPool as exc:  # a worker died: this batch (and the rest) here
            assert self.pool is not None
            self.pool.give_up(exc)
            self._prepare_here(batch)
        except CancelledError:  # the pool was closed meanwhile (another mailbox's refresh)
            self._prepare_here(batch)
