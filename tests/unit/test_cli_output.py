"""What a person reads: help without type noise, no mid-word wrap in a pipe, the queue's order,
plain words for the etiquette check, English articles."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from rich.table import Table

from mailwatch.cli.output import make_console
from mailwatch.core.etiquette import PASSED_WORDS, PROBLEM_WORDS
from mailwatch.web.pages import with_article


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["drafts", "list", "--help"]])
def test_help_shows_no_type_after_plain_flags(args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")}
    done = subprocess.run(
        [sys.executable, "-m", "mailwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    assert "<bool>" not in done.stdout
    if args[-2:] == ["list", "--help"]:
        assert "--json" in done.stdout and "<str>" in done.stdout  # a real value keeps its type


def test_piped_output_is_not_cut_at_80_columns(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal
    console = make_console()
    assert console.width >= 200
    subject = "Запрос цены: алюминиевый профиль АП-60, 500 м, доставка в Кишинёв до пятницы"
    table = Table(title="conversations")
    for column in ("id", "state", "client", "subject"):
        table.add_column(column)
    table.add_row("9", "awaiting_us", "Петров Виктор Семенович", subject)
    out = io.StringIO()
    Console(file=out, width=console.width).print(table)
    text = out.getvalue()
    assert subject in text and "awaiting_us" in text  # whole, on one line each
    assert max(len(line) for line in text.splitlines()) < 200  # not padded to the width
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console().width == 100  # an explicit width is honoured


def test_etiquette_checks_have_plain_words():
    from mailwatch.core.etiquette import check_etiquette

    for body in ("hey buddy!!! URGENT PRICE [NAME]\n", "Dear Ana,\n\nThank you.\n\nElena\n"):
        findings = check_etiquette("Re: Offer", body, name="Ana Popescu", signature="Elena")
        assert {f.code for f in findings} == set(PASSED_WORDS) == set(PROBLEM_WORDS)
    words = " ".join([*PASSED_WORDS.values(), *PROBLEM_WORDS.values()])
    for jargon in ("familiar,", "caps", "placeholders"):
        assert jargon not in words


def test_articles():
    assert with_article("acknowledgment") == "an acknowledgment"
    assert with_article("decline") == "a decline"
    assert with_article("follow-up") == "a follow-up"


def test_the_queue_puts_the_longest_waiting_client_first(tmp_path):
    from mailwatch.config import settings_from_values
    from mailwatch.drafts.service import DraftService
    from mailwatch.store.db import make_engine, session_factory, upgrade
    from mailwatch.store.models import Draft, Mailbox, Thread

    cfg = settings_from_values(
        {
            "MAILWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}",
            "MAILWATCH_IMAP_HOST": "imap.example.com",
            "MAILWATCH_IMAP_USERNAME": "sales@example.com",
            "MAILWATCH_IMAP_PASSWORD": "x",
        }
    )
    engine = make_engine(cfg.database_url)
    upgrade(engine)
    factory = session_factory(engine)
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with factory() as session:
        box = Mailbox(name="main")
        session.add(box)
        session.flush()
        # thread 1: the client wrote 1 hour ago; thread 2: 3 days ago; thread 3: nobody waits
        waits = [timedelta(hours=1), timedelta(days=3), None]
        threads = []
        for wait in waits:
            thread = Thread(mailbox_id=box.id, waiting_since=now - wait if wait else None)
            session.add(thread)
            threads.append(thread)
        session.flush()
        # drafts written in the order 1, 2, 3: oldest draft is for the newest question
        for n, thread in enumerate(threads):
            session.add(
                Draft(
                    mailbox_id=box.id,
                    thread_id=thread.id,
                    kind="acknowledgment",
                    language="en",
                    message_id=f"<d{n}@example.com>",
                    created_at=now + timedelta(minutes=n),
                )
            )
        session.commit()
        order = [threads[1].id, threads[0].id, threads[2].id]
    listed = DraftService(factory, cfg).list("pending")
    assert [d.thread_id for d in listed] == order


def test_the_demo_sink_prints_subjects_as_written():
    from email.header import Header

    from mailwatch.demo import decoded_subject

    encoded = Header("Re: Запрос цены: профиль АП-60", "utf-8").encode()
    assert encoded.startswith("=?utf-8?")
    assert decoded_subject(encoded) == "Re: Запрос цены: профиль АП-60"
    assert decoded_subject("Plain subject") == "Plain subject"


def test_the_demo_prints_a_command_that_runs_as_printed(monkeypatch, tmp_path):
    from mailwatch.demo import mailwatch_command

    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "mailwatch"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    assert mailwatch_command() == ".venv/bin/mailwatch"  # not on PATH: the path that was used
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert mailwatch_command() == "mailwatch"  # on PATH: the bare name works
    monkeypatch.setattr(sys, "argv", ["-m", "demo"])
    assert mailwatch_command() == f"{sys.executable} -m mailwatch"
