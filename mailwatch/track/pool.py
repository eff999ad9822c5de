"""The text analysis on other cores: a small process pool fed with plain dataclasses.

The sync pass is one core of Python (fetch, parse, store); parsing and the analysers
(language, requested deadlines, promises, warning signs) are another core's worth.
:class:`AnalysisPool` runs :func:`prepare_batch` (a fetched batch, parsed and analysed, for
the sync's ``track.prepare.BatchPreparer``) and :func:`analyse_batch` (stored rows the tracker
re-analyses after a settings change) in ``ANALYSIS_WORKERS`` worker processes (``auto``: one
fewer than the CPU cores). With no worker (one core, or ``ANALYSIS_WORKERS=0``) the same calls
run in the calling thread: one code path, two executors.

Workers are started with ``spawn`` (a fresh interpreter: no inherited sockets, SQLite handles
or watcher threads) and hold nothing but the analysis settings; they never touch the database.
Their results come back to the process that writes them: the sync stores a batch with its
verdicts in one transaction, the tracker re-analysed rows with a conditional update, so a
crash at any point leaves nothing half written.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from mailwatch.core.analysis import (
    AnalysisInput,
    AnalysisSettings,
    MessageAnalysis,
    analyze_message,
    analyze_messages,
)
from mailwatch.core.message import ParsedMessage, for_analysis, message_time
from mailwatch.core.parse import RawMessage, parse_raw
from mailwatch.core.threads import message_direction

log = logging.getLogger(__name__)

__all__ = [
    "AnalysisPool",
    "PrepareJob",
    "Prepared",
    "analyse_batch",
    "error_result",
    "prepare_batch",
    "worker_count",
]

# Most processes this pool starts, whatever the machine: each is a full interpreter with the
# language models and dateparser's tables (about 70 MB).
MAX_WORKERS = 4


def error_result(exc: BaseException) -> MessageAnalysis:
    """What a message that could not be analysed is stored with (logged by the tracker)."""
    return MessageAnalysis(False, "error", f"not analysed: {exc}", None, None, (), ())


def analyse_batch(
    items: Sequence[AnalysisInput], settings: AnalysisSettings
) -> list[MessageAnalysis]:
    """The batch in one call (one language-model pass); one message at a time if it fails, so
    that one odd message is marked as an error while the others are still analysed."""
    try:
        return analyze_messages(items, settings)
    except Exception:  # find the odd one out below
        results = []
        for item in items:
            try:
                results.append(
                    analyze_message(item.msg, item.direction, item.at, settings, item.read_text)
                )
            except Exception as exc:  # one odd message must not stop the rest
                results.append(error_result(exc))
        return results


@dataclass(frozen=True, slots=True)
class PrepareJob:
    """A fetched batch to parse, and to analyse when ``analyse`` (what the sync hands over)."""

    raws: Sequence[RawMessage]
    folder: str
    uidvalidity: int | None
    role: str | None
    analyse: bool
    text_since: datetime | None  # text older than this is not read (ANALYSIS_DAYS)


# A message parsed, with its analysis when the job asked for it.
Prepared = tuple[ParsedMessage, MessageAnalysis | None]


def prepare_batch(job: PrepareJob, settings: AnalysisSettings) -> list[Prepared]:
    """Parse a fetched batch and analyse it as the tracker would analyse its stored rows.

    Each message is analysed from :func:`for_analysis` of its parse, with the direction and
    time the store gives its row, so a message analysed here gets exactly the verdicts the
    tracker's pass over the stored row would give (tests/integration/test_backfill_analysis.py
    compares the two on a real server)."""
    parsed = [parse_raw(raw, (job.folder, str(job.uidvalidity), str(raw.uid))) for raw in job.raws]
    if not job.analyse:
        return [(message, None) for message in parsed]
    results: list[MessageAnalysis | None] = [None] * len(parsed)
    items: list[AnalysisInput] = []
    where: list[int] = []
    for index, (raw, message) in enumerate(zip(job.raws, parsed, strict=True)):
        try:
            at = message_time(message.date, raw.internal_date)
            when = at or raw.internal_date
            when = when.astimezone(UTC) if when is not None else None
            read_text = job.text_since is None or (when is not None and when >= job.text_since)
            direction = message_direction(message, job.role, settings.own_addresses)
            items.append(AnalysisInput(for_analysis(message, at), direction, when, read_text))
            where.append(index)
        except Exception as exc:  # one odd message must not stop the batch
            results[index] = error_result(exc)
    for index, result in zip(where, analyse_batch(items, settings), strict=True):
        results[index] = result
    return list(zip(parsed, results, strict=True))


def worker_count(setting: int | None, cpus: int | None = None) -> int:
    """Worker processes for ``ANALYSIS_WORKERS``: None is ``auto``, one fewer than the cores
    (the sync keeps one), so 0 (analysis in process) on a single core."""
    if setting is not None:
        return max(0, min(setting, MAX_WORKERS))
    cores = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(0, min(cores - 1, MAX_WORKERS))


_Job = TypeVar("_Job")
_Out = TypeVar("_Out")


# -- in the worker process ---------------------------------------------------------------------

_worker_settings: AnalysisSettings | None = None


def _init_worker(settings: AnalysisSettings) -> None:
    global _worker_settings
    _worker_settings = settings
    # A worker outlives a parent killed with SIGKILL (its task queue holds a write end of its
    # own pipe, so it never reads EOF): it leaves when the parent process is gone.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_with, args=(parent.sentinel,), name="exit-with-parent", daemon=True
        ).start()
    # The analysers' tables and patterns live as long as the worker: frozen out of the
    # collector's scans, which each batch's many short-lived objects would repeat.
    gc.freeze()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def _run_in_worker(items: Sequence[AnalysisInput]) -> list[MessageAnalysis]:
    assert _worker_settings is not None, "worker not initialised"
    return analyse_batch(items, _worker_settings)


def _prepare_in_worker(job: PrepareJob) -> list[Prepared]:
    assert _worker_settings is not None, "worker not initialised"
    return prepare_batch(job, _worker_settings)


# -- in the tracker's process ------------------------------------------------------------------


class _InlineExecutor(Executor):
    """Runs each call at once in the caller's thread: the pool's one-process fallback."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class AnalysisPool:
    """Analyses batches in ``workers`` processes (started on first use), or inline with 0.

    A broken pool (a worker killed by the OOM killer, say) is not fatal: that batch and every
    later one are analysed in the calling process instead, with a warning in the log.
    """

    def __init__(self, settings: AnalysisSettings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self._executor: Executor | None = None
        self._inline = workers == 0
        # Mailbox threads of the service submit while the tracker may close the pool.
        self._lock = threading.Lock()

    @property
    def inline(self) -> bool:
        """True when every batch is analysed in the calling process."""
        return self._inline

    @property
    def started(self) -> bool:
        return self._executor is not None

    def submit(
        self, items: Sequence[AnalysisInput], inline: bool = False
    ) -> Future[list[MessageAnalysis]]:
        """The batch's results; computed here at once with ``inline`` (or without workers)."""
        return self._submit(_run_in_worker, analyse_batch, list(items), inline)

    def result(
        self, future: Future[list[MessageAnalysis]], items: Sequence[AnalysisInput]
    ) -> list[MessageAnalysis]:
        """The future's results; on a broken pool, the batch again in this process."""
        return self._result(future, analyse_batch, items)

    def submit_prepare(self, job: PrepareJob, inline: bool = False) -> Future[list[Prepared]]:
        """A fetched batch parsed (and analysed) by a worker, or here at once with ``inline``."""
        return self._submit(_prepare_in_worker, prepare_batch, job, inline)

    def prepared(self, future: Future[list[Prepared]], job: PrepareJob) -> list[Prepared]:
        """The job's messages; on a broken pool, the job again in this process."""
        return self._result(future, prepare_batch, job)

    def _submit(
        self,
        in_worker: Callable[[_Job], _Out],
        here: Callable[[_Job, AnalysisSettings], _Out],
        job: _Job,
        inline: bool,
    ) -> Future[_Out]:
        if self._inline or inline:
            return _InlineExecutor().submit(here, job, self.settings)
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.settings,),
                )
            try:
                return self._executor.submit(in_worker, job)
            except (BrokenProcessPool, RuntimeError) as exc:
                failure: BaseException = exc
        self.give_up(failure)
        return _InlineExecutor().submit(here, job, self.settings)

    def _result(
        self, future: Future[_Out], here: Callable[[_Job, AnalysisSettings], _Out], job: _Job
    ) -> _Out:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self.give_up(exc)
            return here(job, self.settings)
        except CancelledError:  # the pool was closed meanwhile (another mailbox's refresh)
            return here(job, self.settings)

    def give_up(self, exc: BaseException) -> None:
        """Stop using workers (one died): everything is analysed in this process from now."""
        if not self._inline:
            log.warning("analysis workers stopped (%s); analysing in the main process", exc)
        self._inline = True
        self.close()

    def close(self) -> None:
        """Stop the workers (they are idle between passes; the next submit starts them)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
