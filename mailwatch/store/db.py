"""Engine, sessions and schema upgrades."""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import normalize_url
from mailwatch.paths import data_dir

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

UPGRADE_LOCK = 0x6D770001  # the advisory lock key that serialises schema upgrades


# Query-string keys that carry a secret (libpq's ``password``, ``sslpassword``, tokens...).


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None: not SQLite, or in memory)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database's folder (0700) and file (0600) before SQLite does, so client mail
    is never readable by other local users. SQLite gives -wal and -shm the file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if not side.exists():
            continue
        try:
            if stat.S_IMODE(side.stat().st_mode) & 0o077 and side.stat().st_uid == os.getuid():
                side.chmod(0o600)  # a leftover from an older version or a copy
        except OSError:
            pass


def exposed_files(paths: Iterable[Path]) -> list[str]:
    """One warning per existing file (or folder) that other local users can read or write."""
    warnings = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            tight = "700" if path.is_dir() else "600"
            warnings.append(
                f"{path} is readable by other users of this machine (mode {mode:03o}); it holds "
                f"client mail or secrets: chmod {tight} {path}"
            )
    return warnings


def private_paths(
    database_url: str, env_file: Path | None, token_caches: Iterable[Path]
) -> list[Path]:
    """The files whose mode matters: the SQLite database (and -wal/-shm), .env, token caches."""
    paths: list[Path] = []
    db = sqlite_path(database_url)
    if db is not None:
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    if env_file is not None:
        paths.append(env_file)
    paths += list(token_caches)
    return paths


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
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=600)


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


# ``revision: str = "0011"`` and ``down_revision: str | None = "0010"`` (or a tuple, or None),
# as the migration template writes them.
_REVISION = re.compile(r"^revision\b[^=\n]*=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.M)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@functools.cache
def head_revisions() -> frozenset[str]:
    """The newest migration(s) (Alembic's heads), read from the text of the migration files.

    Why not Alembic's ScriptDirectory: importing Alembic and loading every migration module
    costs ~175 ms of CPU before each command reads anything; this reads ten small files once
    per process. A test proves it gives Alembic's answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((data_dir("migrations") / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)


def is_current(engine: Engine) -> bool:
    """The schema is at the newest migration: the stored ``alembic_version`` rows are the heads.

    Only ``mailwatch init`` (:func:`upgrade`) runs Alembic; this check is one table read.
    """
    heads = head_revisions()
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        stored = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    return bool(heads) and stored == heads
