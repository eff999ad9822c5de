"""Small helpers shared by the real-server fixtures.

The central rule lives in :func:`skip_or_fail`: a server test that cannot run because a
binary (or root) is missing is skipped *loudly* on a developer machine, but *fails* when
``CI=true``, so a broken CI image can never turn the server tests into silent no-ops.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

import psutil
import pytest

#: Extra directories searched for binaries: Dovecot lives in /usr/sbin, which is not on a
#: non-root user's PATH.
_EXTRA_BIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")

#: Reasons of every loud skip in this run; ``tests/conftest.py`` prints them again in the
#: terminal summary so that they cannot scroll away unnoticed.
LOUD_SKIPS: list[str] = []


def is_ci() -> bool:
    """True when running in CI (``CI=true``, as set by GitHub Actions, GitLab CI, ...)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test loudly, or fail it when ``CI=true``.

    Why: skipping is the friendly thing on a laptop without Dovecot, but in CI a skip
    would hide the fact that the sync engine was never tested against a real server.
    """
    if is_ci():
        pytest.fail(
            f"{reason} -- CI=true, and server tests must never be skipped in CI.", pytrace=False
        )
    banner = f"!!! REAL-SERVER TEST NOT RUN: {reason} !!!"
    if banner not in LOUD_SKIPS:
        LOUD_SKIPS.append(banner)
    pytest.skip(banner)


def require_binary(path_or_name: str, what: str) -> str:
    """Return the absolute path of an executable, or skip (fail in CI) if it is missing.

    ``path_or_name`` is either an absolute/relative path (checked as is) or a bare command
    name (looked up on ``PATH`` plus the sbin directories). ``what`` says which package
    provides it, e.g. ``"Dovecot (apt install dovecot-imapd)"``; it ends up in the message.
    """
    if os.sep in path_or_name:
        found: str | None = path_or_name if os.access(path_or_name, os.X_OK) else None
    else:
        search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_EXTRA_BIN_DIRS])
        found = shutil.which(path_or_name, path=search)
    if found is None or not Path(found).is_file():
        skip_or_fail(f"{what}: executable {path_or_name!r} not found")
    return str(Path(found).resolve())


def require_root(what: str) -> None:
    """Skip (fail in CI) unless running as root.

    Why: the fixtures switch to the ``mail`` and ``postgres`` system users (Dovecot refuses
    uid 0 for mail access, PostgreSQL refuses to run as root), which needs root.
    """
    if os.geteuid() != 0:
        skip_or_fail(f"{what} needs root (to run as the mail/postgres users)")


def scratch_dir(prefix: str) -> Path:
    """Create a private temp dir for a server, on tmpfs when possible.

    Why tmpfs (``/dev/shm``): the data is thrown away anyway, and creating thousands of
    maildir files on a disk shared with other jobs is ~10x slower. Override the location
    with ``MAILWATCH_TEST_TMPDIR``.
    """
    base = os.environ.get("MAILWATCH_TEST_TMPDIR")
    if base is None and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        base = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now.

    There is an unavoidable race (someone may grab the port before the server binds it),
    so callers that start servers retry with a new port when binding fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 5.0) -> None:
    """Block until something accepts TCP connections on ``host:port``.

    Raises :class:`TimeoutError` after ``timeout`` seconds, so a server that never comes
    up produces a clear error instead of a hanging test.
    """
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            last_error = exc
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s ({last_error})")


def run_checked(
    args: Sequence[str],
    what: str,
    *,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
    extra_diagnostics: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command, raising :class:`RuntimeError` with its full output if it fails.

    Why: a bare ``CalledProcessError`` hides stderr, which is exactly what one needs to
    understand why a server did not start.
    """
    proc = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {proc.returncode}): {' '.join(args)}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}\n{extra_diagnostics}"
        )
    return proc


def _still_running(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes that still run. Zombies count as gone: orphans are reaped by PID 1,
    which we do not control (and which is slow to reap on these machines)."""
    running = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                running.append(proc)
        except psutil.NoSuchProcess:
            pass
    return running


def wait_gone(procs: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to ``timeout`` seconds for processes to exit; return those still running."""
    deadline = time.monotonic() + timeout
    pending = _still_running(procs)
    while pending and time.monotonic() < deadline:
        time.sleep(0.01)
        pending = _still_running(pending)
    return pending


def kill_leftovers(procs: Iterable[psutil.Process], timeout: float = 5.0) -> None:
    """SIGKILL processes that outlived a clean server stop and wait until they are gone."""
    pending = _still_running(procs)
    for proc in pending:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    wait_gone(pending, timeout)
