"""Secrets are shown masked, private files are created private (issue #16, attack 7)."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mailwatch.config import describe, mask_url, normalize_url
from mailwatch.logs import redact
from mailwatch.store.db import exposed_files, make_engine
from tests.helpers import make_settings

ACCOUNT = type(
    "A", (), {"host": "127.0.0.1", "port": 1, "username": "s@example.com", "password": "x"}
)()


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql+psycopg://bob:s3cretPW@db.example.com:5432/mw", "s3cretPW"),
        ("postgresql+psycopg://bob@db/mw?password=QueryPW&sslmode=require", "QueryPW"),
        ("postgresql+psycopg://bob@db/mw?sslpassword=KeyPW", "KeyPW"),
        ("postgresql+psycopg://bob:p@ssTAIL@db.example.com/mw", "ssTAIL"),
        ("postgresql+psycopg://bob:a@b@cTAIL@db/mw", "cTAIL"),
        ("postgresql+psycopg://bob:p%40ssENC@db/mw", "ssENC"),
    ],
)
def test_database_urls_are_shown_without_their_password(url, secret):
    shown = mask_url(url)
    assert secret not in shown and "***" in shown
    settings = make_settings(ACCOUNT, url)
    assert secret not in describe(settings)["database_url"]
    assert secret not in redact(f"could not connect to {url}: refused")


def test_a_raw_at_in_the_password_is_encoded_so_the_host_is_right():
    url = normalize_url("postgresql+psycopg://bob:p@ss:w/rd@db.example.com:5432/mw")
    parsed = make_url(url)
    assert parsed.host == "db.example.com" and parsed.port == 5432
    assert parsed.password == "p@ss:w/rd" and parsed.database == "mw"
    assert normalize_url("postgresql+psycopg://bob:plain@db/mw") == (
        "postgresql+psycopg://bob:plain@db/mw"
    )
    assert normalize_url("sqlite:///./mailwatch.db") == "sqlite:///./mailwatch.db"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=6, max_size=30))
def test_no_password_survives_masking(password):
    url = f"postgresql+psycopg://bob:{password}@db.example.com/mw"
    shown = mask_url(url)
    assert password not in shown or password in "postgresql+psycopg://bob:***@db.example.com/mw"


def test_the_sqlite_database_its_wal_and_shm_and_its_folder_are_private(tmp_path):
    folder = tmp_path / "new-folder"
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{folder / 'mailwatch.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:  # keeps -wal and -shm in place while we look
            conn.execute(text("SELECT * FROM t")).all()
            files = [
                folder / "mailwatch.db",
                folder / "mailwatch.db-wal",
                folder / "mailwatch.db-shm",
            ]
            for path in files:
                assert path.exists(), path
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        engine.dispose()
    finally:
        os.umask(old)


def test_files_readable_by_others_are_named_with_the_fix(tmp_path):
    env = tmp_path / ".env"
    env.write_text("MAILWATCH_IMAP_PASSWORD=x\n")
    env.chmod(0o644)
    private = tmp_path / "token.json"
    private.write_text("{}")
    private.chmod(0o600)
    warnings = exposed_files([env, private, tmp_path / "missing"])
    assert len(warnings) == 1
    assert str(env) in warnings[0] and "chmod 600" in warnings[0] and "644" in warnings[0]
