"""The analysis pool (worker processes fed with plain dataclasses) gives exactly what the
one-message-at-a-time path gives, on the evaluation set and the demo mail; a broken pool falls
back to the calling process without losing a batch."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mailwatch.core.analysis import AnalysisInput, analyze_message
from mailwatch.core.message import Direction
from mailwatch.core.parse import parse_message
from mailwatch.track.pool import AnalysisPool, analyse_batch, worker_count
from tests.unit.test_analysis_batch import SAMPLES, SETTINGS


def _inputs() -> list[AnalysisInput]:
    """Every sample inbound and outbound (promises are only looked for in our own mail)."""
    items = []
    for path in SAMPLES:
        msg = parse_message(path.read_bytes())
        when = msg.date or datetime(2026, 11, 23, 10, tzinfo=UTC)
        for direction in (Direction.INBOUND, Direction.OUTBOUND):
            items.append(AnalysisInput(msg, direction, when, True))
            items.append(AnalysisInput(msg, direction, when, False))
    return items


def _one_by_one(items: list[AnalysisInput]) -> list[object]:
    return [analyze_message(i.msg, i.direction, i.at, SETTINGS, i.read_text) for i in items]


def _chunks(items: list[AnalysisInput], size: int) -> list[list[AnalysisInput]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def test_worker_count_keeps_one_core_for_the_sync():
    assert worker_count(None, cpus=1) == 0  # one core: analysis in process
    assert worker_count(None, cpus=2) == 1
    assert worker_count(None, cpus=64) == 4  # each worker is a whole interpreter: capped
    assert worker_count(0, cpus=8) == 0
    assert worker_count(3, cpus=2) == 3  # an explicit number is obeyed (up to the cap)


def test_pool_results_equal_one_at_a_time_on_the_evaluation_set_and_demo_mail():
    items = _inputs()
    want = _one_by_one(items)
    pool = AnalysisPool(SETTINGS, workers=1)
    try:
        futures = [(chunk, pool.submit(chunk)) for chunk in _chunks(items, 97)]
        assert pool.started and not pool.inline
        got = [r for chunk, future in futures for r in pool.result(future, chunk)]
    finally:
        pool.close()
    assert got == want
    # The analysers really ran in the worker: every kind of result is there.
    assert sum(r.language is not None for r in got) > 100
    assert any(r.requested_by for r in got)
    assert any(r.signs for r in got)
    assert any(r.promises for r in got)


def test_without_workers_the_same_calls_run_in_process():
    items = _inputs()[:120]
    pool = AnalysisPool(SETTINGS, workers=0)
    future = pool.submit(items)
    assert future.done() and pool.inline and not pool.started
    assert pool.result(future, items) == _one_by_one(items)


def test_a_killed_worker_loses_no_batch():
    items = _inputs()[:200]
    want = _one_by_one(items)
    pool = AnalysisPool(SETTINGS, workers=1)
    try:
        first = pool.submit(items[:10])
        assert pool.result(first, items[:10]) == want[:10]  # the worker is up
        executor = pool._executor
        assert executor is not None
        for pid in list(executor._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        rest = [(chunk, pool.submit(chunk)) for chunk in _chunks(items[10:], 50)]
        got = [r for chunk, future in rest for r in pool.result(future, chunk)]
    finally:
        pool.close()
    assert got == want[10:]
    assert pool.inline  # from then on the main process analyses


def test_one_odd_message_is_marked_and_the_rest_analysed():
    items = _inputs()[:6]
    odd = AnalysisInput(items[0].msg, items[0].direction, datetime(2026, 1, 1), True)  # naive
    results = analyse_batch([*items[:3], odd, *items[3:]], SETTINGS)
    assert results[3].category == "error" and results[3].reason.startswith("not analysed:")
    assert results[:3] + results[4:] == _one_by_one(items)


@pytest.mark.parametrize("workers", [0, 1])
def test_settings_travel_to_the_worker(workers: int):
    """The worker analyses with the settings it was started with (own addresses here)."""
    raw = (
        b"From: Sales <sales@example.com>\r\nTo: client@client.test\r\nSubject: x\r\n"
        b"Message-ID: <own@example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        b"Could you send the offer by Friday?\r\n"
    )
    msg = parse_message(raw)
    item = AnalysisInput(msg, Direction.INBOUND, msg.date, True)
    pool = AnalysisPool(SETTINGS, workers=workers)
    try:
        [result] = pool.result(pool.submit([item]), [item])
    finally:
        pool.close()
    assert result == analyze_message(msg, Direction.INBOUND, msg.date, SETTINGS)
    assert result.needs_reply is False  # our own address: nobody waits for us


def test_the_analysers_never_read_the_whole_text():
    """The tracker sends the new text only (``parsed_from_row`` leaves ``text`` empty)."""
    items = _inputs()
    without = [
        AnalysisInput(replace(i.msg, text=""), i.direction, i.at, i.read_text) for i in items
    ]
    assert any(i.msg.text != i.msg.new_text for i in items)
    assert _one_by_one(without) == _one_by_one(items)
