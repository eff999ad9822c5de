"""The interface language's pieces: choosing it (switch, UI_LANGUAGE, Accept-Language),
plural forms, and Babel dates and durations in it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwatch import i18n
from mailwatch.config import ConfigError, settings_from_values
from mailwatch.web.app import request_language
from mailwatch.web.render import age, business_minutes, local_time

BASE = {"MAILWATCH_IMAP_HOST": "imap.example.com", "MAILWATCH_IMAP_USERNAME": "s@example.com"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("de-DE,de;q=0.9,es;q=0.5,en;q=0.4", "es"),
        ("en;q=0.3, ro;q=0.8", "ro"),
        ("mo", "ro"),
        ("de, fr;q=0.5", None),
        ("ru;q=0, es", "es"),
        ("", None),
        (None, None),
        ("garbage;;;q=abc,,", None),
    ],
)
def test_best_language_from_accept_language(header: str | None, expected: str | None):
    assert i18n.best_language(header) == expected


def test_the_switch_beats_the_setting_which_beats_the_browser():
    assert request_language("es", "ru", "ro") == "es"
    assert request_language(None, "ru", "ro-RO") == "ru"
    assert request_language(None, None, "ro-RO,en;q=0.5") == "ro"
    assert request_language("xx", None, "de") == "en"  # a forged cookie is ignored


@given(st.text(max_size=80))
def test_any_accept_language_header_gives_a_language_we_speak_or_none(header: str):
    assert i18n.best_language(header) in (None, *i18n.UI_LANGUAGES)


def test_ui_language_setting_per_mailbox():
    settings = settings_from_values(
        {
            **BASE,
            "MAILWATCH_MAILBOXES": "main,support",
            "MAILWATCH_UI_LANGUAGE": "ru",
            "MAILWATCH_SUPPORT_UI_LANGUAGE": "es",
            "MAILWATCH_SUPPORT_IMAP_USERNAME": "support@example.com",
        }
    )
    assert [m.value("UI_LANGUAGE") for m in settings.mailboxes] == ["ru", "es"]
    assert settings_from_values(BASE).mailboxes[0].value("UI_LANGUAGE") is None
    with pytest.raises(ConfigError, match=r"UI_LANGUAGE.*expected one of en, ru, ro, es"):
        settings_from_values({**BASE, "MAILWATCH_UI_LANGUAGE": "de"})


def test_three_plural_forms_in_russian_and_romanian():
    with i18n.use_language("ru"):
        assert [i18n.ngettext("%(num)d thread", "%(num)d threads", n) for n in (1, 3, 11)] == [
            "1 переписка",
            "3 переписки",
            "11 переписок",
        ]
    with i18n.use_language("ro"):
        assert i18n.ngettext("%(num)d thread", "%(num)d threads", 25) == "25 de conversații"
    assert i18n.ngettext("%(num)d thread", "%(num)d threads", 1) == "1 thread"


def test_the_language_is_scoped_and_unknown_codes_speak_english():
    with i18n.use_language("es"):
        assert i18n.gettext("Settings") == "Configuración"
        with i18n.use_language("de"):
            assert i18n.current() == "en" and i18n.gettext("Settings") == "Settings"
        assert i18n.current() == "es"
    assert i18n.current() == "en"


def test_dates_times_and_durations_in_the_language_and_zone():
    when = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)
    chisinau = ZoneInfo("Europe/Chisinau")
    assert local_time(when, chisinau) == "2026-11-23 14:05"  # English: the ISO the CLI shows
    expected = {
        "ru": "23 нояб. 2026\u00a0г., 14:05",
        "ro": "23 nov. 2026, 14:05",
        "es": "23 nov 2026, 14:05",
    }
    for lang, text in expected.items():
        with i18n.use_language(lang):
            assert local_time(when, chisinau) == text
    with i18n.use_language("ru"):
        assert i18n.duration(125) == "2\u00a0ч 05\u00a0мин"
        assert i18n.wall_duration(3 * 1440 + 60) == "3\u00a0д 1\u00a0ч"
        assert business_minutes(90) == "1 ч 30 мин"
        assert age(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)) == (
            "3 дн."
        )
    assert i18n.duration(125) == "2h 05m"


def test_identifiers_stay_english_and_labels_are_translated():
    with i18n.use_language("ro"):
        assert i18n.label("awaiting_us") == "așteaptă răspunsul nostru"
        assert i18n.label("follow_up") == "revenire"
        assert i18n.label("something_new") == "something new"
