"""The wheel carries the catalogs (.po); the .mo files are build output that mailwatch
compiles in memory when they are missing (see test_i18n_catalogs)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_holds_every_catalog(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("mailwatch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for lang in ("ru", "ro", "es"):
        assert f"mailwatch/locale/{lang}/LC_MESSAGES/messages.po" in names
