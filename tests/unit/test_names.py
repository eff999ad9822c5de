"""Whom to greet: names from display names and signatures; neutral when unsure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.names import Addressee, addressee, name_from_signature

RU_SIGNATURE = (
    "Добрый день!\nДоговор в приложении.\n\nС уважением,\nГладков Виктор Семенович\n"
    "Директор ООО «Ромашка»\n+7 495 000-00-00"
)

# (display name, email, signature text, language, full_name, greeting_name, confident)
CASES: list[tuple[str | None, str, str | None, str, str | None, str | None, bool]] = [
    # --- English
    ("John Smith", "john.smith@acme.com", None, "en", "John Smith", "John", True),
    ('"Smith, John"', "js@acme.com", None, "en", "John Smith", "John", True),
    ("Dr. Maria Garcia-Lopez", "m@x.com", None, "en", "Maria Garcia-Lopez", "Maria", True),
    ("JOHN SMITH", "j@x.com", None, "en", "John Smith", "John", True),
    ("Mr. John O'NEIL", "j@x.com", None, "en", "John O'Neil", "John", True),
    ("John Smith (Acme)", "js@x.com", None, "en", "John Smith", "John", True),
    ("Smith, John, PhD", "js@x.com", None, "en", "John Smith", "John", True),
    ("john smith", "js@x.com", None, "en", "John Smith", "John", True),
    ("J. Smith", "js@x.com", None, "en", "J. Smith", None, False),
    ("Acme Corp", "info@acme.com", None, "en", None, None, False),
    ("Sales Team", "sales@acme.com", None, "en", None, None, False),
    ("Customer Service", "cs@x.com", None, "en", None, None, False),
    ("Acme", "hello@acme.com", None, "en", None, None, False),
    ("", "info@acme.com", None, "en", None, None, False),
    ("john.doe@x.com", "john.doe@x.com", None, "en", None, None, False),
    ("maria.popescu", "maria.popescu@x.ro", None, "en", None, None, False),
    ("", "mp@x.com", "Thanks for the update.\nWe will get back to you.", "en", None, None, False),
    (
        None,
        "maria.popescu@x.ro",
        "Best regards,\nMaria Popescu",
        "en",
        "Maria Popescu",
        "Maria",
        True,
    ),
    (
        "Viktor Semenovich Gladkov",
        "vg@x.com",
        None,
        "en",
        "Viktor Semenovich Gladkov",
        "Viktor Semenovich",
        True,
    ),
    (
        "Natalia Ivanovna Petrova",
        "n@x.com",
        None,
        "en",
        "Natalia Ivanovna Petrova",
        "Natalia Ivanovna",
        True,
    ),
    ("Smith", "js@x.com", None, "en", "Smith", None, False),
    ("Maria", "maria@x.com", None, "en", "Maria", "Maria", True),
    # --- Russian
    (
        "Гладков Виктор Семенович",
        "vg@x.ru",
        None,
        "ru",
        "Гладков Виктор Семенович",
        "Виктор Семенович",
        True,
    ),
    (
        "Виктор Семенович Гладков",
        "vg@x.ru",
        None,
        "ru",
        "Виктор Семенович Гладков",
        "Виктор Семенович",
        True,
    ),
    (
        "ГЛАДКОВ ВИКТОР СЕМЕНОВИЧ",
        "vg@x.ru",
        None,
        "ru",
        "Гладков Виктор Семенович",
        "Виктор Семенович",
        True,
    ),
    ("", "vg@x.ru", RU_SIGNATURE, "ru", "Гладков Виктор Семенович", "Виктор Семенович", True),
    # The signature completes a shorter display name with the patronymic.
    (
        "Виктор Гладков",
        "vg@x.ru",
        RU_SIGNATURE,
        "ru",
        "Гладков Виктор Семенович",
        "Виктор Семенович",
        True,
    ),
    (
        "Иванова Анна Сергеевна",
        "a@x.ru",
        None,
        "ru",
        "Иванова Анна Сергеевна",
        "Анна Сергеевна",
        True,
    ),
    (
        "Абрамович Роман Аркадьевич",
        "r@x.ru",
        None,
        "ru",
        "Абрамович Роман Аркадьевич",
        "Роман Аркадьевич",
        True,
    ),
    (
        "Роман Аркадьевич Абрамович",
        "r@x.ru",
        None,
        "ru",
        "Роман Аркадьевич Абрамович",
        "Роман Аркадьевич",
        True,
    ),
    ("Ольга Ильинична", "o@x.ru", None, "ru", "Ольга Ильинична", "Ольга Ильинична", True),
    ("Смирнова Ирина", "is@x.ru", None, "ru", "Смирнова Ирина", "Ирина", True),
    ("Ильина Марина", "mi@x.ru", None, "ru", "Ильина Марина", "Марина", True),
    ("Gladkov Viktor", "vg@x.com", None, "ru", "Gladkov Viktor", "Viktor", True),
    ("Гладков В.С.", "vg@x.ru", None, "ru", "Гладков В.С.", None, False),
    ("Гладков", "vg@x.ru", None, "ru", "Гладков", None, False),
    ("ООО «Ромашка»", "info@romashka.ru", None, "ru", None, None, False),
    ("Отдел продаж", "sales@x.ru", None, "ru", None, None, False),
    ("Бах Эмиль", "e@x.ru", None, "ru", "Бах Эмиль", "Эмиль", True),
    ("Цой Тагир", "t@x.ru", None, "ru", "Цой Тагир", None, False),  # order unknowable
    # --- Romanian
    ("POPESCU Maria", "mp@x.ro", None, "ro", "Popescu Maria", "Maria", True),
    ("Popescu Ana Maria", "a@x.ro", None, "ro", "Popescu Ana Maria", "Ana Maria", True),
    ("Maria Popescu - Acme SRL", "mp@x.ro", None, "ro", "Maria Popescu", "Maria", True),
    ("Ion Rusu", "ion@x.md", None, "ro", "Ion Rusu", "Ion", True),
    ("Rusu Ion", "ion@x.md", None, "ro", "Rusu Ion", "Ion", True),
    ("Dl. Andrei Ionescu", "ai@x.ro", None, "ro", "Andrei Ionescu", "Andrei", True),
    ("", "office@x.md", "Cu stimă,\nIon Rusu", "ro", "Ion Rusu", "Ion", False),
    (
        "",
        "ir@x.md",
        "Mulțumesc!\n\nIon Rusu\nManager vânzări\n+373 22 000 000",
        "ro",
        "Ion Rusu",
        "Ion",
        True,
    ),
    ("Maria Popescu", "office@x.ro", None, "ro", "Maria Popescu", "Maria", False),  # shared box
    ("Echipa Vânzări", "vanzari@x.ro", None, "ro", None, None, False),
    # --- Spanish
    ("Juan Pérez | Acme", "juan@acme.es", None, "es", "Juan Pérez", "Juan", True),
    ("", "juan@x.es", "Saludos,\nJuan Pérez", "es", "Juan Pérez", "Juan", True),
    (
        "María José García López",
        "mj@x.es",
        None,
        "es",
        "María José García López",
        "María José",
        True,
    ),
    (
        "García López, María José",
        "mj@x.es",
        None,
        "es",
        "María José García López",
        "María José",
        True,
    ),
    ("Juan Pérez García", "jp@x.es", None, "es", "Juan Pérez García", "Juan", True),
    ("Ing. Carlos Méndez", "cm@x.mx", None, "es", "Carlos Méndez", "Carlos", True),
    (
        "Juan Pérez García, Director Comercial",
        "jp@x.es",
        None,
        "es",
        "Juan Pérez García",
        "Juan",
        True,
    ),
    ("Equipo de Ventas", "ventas@x.es", None, "es", None, None, False),
    (
        "",
        "lm@x.es",
        "Un cordial saludo,\n\nLucía Martín\nResponsable de compras",
        "es",
        "Lucía Martín",
        "Lucía",
        True,
    ),
]


@pytest.mark.parametrize(
    ("display", "email", "signature", "language", "full", "greeting", "confident"), CASES
)
def test_addressee(
    display: str | None,
    email: str,
    signature: str | None,
    language: str,
    full: str | None,
    greeting: str | None,
    confident: bool,
) -> None:
    assert addressee(display, email, signature, language) == Addressee(full, greeting, confident)


def test_table_covers_four_languages() -> None:
    assert len(CASES) >= 25
    for lang in ("en", "ru", "ro", "es"):
        assert sum(1 for c in CASES if c[3] == lang) >= 6


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Best regards,\nMaria Popescu", "Maria Popescu"),
        ("Kind regards, Anna Smith", "Anna Smith"),
        ("Thanks,\n\n\nKate Brown\nHead of Procurement\nAcme Ltd", "Kate Brown"),
        ("С уважением,\nГладков Виктор Семенович", "Гладков Виктор Семенович"),
        ("Спасибо!\n-- \nМария Иванова", "Мария Иванова"),
        ("Cu stimă,\nIon Rusu", "Ion Rusu"),
        ("Cu stima,\nION RUSU", "Ion Rusu"),
        ("Saludos,\nJuan Pérez", "Juan Pérez"),
        ("Atentamente,\n- Juan Pérez | Acme", "Juan Pérez"),
        ("Thanks for the quick reply.\nSee you on Monday.", None),
        ("Best regards,\nAcme Sales Team", None),
        ("Best regards,\nSales Manager", None),
        ("Regards,\n+1 555 0100", None),
        ("> Best regards,\n> Maria Popescu\nOK", None),  # quoted: someone else's signature
        ("", None),
    ],
)
def test_name_from_signature(text: str, name: str | None) -> None:
    assert name_from_signature(text) == name


def test_signature_none() -> None:
    assert name_from_signature(None) is None


def test_never_produces_a_diminutive() -> None:
    # The greeting is always one of the name's own words, never a familiar form derived from it.
    for display in ("Александр Петров", "Aleksandr Petrov", "Alexandru Ionescu", "Francisco Ruiz"):
        result = addressee(display, "x@y.com", None, "ru")
        assert result.greeting_name is not None
        assert result.greeting_name in display


@settings(max_examples=300, deadline=None)
@given(
    display=st.one_of(st.none(), st.text(max_size=60)),
    local=st.from_regex(r"[a-z0-9._-]{1,12}", fullmatch=True),
    signature=st.one_of(st.none(), st.text(max_size=200)),
    language=st.sampled_from(["en", "ru", "ro", "es"]),
)
def test_addressee_never_fails_and_greets_with_own_words(
    display: str | None, local: str, signature: str | None, language: str
) -> None:
    result = addressee(display, f"{local}@example.com", signature, language)
    if result.greeting_name is not None:
        assert result.full_name is not None
        assert set(result.greeting_name.split()) <= set(result.full_name.split())
    if result.confident:
        assert result.greeting_name is not None
