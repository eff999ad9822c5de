"""Forms of address: gender from our Sent mail, the client's words, the name list; register."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.address import (
    detect_register,
    gender_from_our_greetings,
    gender_from_text,
    resolve_gender,
)
from mailwatch.core.drafting import build_draft_inputs
from mailwatch.core.etiquette import check_draft
from mailwatch.drafts.render import render_draft
from mailwatch.drafts.service import gender_of_first_name

ZONE = ZoneInfo("Europe/Chisinau")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)


def _draft(language: str, name: str, email: str, text: str = "", earlier: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    inputs = build_draft_inputs(
        "clarify",
        language=language,
        thread_subject="Oferta",
        counterpart_email=email,
        counterpart_name=name,
        counterpart_signature_text=text,
        sender_name="Elena Rusu",
        signature="Elena Rusu\n+373 22 000 000",
        timezone="Europe/Chisinau",
        now=NOW,
        our_earlier_texts=earlier,
        gender_lookup=gender_of_first_name,
    )
    return inputs, render_draft(inputs)


def test_our_sent_mail_comes_first() -> None:
    # the name list says Andrea is ambiguous; we greeted her as "doamnă" before
    inputs, draft = _draft(
        "ro",
        "Andrea Munteanu",
        "andrea@firma.md",
        earlier=("Bună ziua, doamnă Munteanu,\n\nVă trimit oferta.",),
    )
    assert inputs.gender == "f" and inputs.gender_source == "sent"
    assert draft.body_text.startswith("Bună ziua, doamnă Munteanu,\n")


def test_sent_mail_to_someone_else_does_not_count() -> None:
    evidence = gender_from_our_greetings(["Bună ziua, domnule Ionescu,"], surname="Munteanu")
    assert evidence.gender is None


def test_inconsistent_sent_mail_is_silent() -> None:
    texts = ["Estimada Sra. Gil:\n", "Estimado Sr. Gil:\n"]
    assert gender_from_our_greetings(texts).gender is None


@pytest.mark.parametrize(
    ("language", "text", "gender"),
    [
        ("ru", "Я хотела уточнить сроки поставки.", "f"),
        ("ru", "Буду благодарен за быстрый ответ.", "m"),
        ("ro", "Sunt interesată de pungi doypack.", "f"),
        ("ro", "Aș fi recunoscător pentru o ofertă.", "m"),
        ("es", "Quedo atenta a sus comentarios.", "f"),
        ("es", "Quedo atento a su respuesta.", "m"),
        ("es", "Quedamos a la espera.", None),
        ("en", "I would be grateful for a quote.", None),
    ],
)
def test_gender_from_the_clients_own_words(language: str, text: str, gender: str | None) -> None:
    assert gender_from_text(text, language).gender == gender


def test_the_clients_words_beat_the_name_list() -> None:
    inputs, draft = _draft("es", "Alex Romero", "alex@olmo.es", "Quedo atenta a su respuesta.")
    assert inputs.gender == "f" and inputs.gender_source == "text"
    assert draft.body_text.startswith("Estimada Sra. Romero:\n")


def test_the_name_list_last() -> None:
    inputs, draft = _draft("ro", "Ion Ionescu", "ion@firma.md", "Aștept oferta.")
    assert inputs.gender == "m" and inputs.gender_source == "name list"
    assert draft.body_text.startswith("Bună ziua, domnule Ionescu,\n")


def test_neutral_only_when_everything_is_silent() -> None:
    inputs, draft = _draft("es", "Alex Romero", "alex@olmo.es", "Necesitamos cajas.")
    assert inputs.gender is None
    assert draft.body_text.startswith("Buenos días, Alex:\n")
    inputs, draft = _draft("ro", "Alex Munteanu", "alex@firma.md", "Avem nevoie de cutii.")
    assert draft.body_text.startswith("Bună ziua,\n")
    assert check_draft(draft)[0].level == "ok"  # neutral on purpose, not a shortcoming


def test_a_title_is_never_put_before_a_first_name() -> None:
    _inputs, draft = _draft("ro", "Andrei", "andrei@firma.md", "Salut")
    assert "domnule Andrei" not in draft.body_text


def test_spanish_title_with_one_word_is_a_surname() -> None:
    inputs, draft = _draft("es", "Sra. López", "lopez@olmo.es")
    assert inputs.surname == "López" and inputs.gender == "f"
    assert draft.body_text.startswith("Estimada Sra. López:\n")


@pytest.mark.parametrize(
    ("language", "text", "register"),
    [
        ("ru", "Привет! Скинь, пожалуйста, прайс, можешь сегодня?", "informal"),
        ("ru", "Добрый день! Пришлите, пожалуйста, прайс.", "formal"),
        ("ro", "Salut, poți să-mi trimiți oferta? Mersi", "informal"),
        ("ro", "Vă rog să ne trimiteți oferta.", "formal"),
        ("es", "Hola Elena, ¿me puedes enviar el precio? Gracias", "informal"),
        ("es", "Hola, ¿podría enviarnos el precio? Le agradecería una respuesta.", "formal"),
        ("en", "hey, send me the price", "formal"),
    ],
)
def test_register(language: str, text: str, register: str) -> None:
    assert detect_register(text, language).register == register


def test_informal_client_gets_tu_in_spanish_but_never_more_familiar() -> None:
    _inputs, draft = _draft(
        "es", "María López", "maria@olmo.es", "Hola Elena, ¿me puedes pasar precios?"
    )
    assert draft.body_text.startswith("Hola, María:\n")
    assert "¿podrías indicarme" in draft.body_text
    _inputs, draft = _draft(
        "es", "María López", "maria@olmo.es", "Buenos días, ¿podría enviarnos precios?"
    )
    assert "¿podría indicarme" in draft.body_text


@given(st.text(max_size=300), st.sampled_from(["en", "ru", "ro", "es"]))
def test_register_and_gender_never_fail(text: str, language: str) -> None:
    assert detect_register(text, language).register in ("formal", "informal")
    assert gender_from_text(text, language).gender in (None, "f", "m")
    assert resolve_gender(from_text=gender_from_text(text, language)).gender in (None, "f", "m")
