"""A throw-away PostgreSQL 15 cluster for integration tests.

Why a private cluster: the store must be tested against real PostgreSQL semantics
(transactions, ON CONFLICT, concurrent writers), and a cluster in a temp dir on a free port
can neither collide with nor damage anything else. PostgreSQL refuses to run as root, so
``initdb``/``pg_ctl`` run as the ``postgres`` user via ``runuser``; fsync is off for speed
(the data is thrown away anyway).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from tests.servers.common import free_port, kill_leftovers, run_checked, scratch_dir, wait_for_port

PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresServer:
    """A private PostgreSQL cluster: trust auth, loopback only, socket in its temp dir."""

    def __init__(self, bin_dir: Path = PG_BIN_DIR, host: str = "127.0.0.1") -> None:
        self.bin_dir = Path(bin_dir)
        self.host = host
        self.port = 0
        self._root: Path | None = None
        self._postmaster_pid: int | None = None
        pg = pwd.getpwnam("postgres")
        self._uid, self._gid = pg.pw_uid, pg.pw_gid

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("PostgresServer is not started")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def log(self) -> str:
        """The server log so far (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _as_postgres(self, *args: str, what: str, timeout: float = 60.0) -> str:
        proc = run_checked(
            ["runuser", "-u", "postgres", "--", *args],
            what,
            timeout=timeout,
            cwd=self.root,  # postgres cannot chdir into root's cwd
            extra_diagnostics=f"--- {self.log_path} ---\n{self.log()}",
        )
        return proc.stdout

    def start(self) -> PostgresServer:
        """initdb + pg_ctl start; returns self."""
        if self._root is not None:
            raise RuntimeError("already started")
        self._root = scratch_dir("mailwatch-postgres-")
        try:
            os.chown(self._root, self._uid, self._gid)
            self._root.chmod(0o700)
            self._as_postgres(
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                what="initdb",
            )
            last_error: Exception | None = None
            for _attempt in range(3):  # free_port() is racy: retry with a new port
                self.port = free_port(self.host)
                options = (
                    f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host}"
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                )
                try:
                    self._as_postgres(
                        str(self.bin_dir / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_path),
                        "-w",
                        "-t",
                        "20",
                        "-o",
                        options,
                        "start",
                        what="pg_ctl start",
                    )
                    wait_for_port(self.host, self.port, 5)
                except (RuntimeError, TimeoutError) as exc:
                    last_error = exc
                    continue
                pid_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
                self._postmaster_pid = int(pid_line)
                break
            else:
                raise RuntimeError(f"PostgreSQL did not start: {last_error}")
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """pg_ctl stop (fast, then immediate), kill leftovers, delete the temp dir."""
        if self._root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                procs: list[psutil.Process] = []
                if self._postmaster_pid is not None:
                    try:
                        main = psutil.Process(self._postmaster_pid)
                        procs = [main, *main.children(recursive=True)]
                    except psutil.NoSuchProcess:
                        pass
                for mode in ("fast", "immediate"):
                    try:
                        self._as_postgres(
                            str(self.bin_dir / "pg_ctl"),
                            "-D",
                            str(self.data_dir),
                            "-m",
                            mode,
                            "-w",
                            "-t",
                            "10",
                            "stop",
                            what=f"pg_ctl stop -m {mode}",
                            timeout=20,
                        )
                        break
                    except (RuntimeError, subprocess.TimeoutExpired):
                        continue
                kill_leftovers(procs)
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            self._postmaster_pid = None
            atexit.unregister(self.stop)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer({self.host}:{self.port})"

    # ------------------------------------------------------------------ databases

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str | None = None) -> str:
        """CREATE DATABASE (a unique name if none given) and return its SQLAlchemy URL."""
        name = name or f"test_{uuid.uuid4().hex[:16]}"
        if not _DB_NAME_RE.match(name):
            raise ValueError(f"unsupported database name {name!r}")
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ... WITH (FORCE): also disconnects sessions a test left open."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
