"""The simulated clock (mailwatch.clock) and the lease's dead-holder takeover."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from mailwatch import clock
from mailwatch.store.leases import holder_is_gone, new_owner_id


def test_real_time_without_the_variable(monkeypatch):
    monkeypatch.delenv(clock.ENV, raising=False)
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)
    assert clock.speed() == 1.0 and clock.interval(60) == 60


def test_simulated_time_runs_faster_from_the_anchor(monkeypatch):
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    anchor = time.time() - 2.0  # two real seconds ago
    monkeypatch.setenv(clock.ENV, clock.simulated(start, 3600, anchor))
    now = clock.now()
    assert start + timedelta(hours=2) <= now < start + timedelta(hours=2, minutes=30)
    assert clock.speed() == 3600
    assert clock.interval(3600) == 1.0 and clock.interval(60) == 0.5  # at least 0.5 s


def test_a_start_without_an_offset_is_refused(monkeypatch):
    monkeypatch.setenv(clock.ENV, "2026-11-23T08:00:00@0*10")
    with pytest.raises(ValueError, match="UTC offset"):
        clock.now()


def test_a_dead_local_holder_is_gone_a_live_or_remote_one_is_not():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    host = socket.gethostname()
    assert holder_is_gone(f"{host}:{proc.pid}:abcd1234")
    assert not holder_is_gone(f"{host}:1:abcd1234")  # init is alive
    assert not holder_is_gone(new_owner_id())  # ourselves
    assert not holder_is_gone(f"other-host:{proc.pid}:abcd1234")
    assert not holder_is_gone("another process")
