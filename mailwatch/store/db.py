"""Engine, sessions and schema upgrades."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import normalize_url
from mailwatch.paths import data_dir
from mailwatch.store.files import exposed_files, prepare_sqlite_file, private_paths, sqlite_path
from mailwatch.store.revisions import head_revisions, is_head

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "UPGRADE_LOCK",
    "alembic_config",
    "db_now",
    "exposed_files",
    "head_revisions",
    "is_current",
    "make_engine",
    "prepare_sqlite_file",
    "private_paths",
    "session_factory",
    "sqlite_path",
    "transaction",
    "upgrade",
]

log = logging.getLogger(__name__)

UPGRADE_LOCK = 0x6D770001  # the advisory lock key that serialises schema upgrades


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys on every connection,
    and its file is created private (0600, folder 0700)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            try:
                prepare_sqlite_file(path)
            except OSError as exc:  # SQLite will say it better when it tries
                log.debug("could not prepare %s: %s", path, exc)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # A worker's mailbox threads share at most 15 connections (5 + 10 overflow), so N workers
    # stay within PostgreSQL's max_connections; a thread waits its turn for one (transactions
    # are short) instead of failing after SQLAlchemy's default 30 s.
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=600)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_connection: Any, _record: Any) -> None:
            # PostgreSQL compiles a query to machine code when its planner costs it high
            # (jit_above_cost): mailwatch's queries are short, and the compiling was 13 ms of
            # a 35 ms digest read at 1M messages. Set per connection, not for the database.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_connection.commit()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def db_now(session: Session) -> datetime:
    """The database's time (PostgreSQL's ``clock_timestamp()``; this process's on SQLite).

    Leases and the shared send log compare times written by several processes: they take
    them from one clock, the database's.
    """
    if session.get_bind().dialect.name == "postgresql":
        value = session.scalar(text("SELECT clock_timestamp()"))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed together, or not at all."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # lazy: alembic costs ~85 ms of CLI start-up: loaded on use

    config = Config()
    config.set_main_option("script_location", str(data_dir("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest migration; returns the revision now in force."""
    from alembic import command  # lazy: ~85 ms of CLI start-up: loaded on use
    from alembic.runtime.migration import MigrationContext

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers start at once (compose replicas, systemd instances), each running
            # `mailwatch init`: one upgrades, the others wait and then find nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    return revision or ""


def is_current(engine: Engine) -> bool:
    """The schema is at the newest migration: the stored ``alembic_version`` rows are the heads.

    Only ``mailwatch init`` (:func:`upgrade`) runs Alembic; this check is one table read.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        stored = list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return is_head(stored)
