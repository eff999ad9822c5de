"""Language detection among the four template languages, and the thread's language."""

from __future__ import annotations

import pytest

from mailwatch.core import language as language_mod
from mailwatch.core.language import detect_language, thread_language

EN = [
    "Thank you for the proposal, we will review it with our team this week.",
    "Could you please send us the updated price list?",
    "We would like to schedule a call on Tuesday to discuss the contract.",
    "Please find attached the signed agreement.",
    "Unfortunately we have decided not to proceed with the project.",
    "Thanks!",
    "Thank you, we no longer need it.",
    "When can we expect the delivery?",
    "Sounds good, let's go ahead.",
    "Hi Maria, any update on the invoice?",
]
RU = [
    "Спасибо!",
    "Добрый день! Пришлите, пожалуйста, коммерческое предложение.",
    "Виктор Семенович, договор подписан, высылаем скан.",
    "Когда будет готов макет?",
    "Спасибо, мы решили отказаться от проекта.",
    "Ок, договорились.",
    "Прошу выставить счет на оплату.",
    "Добрый день",
    "Нас устраивают условия, ждем счет.",
    "Да",
]
RO = [
    "Mulțumesc!",
    "Multumesc!",
    "Bună ziua, vă rog să ne trimiteți oferta actualizată.",
    "Buna ziua, va rog sa ne trimiteti oferta pana vineri.",  # no diacritics
    "Am primit factura, mulțumim.",
    "Avem nevoie de contractul semnat până luni.",
    "Nu mai avem nevoie de serviciile dumneavoastră, mulțumim.",
    "Când putem programa o întâlnire?",
    "Ne puteti trimite lista de preturi?",  # no diacritics
    "Sunt de acord cu propunerea.",
    "Va multumim pentru colaborare",  # no diacritics
    "Factura a fost achitată.",  # "factura" is Spanish too
]
ES = [
    "¡Gracias!",
    "Gracias",
    "Buenos días, ¿podrían enviarnos el presupuesto actualizado?",
    "Le enviamos el contrato firmado.",
    "Necesitamos la factura antes del viernes.",  # "factura" is Romanian too
    "Gracias, ya no lo necesitamos.",
    "¿Cuándo podemos programar una reunión?",
    "Estamos de acuerdo con la propuesta.",
    "La factura ya fue pagada.",
    "Saludos cordiales, Juan Pérez",
    "Necesitamos la oferta para mañana",  # "oferta" is Romanian too
    "Por favor, confirme la fecha de entrega.",
]
CASES = (
    [(t, "en") for t in EN]
    + [(t, "ru") for t in RU]
    + [(t, "ro") for t in RO]
    + [(t, "es") for t in ES]
)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_detects_business_sentences(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "OK",
        "Ok",
        "Si",  # Romanian "and"/"yes", Spanish "if"
        "Da",
        "123 456 789",
        "?!",
        "https://example.com/offer?id=42",
        "maria@example.com",
        "Factura",  # Romanian and Spanish alike
        "Hello",  # too close to call among four languages
    ],
)
def test_undecidable_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_cyrillic_is_russian_without_a_model_when_only_russian_is_cyrillic() -> None:
    assert detect_language("Ок") == "ru"
    assert detect_language("Привет, Maria!") == "ru"
    # Russian not allowed: a Latin-script model would only guess.
    assert detect_language("Спасибо большое за ответ", allowed=("en", "es")) is None


def test_allowed_languages_limit_the_answer() -> None:
    text = "Bună ziua, vă rog să ne trimiteți oferta actualizată."
    assert detect_language(text, allowed=("en", "ro")) == "ro"
    assert detect_language(text, allowed=("RO",)) == "ro"
    assert detect_language(text, allowed=()) is None


def test_unknown_language_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="xx"):
        detect_language("hello there", allowed=("en", "xx"))


def test_detector_is_built_once_per_language_set() -> None:
    first = language_mod._detector(frozenset({"en", "es"}))
    assert language_mod._detector(frozenset({"es", "en"})) is first
    assert language_mod._detector(frozenset({"en", "ro"})) is not first


def test_long_text_is_truncated_but_detected() -> None:
    text = "Necesitamos la factura antes del viernes. " * 500
    assert detect_language(text) == "es"


def test_urls_and_addresses_do_not_sway_detection() -> None:
    text = "Vă mulțumim! Detalii: https://www.example.com/the/best/offer/ana@example.com"
    assert detect_language(text) == "ro"


@pytest.mark.parametrize(
    ("langs", "default", "expected"),
    [
        ([], "en", "en"),
        ([None, None], "ru", "ru"),
        (["ru"], "en", "ru"),
        (["ru", "ru", "en"], "en", "en"),  # the newest message decides
        (["es", None], "en", "es"),  # a short "OK" does not reset the language
        (["ro", "es", None, None], "en", "es"),
    ],
)
def test_thread_language(langs: list[str | None], default: str, expected: str) -> None:
    assert thread_language(langs, default=default) == expected


# --- cases found by the evaluation set (tests/data/eval) ------------------------------------

SIGNATURE = (
    "Best regards,\nElena Rusu\nSales Manager | Nordpack SRL\nstr. Uzinelor 19, Chișinău, "
    "Moldova\n+373 22 84 15 20 | www.nordpack.md"
)


def test_signature_with_a_foreign_address_does_not_sway_a_short_mail() -> None:
    body = "Hi Peter,\n\ngreat, thank you for letting me know. Have a nice weekend!\n\n"
    assert detect_language(body + SIGNATURE) == "en"


def test_without_signature() -> None:
    body = "Hi Peter,\n\nthe samples go out today by DHL.\n\n"
    assert language_mod.without_signature(body + SIGNATURE) == body + "Best regards,"
    # the "-- " delimiter goes with the signature
    text = "Thanks, we will review the offer next week.\n-- \nSarah Whitmore\nBrightwell Foods"
    assert language_mod.without_signature(text) == "Thanks, we will review the offer next week."
    # too little text above the closing formula: keep everything
    assert language_mod.without_signature("OK.\nСпасибо!\nПришлю завтра.") == (
        "OK.\nСпасибо!\nПришлю завтра."
    )
    # a long tail after the formula is not a signature
    long_tail = "Regards,\n" + "\n".join(f"line {i}" for i in range(12))
    assert language_mod.without_signature("Some text long enough to count.\n" + long_tail) == (
        "Some text long enough to count.\n" + long_tail
    )
