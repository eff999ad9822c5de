"""The sync's batch preparer: parsing and analysis in the worker process give exactly what
they give in the sync's own process; batches go to the worker only when it pays, all at once,
and a sync that would wait takes back the newest ones the worker has not started."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mailwatch.core.analysis import analyze_message
from mailwatch.core.bodystructure import TextPart
from mailwatch.core.message import Direction, for_analysis, message_time
from mailwatch.core.parse import RawMessage, parse_raw
from mailwatch.track import prepare as prepare_module
from mailwatch.track.pool import AnalysisPool, PrepareJob, prepare_batch
from mailwatch.track.prepare import BatchPreparer
from tests.unit.test_analysis_batch import SAMPLES
from tests.unit.test_analysis_pool import SETTINGS

# An INTERNALDATE in the server's zone, as the sync hands it over (converted to UTC there).
ARRIVED = datetime(2026, 11, 23, 10, 5, tzinfo=timezone(timedelta(hours=2)))


def _raws() -> list[RawMessage]:
    raws = []
    for uid, path in enumerate(SAMPLES, start=1):
        data = path.read_bytes()
        head, _, body = (
            data.partition(b"\r\n\r\n") if b"\r\n\r\n" in data else data.partition(b"\n\n")
        )
        raws.append(
            RawMessage(
                uid=uid,
                header_block=head + b"\r\n\r\n",
                header_error=None,
                body=body[:8192],
                part=TextPart("1", "plain", "utf-8", None, len(body)),
                internal_date=ARRIVED.astimezone(UTC),
                size=len(data),
                flags=("\\Seen",) if uid % 2 else (),
            )
        )
    raws.append(RawMessage(999, None, "fetch failed: gone", b"", None, None, None, ()))
    return raws


def _job(role: str | None = "inbox") -> PrepareJob:
    return PrepareJob(_raws(), "INBOX", 7, role, analyse=True, text_since=None)


@pytest.mark.parametrize("role", ["inbox", "sent"])
def test_prepared_in_the_worker_equals_prepared_here(role):
    job = _job(role)
    here = prepare_batch(job, SETTINGS)
    pool = AnalysisPool(SETTINGS, workers=1)
    try:
        there = pool.prepared(pool.submit_prepare(job), job)
        assert pool.started and not pool.inline  # the worker did it, no fallback
    finally:
        pool.close()
    assert there == here
    assert len(here) == len(job.raws)
    assert here[-1][0].parse_errors == ("fetch failed: gone",)  # kept aside, not dropped


def test_each_message_is_analysed_as_the_tracker_analyses_its_stored_row():
    job = _job()
    for raw, (parsed, analysis) in zip(job.raws, prepare_batch(job, SETTINGS), strict=True):
        assert parsed == parse_raw(raw, ("INBOX", "7", str(raw.uid)))
        at = message_time(parsed.date, raw.internal_date)
        when = (at or raw.internal_date or ARRIVED).astimezone(UTC)
        if raw.internal_date is None and at is None:
            continue
        assert analysis == analyze_message(
            for_analysis(parsed, at), Direction.INBOUND, when, SETTINGS, True
        )


class _Pool:
    """A stand-in for AnalysisPool whose worker futures finish when the test says."""

    def __init__(self) -> None:
        self.workers = 1
        self.inline = False
        self.started = False
        self.jobs: list[PrepareJob] = []  # handed to the worker, in order
        self.open: list[Future[Any]] = []

    def submit_prepare(self, job: PrepareJob) -> Future[Any]:
        self.started = True
        self.jobs.append(job)
        self.open.append(Future())
        return self.open[-1]

    def give_up(self, exc: BaseException) -> None:
        self.inline = True


def test_every_backfill_batch_goes_to_the_worker_at_once(monkeypatch):
    """The worker never waits for the sync to come back with more: each batch is handed over
    as soon as it is fetched (a new mail or two is prepared here, with no worker to start)."""
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    pool = _Pool()
    preparer = BatchPreparer(SETTINGS, pool, analyse=True)  # type: ignore[arg-type]
    raws = _raws()
    small = preparer.submit(raws[:2], "INBOX", 7, "inbox")
    assert small.done() and not pool.started
    batches = [preparer.submit(raws[n : n + 6], "INBOX", 7, "inbox") for n in (0, 6, 12, 18)]
    assert [job.raws for job in pool.jobs] == [b.job.raws for b in batches]
    assert not any(b.done() for b in batches)


def test_a_waiting_sync_takes_back_the_newest_batches_the_worker_has_not_started(monkeypatch):
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    pool = _Pool()
    preparer = BatchPreparer(SETTINGS, pool, analyse=True)  # type: ignore[arg-type]
    raws = _raws()
    first, second, third, fourth = (
        preparer.submit(raws[n : n + 6], "INBOX", 7, "inbox") for n in (0, 6, 12, 18)
    )
    pool.open[0].set_running_or_notify_cancel()  # the worker has the first two
    pool.open[1].set_running_or_notify_cancel()
    from_worker = prepare_batch(first.job, SETTINGS)
    prepared_here: list[list[Any]] = []
    real_prepare = prepare_module.prepare_batch

    def spy(job: PrepareJob, settings: Any) -> Any:
        prepared_here.append(job.raws)
        if len(prepared_here) == 2:  # the worker finishes the first meanwhile
            pool.open[0].set_result(from_worker)
        return real_prepare(job, settings)

    monkeypatch.setattr(prepare_module, "prepare_batch", spy)
    assert preparer.result(first) == from_worker
    assert prepared_here == [fourth.job.raws, third.job.raws]  # the newest first
    assert pool.open[3].cancelled() and pool.open[2].cancelled()  # withdrawn from the worker
    assert third.result == real_prepare(third.job, SETTINGS)
    assert fourth.result == real_prepare(fourth.job, SETTINGS)
    assert not second.done() and not pool.open[1].cancelled()  # started: left to the worker


def test_a_sync_with_nothing_to_take_back_waits_for_the_worker(monkeypatch):
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    pool = _Pool()
    preparer = BatchPreparer(SETTINGS, pool, analyse=True)  # type: ignore[arg-type]
    batch = preparer.submit(_raws()[:6], "INBOX", 7, "inbox")
    pool.open[0].set_running_or_notify_cancel()
    want = prepare_batch(batch.job, SETTINGS)
    finisher = threading.Timer(0.2, pool.open[0].set_result, args=(want,))
    finisher.start()
    try:
        assert preparer.result(batch) == want  # waited for the worker, prepared nothing here
    finally:
        finisher.join()
    assert not pool.open[0].cancelled()


def test_a_dead_worker_leaves_its_batches_to_the_sync(monkeypatch):
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    pool = _Pool()
    preparer = BatchPreparer(SETTINGS, pool, analyse=True)  # type: ignore[arg-type]
    raws = _raws()
    batch = preparer.submit(raws[:6], "INBOX", 7, "inbox")
    pool.open[0].set_exception(BrokenProcessPool("killed"))
    assert preparer.result(batch) == prepare_batch(batch.job, SETTINGS)
    assert pool.inline


def test_a_new_pass_withdraws_what_a_failed_pass_handed_over(monkeypatch):
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    pool = _Pool()
    preparer = BatchPreparer(SETTINGS, pool, analyse=True)  # type: ignore[arg-type]
    raws = _raws()
    for start in (0, 6, 12):
        preparer.submit(raws[start : start + 6], "INBOX", 7, "inbox")
    pool.open[0].set_running_or_notify_cancel()  # the worker started the first
    preparer.forget()  # the pass failed; the next one fetches those again
    assert [f.cancelled() for f in pool.open] == [False, True, True]
    pool.open[0].set_result([])  # the started one finishes, unread
    batch = preparer.submit(raws[18:24], "INBOX", 7, "inbox")
    assert len(pool.jobs) == 4 and pool.jobs[-1].raws == batch.job.raws
    want = prepare_batch(batch.job, SETTINGS)
    pool.open[-1].set_result(want)
    assert preparer.result(batch) == want
    assert len(pool.jobs) == 4  # nothing forgotten came back


def test_without_a_pool_batches_are_parsed_here_and_not_analysed():
    job_raws = _raws()
    preparer = BatchPreparer(SETTINGS)
    batch = preparer.submit(job_raws, "INBOX", 7, "inbox")
    assert batch.done() and batch.running is None
    assert [a for _, a in preparer.result(batch)] == [None] * len(job_raws)


def test_with_a_real_worker_every_batch_comes_out_as_prepared_here(monkeypatch):
    """A real worker process starting up while the sync waits for the first batch: the sync
    takes back the batches it has not started and prepares them itself; every batch, wherever
    it was prepared, is what the sync's own process gives."""
    monkeypatch.setattr(prepare_module, "WORKER_MIN", 5)
    raws = _raws()
    jobs = [raws[n : n + 6] for n in range(0, 36, 6)]
    expected = [
        prepare_batch(PrepareJob(r, "INBOX", 7, "inbox", True, None), SETTINGS) for r in jobs
    ]
    here: list[Any] = []
    real_prepare = prepare_module.prepare_batch

    def counting(job: PrepareJob, settings: Any) -> Any:
        here.append(job.raws)
        return real_prepare(job, settings)

    monkeypatch.setattr(prepare_module, "prepare_batch", counting)
    pool = AnalysisPool(SETTINGS, workers=1)
    try:
        preparer = BatchPreparer(SETTINGS, pool, analyse=True)
        batches = [preparer.submit(r, "INBOX", 7, "inbox") for r in jobs]
        got = [preparer.result(b) for b in batches]
        assert pool.started and not pool.inline
    finally:
        pool.close()
    assert got == expected
    assert here and jobs[-1] in here  # the newest was taken back while the worker started
    assert len(here) < len(jobs)  # and the worker prepared the others
