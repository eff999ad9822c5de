"""A Russian team's digest end to end: real Dovecot mail, `sync --once`, then the real
`mailwatch digest --print|--json|--send` processes with UI_LANGUAGE=ru; the message received
by a real aiosmtpd server is in Russian (subject, text, HTML); the JSON's identifiers stay
English."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.integration.test_cli import mailwatch, write_env
from tests.integration.test_digest import NOW, load_mail, smtp_server  # noqa: F401


def test_a_russian_digest_from_the_real_processes(imap_user, tmp_path, smtp_server):  # noqa: F811
    controller, inbox = smtp_server
    load_mail(imap_user)
    env = write_env(
        tmp_path,
        imap_user,
        internal_domains="example.com",
        timezone="Europe/Moscow",
        reply_sla="4h",
        digest_to="boss@example.com",
        smtp_host="127.0.0.1",
        smtp_port=str(controller.port),
        smtp_security="none",
        web_secret="digest-secret",
        ui_language="ru",
    )
    assert mailwatch(env, "init").returncode == 0
    synced = mailwatch(env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr

    printed = mailwatch(env, "digest", "--print", "--now", NOW)
    assert printed.returncode == 0, printed.stderr
    assert "Сводка mailwatch: " in printed.stdout
    assert "1 просроченная переписка" in printed.stdout
    assert "просрочено (1), рабочее время" in printed.stdout
    assert "Ana Popescu" in printed.stdout
    assert "overdue" not in printed.stdout

    data = json.loads(mailwatch(env, "digest", "--json", "--now", NOW).stdout)
    assert data["language"] == "ru"
    assert set(data["counts"]) >= {"overdue", "drafts", "promises_due"}  # keys stay English
    assert [s["status"] for s in data["sync"]] == ["ok"]  # identifiers stay English

    sent = mailwatch(env, "digest", "--send", "--now", NOW)
    assert sent.returncode == 0, sent.stderr
    ((_from, _to, raw),) = inbox.received
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert str(message["Subject"]).startswith("Сводка mailwatch: ")
    assert "1 просроченная переписка" in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "ПРОСРОЧЕНО (1)" in text and "ждёт 11\u00a0ч 00\u00a0мин" in text
    # 12:00 UTC is 15:00 in Moscow, written the Russian way
    assert "на 23 нояб. 2026\u00a0г., 15:00" in text
    assert '<html lang="ru">' in html and "Просрочено (1)" in html
