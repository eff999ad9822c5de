"""``mailwatch threads --limit N --after CURSOR`` as a script runs it: real processes on a real
SQLite store; the pages put together are the unpaged ``--json`` list, row for row."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.store_gen import generate

NOW = datetime.now(UTC).replace(microsecond=0)


def mailwatch(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env_file.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pages-cli")
    db = root / "mw.db"
    generate(f"sqlite:///{db}", messages=1200, threads=400, seed=23, now=NOW)
    with sqlite3.connect(db) as conn:  # enough overdue threads for several pages
        conn.execute(
            "UPDATE threads SET state = 'awaiting_us', manual_state = NULL, "
            "waiting_since = last_message_at WHERE id % 9 = 0"
        )
    env = root / "test.env"
    values = {
        "DATABASE_URL": f"sqlite:///{db}",
        "IMAP_HOST": "imap.invalid",
        "IMAP_USERNAME": "sales@example.com",
        "IMAP_PASSWORD": "unused",
    }
    env.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    env.chmod(0o600)
    return env


def pages(env_file: Path, state: str, limit: int) -> tuple[list[dict], int]:
    rows: list[dict] = []
    args = ["threads", "--state", state, "--json", "--now", NOW.isoformat(), "--limit", str(limit)]
    for count in range(1, 100):
        done = mailwatch(env_file, *args)
        assert done.returncode == 0, done.stderr
        page = json.loads(done.stdout)  # stdout stays one JSON array
        assert len(page) <= limit
        rows += page
        lines = [line for line in done.stderr.splitlines() if line.startswith("next: --after ")]
        if len(page) < limit:
            assert not lines  # the last page says so by being short
            return rows, count
        (line,) = lines
        cursor = line.removeprefix("next: --after ")
        args = ["threads", "--state", state, "--json", "--limit", str(limit), "--after", cursor]
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize(("state", "limit"), [("all", 90), ("overdue", 12), ("closed", 70)])
def test_pages_put_together_are_the_whole_list(env_file: Path, state: str, limit: int) -> None:
    whole = mailwatch(env_file, "threads", "--state", state, "--json", "--now", NOW.isoformat())
    assert whole.returncode == 0, whole.stderr
    want = json.loads(whole.stdout)
    got, count = pages(env_file, state, limit)
    assert count >= 3  # really paged
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert got == want


def test_the_table_pages_too_and_bad_cursors_are_one_error(env_file: Path) -> None:
    table = mailwatch(env_file, "threads", "--limit", "5")
    assert table.returncode == 0, table.stderr
    assert "next: --after " in table.stderr
    cursor = table.stderr.split("next: --after ", 1)[1].split()[0]

    wrong_state = mailwatch(env_file, "threads", "--state", "closed", "--after", cursor)
    assert wrong_state.returncode == 2
    assert wrong_state.stderr.strip() == "error: --after: the cursor lists --state all, not closed"

    garbage = mailwatch(env_file, "threads", "--after", "not-a-cursor")
    assert garbage.returncode == 2
    assert garbage.stderr.startswith("error: --after: ")
    assert "Traceback" not in garbage.stderr


def test_a_schema_behind_is_refused_without_alembic(env_file: Path, tmp_path: Path) -> None:
    """The cheap schema check still sends the user to ``mailwatch init``."""
    db = tmp_path / "behind.db"
    source = sqlite3.connect(env_file.parent / "mw.db")
    with sqlite3.connect(db) as target:
        source.backup(target)
        target.execute("UPDATE alembic_version SET version_num = '0007'")
    source.close()
    env = tmp_path / "behind.env"
    env.write_text(env_file.read_text().replace(str(env_file.parent / "mw.db"), str(db)))
    env.chmod(0o600)
    done = mailwatch(env, "threads", "--json")
    assert done.returncode != 0
    assert "run `mailwatch init` first" in done.stderr
    assert done.stdout == ""
    ok = mailwatch(env_file, "threads", "--json", "--limit", "1")
    assert ok.returncode == 0 and len(json.loads(ok.stdout)) == 1
