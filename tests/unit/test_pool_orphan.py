"""An analysis worker does not outlive its parent: `kill -9` of mailwatch mid-backfill must not
leave a 60 MB interpreter behind (its task queue holds a write end of its own pipe, so it would
never see EOF)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PARENT = """
import os, signal, sys
from tests.unit.test_analysis_pool import SETTINGS
from mailwatch.track.pool import AnalysisPool
pool = AnalysisPool(SETTINGS, workers=1)
pool.submit([]).result()  # the worker is up and has run a job
print(*pool._executor._processes, flush=True)  # private, but only to learn the pid
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper counts as gone
        return stat.read().split(") ", 1)[1][:1] != "Z"


def test_the_worker_exits_when_its_parent_is_killed():
    done = subprocess.run(
        [sys.executable, "-c", _PARENT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -9, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "the worker outlived its killed parent"
