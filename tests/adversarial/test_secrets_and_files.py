"""Issue #16, attack 7, through the real CLI: `mailwatch init` prints no database password
(userinfo, a raw '@', or ``?password=``), creates the SQLite files and folder private, and warns
at start about a settings file other users can read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def _mailwatch(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env_file.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )


def _env(tmp_path: Path, database_url: str, mode: int = 0o600) -> Path:
    env = tmp_path / "test.env"
    env.write_text(
        f"MAILWATCH_DATABASE_URL={database_url}\n"
        "MAILWATCH_IMAP_HOST=127.0.0.1\nMAILWATCH_IMAP_SECURITY=none\n"
        "MAILWATCH_IMAP_USERNAME=sales@example.com\nMAILWATCH_IMAP_PASSWORD=imap-pw\n"
    )
    env.chmod(mode)
    return env


def test_init_creates_a_private_sqlite_database_and_folder(tmp_path):
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'data' / 'mailwatch.db'}")
    done = subprocess.run(
        [
            "sh",
            "-c",
            f'umask 022 && exec "$0" -m mailwatch --env-file "{env}" init',
            sys.executable,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "data"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():  # mailwatch.db, and -wal/-shm when they are left
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "readable by other users" not in done.stderr


def test_start_warns_about_an_env_file_and_a_database_others_can_read(tmp_path):
    db = tmp_path / "mailwatch.db"
    env = _env(tmp_path, f"sqlite:///{db}", mode=0o644)
    assert _mailwatch(env, "init").returncode == 0
    db.chmod(0o644)
    done = _mailwatch(env, "init")
    assert f"{env} is readable by other users" in done.stderr
    assert f"{db} is readable by other users" in done.stderr
    assert "chmod 600" in done.stderr
    assert "imap-pw" not in done.stderr + done.stdout


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("userinfo", "query", "secret"),
    [
        ("postgres:Pa55@word-TAIL", "", "word-TAIL"),  # a raw '@' in the password
        ("postgres", "?password=QueryString-PW", "QueryString-PW"),
        ("postgres:Userinfo-PW", "?sslmode=disable&password=Second-PW", "Second-PW"),
    ],
)
def test_init_shows_the_postgresql_url_without_any_password(
    postgres, tmp_path, userinfo, query, secret
):
    url = postgres.create_database()
    dbname = url.rsplit("/", 1)[1]
    try:
        full = f"postgresql+psycopg://{userinfo}@{postgres.host}:{postgres.port}/{dbname}{query}"
        env = _env(tmp_path, full)
        done = _mailwatch(env, "init")
        assert done.returncode == 0, done.stderr  # the raw '@' did not break the host either
        assert "database ready" in done.stdout
        output = done.stdout + done.stderr
        assert secret not in output and "Pa55" not in output and "Userinfo-PW" not in output
        assert f"{postgres.host}:{postgres.port}/{dbname}" in output
    finally:
        postgres.drop_database(dbname)
