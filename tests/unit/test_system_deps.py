"""scripts/system-deps.sh installs only what is missing and never stops or disables a service.

The script runs for real with stand-ins for apt-get and systemctl first on PATH (they record how
they were called); SYSTEM_DEPS_ROOT points its look-ups at a fake root where some programs exist.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-deps.sh"


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(tmp_path: Path, present: list[str], active_after: str = "") -> tuple[str, list[str]]:
    fake_root = tmp_path / "root"
    for rel in present:
        target = fake_root / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("#!/bin/sh\n")
        target.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    calls.write_text("")
    _stub(bin_dir, "apt-get", 'touch "$INSTALLED"')
    # systemctl is-active: only the services named in ACTIVE_AFTER, once apt-get has run
    _stub(
        bin_dir,
        "systemctl",
        'case "$1" in is-active) [ -e "$INSTALLED" ] && case " $ACTIVE_AFTER " in '
        '*" $3 "*) exit 0;; esac; exit 3;; esac; exit 0',
    )
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "CALLS": str(calls),
        "INSTALLED": str(tmp_path / "installed"),
        "ACTIVE_AFTER": active_after,
        "SYSTEM_DEPS_ROOT": str(fake_root),
    }
    if os.geteuid() != 0:
        pytest.skip("the script installs only as root (or with sudo)")
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout + done.stderr, calls.read_text().splitlines()


ALL = [
    "/usr/sbin/dovecot",
    "/usr/bin/mbsync",
    "/usr/lib/postgresql/15/bin/initdb",
    "/usr/sbin/runuser",
    "/usr/bin/chromium",
]


def test_nothing_missing_installs_nothing_and_says_so(tmp_path):
    output, calls = _run(tmp_path, ALL)
    assert "nothing installed" in output
    assert calls == []


def test_installs_only_the_missing_packages_and_touches_no_service(tmp_path):
    output, calls = _run(
        tmp_path, [p for p in ALL if "dovecot" not in p and "mbsync" not in p], "dovecot"
    )
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert len(installs) == 1
    assert installs[0].split()[-2:] == ["dovecot-imapd", "isync"]
    assert not any(word in c for c in calls for word in ("stop", "disable", "restart", "mask"))
    assert "installed dovecot-imapd isync" in output
    # the service the package started is reported, and left alone
    assert "started the system service 'dovecot'" in output
    assert "'postgresql'" not in output


def test_the_script_has_no_command_that_stops_a_service():
    text = SCRIPT.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for word in ("disable --now", "systemctl stop", "service stop", "systemctl disable"):
        assert word not in code.replace("'systemctl disable --now $s'", "")
