"""A simulated sales week through the real `mailwatch run` process.

Dovecot (a private one, so it can be restarted), an SMTP sink, and the cutting proxy between
the service and Dovecot. Time runs 5,400 times faster than real time (one real second is 90
simulated minutes) through ``MAILWATCH_SIMULATED_CLOCK``, the one clock the scheduler reads
(mailwatch/clock.py, docs/service.md). Monday 23 to Wednesday 25 November 2026 in
Europe/Chisinau, Tuesday a holiday (CLOSED_DATES):

- Monday 09:00 a burst: clients writing in en, ru, ro, es; 09:30 the en one is answered
  "in Outlook" (appended to Sent); 09:45 the ru one gets \\Answered "from a phone";
- ro and es are acknowledged automatically (AUTO_SEND=acknowledgment) four business hours in;
- 10:00 the connection is cut by the proxy; a client writes at 10:30;
- 11:30 we promise an offer "by Wednesday" (a renegotiation draft comes before it is due), and
  a price list "today", which nobody sends: missed, and in the digest;
- Tuesday is a holiday: Dovecot restarts at 09:00, `kill -9` and a restart at 11:00, each
  followed by a client message; another client writes at 14:00. All are tracked at once and
  acknowledged on Wednesday, not on the holiday.

At the end: every message tracked within its bound, the right drafts and no others, the
digest's content, zero job failures, nothing sent twice.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailwatch import clock
from mailwatch.config import settings_from_values
from mailwatch.core.scheduling import renegotiation_due
from mailwatch.digest.data import build_digest
from mailwatch.store.db import make_engine, session_factory
from tests.helpers import make_msg, wait_until
from tests.integration.test_cli import write_env
from tests.integration.test_service import _free_port
from tests.servers.dovecot import DovecotServer, _append
from tests.servers.proxy import CuttingProxy

TZ = ZoneInfo("Europe/Chisinau")
SPEED = 5400.0  # one real second is 90 simulated minutes
START = datetime(2026, 11, 23, 8, 0, tzinfo=TZ)
WARM_UP = 10.0  # real seconds before Monday 08:00: the process starts and syncs
END = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)
TRACKED_WITHIN = 2.0  # real seconds, a quiet link
AFTER_DISRUPTION = 15.0  # real seconds, after a cut, a restart of Dovecot or of mailwatch

pytestmark = pytest.mark.slow


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


class Week:
    def __init__(self, tmp_path, smtp) -> None:
        self.server = DovecotServer(profile="full").start()
        self.account = self.server.new_account("week")
        self.proxy = CuttingProxy(self.server.host, self.server.port)
        self.smtp = smtp
        smtp.file_into(self.account)
        self.tmp = tmp_path
        self.anchor = 0.0
        self.clock_value = ""
        self.port = _free_port()

        class ViaProxy:
            host, port = self.proxy.address
            username, password = self.account.username, self.account.password

        values = {
            "web_bind": f"127.0.0.1:{self.port}",
            "timezone": "Europe/Chisinau",
            "work_hours": "09:00-18:00",
            "work_days": "Mon-Fri",
            "closed_dates": "2026-11-24",
            "reply_sla": "8h",
            "ack_after": "4h",
            "auto_send": "acknowledgment",
            "trusted_authserv_ids": AUTHSERV_ID,
            "smtp_host": smtp.host,
            "smtp_port": str(smtp.port),
            "smtp_security": "none",
            "sent_copy": "never",  # the SMTP server files a copy in Sent, as Exchange does
            "sender_name": "Ion Rusu",
            "signature": "Ion Rusu",
            "poll_interval": "10m",
            "idle_renew": "10m",
            "imap_timeout": "5",
        }
        self.env = write_env(tmp_path, ViaProxy, **values)
        self.db = tmp_path / "mw.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[str] = []
        self.appended: dict[str, tuple[float, float]] = {}  # message-id -> (real time, bound)
        self.seen: dict[str, float] = {}
        self.uids: dict[str, int] = {}
        self.client = None
        self.states: dict[str, str] = {}
        self.halt = threading.Event()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    # -- time --------------------------------------------------------------------------------

    def now(self) -> datetime:
        return (START + timedelta(seconds=(time.time() - self.anchor) * SPEED)).astimezone(TZ)

    def until(self, when: datetime) -> None:
        left = (when - self.now()).total_seconds() / SPEED
        if left > 0:
            time.sleep(left)

    # -- the service ---------------------------------------------------------------------------

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "mailwatch", "--env-file", str(self.env), *args],
            cwd=self.tmp,
            env=self._environ(),
            capture_output=True,
            timeout=60,
        )

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
        env[clock.ENV] = self.clock_value
        return env

    def begin(self) -> None:
        """Simulated Monday 08:00 comes WARM_UP real seconds from now (init is done by then)."""
        self.anchor = time.time() + WARM_UP
        self.clock_value = clock.simulated(START, SPEED, self.anchor)

    def start(self) -> None:
        log = self.tmp / f"run{len(self.logs)}.log"
        self.logs.append(str(log))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailwatch", "--env-file", str(self.env), "run"],
            cwd=self.tmp,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            env=self._environ(),
        )

    def wait_started(self, timeout: float = 30) -> None:
        wait_until(
            lambda: "sync pass done" in Path(self.logs[-1]).read_text(),
            timeout,
            "mailwatch run did not finish a first sync pass",
        )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    # -- mail ----------------------------------------------------------------------------------

    def append(self, folder: str, bound: float = TRACKED_WITHIN, flags=(), **kw) -> str:
        mid = kw["msgid"]
        kw.setdefault("date", self.now())
        if self.client is None:
            self.client = self.server.client(self.account.username)
        try:
            self.uids[mid] = _append(self.client, folder, make_msg(**kw), flags, None)
        except Exception:  # the link went down with Dovecot's restart: a new one
            self.client = self.server.client(self.account.username)
            self.uids[mid] = _append(self.client, folder, make_msg(**kw), flags, None)
        if folder == "INBOX":
            self.appended[mid] = (time.monotonic(), bound)
        return mid

    def _watch(self) -> None:
        while not self.halt.is_set():
            try:
                with sqlite3.connect(self.db, timeout=5) as conn:
                    rows = conn.execute(
                        "SELECT m.message_id, t.state FROM messages m JOIN threads t "
                        "ON t.id = m.thread_id WHERE m.analysis_version > 0 "
                        "AND t.tracked_at IS NOT NULL AND t.state IS NOT NULL"
                    ).fetchall()
            except sqlite3.OperationalError:
                rows = []
            now = time.monotonic()
            for mid, state in rows:
                self.seen.setdefault(mid, now)
                self.states[mid] = state
            self.halt.wait(0.03)

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db, timeout=5) as conn:
            return conn.execute(sql).fetchall()

    def close(self) -> None:
        self.halt.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.proxy.close()
        self.server.stop()


AUTHSERV_ID = "mx.sales.test"  # our own border mail server


def client_mail(mid: str, who: str, subject: str, body: str, **kw) -> dict:
    """A client's message as our border server delivers it: with its DMARC verdict, which is
    what lets AUTO_SEND answer a first-time correspondent (docs/security.md)."""
    domain = who.rpartition("@")[2].rstrip(">")
    verdict = f"{AUTHSERV_ID}; dmarc=pass header.from={domain}"
    headers = {"Authentication-Results": verdict, **kw.pop("headers", {})}
    return {"msgid": mid, "sender": who, "subject": subject, "body": body, "headers": headers, **kw}


def test_a_simulated_working_week(tmp_path, smtp_server):
    week = Week(tmp_path, smtp_server)
    us = f"Ion Rusu <{week.account.username}>"
    try:
        assert week.run("init").returncode == 0
        week.begin()
        week.start()
        week.watcher.start()
        week.wait_started()
        assert week.now() < local(23, 8, 30), "the service was not ready before Monday"
        week.until(local(23, 9))
        # Monday 09:00: a burst in four languages.
        week.append(
            "INBOX",
            **client_mail(
                "<en@brightwell.test>",
                "John Carter <john@brightwell.test>",
                "Labels for March",
                "Hello, could you quote 20,000 labels for March delivery?\n",
            ),
        )
        week.append(
            "INBOX",
            **client_mail(
                "<ru@medupak.test>",
                "Ольга Смирнова <olga@medupak.test>",
                "Запрос цены",
                "Добрый день! Пришлите, пожалуйста, цену на 5000 коробок.\n",
            ),
        )
        week.append(
            "INBOX",
            **client_mail(
                "<ro@vinaria.test>",
                "Andrei Popa <andrei@vinaria.test>",
                "Cerere de ofertă",
                "Bună ziua, vă rog să ne trimiteți o ofertă pentru 3000 de etichete.\n",
            ),
        )
        week.append(
            "INBOX",
            **client_mail(
                "<es@bodega.test>",
                "Lucía García <lucia@bodega.test>",
                "Solicitud de presupuesto",
                "Hola, ¿podrían enviarnos un presupuesto para 2000 cajas?\n",
            ),
        )
        # 09:30: John answered from Outlook (the reply lands in Sent).
        week.until(local(23, 9, 30))
        week.append(
            "Sent Items",
            msgid="<re-en@example.com>",
            sender=us,
            to="John Carter <john@brightwell.test>",
            subject="Re: Labels for March",
            in_reply_to="<en@brightwell.test>",
            body="Dear John,\n\nthe quote is attached.\n",
        )
        # 09:45: Olga answered from a phone: \Answered on her message.
        week.until(local(23, 9, 45))
        week.server.set_flags(
            week.account.username, "INBOX", week.uids["<ru@medupak.test>"], [b"\\Answered"]
        )
        # 11:30: a promise to a new client, written in Outlook.
        week.until(local(23, 11, 30))  # (after the cut: Sent is watched again)
        week.append(
            "Sent Items",
            msgid="<promise@example.com>",
            sender=us,
            to="Dan Lungu <dan@lungu.test>",
            subject="Offer for crates",
            body="Dear Dan,\n\nI will send you the offer by Wednesday.\n",
        )
        # 11:35: a promise for today that nobody keeps: missed by Wednesday.
        week.append(
            "Sent Items",
            msgid="<missed@example.com>",
            sender=us,
            to="Ana Rusu <ana@rusu.test>",
            subject="Price list",
            body="Dear Ana,\n\nI will send you the price list today.\n",
        )
        # 10:00 the link is cut; 10:30 a client writes.
        week.until(local(23, 10))
        week.proxy.cut_all()
        week.until(local(23, 10, 30))
        week.append(
            "INBOX",
            bound=AFTER_DISRUPTION,
            **client_mail(
                "<after-cut@client1.test>",
                "Maria Lupu <maria@client1.test>",
                "Delivery terms",
                "Hello, what are your delivery terms for Chisinau?\n",
            ),
        )
        # Tuesday is a holiday: nothing is due, the disruptions come then. 09:00 Dovecot
        # restarts (a new port behind the same proxy); 09:30 a client writes.
        week.until(local(24, 9))
        week.client = None
        week.server._stop_master()
        week.server._start_master(10)
        week.proxy.target_port = week.server.port
        week.until(local(24, 9, 30))
        week.append(
            "INBOX",
            bound=AFTER_DISRUPTION,
            **client_mail(
                "<after-restart@client2.test>",
                "Pavel Ciobanu <pavel@client2.test>",
                "Samples",
                "Hello, can you send us samples of the shrink sleeves?\n",
            ),
        )
        # 11:00 kill -9 and a restart; 11:30 a client writes.
        week.until(local(24, 11))
        week.kill9()
        week.start()
        week.until(local(24, 11, 30))
        week.append(
            "INBOX",
            bound=AFTER_DISRUPTION,
            **client_mail(
                "<after-kill@client3.test>",
                "Elena Rusu <elena@client3.test>",
                "Invoice copy",
                "Hello, could you send a copy of the last invoice?\n",
            ),
        )
        # 14:00 another client writes on the holiday.
        week.until(local(24, 14))
        week.append(
            "INBOX",
            **client_mail(
                "<holiday@bodega2.test>",
                "Carmen Ruiz <carmen@bodega2.test>",
                "Pedido urgente",
                "Hola, ¿pueden confirmar el pedido de 500 cajas?\n",
            ),
        )
        week.until(END)
        assert week.stop() == 0
    finally:
        week.close()

    # Every message tracked, each within its bound.
    late = {
        mid: round(week.seen.get(mid, float("inf")) - at, 2)
        for mid, (at, bound) in week.appended.items()
        if week.seen.get(mid, float("inf")) - at >= bound
    }
    assert late == {}, late
    # The right drafts and no others.
    drafts = week.query(
        "SELECT d.kind, d.status, m.message_id, d.created_at, d.automatic FROM drafts d "
        "JOIN messages m ON m.id = d.replied_message_row_id ORDER BY d.id"
    )
    acks = {
        mid: (status, created)
        for kind, status, mid, created, _a in drafts
        if kind == "acknowledgment"
    }
    assert set(acks) == {
        "<ro@vinaria.test>",
        "<es@bodega.test>",
        "<after-cut@client1.test>",
        "<after-restart@client2.test>",
        "<after-kill@client3.test>",
        "<holiday@bodega2.test>",
    }, drafts
    assert all(status == "sent" for status, _c in acks.values()), acks
    for mid in (
        "<after-restart@client2.test>",
        "<after-kill@client3.test>",
        "<holiday@bodega2.test>",
    ):
        written = datetime.fromisoformat(acks[mid][1]).replace(tzinfo=None)
        assert written >= datetime(2026, 11, 25, 7, 0)  # Wednesday 09:00 local, not Tuesday
    # Renegotiations: for each open promise (ours, and the ones our acknowledgments make:
    # "a full answer by 25 November at 18:00") whose renegotiation time came before the end
    # with a margin, one draft, pending (not sent automatically); none before its time.
    settings = settings_from_values(
        dict(line.split("=", 1) for line in week.env.read_text().splitlines())
    )
    renegotiated = {
        pid
        for kind, pid in week.query("SELECT kind, promise_id FROM drafts")
        if kind != "acknowledgment"
    }
    promises = week.query("SELECT id, made_at, due_at, text FROM promises")
    assert any("by Wednesday" in text for _i, _m, _d, text in promises)
    for pid, made, due, _text in promises:
        at = renegotiation_due(
            datetime.fromisoformat(made).replace(tzinfo=UTC),
            datetime.fromisoformat(due).replace(tzinfo=UTC),
            settings.calendar,
            settings.renegotiate_lead,
        )
        if at <= END - timedelta(minutes=45):
            assert pid in renegotiated, (pid, at)
        elif at > END:
            assert pid not in renegotiated, (pid, at)
    assert {(k, s) for k, s, *_ in drafts if k != "acknowledgment"} <= {
        ("renegotiation", "pending")
    }
    # Nothing sent twice, and only what was meant to go.
    sent = [m.message["Message-ID"] for m in week.smtp.received]
    assert len(sent) == len(set(sent)) == len(acks)
    # Zero job failures, no traceback in any process's log.
    assert week.query("SELECT job, total_failures FROM job_runs WHERE total_failures > 0") == []
    for path in week.logs:
        text = Path(path).read_text()
        assert "Traceback" not in text, text
    # The digest, as of the end of the week.
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine)() as session:
            digest = build_digest(session, settings, END)
    finally:
        engine.dispose()
    assert digest.alerts == [] and digest.job_problems == [] and digest.backlog == ""
    assert digest.overdue == []
    assert {d.kind for d in digest.drafts} == {"renegotiation"}
    assert len(digest.drafts) == len(renegotiated)
    assert "dan@lungu.test" in {p.client_email for p in digest.promises_due}
    # The promise for Monday was never kept: missed, and the digest says so.
    assert {p.client_email for p in digest.promises_missed} == {"ana@rusu.test"}
    counts = Counter(kind for kind, *_ in drafts)
    assert counts["acknowledgment"] == 6
