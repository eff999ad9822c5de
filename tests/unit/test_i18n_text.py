"""Etiquette findings, needs-reply reasons and `digest --print` in the interface language:
the real checks' English messages rebuilt from the catalogs (identifiers stay English)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from rich.console import Console
from test_digest_render import make_digest

from mailwatch import i18n
from mailwatch.cli.digest_text import print_digest
from mailwatch.core.etiquette import check_etiquette
from mailwatch.i18n_text import finding_code, finding_text, reason_text

SIGNATURE = "Ion Rusu\nSales manager, Acme SRL\n+373 22 000 000"
DRAFTS = [
    ("Re: Prices", "Dear Maria,\n\nThank you, we will send the offer.\n\n" + SIGNATURE, "Maria"),
    ("RE: RE: PRICES FOR THE NEXT YEAR PLEASE", "hey!!! :) cheers [NAME]\n", "Maria"),
    ("", "", None),
    ("Re: x", "Hello,\n\n" + "word " * 400 + "\n" + SIGNATURE, None),
]


@pytest.mark.parametrize("lang", ["ru", "ro", "es"])
def test_every_finding_of_the_real_checks_is_translated(lang: str):
    messages = {
        f.message
        for subject, body, name in DRAFTS
        for f in check_etiquette(subject, body, name=name, signature=SIGNATURE)
    }
    assert len(messages) >= 12
    with i18n.use_language(lang):
        untranslated = [m for m in messages if finding_text(m) == m]
    assert not untranslated


def test_a_russian_finding_counts_words_with_the_right_form():
    with i18n.use_language("ru"):
        assert finding_text("1 words.") == "1 слово."
        assert finding_text("3 words.") == "3 слова."
        assert finding_text("12 words.") == "12 слов."
        assert finding_text("Greets Maria by name.") == "Обращение по имени: Maria."
        assert finding_code("familiar") == "тон"
        assert finding_text("A check nobody listed yet.") == "A check nobody listed yet."
    assert finding_text("12 words.") == "12 words."


def test_needs_reply_reasons():
    with i18n.use_language("es"):
        assert (
            reason_text("from client ana@client.test, waiting since 2026-11-20 10:00")
            == "del cliente ana@client.test, espera desde 2026-11-20 10:00"
        )
        assert reason_text("no client is waiting: from client a@b.test; thanks only (gracias)") == (
            "ningún cliente espera respuesta: del cliente a@b.test; solo agradece (gracias)"
        )
        assert reason_text("sender noreply@x.test") == "remitente automático noreply@x.test"
        assert reason_text("internal sender ion@example.com") == "un compañero: ion@example.com"
        assert reason_text("X-Spam-Flag: YES") == "X-Spam-Flag: YES"  # a header: as it is


def test_digest_print_in_russian():
    buffer = io.StringIO()
    print_digest(replace(make_digest(), language="ru"), Console(file=buffer, width=160))
    text = buffer.getvalue()
    assert "просрочено (1), рабочее время" in text
    assert "черновики на одобрение (1)" in text
    assert "подтверждение получения" in text  # the draft kind, as words
    assert "скорость ответа (рабочее время)" in text
    assert "overdue" not in text and "drafts to approve" not in text


def test_every_passed_check_has_words_in_each_language() -> None:
    """The web page's "Reads well: ..." words: English is core's PASSED_WORDS, the others are
    translated (a check added in core without words here would show English)."""
    from mailwatch.core.etiquette import PASSED_WORDS
    from mailwatch.i18n_text import passed_word

    for code, english in PASSED_WORDS.items():
        with i18n.use_language("en"):
            assert passed_word(code) == english
        for language in ("ru", "ro", "es"):
            with i18n.use_language(language):
                assert passed_word(code) != english, (language, code)


def test_a_kind_keeps_english_articles_and_the_bare_word_elsewhere() -> None:
    from mailwatch.web.pages import a_kind

    with i18n.use_language("en"):
        assert a_kind("acknowledgment") == "An acknowledgment"
        assert a_kind("decline") == "A decline"
    with i18n.use_language("ru"):
        assert a_kind("acknowledgment") == "подтверждение получения"
