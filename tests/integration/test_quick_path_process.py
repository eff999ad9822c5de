"""``mailwatch threads`` as users run it: the quick path prints what the Typer path prints.

Each command line runs twice as a real process, with the production logging set-up: once
through the ``mailwatch`` entry point (which takes the quick path: no command parser, the
store read straight through sqlite3 or psycopg), once through the Typer app alone
(``mailwatch.cli.commands.main``, the store read through SQLAlchemy). Output, errors and exit
codes must be the same, on SQLite and on PostgreSQL; and the quick run must really be quick
in what it loads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.store_gen import generate

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
AS_OF = "2026-11-30T12:00:00+00:00"
TYPER_ONLY = "import sys; from mailwatch.cli.commands import main; main()"


def write_env(tmp_path: Path, url: str) -> Path:
    env = tmp_path / "team.env"
    env.write_text(
        f"MAILWATCH_DATABASE_URL={url}\n"
        "MAILWATCH_IMAP_HOST=imap.example.com\n"
        "MAILWATCH_IMAP_USERNAME=sales@example.com\n"
        "MAILWATCH_IMAP_PASSWORD=secret-imap-password\n"
        "MAILWATCH_TIMEZONE=Europe/Chisinau\n"
    )
    env.chmod(0o600)
    return env


def run(env: Path, *args: str, typer_only: bool = False, importtime: bool = False):
    python = [sys.executable] + (["-X", "importtime"] if importtime else [])
    entry = ["-c", TYPER_ONLY] if typer_only else ["-m", "mailwatch"]
    return subprocess.run(
        [*python, *entry, "--env-file", str(env), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )


COMMAND_LINES = [
    ("threads", "--state", "overdue", "--json", "--now", AS_OF),
    ("threads", "--json", "--now", AS_OF),
    ("threads", "--state=awaiting_them", "--limit", "7", "--now", AS_OF),
    ("threads", "--now", "2026-06-01T09:00:00+03:00", "--state", "all", "--json"),  # re-tracks
    ("threads", "--state", "bogus"),
    ("threads", "--after", "not-a-cursor"),
    ("threads", "--now", "yesterday"),
]


def both_paths(env: Path, command_lines) -> list[subprocess.CompletedProcess[str]]:
    """Each command line run both ways; they must print the same and end the same way."""
    outputs = []
    for args in command_lines:
        quick, full = run(env, *args), run(env, *args, typer_only=True)
        assert (quick.returncode, quick.stdout, quick.stderr) == (
            full.returncode,
            full.stdout,
            full.stderr,
        ), args
        outputs.append(quick)
    return outputs


def same_as_typer(env: Path) -> None:
    outputs = both_paths(env, COMMAND_LINES)
    overdue, everything, page, retracked, bogus, cursor, when = outputs
    assert overdue.returncode == 0 and overdue.stdout.count('"overdue": true') >= 10
    assert everything.stdout.count('"id":') > overdue.stdout.count('"id":')
    assert page.returncode == 0 and page.stderr.startswith("next: --after ")
    assert retracked.returncode == 0 and '"message_ids"' in retracked.stdout
    for failed in (bogus, cursor, when):
        assert failed.returncode == 2 and failed.stdout == ""
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error:")
    # the next page, through the cursor the first one printed
    cursor_text = page.stderr.split()[-1]
    quick = run(env, "threads", "--state=awaiting_them", "--limit", "7", "--after", cursor_text)
    full = run(
        env,
        "threads",
        "--state=awaiting_them",
        "--limit",
        "7",
        "--after",
        cursor_text,
        typer_only=True,
    )
    assert quick.returncode == 0 and (quick.stdout, quick.stderr) == (full.stdout, full.stderr)
    assert quick.stdout != page.stdout


def loads_neither_parser_nor_orm(env: Path) -> None:
    timed = run(env, "threads", "--state", "overdue", "--json", "--now", AS_OF, importtime=True)
    assert timed.returncode == 0
    loaded = {line.rsplit("|", 1)[-1].strip() for line in timed.stderr.splitlines()}
    assert "mailwatch.views.threads" in loaded  # (the listing really ran here)
    # (psycopg 3 is SQLAlchemy's driver: the direct reader takes psycopg2, ~40 ms lighter)
    heavy = {
        m
        for m in loaded
        if m.split(".")[0] in ("sqlalchemy", "typer", "click", "rich", "psycopg", "psycopg_binary")
    }
    assert heavy == set()


def test_the_quick_path_prints_what_typer_prints_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    generate(url, messages=1500, threads=400, seed=9, now=NOW)
    env = write_env(tmp_path, url)
    same_as_typer(env)
    loads_neither_parser_nor_orm(env)


def test_the_quick_path_prints_what_typer_prints_on_postgresql(pg_url: str, tmp_path) -> None:
    generate(pg_url, messages=1500, threads=400, seed=9, now=NOW)
    env = write_env(tmp_path, pg_url)
    same_as_typer(env)
    loads_neither_parser_nor_orm(env)


def test_a_store_not_ready_is_one_line_on_the_quick_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch(mode=0o600)
    env = write_env(tmp_path, f"sqlite:///{empty}")
    for args in (
        ("threads", "--json"),
        ("digest", "--print"),
        ("digest", "--json"),
        ("promises", "--json"),
    ):
        quick, full = run(env, *args), run(env, *args, typer_only=True)
        assert quick.returncode == full.returncode != 0, args
        assert quick.stderr == full.stderr and "mailwatch init" in quick.stderr
        assert quick.stderr.count("\n") == 1


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the probe is
    env = write_env(tmp_path, f"postgresql+psycopg://mw:db-secret-pw@127.0.0.1:{port}/mw")
    quick = run(env, "threads", "--state", "overdue", "--json")
    assert quick.returncode != 0 and quick.stdout == ""
    assert quick.stderr.startswith("error: database postgresql+psycopg://mw:***@127.0.0.1")
    assert quick.stderr.count("\n") == 1 and "Traceback" not in quick.stderr
    assert "db-secret-pw" not in quick.stderr
    full = run(env, "threads", "--state", "overdue", "--json", typer_only=True)
    assert full.returncode == quick.returncode
