"""The digest in the interface language: a real SQLite store and tracker (as in
test_digest_data), UI_LANGUAGE=ru/ro/es, then the subject, the text and the HTML as sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from test_digest_data import Store, inbound

from mailwatch.digest.render import build_email, render_chart, render_html, render_text

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # a Thursday: a client waiting 2 days is overdue


def digest_of(tmp_path: Path, overdue: int, language: str):
    store = Store(tmp_path, ui_language=language)
    try:
        for n in range(overdue):
            at = NOW - timedelta(days=2, hours=n)
            store.thread(f"Вопрос {n}", f"Клиент {n}", f"c{n}@client{n}.test", inbound(at))
        store.track()
        return store.digest(NOW), store.settings
    finally:
        store.close()


@pytest.mark.parametrize(
    ("count", "phrase"),
    [
        (1, "1 просроченная переписка"),
        (2, "2 просроченные переписки"),
        (5, "5 просроченных переписок"),
    ],
)
def test_a_russian_digest_uses_the_three_plural_forms(tmp_path: Path, count: int, phrase: str):
    digest, settings = digest_of(tmp_path, count, "ru")
    assert digest.language == "ru" and digest.overdue_count == count
    message = build_email(digest, settings, "sales@example.com", "boss@example.com")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    subject = str(parsed["Subject"])
    assert subject.startswith("Сводка mailwatch: ")
    assert f" {phrase}, 0 черновиков ждут одобрения" in subject
    others = {"1 просроченная переписка", "2 просроченные переписки", "5 просроченных переписок"}
    assert not any(other in subject for other in others - {phrase})
    text = render_text(digest)
    assert f"ПРОСРОЧЕНО ({count})" in text
    assert text.count("  ждёт ") == count  # "ждёт 1 ч 00 мин" on each row
    assert "ч" in digest.overdue[0].wait and "h" not in digest.overdue[0].wait
    html = render_html(digest)
    assert f"Просрочено ({count})" in html and '<html lang="ru">' in html
    for english in ("waiting", "overdue", "Drafts to approve", "as of", "none", "this week"):
        assert english not in text and english not in html, english


@pytest.mark.parametrize(
    ("language", "count", "phrase"),
    [
        ("ro", 1, "1 conversație întârziată"),
        ("ro", 2, "2 conversații întârziate"),
        ("ro", 20, "20 de conversații întârziate"),
        ("es", 1, "1 conversación fuera de plazo"),
        ("es", 3, "3 conversaciones fuera de plazo"),
    ],
)
def test_romanian_and_spanish_subjects(tmp_path: Path, language: str, count: int, phrase: str):
    digest, _settings = digest_of(tmp_path, count, language)
    assert phrase in digest.subject_line()


def test_dates_and_durations_follow_the_language_and_the_time_zone(tmp_path: Path):
    store = Store(tmp_path, ui_language="ru", timezone="Europe/Moscow")
    try:
        store.thread("Цены", "Клиент", "c@client.test", inbound(NOW - timedelta(days=2)))
        store.track()
        digest = store.digest(NOW)
    finally:
        store.close()
    text = render_text(digest)
    # 17:00 UTC is 20:00 in Moscow; Babel's Russian medium date
    assert "на 26 нояб. 2026\u00a0г., 20:00" in text
    assert "эта неделя" in text and "прошлая неделя" in text


def test_english_stays_the_default(tmp_path: Path):
    digest, _settings = digest_of(tmp_path, 2, "en")
    assert digest.language == "en"
    assert "mailwatch digest: " in digest.subject_line() and " 2 overdue, " in digest.subject_line()


def test_the_chart_is_drawn_in_the_language(tmp_path: Path):
    """The same figures, drawn with the Russian captions (a font with Cyrillic letters)."""
    russian, _settings = digest_of(tmp_path, 1, "ru")
    english = replace(russian, language="en")
    assert render_chart(russian) != render_chart(english)
