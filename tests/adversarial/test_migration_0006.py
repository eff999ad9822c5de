"""Migration 0006 up, down and up again on SQLite and PostgreSQL, with the rows it changes:
a draft caught in ``sending`` counts as having reached DATA (never resent blindly), a message
dated in the future gets min(Date, INTERNALDATE) and keeps its header date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, Table, select

from mailwatch.store.db import alembic_config, make_engine
from tests.helpers import sqlite_url

NOW = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


def _to(engine: Any, url: str, revision: str, down: bool = False) -> None:
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _row(table: Table, **given: Any) -> dict[str, Any]:
    """``given``, plus a filler for every other NOT NULL column without a default."""
    values = dict(given)
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        kind = column.type
        if isinstance(kind, JSON):
            values[column.name] = {} if column.name in ("from_addr", "markers") else []
        elif isinstance(kind, Boolean):
            values[column.name] = False
        elif isinstance(kind, Integer):
            values[column.name] = 0
        elif isinstance(kind, DateTime):
            values[column.name] = NOW
        else:
            values[column.name] = ""
    return values


def test_0006_round_trip_with_data(url):
    engine = make_engine(url)
    try:
        _to(engine, url, "0004")
        meta = MetaData()
        with engine.begin() as conn:
            mailboxes = Table("mailboxes", meta, autoload_with=conn)
            drafts = Table("drafts", meta, autoload_with=conn)
            messages = Table("messages", meta, autoload_with=conn)
            mailbox = conn.execute(
                mailboxes.insert().values(_row(mailboxes, name="main", username="u"))
            ).inserted_primary_key[0]
            conn.execute(
                drafts.insert().values(
                    _row(
                        drafts,
                        mailbox_id=mailbox,
                        status="sending",
                        message_id="<d@x>",
                        smtp_started_at=NOW,
                        attempts=1,
                    )
                )
            )
            conn.execute(
                messages.insert().values(
                    _row(
                        messages,
                        mailbox_id=mailbox,
                        message_key="<m@x>",
                        message_id="<m@x>",
                        direction="inbound",
                        date=NOW + timedelta(days=365 * 70),
                        internal_date=NOW,
                    )
                )
            )
        _to(engine, url, "head")
        meta = MetaData()
        with engine.connect() as conn:
            drafts = Table("drafts", meta, autoload_with=conn)
            messages = Table("messages", meta, autoload_with=conn)
            draft = conn.execute(select(drafts)).one()._mapping
            message = conn.execute(select(messages)).one()._mapping
        assert draft["smtp_data_at"] is not None  # never resent blindly after the upgrade
        assert message["date"].replace(tzinfo=UTC) == NOW
        assert message["header_date"].replace(tzinfo=UTC).year == NOW.year + 70
        _to(engine, url, "0004", down=True)
        _to(engine, url, "head")
    finally:
        engine.dispose()
