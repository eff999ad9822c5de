"""What every command starts from: the settings file, the settings, logging, the language, the
database, and the parsing of ``--now`` and dates.

The settings are loaded on a command's first call to :func:`settings` (not in the root callback),
so ``--help`` and option errors need no configuration.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mailwatch.config import Settings, describe, load_settings
from mailwatch.errors import DatabaseNotReady, UsageError
from mailwatch.i18n import _, set_language
from mailwatch.logs import setup_logging

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from mailwatch.drafts.service import DraftService
    from mailwatch.store.raw import Reader

__all__ = [
    "State",
    "database_error",
    "drafts",
    "engine",
    "factory",
    "loading",
    "parse_now",
    "parse_when",
    "read_store",
    "reset",
    "settings",
    "short_read",
    "state",
    "whole_process",
]

log = logging.getLogger("mailwatch")


@dataclass
class State:
    """This run's global options and, once loaded, its settings."""

    env_file: Path = Path(".env")
    env_file_named: bool = False  # given with --env-file: then it must exist
    settings: Settings | None = None


state = State()


@dataclass
class _Process:
    whole: bool = False  # this run is the process (main()), not an app called in a test


_process = _Process()


def whole_process(*, threads: bool = True) -> None:
    """main(): this run is the whole process, so :func:`loading` may tune the collector
    and, for a command that may start threads (``threads``), the C allocator be told to
    keep one arena (a quick read starts none: it skips loading ctypes for that)."""
    _process.whole = True
    if threads:
        limit_malloc_arenas()


# glibc's mallopt parameter number for the most malloc arenas (M_ARENA_MAX in malloc.h).
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """At most ``arenas`` glibc malloc arena(s) for the threads this process starts next.

    glibc gives each thread that allocates its own arena (up to 8 per core): the analysis
    pool's feeder and manager threads pickle and unpickle whole batches there, and the pages
    they leave behind stayed in the process: 157 MB peak for a 20,000-message backfill
    against 145 MB with one arena, at the same speed (docs/benchmarks.md). The GIL means
    Python threads seldom allocate at the same moment, so one arena costs no contention.
    Nothing is done where there is no glibc, or when ``MALLOC_ARENA_MAX`` is set (the
    operator's choice wins). Returns True when the limit was set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # lazy: the only user, once per process

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl, or no libc by that name
        return False


@contextmanager
def loading() -> Iterator[None]:
    """Around a read command's own imports: no garbage collection while they load, then every
    object so far frozen out of later collections (``gc.freeze``).

    SQLAlchemy, the models and the views make ~250,000 objects that live as long as the
    process; each full collection the read's own objects then trigger walked them all again:
    ~0.2-0.25 s of CPU of the whole overdue list and of ``digest --print`` at 1M messages
    (docs/benchmarks.md). Only when the run is the process: a test that calls the app many
    times in one interpreter keeps the collector as it is.
    """
    if not _process.whole:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def short_read() -> None:
    """A read command (``threads``, ``promises``, ``digest``), once its modules are loaded:
    no garbage collection for the rest of the run.

    Such a run ends within a second and its objects are freed by reference counting; the
    collections that its own allocations triggered (thousands of rows, views and dicts, young
    and ever more of them) were ~30 ms of the 5,846-thread overdue list at 1M messages
    (docs/benchmarks.md, session 6). A cycle, if any, is freed at exit. Only when the run is
    the process, like :func:`loading` (never in a test calling the app, nor the service).
    """
    if _process.whole:
        gc.disable()


def reset(env_file: Path | None) -> None:
    """The root callback: a new run (tests call the app several times in one process)."""
    state.env_file = env_file if env_file is not None else Path(".env")
    state.env_file_named = env_file is not None
    state.settings = None
    set_language(None)


def settings() -> Settings:
    """The settings, loaded once; then logging is set up and the output language chosen.

    A bad setting raises :class:`~mailwatch.errors.ConfigError` (one ``error: config:`` line).
    """
    if state.settings is None:
        cfg = load_settings(state.env_file, required=state.env_file_named)
        state.settings = cfg
        setup_logging(cfg.log_format, cfg.log_level, cfg.calendar.tz_name)
        _warn_exposed(cfg)
        # what this run prints: the first mailbox's UI_LANGUAGE (logs and JSON stay English)
        first = cfg.mailboxes[0] if cfg.mailboxes else None
        set_language(first.values.get("UI_LANGUAGE") if first is not None else None)
    return state.settings


def _warn_exposed(cfg: Settings) -> None:
    """At start: the database, .env and token caches must not be readable by other users."""
    from mailwatch.store.files import exposed_files, private_paths  # lazy: keeps --help fast

    caches = [
        m.oauth.token_cache
        for m in cfg.mailboxes
        if "oauth2" in (m.imap.auth, m.smtp.auth) and not m.oauth.token_command
    ]
    for warning in exposed_files(private_paths(cfg.database_url, state.env_file, caches)):
        log.warning("%s", warning)


def database_error(cfg: Settings, exc: Exception) -> DatabaseNotReady:
    """The driver's own error (no server, a wrong password) as one line naming the database."""
    return DatabaseNotReady(
        _(
            "database %(url)s: %(error)s",
            url=describe(cfg)["database_url"],
            # (libpq adds its hint on a line of its own: one line here)
            error=f"{exc.__class__.__name__}: {' '.join(str(exc).split())}",
        )
    )


def _not_ready() -> DatabaseNotReady:
    return DatabaseNotReady(_("the database is missing or out of date: run `mailwatch init` first"))


def engine(cfg: Settings) -> Engine:
    """The database engine, once it is reachable and at the current schema revision."""
    from mailwatch.store.db import is_current, make_engine  # lazy: keeps --help fast

    made = make_engine(cfg.database_url)
    try:
        current = is_current(made)
    except Exception as exc:  # any driver's failure to connect: one line, not a traceback
        raise database_error(cfg, exc) from None
    if not current:
        raise _not_ready()
    return made


def factory(cfg: Settings) -> sessionmaker[Session]:
    from mailwatch.store.db import session_factory  # lazy: keeps --help fast

    return session_factory(engine(cfg))


@contextmanager
def read_store(cfg: Settings) -> Iterator[Reader]:
    """The store to read from, for a read command (``threads``): connected straight through
    the driver where the URL allows (a SQLite file, ``postgresql+psycopg``), else through
    SQLAlchemy; either way only once it is reachable and at the current schema revision, with
    the same errors as :func:`engine`.

    Why straight: SQLAlchemy, its ORM and the models are ~0.2 s of imports, more than the
    rest of such a command at 1M messages (docs/benchmarks.md, session 7).
    """
    from mailwatch.store.raw import NotCurrent, open_reader, reader_of  # lazy: --help fast

    try:
        direct = open_reader(cfg.database_url)
    except NotCurrent:
        raise _not_ready() from None
    except Exception as exc:  # any driver's failure to connect: one line, not a traceback
        raise database_error(cfg, exc) from None
    if direct is None:
        with factory(cfg)() as session:
            yield reader_of(session)
        return
    try:
        yield direct
    finally:
        direct.close()


def drafts(cfg: Settings) -> DraftService:
    from mailwatch.drafts.service import DraftService  # lazy: keeps --help fast

    return DraftService(factory(cfg), cfg)


def parse_now(value: str | None) -> datetime:
    """``--now``: an ISO 8601 instant with its offset; now when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            _("%(value)r is not an ISO 8601 date-time", value=value), prefix="--now"
        ) from None
    if parsed.tzinfo is None:
        raise UsageError(
            _("%(value)r needs an offset, e.g. 2026-03-11T10:00:00+02:00", value=value),
            prefix="--now",
        )
    return parsed


def parse_when(value: str, option: str, cfg: Settings, end_of_day: bool) -> datetime:
    """An ISO date or date-time; without an offset it is the team's local time.

    A bare date means the end of that business day for a deadline, its start for a snooze.
    """
    try:
        if len(value.strip()) == 10:
            day = date.fromisoformat(value.strip())
            cal = cfg.calendar
            return cal.end_of_business_day(day) if end_of_day else cal.start_of_business_day(day)
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(
            _("%(value)r is not an ISO 8601 date or date-time", value=value), prefix=option
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=cfg.calendar.tz)
    return parsed
