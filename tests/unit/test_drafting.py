"""Pure draft inputs and header safety: builder, greetings, localized dates, reply subjects."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch import config
from mailwatch.core.drafting import (
    DRAFT_KINDS,
    DRAFT_LANGUAGES,
    DraftInputError,
    build_draft_inputs,
    draft_subject,
    format_when,
    greeting_line,
    infer_gender,
    normalize_language,
    template_context,
)
from mailwatch.core.headers import (
    format_address,
    header_safe,
    reply_subject,
    strip_reply_prefixes,
)

TZ = "Europe/Chisinau"
ZONE = ZoneInfo(TZ)
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=ZONE)
HOSTILE = "Offer\r\nBcc: victim@example.com"


def build(kind: str = "acknowledgment", **kw: object) -> object:
    values: dict[str, object] = {
        "language": "en",
        "thread_subject": "Offer",
        "counterpart_email": "john.smith@acme.com",
        "counterpart_name": "John Smith",
        "sender_name": "Anna Smith",
        "signature": "Anna Smith\nAcme Ltd\n+373 22 000 000",
        "timezone": TZ,
        "reply_by": datetime(2025, 3, 14, 15, 0, tzinfo=ZONE),
        "old_date": date(2025, 3, 13),
        "new_date": date(2025, 3, 17),
        "now": NOW,
    }
    values.update(kw)
    return build_draft_inputs(kind, **values)  # type: ignore[arg-type]


def test_kinds_and_languages_match_config() -> None:
    assert DRAFT_KINDS == config.DRAFT_KINDS
    assert DRAFT_LANGUAGES == config.LANGUAGES


# --- headers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Offer", "Re: Offer"),
        ("Re: Offer", "Re: Offer"),
        ("RE: Re: re: Offer", "Re: Offer"),
        ("Re[2]: Offer", "Re: Offer"),
        ("Re(3): Offer", "Re: Offer"),
        ("Re : Offer", "Re: Offer"),
        ("AW: Angebot", "Re: Angebot"),
        ("SV: VS: Tarjous", "Re: Tarjous"),
        ("Ответ: Предложение", "Re: Предложение"),
        ("Отв: Re: Предложение", "Re: Предложение"),
        ("Răspuns: Ofertă", "Re: Ofertă"),
        ("RE: Răspuns: Ofertă", "Re: Ofertă"),
        ("[EXTERNAL] RE: Offer", "Re: Offer"),
        ("[External] Offer", "Re: Offer"),
        ("[Ticket #12] Offer", "Re: [Ticket #12] Offer"),
        ("Fwd: Offer", "Re: Fwd: Offer"),
        ("Return policy", "Re: Return policy"),
        ("Re:Offer", "Re: Offer"),
        ("  Offer   for   Q2 ", "Re: Offer for Q2"),
        ("", ""),
        ("Re:", ""),
        ("RE: RE: ", ""),
        (HOSTILE, "Re: Offer Bcc: victim@example.com"),
        ("Re: Offer\nRe: again", "Re: Offer Re: again"),
    ],
)
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original) == expected


def test_strip_reply_prefixes_keeps_forward() -> None:
    assert strip_reply_prefixes("RE: FW: Offer") == "FW: Offer"


def test_header_safe_removes_line_breaks_and_controls() -> None:
    hostile = "Evil\r\nBcc: victim@example.com\x00\t\x1b[31m\u2028X\u202eY\x85Z"
    safe = header_safe(hostile)
    assert "\r" not in safe and "\n" not in safe
    assert all(unicodedata.category(ch) != "Cc" for ch in safe)
    assert "\u202e" not in safe and "\u2028" not in safe
    assert safe == "Evil Bcc: victim@example.com [31m XY Z"


def test_header_safe_bounds_length_at_a_word() -> None:
    text = "word " * 100
    safe = header_safe(text, max_length=50)
    assert len(safe) <= 50
    assert safe.endswith("…")
    assert not safe[:-1].endswith(" ")
    assert header_safe("x" * 500, max_length=10) == "x" * 9 + "…"
    assert header_safe(None) == ""


def test_reply_subject_is_bounded() -> None:
    subject = reply_subject("Offer " * 200)
    assert subject.startswith("Re: Offer") and len(subject) <= 200


def test_format_address_with_hostile_display_name() -> None:
    value = format_address('Evil"\r\nBcc: victim@example.com', "client@example.com")
    assert "\r" not in value and "\n" not in value
    assert value.endswith("<client@example.com>")
    assert format_address("Виктор Гладков", "vg@example.ru").startswith("=?utf-8?")


@pytest.mark.parametrize(
    "email",
    [
        "client@example.com\r\nBcc: victim@example.com",
        "client@example.com, victim@example.com",
        "a b@example.com",
        "no-at-sign",
        "a@b@example.com",
        "<client@example.com>",
    ],
)
def test_format_address_rejects_anything_but_one_address(email: str) -> None:
    with pytest.raises(ValueError):
        format_address("Client", email)


@settings(max_examples=400, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=300))
def test_header_safe_property(value: str, max_length: int) -> None:
    safe = header_safe(value, max_length=max_length)
    assert "\r" not in safe and "\n" not in safe
    assert all(unicodedata.category(ch) not in ("Cc", "Zl", "Zp", "Cs") for ch in safe)
    assert len(safe) <= max_length
    assert safe == safe.strip()
    assert "  " not in safe
    assert header_safe(safe, max_length=max_length) == safe


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["Re:", "RE: ", "Aw: ", "Ответ: ", "Răspuns:", "\r\n", " "])),
    st.text(),
)
def test_reply_subject_property(prefixes: list[str], rest: str) -> None:
    subject = reply_subject("".join(prefixes) + rest)
    assert "\r" not in subject and "\n" not in subject
    assert all(unicodedata.category(ch) != "Cc" for ch in subject)
    assert not subject.lower().startswith(("re: re:", "re: aw:", "re: ответ:"))
    assert subject == "" or subject.startswith("Re: ")
    assert reply_subject(subject) == subject


# --- builder ----------------------------------------------------------------------------------


def test_builder_collects_values() -> None:
    inputs = build(counterpart_name="John Smith")
    assert inputs.kind == "acknowledgment"  # type: ignore[attr-defined]
    assert inputs.greeting_name == "John"  # type: ignore[attr-defined]
    assert inputs.full_name == "John Smith"  # type: ignore[attr-defined]
    assert inputs.surname == "Smith"  # type: ignore[attr-defined]
    assert inputs.signature_lines == ("Anna Smith", "Acme Ltd", "+373 22 000 000")  # type: ignore[attr-defined]


def test_builder_hostile_values_are_header_safe() -> None:
    inputs = build(counterpart_name=HOSTILE, thread_subject=HOSTILE)
    for value in (inputs.to_display_name, inputs.original_subject):  # type: ignore[attr-defined]
        assert "\r" not in value and "\n" not in value
    subject, is_reply = draft_subject(inputs, "en")  # type: ignore[arg-type]
    assert subject == "Re: Offer Bcc: victim@example.com" and is_reply


def test_sender_name_is_added_to_a_signature_without_it() -> None:
    inputs = build(signature="Acme Ltd\n+373 22 000 000\n\n", sender_name="Anna Smith")
    assert inputs.signature_lines == ("Anna Smith", "Acme Ltd", "+373 22 000 000")  # type: ignore[attr-defined]
    only_name = build(signature="", sender_name="Anna Smith")
    assert only_name.signature_lines == ("Anna Smith",)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        ("invoice", {}, "unknown draft kind"),
        ("acknowledgment", {"reply_by": None}, "reply_by"),
        ("renegotiation", {"old_date": None}, "old_date"),
        ("renegotiation", {"new_date": date(2025, 3, 13)}, "later"),
        ("renegotiation", {"new_date": date(2025, 3, 1)}, "later"),
        ("follow_up", {"about": "price"}, "about"),
        ("decline", {"gender": "x"}, "gender"),
        ("decline", {"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_builder_rejects(kind: str, changes: dict[str, object], message: str) -> None:
    with pytest.raises(DraftInputError, match=message):
        build(kind, **changes)


def test_renegotiation_compares_dates_and_datetimes() -> None:
    ok = build(
        "renegotiation",
        old_date=date(2025, 3, 13),
        new_date=datetime(2025, 3, 13, 15, 0, tzinfo=ZONE),
    )
    assert ok.kind == "renegotiation"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [("ru-RU", "ru"), ("RU", "ru"), ("es_ES", "es"), (None, "en"), ("", "en"), ("??", "en")],
)
def test_normalize_language(given_value: str | None, expected: str) -> None:
    assert normalize_language(given_value) == expected


@pytest.mark.parametrize(
    ("display", "full", "expected"),
    [
        ("Sra. María López", "María López", "f"),
        ("Mr John Smith", "John Smith", "m"),
        ("Dna Maria Popescu", "Maria Popescu", "f"),
        ("Domnul Ion Ionescu", "Ion Ionescu", "m"),
        ("Гладков Виктор Семенович", "Гладков Виктор Семенович", "m"),
        ("Петрова Наталья Ивановна", "Петрова Наталья Ивановна", "f"),
        ("Maria Popescu", "Maria Popescu", None),  # never guessed from a first name
        ("Andrea Rossi", "Andrea Rossi", None),
        (None, None, None),
    ],
)
def test_infer_gender(display: str | None, full: str | None, expected: str | None) -> None:
    assert infer_gender(display, full) == expected


def test_gender_from_title_in_the_builder() -> None:
    inputs = build(language="es", counterpart_name="Sra. María García López")
    assert inputs.gender == "f"  # type: ignore[attr-defined]
    assert inputs.greeting_name == "María"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("language", "name", "surname", "gender", "expected"),
    [
        ("en", "John", "Smith", None, "Dear John,"),
        ("en", None, None, None, "Hello,"),
        ("ru", "Виктор Семенович", "Гладков", "m", "Виктор Семенович, добрый день!"),
        ("ru", None, None, None, "Добрый день!"),
        ("ro", "Maria", "Popescu", "f", "Bună ziua, doamnă Popescu,"),
        ("ro", "Ion", "Ionescu", "m", "Bună ziua, domnule Ionescu,"),
        ("ro", "Maria", None, "f", "Bună ziua,"),  # a title never goes with a first name
        ("ro", "Maria", "Popescu", None, "Bună ziua,"),
        ("ro", None, None, None, "Bună ziua,"),
        ("es", "María", "López", "f", "Estimada Sra. López:"),  # first contact
        ("es", "Juan", "Pérez", "m", "Estimado Sr. Pérez:"),
        ("es", None, "López García", "f", "Estimada Sra. López:"),  # first surname only
        ("es", None, "de la Fuente Ruiz", "m", "Estimado Sr. de la Fuente:"),
        ("en", None, "Smith", "f", "Dear Ms Smith,"),
        ("es", "María", "López", None, "Buenos días, María:"),
        ("es", None, None, None, "Buenos días:"),
        ("de", "Hans", None, None, "Dear Hans,"),
    ],
)
def test_greeting_line(
    language: str, name: str | None, surname: str | None, gender: str | None, expected: str
) -> None:
    assert greeting_line(language, name, surname=surname, gender=gender) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "register", "expected"),
    [
        ("es", "formal", "Estimada María:"),  # ongoing contact: the first name
        ("es", "informal", "Hola, María:"),  # the client writes with tú
        ("ro", "informal", "Bună ziua, Maria,"),  # first-name terms, still "Bună ziua"
        ("ro", "formal", "Bună ziua, doamnă López,"),
    ],
)
def test_greeting_for_an_ongoing_contact(language: str, register: str, expected: str) -> None:
    name = "María" if language == "es" else "Maria"
    line = greeting_line(
        language, name, surname="López", gender="f", register=register, known_contact=True
    )
    assert line == expected


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (date(2025, 3, 13), "ru", "13 марта"),
        (date(2026, 3, 13), "ru", "13 марта 2026\u00a0г."),
        (date(2025, 3, 13), "en", "13 March"),
        (date(2025, 3, 13), "ro", "13 martie"),
        (date(2025, 3, 13), "es", "13 de marzo"),
        (datetime(2025, 3, 14, 15, 0, tzinfo=ZONE), "ru", "14 марта в 15:00"),
        (datetime(2025, 3, 14, 15, 0, tzinfo=ZONE), "en", "14 March at 15:00"),
        (datetime(2025, 3, 14, 15, 0, tzinfo=ZONE), "ro", "14 martie, ora 15:00"),
        (datetime(2025, 3, 14, 15, 0, tzinfo=ZONE), "es", "14 de marzo a las 15:00"),
        (datetime(2025, 3, 14, 1, 30, tzinfo=ZONE), "es", "14 de marzo a la 1:30"),
        (datetime(2025, 3, 14, 23, 59, tzinfo=ZONE), "en", "14 March"),
        (datetime(2025, 3, 14, 0, 0, tzinfo=ZONE), "ru", "14 марта"),
        # 22:30 UTC is already the next day in Chisinau (UTC+2)
        (datetime(2025, 3, 13, 22, 30, tzinfo=UTC), "ru", "14 марта в 00:30"),
        # naive datetimes are read in the mailbox timezone
        (datetime(2025, 3, 14, 9, 5), "en", "14 March at 09:05"),
        (date(2025, 3, 13), "de", "13 March"),
        (None, "ru", ""),
    ],
)
def test_format_when(value: object, language: str, expected: str) -> None:
    assert format_when(value, language, TZ, NOW) == expected  # type: ignore[arg-type]


def test_format_when_without_now_shows_the_year() -> None:
    assert format_when(date(2025, 3, 13), "ru", TZ) == "13 марта 2025\u00a0г."
    assert format_when(date(2025, 3, 13), "es", TZ) == "13 de marzo de 2025"


def test_template_context_has_localized_values() -> None:
    inputs = build(
        "renegotiation",
        language="ru",
        counterpart_name="Гладков Виктор Семенович",
        counterpart_email="vg@romashka.ru",
        original_date=datetime(2025, 3, 12, 10, 0, tzinfo=ZONE),
    )
    context = template_context(inputs, "ru")  # type: ignore[arg-type]
    assert context["greeting"] == "Виктор Семенович, добрый день!"
    assert context["old_date"] == "13 марта"
    assert context["new_date"] == "17 марта"
    assert context["original_date"] == "12 марта"  # the message's date, without its time
    assert context["subject"] == "Re: Offer"
    assert context["signature_lines"] == ["Anna Smith", "Acme Ltd", "+373 22 000 000"]


def test_subject_fallback_when_the_thread_has_none() -> None:
    inputs = build("renegotiation", thread_subject="  ")
    assert draft_subject(inputs, "ru") == ("Перенос срока", False)  # type: ignore[arg-type]
    assert draft_subject(inputs, "de") == ("New deadline", False)  # type: ignore[arg-type]
