"""A plain, non-editable `pip install .` gives a `mailwatch` that finds its migrations."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_install_runs_init(tmp_path):
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(wheel_dir.glob("mailwatch-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies come from the test venv (no network needed); mailwatch itself from the wheel.
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    result = subprocess.run(
        [str(env_dir / "bin" / "mailwatch"), "init"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "MAILWATCH_DATABASE_URL": f"sqlite:///{work / 'x.db'}",
            "MAILWATCH_IMAP_HOST": "imap.example.com",
            "MAILWATCH_IMAP_USERNAME": "sales@example.com",
            "MAILWATCH_IMAP_PASSWORD": "x",
        },
    )
    head = max(p.name[:4] for p in (ROOT / "migrations" / "versions").glob("0*.py"))
    assert f"database ready at revision {head}" in result.stdout, result.stderr
    located = subprocess.run(
        [
            str(py),
            "-c",
            "import mailwatch.paths as p; print(p.data_dir('migrations')); print(p.data_dir('templates'))",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env_dir) in located and str(ROOT) not in located
