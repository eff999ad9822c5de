"""`mailwatch demo`: the real sync path against an embedded IMAP server, with no setup at all.

A newcomer should see what mailwatch does before giving it a password. So the demo starts
pymap's in-memory IMAP server inside this process (a background thread with its own event
loop, bound to 127.0.0.1 on a free port, no TLS), APPENDs the sample conversations from
``mailwatch/demo_data/`` over IMAP with imapclient (dated relative to now, so "overdue" means
something today), then runs exactly what ``mailwatch init`` + ``sync --once`` + ``threads``
run: Alembic upgrade of a throw-away SQLite database, one ``MailboxSync.sync_once()`` and
``thread_rows``. Nothing touches pymap internals after start-up, so a server quirk shows up
here the way it would with a real mailbox.

With ``MAILWATCH_DEMO_KEEP_RUNNING=1`` the server stays up and a watcher keeps syncing (IDLE,
or a poll every few seconds) until Ctrl-C, so another IMAP client can add mail and the table
updates.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import email.utils
import logging
import os
import re
import secrets
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

log = logging.getLogger(__name__)

DEMO_USER = "sales@demo.mailwatch.test"
DEMO_PASSWORD = "demo"
DEMO_DOMAIN = "demo.mailwatch.test"
DEMO_TIMEZONE = "Europe/Chisinau"
DEMO_HOST = "127.0.0.1"
KEEP_RUNNING_ENV = "MAILWATCH_DEMO_KEEP_RUNNING"
# Folders a fresh pymap account lacks (it has INBOX only); found by name, as pymap has no
# SPECIAL-USE.
EXTRA_FOLDERS = ("Sent", "Drafts")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample message: where it goes and when it was written, relative to now.

    The .eml files carry a valid fixed ``Date`` (so they parse on their own); the loader
    replaces it with ``business_days_ago`` at ``at`` (demo time zone), or ``hours_ago``,
    rendered in the sender's own zone as a real client's mailer would.
    """

    file: str
    folder: str
    zone: str
    note: str
    flags: tuple[str, ...] = ("\\Seen",)
    business_days_ago: int = 0
    at: str = "10:00"
    hours_ago: float = 0.0


SAMPLES: tuple[Sample, ...] = (
    Sample("01-en-delivery-terms.eml", "INBOX", "Europe/London",
           "client question left unanswered: overdue", business_days_ago=3, at="12:20"),
    Sample("02-ru-price-request.eml", "INBOX", "Europe/Moscow",
           "price question; greeting by name and patronymic", flags=(), hours_ago=2),
    Sample("03-ro-cerere-oferta.eml", "INBOX", "Europe/Chisinau",
           "our reply promises the offer by Friday", flags=("\\Seen", "\\Answered"),
           business_days_ago=3, at="09:40"),
    Sample("04-ro-raspuns-promisiune.eml", "Sent", "Europe/Chisinau",
           "promise: 'Vă trimit oferta până vineri'", business_days_ago=2, at="15:10"),
    Sample("05-es-plazo-entrega.eml", "INBOX", "Europe/Madrid",
           "client's own date: 'a más tardar el viernes de la próxima semana'", business_days_ago=2, at="13:30"),
    Sample("06-en-quote-q2291.eml", "Sent", "Europe/Chisinau",
           "our quotation", business_days_ago=5, at="14:00"),
    Sample("07-en-price-pushback.eml", "INBOX", "Europe/London",
           "warning signs: 'why so expensive', 'for the same money'",
           business_days_ago=1, at="19:45"),
    Sample("08-en-outlook-agreement.eml", "Sent", "Europe/Chisinau",
           "sent from Outlook with Thread-Index", business_days_ago=5, at="10:00"),
    Sample("09-en-outlook-reply.eml", "INBOX", "Europe/Prague",
           "Outlook reply: no References, joined by Thread-Index", business_days_ago=1,
           at="10:15"),
    Sample("10-en-price-list.eml", "Sent", "Europe/Chisinau",
           "our price list", business_days_ago=2, at="11:00"),
    Sample("11-en-out-of-office.eml", "INBOX", "Europe/London",
           "out-of-office auto-reply: needs no answer", business_days_ago=2, at="11:01"),
    Sample("12-en-newsletter.eml", "INBOX", "Europe/London",
           "newsletter (List-Id): needs no answer", flags=(), business_days_ago=1, at="09:00"),
    Sample("13-en-offer-library.eml", "Sent", "Europe/Chisinau",
           "our offer", business_days_ago=4, at="16:20"),
    Sample("14-en-polite-refusal.eml", "INBOX", "Europe/London",
           "client declines politely: still owed a courteous reply", hours_ago=3),
)  # fmt: skip


# -- the embedded IMAP server -------------------------------------------------------------------


class EmbeddedImapServer:
    """pymap's in-memory ``dict`` backend serving IMAP on 127.0.0.1, in a daemon thread.

    A thread rather than ``python -m pymap``: the free port is known exactly (we bind port 0
    ourselves, no race), start-up errors surface as exceptions here, and nothing can outlive
    the demo process (the thread is a daemon; :meth:`stop` also closes it cleanly).
    """

    def __init__(
        self, username: str = DEMO_USER, password: str = DEMO_PASSWORD, host: str = DEMO_HOST
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 15.0) -> EmbeddedImapServer:
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="mailwatch-demo-imap", daemon=True
        )
        self._thread.start()
        try:
            self.port = ready.result(timeout=timeout)
        except ModuleNotFoundError as exc:
            raise RuntimeError(
                f"the demo needs pymap ({exc.name} is missing): pip install 'pymap>=0.36,<0.37'"
            ) from exc
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the demo IMAP server did not stop within %.0f s", timeout)
        self._thread = None

    def __enter__(self) -> EmbeddedImapServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def version(self) -> str:
        from pymap.__about__ import __version__

        return str(__version__)

    def _run(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(ready))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("the demo IMAP server failed")
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, ready: concurrent.futures.Future[int]) -> None:
        from proxyprotocol.reader import ProxyProtocolReader
        from pymap.imap import IMAPServer

        login, config = await _pymap_login(self.username, self.password)
        config.apply_context()
        self._stop = asyncio.Event()
        handler = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(login, config))
        server = await asyncio.start_server(handler, host=self.host, port=0)
        ready.set_result(int(server.sockets[0].getsockname()[1]))
        try:
            await self._stop.wait()
        finally:
            server.close()
            # Open client connections would keep wait_closed() waiting (Python >= 3.12).
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


async def _pymap_login(username: str, password: str) -> tuple[Any, Any]:
    """pymap's dict-backend login with one user, built without its argparse front end."""
    from pymap.backend.dict import Config, Login
    from pymap.concurrent import Subsystem
    from pymap.user import Passwords, UserMetadata

    class DemoConfig(Config):
        @property
        def greeting(self) -> bytes:
            # pymap's default greeting calls socket.getfqdn(), which can stall on DNS.
            return b"Server ready: mailwatch demo (pymap, in-memory)"

    args = argparse.Namespace(
        host=DEMO_HOST, port=0, debug=False, cert=None, key=None, tls=False,
        passlib_cfg=None, proxy_protocol=None, inherited_sockets=None,
    )  # fmt: skip
    config = DemoConfig(
        args,
        host=DEMO_HOST,
        port=0,
        tls_enabled=False,
        demo_data=False,
        demo_user=username,
        demo_password=password,
        # No worker threads: hashing one demo password on the loop is instant, and there
        # is no executor left to join at exit.
        cpu_subsystem=Subsystem.for_asyncio(),
        invalid_user_sleep=0.05,
    )
    login = Login(config)
    hashed = await Passwords(config).hash_password(password)
    await login.demo_user_identity.set(UserMetadata(config, username, password=hashed))
    return login, config


# -- sample conversations ---------------------------------------------------------------------


def sample_bytes(name: str) -> bytes:
    """A sample .eml as shipped inside the package (works from a wheel, too)."""
    return resources.files("mailwatch.demo_data").joinpath(name).read_bytes()


def business_day_before(day: date, count: int) -> date:
    """``count`` Mon-Fri days before ``day``: sample mail is written on working days."""
    while count > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def sample_date(sample: Sample, now: datetime, tz: ZoneInfo) -> datetime:
    """When the sample was written, in the sender's zone; never in the future."""
    if sample.hours_ago:
        when = now - timedelta(hours=sample.hours_ago)
    else:
        day = business_day_before(now.astimezone(tz).date(), sample.business_days_ago)
        when = datetime.combine(day, time.fromisoformat(sample.at), tzinfo=tz)
    when = min(when, now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    return when.astimezone(ZoneInfo(sample.zone))


_DATE_LINE = re.compile(rb"^date:", re.IGNORECASE)


def with_date(raw: bytes, when: datetime) -> bytes:
    """The message with CRLF line ends (as IMAP wants) and its Date header set to ``when``."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, sep, body = raw.partition(b"\r\n\r\n")
    stamp = b"Date: " + email.utils.format_datetime(when).encode("ascii")
    lines: list[bytes] = []
    replaced = skipping = False
    for line in head.split(b"\r\n"):
        if skipping and line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the old Date
        skipping = False
        if not replaced and _DATE_LINE.match(line):
            lines.append(stamp)
            replaced = skipping = True
            continue
        lines.append(line)
    if not replaced:
        lines.append(stamp)
    return b"\r\n".join(lines) + (sep or b"\r\n\r\n") + body


def load_samples(
    host: str, port: int, username: str, password: str, now: datetime, tz: ZoneInfo
) -> int:
    """APPEND the samples over IMAP (the path real mail takes in), oldest first per folder."""
    from imapclient import IMAPClient

    dated = sorted(
        ((sample_date(s, now, tz), s) for s in SAMPLES),
        key=lambda pair: (pair[1].folder, pair[0]),
    )
    with IMAPClient(host, port=port, ssl=False, timeout=15) as client:
        client.login(username, password)
        existing = {name for _flags, _delim, name in client.list_folders()}
        for folder in EXTRA_FOLDERS:
            if folder not in existing:
                client.create_folder(folder)
        for when, sample in dated:
            client.append(
                sample.folder,
                with_date(sample_bytes(sample.file), when),
                flags=sample.flags,
                msg_time=when,
            )
    return len(dated)


def sample_notes() -> dict[str, str]:
    """Message-ID -> what that sample shows, to label the conversations in the table."""
    from mailwatch.core.parse import parse_message

    notes: dict[str, str] = {}
    for sample in SAMPLES:
        notes[parse_message(sample_bytes(sample.file)).message_id] = sample.note
    return notes


# -- the demo ---------------------------------------------------------------------------------


def demo_values(
    port: int, workdir: Path, smtp_port: int = 0, web_port: int = 0, web_password: str = ""
) -> dict[str, str]:
    """The MAILWATCH_* settings of the demo; also written to ``demo.env`` for other commands."""
    extra = {}
    if smtp_port:
        extra.update(
            {
                "MAILWATCH_SMTP_HOST": DEMO_HOST,
                "MAILWATCH_SMTP_PORT": str(smtp_port),
                "MAILWATCH_SMTP_SECURITY": "none",
                "MAILWATCH_DIGEST_TO": DEMO_USER,
            }
        )
    if web_port:
        extra["MAILWATCH_WEB_BIND"] = f"{DEMO_HOST}:{web_port}"
    if web_password:
        extra["MAILWATCH_WEB_PASSWORD"] = web_password
        # sessions signed with a key of this run: no "WEB_SECRET is empty" warning in the demo
        extra["MAILWATCH_WEB_SECRET"] = secrets.token_urlsafe(32)
    return extra | {
        "MAILWATCH_DATABASE_URL": f"sqlite:///{(workdir / 'mailwatch-demo.db').as_posix()}",
        "MAILWATCH_MAILBOXES": "sales",
        "MAILWATCH_IMAP_HOST": DEMO_HOST,
        "MAILWATCH_IMAP_PORT": str(port),
        "MAILWATCH_IMAP_SECURITY": "none",
        "MAILWATCH_IMAP_USERNAME": DEMO_USER,
        "MAILWATCH_IMAP_PASSWORD": DEMO_PASSWORD,
        "MAILWATCH_IMAP_TIMEOUT": "15",
        "MAILWATCH_BACKFILL_DAYS": "0",
        "MAILWATCH_OWN_ADDRESSES": DEMO_USER,
        "MAILWATCH_INTERNAL_DOMAINS": DEMO_DOMAIN,
        "MAILWATCH_TIMEZONE": DEMO_TIMEZONE,
        "MAILWATCH_WORK_HOURS": "09:00-18:00",
        "MAILWATCH_REPLY_SLA": "4h",
        "MAILWATCH_ACK_AFTER": "2h",
        "MAILWATCH_SENDER_NAME": "Elena Rusu",
        "MAILWATCH_SIGNATURE": "Elena Rusu\\nSales Manager, Rackwise SRL\\n+373 22 555 010",
        # The watcher of the keep-running mode: IDLE wakes it at once; poll every 6 s anyway.
        "MAILWATCH_POLL_INTERVAL": "0.1m",
        "MAILWATCH_IDLE_RENEW": "1m",
        # pymap has no CONDSTORE: an \Answered flag set elsewhere is found by this scan.
        "MAILWATCH_FLAG_SCAN_INTERVAL": "0.1m",
        "MAILWATCH_LOG_LEVEL": "warning",
    }


def _local(value: str | None, tz: ZoneInfo) -> str:
    from mailwatch.core.timefmt import local

    return local(value, tz, missing="")


def conversations_table(
    rows: list[dict[str, Any]], notes: dict[str, str], tz: ZoneInfo, title: str
) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "state", "late", "client", "subject", "msgs", "lang", "last in", "shows"):
        table.add_column(column, overflow="fold")
    for row in rows:
        who = row["counterpart"]["name"] or row["counterpart"]["email"] or ""
        note = next((notes[m] for m in reversed(row["message_ids"]) if m in notes), "")
        style = "bold" if row["state"] == "awaiting_us" else None
        late = ""
        if row["overdue"]:
            late = f"{row['overdue_business_minutes']} min over"
        elif row["state"] == "awaiting_us":
            late = f"waiting {row['waiting_business_minutes']} min"
        table.add_row(
            str(row["id"]),
            row["state"] + (" (warning signs)" if row["warning_signs"] else ""),
            late,
            who,
            row["subject"] or "",
            str(row["message_count"]),
            row["language"] or "",
            _local(row["last_inbound_at"], tz),
            note,
            style=style,
        )
    return table


@contextlib.contextmanager
def _stop_on_sigterm(halt: threading.Event) -> Iterator[None]:
    """SIGTERM ends the keep-running demo as cleanly as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        halt.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(console: Console) -> None:
    """Embedded IMAP server + sample mail + the real sync, then the conversations table."""
    from mailwatch.config import settings_from_values
    from mailwatch.logs import setup_logging
    from mailwatch.store.db import make_engine, session_factory, upgrade
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.engine import MailboxSync
    from mailwatch.sync.progress import progress_reporter
    from mailwatch.track.tracker import Tracker
    from mailwatch.views.context import View
    from mailwatch.views.threads import list_threads

    keep_running = _keep_running_wanted()
    tz = ZoneInfo(DEMO_TIMEZONE)
    server = EmbeddedImapServer()
    try:
        server.start()
    except (RuntimeError, OSError, concurrent.futures.TimeoutError) as exc:
        console.print(f"[bold red]error:[/] cannot start the demo IMAP server: {exc}")
        raise SystemExit(1) from None
    smtp = EmbeddedSmtpServer(console)
    try:
        smtp.start()
    except OSError as exc:
        server.stop()
        console.print(f"[bold red]error:[/] cannot start the demo SMTP server: {exc}")
        raise SystemExit(1) from None
    with tempfile.TemporaryDirectory(prefix="mailwatch-demo-") as tmp, server, smtp:
        workdir = Path(tmp)
        console.print(
            f"embedded IMAP server (pymap {server.version}, in memory, no TLS) listening on "
            f"[bold]{server.host}:{server.port}[/]; login [bold]{server.username}[/], "
            f"password [bold]{server.password}[/]; embedded SMTP server (aiosmtpd) on "
            f"[bold]{smtp.host}:{smtp.port}[/] (it only prints what it receives)",
            highlight=False,
        )
        now = datetime.now(UTC)
        count = load_samples(server.host, server.port, server.username, server.password, now, tz)
        console.print(f"loaded {count} sample messages into INBOX and Sent over IMAP APPEND")

        web_password = secrets.token_urlsafe(9)
        values = demo_values(
            server.port, workdir, smtp.port, _free_port() if keep_running else 0, web_password
        )
        env_file = workdir / "demo.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        cfg = settings_from_values(values)
        setup_logging(cfg.log_format, cfg.log_level, cfg.calendar.tz_name)
        mailbox = cfg.mailboxes[0]
        engine = make_engine(cfg.database_url)
        try:
            upgrade(engine)
            store = MailStore(session_factory(engine), cfg.own_addresses, cfg.thread_subject_window)
            syncer = MailboxSync(cfg, mailbox, store)
            try:
                with progress_reporter(console, mailbox.name) as progress:
                    syncer.progress = progress
                    report = syncer.sync_once()
                syncer.progress = None
                tracker = Tracker(store.factory, cfg)
                tracker.refresh()
                folders = ", ".join(f"{f.folder}: {f.new} new" for f in report.folders)
                console.print(
                    f"sync --once: {report.new} messages stored ({folders}) in "
                    f"{report.seconds:.1f} s, {report.commands} IMAP commands; server "
                    f"capabilities: {' '.join(sorted(syncer.conn.capabilities))}",
                    highlight=False,
                )
            finally:
                syncer.close()
            notes = sample_notes()

            def show(title: str) -> None:
                tracker.refresh()
                with session_factory(engine)() as session:
                    rows = [
                        t.to_json()
                        for t in list_threads(session, datetime.now(UTC), "all", View.of(cfg))
                    ]
                console.print(conversations_table(rows, notes, tz, title))

            show(f"conversations in the demo mailbox ({DEMO_TIMEZONE} time)")
            _show_scheduler_work(console, cfg, store.factory)
            if keep_running:
                _keep_running(console, cfg, engine, show, server, env_file, web_password)
            else:
                mw = mailwatch_command()
                console.print(
                    f"next: in a terminal, [bold]make demo[/] (or [bold]"
                    f"MAILWATCH_DEMO_KEEP_RUNNING=1 {mw} demo[/]) keeps everything running: "
                    "the service syncs, drafts and sends, and the web page opens for "
                    "approvals. For your own mailbox: [bold]cp config.example.env .env[/], "
                    f"fill it in, then [bold]{mw} init[/], [bold]{mw} sync --once[/] and "
                    f"[bold]{mw} threads[/].",
                    highlight=False,
                )
        finally:
            engine.dispose()


def _keep_running_wanted() -> bool:
    """Keep the service up when a person runs the demo in a terminal; one pass when piped.

    ``MAILWATCH_DEMO_KEEP_RUNNING=1`` or ``=0`` decides explicitly.
    """
    import sys

    value = os.environ.get(KEEP_RUNNING_ENV, "").strip().lower()
    if value:
        return value in ("1", "true", "yes")
    return sys.stdin.isatty() and sys.stdout.isatty()


def _show_scheduler_work(console: Console, cfg: Any, factory: Any) -> None:
    """What the scheduler does on its first pass: drafts written early, promises at risk."""
    from mailwatch.drafts.service import DraftService
    from mailwatch.service.jobs import Jobs
    from mailwatch.views.context import View
    from mailwatch.views.promises import list_promises

    jobs = Jobs(factory, cfg)
    now = datetime.now(UTC)
    for check in (jobs.sla_check, jobs.promise_check, jobs.follow_up_check):
        check(now)
    with factory() as session:
        promises = [p.to_json() for p in list_promises(session, now, View.of(cfg))]
    table = Table(title="promises we made", title_justify="left")
    for column in ("id", "due", "status", "text"):
        table.add_column(column, overflow="fold")
    tz = ZoneInfo(DEMO_TIMEZONE)
    for row in promises:
        table.add_row(str(row["id"]), _local(row["due_at"], tz), row["status"], row["text"])
    console.print(table)
    drafts = DraftService(factory, cfg).list("pending")
    table = Table(title="drafts waiting for approval", title_justify="left")
    for column in ("id", "thread", "kind", "lang", "to", "first line"):
        table.add_column(column, overflow="fold")
    for draft in drafts:
        first = next((line for line in draft["body_text"].splitlines() if line.strip()), "")
        table.add_row(
            str(draft["id"]),
            str(draft["thread_id"]),
            draft["kind"],
            draft["language"],
            draft["to"],
            first,
        )
    console.print(table)


def decoded_subject(raw: str) -> str:
    """``=?utf-8?b?...?=`` as the words a person wrote (RFC 2047), for the SMTP sink's line."""
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError, UnicodeDecodeError):
        return str(raw)


def mailwatch_command() -> str:
    """How to run mailwatch again, as it was run now, so printed commands work when pasted.

    ``mailwatch`` when that is on PATH and the same program; else the path that was used
    (``.venv/bin/mailwatch`` after ``make demo``); else ``python -m mailwatch``.
    """
    import shutil
    import sys

    argv0 = Path(sys.argv[0])
    if argv0.name == "mailwatch" and argv0.exists():
        found = shutil.which("mailwatch")
        if found and Path(found).resolve() == argv0.resolve():
            return "mailwatch"
        try:
            shown = argv0.resolve().relative_to(Path.cwd().resolve())
            return str(shown) if shown.parts[0] != ".." else str(argv0.resolve())
        except ValueError:
            return str(argv0.resolve())
    return f"{sys.executable} -m mailwatch"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((DEMO_HOST, 0))
        return int(sock.getsockname()[1])


class EmbeddedSmtpServer:
    """aiosmtpd on 127.0.0.1: accepts everything and prints a line per message, sends nothing."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.host = DEMO_HOST
        self.port = 0
        self._controller: Any = None
        self.received: list[bytes] = []

    def start(self) -> EmbeddedSmtpServer:
        from aiosmtpd.controller import Controller

        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes

                raw = bytes(envelope.original_content or envelope.content)
                outer.received.append(raw)
                message = message_from_bytes(raw)
                outer.console.print(
                    f"[green]demo SMTP server received[/] to {', '.join(envelope.rcpt_tos)}: "
                    f"{escape(decoded_subject(message.get('Subject', '')))}",
                    highlight=False,
                    markup=True,
                )
                return "250 OK"

        self.port = _free_port()
        self._controller = Controller(Handler(), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> EmbeddedSmtpServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _keep_running(
    console: Console,
    cfg: Any,
    engine: Any,
    show: Any,
    server: EmbeddedImapServer,
    env_file: Path,
    web_password: str,
) -> None:
    """The whole service (sync with IDLE, scheduler, web page) until Ctrl-C or SIGTERM."""
    from mailwatch.service.main import run_service

    def on_report(report: Any) -> None:
        if report.new or report.flags_changed:
            console.print(
                f"sync: {report.new} new messages, {report.flags_changed} flag changes",
                highlight=False,
            )
            show("conversations now")

    console.print(
        f"the service runs: web page [bold]http://{cfg.web_bind}/[/] (password "
        f"[bold]{web_password}[/]); IMAP {server.host}:{server.port} keeps syncing; other "
        f"commands work too: [bold]{mailwatch_command()} --env-file {env_file} drafts list[/]. "
        "Press Ctrl-C to stop.",
        highlight=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_service(cfg, engine, on_sync=on_report)
    console.print("demo stopped")


__all__ = ["SAMPLES", "EmbeddedImapServer", "load_samples", "run_demo", "with_date"]
