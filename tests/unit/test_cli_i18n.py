"""The command line's tables and confirmations speak UI_LANGUAGE (issue #18); JSON keys,
identifiers and the default English output stay as they were."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailwatch import i18n
from mailwatch.cli import app


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    """No MAILWATCH_* from the caller; logging and the language put back afterwards."""
    for key in [k for k in os.environ if k.startswith("MAILWATCH_")]:
        monkeypatch.delenv(key)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    i18n.set_language(None)


def _env(tmp_path: Path, language: str | None) -> Path:
    env = tmp_path / "test.env"
    lines = [
        f"MAILWATCH_DATABASE_URL=sqlite:///{tmp_path / 'mw.db'}",
        "MAILWATCH_IMAP_HOST=imap.example.com",
        "MAILWATCH_IMAP_USERNAME=sales@example.com",
        "MAILWATCH_IMAP_PASSWORD=x",
        "MAILWATCH_TIMEZONE=Europe/Chisinau",
    ]
    if language:
        lines.append(f"MAILWATCH_UI_LANGUAGE={language}")
    env.write_text("\n".join(lines) + "\n")
    env.chmod(0o600)
    return env


def _run(env: Path, *args: str):
    return CliRunner().invoke(app, ["--env-file", str(env), *args])


def test_tables_and_confirmations_in_russian(tmp_path):
    env = _env(tmp_path, "ru")
    done = _run(env, "init")
    assert done.exit_code == 0, done.output
    assert "настройки в порядке: ящики main" in done.stdout

    threads = _run(env, "threads", "--now", "2026-11-30T10:00:00+02:00")
    assert threads.exit_code == 0, threads.output
    title = threads.stdout.splitlines()[0]
    assert title.strip() == "переписки (all) на 2026-11-30 10:00, время Europe/Chisinau"
    for header in ("№", "состояние", "задержка", "клиент", "тема", "язык", "последнее входящее"):
        assert header in threads.stdout
    assert "conversations" not in threads.stdout and "last in" not in threads.stdout

    promises = _run(env, "promises", "--now", "2026-11-30T10:00:00+02:00")
    assert promises.exit_code == 0, promises.output
    assert "обещания на 2026-11-30 10:00, время Europe/Chisinau" in promises.stdout
    assert "срок" in promises.stdout and "источник" in promises.stdout

    queue = _run(env, "drafts", "list")
    assert queue.exit_code == 0, queue.output
    assert "черновики, которые ждут вашего решения (0)" in queue.stdout

    missing = _run(env, "thread", "close", "999")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("ошибка: ")  # the label; the message is the domain's


def test_json_stays_english_in_russian(tmp_path):
    env = _env(tmp_path, "ru")
    assert _run(env, "init").exit_code == 0
    listed = _run(env, "workers", "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    nobody = _run(env, "workers")
    assert nobody.stdout.strip() == "ни один обработчик не запущен (mailwatch run)"


def test_english_stays_as_it_was(tmp_path):
    env = _env(tmp_path, None)
    done = _run(env, "init")
    assert "configuration OK: mailbox(es) main" in done.stdout
    threads = _run(env, "threads", "--now", "2026-11-30T10:00:00+02:00")
    title = threads.stdout.splitlines()[0].strip()
    assert title == "conversations (all) as of 2026-11-30 10:00, times in Europe/Chisinau"
    assert "last in" in threads.stdout and "last out" in threads.stdout
    queue = _run(env, "drafts", "list")
    assert "the drafts that need you (0), longest-waiting client first" in queue.stdout
