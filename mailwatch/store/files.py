"""The files that hold client mail or secrets: where SQLite keeps the store, creating it
private, and warning about any that other local users can read.

No SQLAlchemy here: every command, even a quick read, checks these files at start.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["exposed_files", "prepare_sqlite_file", "private_paths", "sqlite_path"]

# what only SQLAlchemy's URL parser reads right: a query string, an escape, a fragment
_ODD = re.compile(r"[?%#]")


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None: not SQLite, or in memory).

    The usual forms (``sqlite:///relative.db``, ``sqlite:////abs/path.db``) are read here;
    anything else (a query string, percent-escapes) by SQLAlchemy's URL parser, which a read
    command would otherwise import only for this (~0.1 s).
    """
    if not url.startswith("sqlite"):
        return None
    scheme, _sep, rest = url.partition("://")
    if scheme in ("sqlite", "sqlite+pysqlite") and rest.startswith("/") and not _ODD.search(rest):
        database: str | None = rest[1:]
    else:
        from sqlalchemy.engine import make_url  # lazy: only for an unusual URL

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
