"""Errors, the settings' help and the CLI's check words in the interface language (issue #18).

The messages are formatted when raised, in the language in force; English stays exactly what
it was (tests, logs and scripts compare it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailwatch.config import SETTINGS, env_language, settings_from_values
from mailwatch.core.etiquette import PROBLEM_WORDS
from mailwatch.errors import ConfigError
from mailwatch.i18n import _, use_language
from mailwatch.i18n_text import problem_word
from mailwatch.web.routes.settings import setting_help

BASE = {
    "MAILWATCH_IMAP_HOST": "imap.example.com",
    "MAILWATCH_IMAP_USERNAME": "sales@example.com",
    "MAILWATCH_IMAP_PASSWORD": "x",
}


def config_error(language: str, **values: str) -> str:
    with use_language(language), pytest.raises(ConfigError) as caught:
        settings_from_values({**BASE, **values})
    return caught.value.user_line


def test_config_errors_keep_english_and_the_key_names():
    assert config_error("en", MAILWATCH_REPLY_SLAA="4h") == (
        "config: MAILWATCH_REPLY_SLAA: unknown setting; did you mean MAILWATCH_REPLY_SLA?"
    )
    assert config_error("ru", MAILWATCH_REPLY_SLAA="4h") == (
        "config: MAILWATCH_REPLY_SLAA: неизвестная настройка; может быть, MAILWATCH_REPLY_SLA?"
    )
    assert config_error("en", MAILWATCH_SEND_RATE="0") == (
        "config: MAILWATCH_SEND_RATE: '0' is not valid: expected a whole number from 1 to 10000"
    )
    assert config_error("ro", MAILWATCH_SEND_RATE="0") == (
        "config: MAILWATCH_SEND_RATE: valoare nevalidă '0': se așteaptă un număr întreg de la 1 "
        "la 10000"
    )
    assert config_error("es", MAILWATCH_DRAFTS_TO_MAILBOX="si") == (
        "config: MAILWATCH_DRAFTS_TO_MAILBOX: valor no válido 'si': se espera true o false"
    )
    # an extra mailbox's key for a mailbox not listed: the key names are kept as written
    assert config_error("ru", MAILWATCH_SUPPORT_IMAP_HOST="imap.example.com") == (
        "config: MAILWATCH_SUPPORT_IMAP_HOST: неизвестная настройка; ящика 'support' нет в "
        "MAILWATCH_MAILBOXES (main): добавьте его туда, чтобы настроить этот ящик"
    )


def test_a_missing_mailbox_setting_in_russian():
    values = {k: v for k, v in BASE.items() if k != "MAILWATCH_IMAP_HOST"}
    with use_language("ru"):
        problems = settings_from_values(values).problems
    assert [p.user_line for p in problems] == [
        "config: MAILWATCH_IMAP_HOST: не задан: IMAP-сервер, за которым следить"
    ]


def test_env_language_reads_the_environment_then_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MAILWATCH_UI_LANGUAGE", raising=False)
    env = tmp_path / ".env"
    assert env_language(env) is None  # no file
    env.write_text("MAILWATCH_UI_LANGUAGE=RU\n")
    assert env_language(env) == "ru"
    monkeypatch.setenv("MAILWATCH_UI_LANGUAGE", "es")
    assert env_language(env) == "es"  # the environment wins, as for every key
    monkeypatch.setenv("MAILWATCH_UI_LANGUAGE", "klingon")
    assert env_language(env) is None  # checked later by the settings, English meanwhile
    monkeypatch.delenv("MAILWATCH_UI_LANGUAGE")
    env.write_bytes(b"MAILWATCH_UI_LANGUAGE=\xff\xfe\n")
    assert env_language(env) is None
    assert env_language(None) is None
    assert env_language(Path(tmp_path)) is None  # a directory, not a file


@pytest.mark.parametrize("lang", ["ru", "ro", "es"])
def test_every_setting_has_its_help_translated(lang):
    with use_language(lang):
        untranslated = [s.key for s in SETTINGS if _(s.help) == s.help]
        helps = {s.key: setting_help(s) for s in SETTINGS}
    assert untranslated == []
    assert all("REQUIRED" not in text for text in helps.values())  # the capitals too


def test_english_help_is_the_table_s_own():
    with use_language("en"):
        for setting in SETTINGS:
            assert setting_help(setting) == f"{setting.help} ({setting.type})"


def test_problem_words_follow_the_core_and_the_language():
    with use_language("en"):
        assert {code: problem_word(code) for code in PROBLEM_WORDS} == PROBLEM_WORDS
        assert problem_word("new-check") == "new-check"
    with use_language("ru"):
        assert problem_word("greeting") == "проверьте приветствие"
        assert problem_word("signature") == "нет подписи"
        assert all(problem_word(code) != english for code, english in PROBLEM_WORDS.items())
