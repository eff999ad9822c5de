"""`mailwatch demo` end to end: embedded pymap server, sample mail, real sync, clean exit.

The demo is the first thing a newcomer runs, on a machine with nothing set up, so it is run
exactly that way: a fresh process, an empty working directory, no .env.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from importlib import resources
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from mailwatch.core.parse import parse_message
from mailwatch.demo import SAMPLES, sample_bytes, with_date
from tests.helpers import wait_until

SUBJECTS = (
    "Delivery terms for 200 units of ST-40 shelving",
    "Запрос цены: алюминиевый профиль АП-60, 500 м",
    "Pedido de estanterías: ¿entrega la próxima semana?",
    "Cerere de ofertă: rafturi pentru depozitul de vinuri",
    "Quotation Q-2291: pallet racking for QuickBuild",
    "Service agreement renewal",
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
    # A wide, non-terminal console so table cells are not folded across lines.
    env.update(COLUMNS="250", PYTHONIOENCODING="utf-8", HOME=str(tmp_path), **extra)
    return env


def _port(output: str) -> int:
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", output)
    assert match, output
    return int(match.group(1))


def _assert_nothing_left(port: int) -> None:
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    leftovers = [
        p.cmdline()
        for p in psutil.Process().children(recursive=True)
        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    # Only the demo's own processes count (the session's test servers live under /dev/shm/mailwatch-*).
    demo = [c for c in leftovers if "demo" in c or any("pymap" in a for a in c)]
    assert not demo


def test_demo_lists_sample_conversations_and_exits_cleanly(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mailwatch", "demo"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    output = result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    for subject in SUBJECTS:
        assert subject in output, subject
    assert "Петров Виктор Семенович" in output
    assert f"{len(SAMPLES)} messages stored" in output
    # The Outlook reply has no References: only Thread-Index puts it with our message.
    outlook = next(line for line in output.splitlines() if "Service agreement renewal" in line)
    assert re.search(r"│\s*2\s*│", outlook), outlook
    assert "Traceback" not in result.stderr, result.stderr
    assert time.monotonic() - started < 60
    _assert_nothing_left(_port(output))
    assert list(tmp_path.glob("*.db")) == []  # the demo's database lives in its own temp dir


@pytest.mark.slow
def test_keep_running_demo_syncs_new_mail_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    from imapclient import IMAPClient

    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwatch", "demo"],
        cwd=tmp_path,
        env=_env(tmp_path, MAILWATCH_DEMO_KEEP_RUNNING="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
    )
    try:
        lines, reader = _collect_lines(proc)

        def started() -> int:
            """How many lines up to the one that says the demo runs (0: not yet)."""
            count = next((i + 1 for i, line in enumerate(lines) if "Ctrl-C" in line), 0)
            assert count or reader.is_alive(), "".join(lines)  # it ended without running
            return count

        count = wait_until(started, 60, lambda: "the demo never ran:\n" + "".join(lines))
        head = "".join(lines[:count])
        port = _port(head)
        web = re.search(r"web page (http://127\.0\.0\.1:\d+)/", head)
        assert web, head
        health = _wait_for_page(web.group(1) + "/healthz")
        assert health["status"] == "ok" and health["mailboxes"][0]["mailbox"] == "sales"
        assert re.search(r"\(password \S{8,}\)", head), head
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as client:
            client.login("sales@demo.mailwatch.test", "demo")
            client.append(
                "INBOX",
                b"From: Nou Client <nou@client.example>\r\nTo: sales@demo.mailwatch.test\r\n"
                b"Subject: Live message while the demo runs\r\n"
                b"Message-ID: <live-1@client.example>\r\n\r\nBuna ziua, cat costa?\r\n",
            )
            client.logout()
        # The watcher syncs it and shows the conversations again: then Ctrl-C.
        wait_until(
            lambda: "Live message while the demo runs" in "".join(lines[count:]),
            60,
            lambda: "the demo never showed the live message:\n" + "".join(lines),
        )
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=30)  # to the end of its output
        rest = "".join(lines[count:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, head + rest
    assert "Live message while the demo runs" in rest
    assert "demo stopped" in rest
    assert "Traceback" not in head + rest
    assert "WEB_SECRET" not in head + rest  # the demo signs its sessions with a key of its own
    _assert_nothing_left(port)


def _collect_lines(proc: subprocess.Popen[str]) -> tuple[list[str], threading.Thread]:
    """The process's output, line by line as it comes: a thread reads it to the end (a
    blocking readline in the test itself could wait forever on a silent process)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: list[str] = []

    def read() -> None:
        for line in stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def _wait_for_page(url: str) -> dict:
    def page() -> dict | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError):
            return None

    return wait_until(page, 40, f"{url} never answered")


def test_every_sample_parses_cleanly() -> None:
    shipped = {
        item.name
        for item in resources.files("mailwatch.demo.data").iterdir()
        if item.name.endswith(".eml")
    }
    assert shipped == {s.file for s in SAMPLES}
    assert 10 <= len(SAMPLES) <= 16
    ids = set()
    for sample in SAMPLES:
        parsed = parse_message(sample_bytes(sample.file))
        assert parsed.parse_errors == (), sample.file
        assert not parsed.message_id_synthetic, sample.file
        assert parsed.from_addr is not None and parsed.subject and parsed.new_text, sample.file
        ids.add(parsed.message_id)
    assert len(ids) == len(SAMPLES)


def test_samples_show_the_advertised_cases() -> None:
    parsed = {s.file: parse_message(sample_bytes(s.file)) for s in SAMPLES}
    assert parsed["02-ru-price-request.eml"].from_addr.name == "Петров Виктор Семенович"  # type: ignore[union-attr]
    assert "Vă trimit oferta până vineri" in parsed["04-ro-raspuns-promisiune.eml"].new_text
    assert "el viernes de la próxima semana" in parsed["05-es-plazo-entrega.eml"].new_text
    pushback = parsed["07-en-price-pushback.eml"].new_text.lower()
    assert "why so expensive" in pushback and "for the same money" in pushback
    outlook = parsed["09-en-outlook-reply.eml"]
    assert outlook.references == () and outlook.in_reply_to is None
    assert outlook.thread_index and outlook.thread_topic
    assert parsed["11-en-out-of-office.eml"].markers["auto-submitted"] == "auto-replied"
    assert "list-id" in parsed["12-en-newsletter.eml"].markers


def test_with_date_replaces_the_date_header_only() -> None:
    from datetime import datetime, timedelta, timezone

    when = datetime(2031, 5, 6, 7, 8, tzinfo=timezone(timedelta(hours=3)))
    raw = b"Subject: x\nDate: Mon, 1 Jan 2024\n  00:00:00 +0000\nFrom: a@b.example\n\nDate: body\n"
    out = with_date(raw, when)
    head, _, body = out.partition(b"\r\n\r\n")
    assert body == b"Date: body\r\n"
    dates = [line for line in head.split(b"\r\n") if line.lower().startswith(b"date:")]
    assert len(dates) == 1 and parsedate_to_datetime(dates[0][6:].decode()) == when
    assert b"00:00:00 +0000" not in head and b"From: a@b.example" in head
