"""The command line's one-line errors in the interface language, through the real ``mailwatch``
process (issue #18): the ``error:`` label *and* the message, for the mistakes people make
(a wrong option value, an unknown id, no database yet, a misspelled setting). Exit codes, the
option and key names, and JSON stay as they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_msg
from tests.integration.test_cli import mailwatch, write_env


def plain_env(tmp_path: Path, language: str | None, **extra: str) -> Path:
    """Settings for commands that never reach a mail server."""
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'mw.db'}",
        "IMAP_HOST": "imap.example.com",
        "IMAP_USERNAME": "sales@example.com",
        "IMAP_PASSWORD": "x",
        **({"UI_LANGUAGE": language} if language else {}),
        **{k.upper(): v for k, v in extra.items()},
    }
    env = tmp_path / "test.env"
    env.write_text("".join(f"MAILWATCH_{k}={v}\n" for k, v in values.items()))
    env.chmod(0o600)
    return env


def one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one clear line, no traceback
    return lines[0]


# A wrong option value is refused before the settings are loaded: still in the team's language.
BAD_STATE = {
    "en": "error: --state: 'nonsense' is not one of awaiting_us",
    "ru": "ошибка: --state: 'nonsense' — такого значения нет; возможные: awaiting_us",
    "ro": "eroare: --state: 'nonsense' nu este o valoare permisă; valori posibile: awaiting_us",
    "es": "error: --state: 'nonsense' no es un valor válido; valores posibles: awaiting_us",
}


@pytest.mark.parametrize("lang", ["en", "ru", "ro", "es"])
def test_a_wrong_option_value_in_each_language(tmp_path, lang):
    env = plain_env(tmp_path, None if lang == "en" else lang)
    done = mailwatch(env, "threads", "--state", "nonsense")
    assert done.returncode == 2, done.stderr
    assert one_line(done).startswith(BAD_STATE[lang]), done.stderr
    assert done.stdout == ""


def test_russian_errors_for_the_usual_mistakes(tmp_path):
    env = plain_env(tmp_path, "ru")

    no_db = mailwatch(env, "threads")
    assert no_db.returncode == 2
    assert one_line(no_db) == (
        "ошибка: базы данных нет или она устарела: сначала выполните `mailwatch init`"
    )

    bad_now = mailwatch(env, "promises", "--now", "вчера")
    assert bad_now.returncode == 2
    assert one_line(bad_now) == ("ошибка: --now: 'вчера' — не дата со временем в формате ISO 8601")
    no_offset = mailwatch(env, "promises", "--now", "2026-11-30T10:00:00")
    assert "не хватает смещения от UTC" in one_line(no_offset)

    assert mailwatch(env, "init").returncode == 0
    missing = mailwatch(env, "thread", "close", "999")
    assert missing.returncode == 2
    assert one_line(missing) == "ошибка: переписки с номером 999 нет"

    no_draft = mailwatch(env, "drafts", "approve", "77")
    assert no_draft.returncode == 2
    assert one_line(no_draft) == "ошибка: черновика с номером 77 нет"

    no_promise = mailwatch(env, "promise", "done", "5")
    assert no_promise.returncode == 2
    assert one_line(no_promise) == "ошибка: обещания с номером 5 нет"

    bad_status = mailwatch(env, "drafts", "list", "--status", "maybe")
    assert bad_status.returncode == 2
    assert "'maybe' — такого значения нет; возможные: pending" in one_line(bad_status)


def test_a_misspelled_setting_in_russian_keeps_the_key_names(tmp_path):
    env = plain_env(tmp_path, "ru", reply_slaa="4h")
    done = mailwatch(env, "check")
    assert done.returncode == 2
    assert one_line(done) == (
        "ошибка: config: MAILWATCH_REPLY_SLAA: неизвестная настройка; "
        "может быть, MAILWATCH_REPLY_SLA?"
    )

    bad_value = plain_env(tmp_path, "es", send_rate="lots")
    done = mailwatch(bad_value, "check")
    assert done.returncode == 2
    assert one_line(done) == (
        "error: config: MAILWATCH_SEND_RATE: valor no válido 'lots': "
        "se espera un número entero de 1 a 10000"
    )


def test_the_environment_names_the_language_too(tmp_path):
    """MAILWATCH_UI_LANGUAGE in the environment (a container's) wins over the file, as every key."""
    env = plain_env(tmp_path, "ru")
    done = subprocess.run(
        [sys.executable, "-m", "mailwatch", "--env-file", str(env), "threads", "--state", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MAILWATCH_")},
             "MAILWATCH_UI_LANGUAGE": "ro"},
    )  # fmt: skip
    assert done.returncode == 2
    assert one_line(done).startswith("eroare: --state: 'x' nu este o valoare permisă")


def test_sync_summary_in_russian_and_json_in_english(imap_user, tmp_path):
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(msgid="<q1@acme.test>", subject="Цена на поставку")
    )
    env = write_env(tmp_path, imap_user, ui_language="ru")
    assert mailwatch(env, "init").returncode == 0
    synced = mailwatch(env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    summary = [line for line in synced.stdout.splitlines() if line.startswith("main: ")]
    assert len(summary) == 1, synced.stdout
    assert summary[0].startswith("main: новых писем: 1, изменений флагов: 0 ("), summary[0]
    assert "команд IMAP: " in summary[0] and "new messages" not in summary[0]

    listed = mailwatch(env, "threads", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["state"] for row in rows] == ["awaiting_us"]  # identifiers stay English
    thread = rows[0]["id"]

    made = mailwatch(env, "draft", "acknowledgment", str(thread))
    assert made.returncode == 0, made.stderr
    first = made.stdout.splitlines()[0]
    assert first.startswith("черновик 1 (acknowledgment, "), first  # kinds stay identifiers
    assert first.endswith(f", pending), переписка {thread}"), first
    again = mailwatch(env, "draft", "acknowledgment", str(thread))
    assert again.returncode == 0
    assert again.stderr.startswith(
        f"для переписки {thread} уже есть черновик acknowledgment, который ждёт одобрения"
    ), again.stderr
    shown = mailwatch(env, "drafts", "show", "1", "--json")
    assert json.loads(shown.stdout)[0]["status"] == "pending"  # JSON keys and values English
