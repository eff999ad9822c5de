"""`mailwatch --help` stays cheap: the CLI module imports none of the heavy libraries that only
some commands need (they are imported on first use)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("holidays", "PIL", "imapclient", "msal", "aiosmtplib", "lingua", "dateparser")


def test_the_cli_module_imports_no_heavy_library():
    code = f"import sys, mailwatch.cli\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_help_works_without_them():
    out = subprocess.run(
        [sys.executable, "-m", "mailwatch", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and "digest" in out.stdout
