"""`mailwatch --help` stays cheap: the CLI module imports none of the heavy libraries that only
some commands need (they are imported on first use)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("holidays", "PIL", "imapclient", "msal", "aiosmtplib", "lingua", "dateparser")
# what a command loads when it runs, never the parser: SQLAlchemy, the read models, Jinja2
READS = ("sqlalchemy", "jinja2", "itsdangerous", "mailwatch.views.threads", "mailwatch.digest.data")


def test_the_cli_modules_import_no_heavy_library():
    """Every command module (the Typer app imports them all), and the quick path's module."""
    wanted = HEAVY + READS
    code = (
        "import sys, mailwatch.cli.commands, mailwatch.cli.quick\n"
        f"print(','.join(m for m in {wanted!r} if m in sys.modules))\n"
    )
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
