"""Rendering drafts: every kind x language, overrides through TEMPLATES_DIR, the sandbox."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailwatch.core.drafting import (
    DRAFT_KINDS,
    DRAFT_LANGUAGES,
    DraftInputError,
    DraftInputs,
    build_draft_inputs,
)
from mailwatch.core.etiquette import check_draft
from mailwatch.drafts import (
    DraftRenderer,
    DraftTemplateError,
    UnknownDraftKind,
    render_draft,
    text_to_html,
    validate_templates,
)
from mailwatch.paths import data_dir

TZ = "Europe/Chisinau"
ZONE = ZoneInfo(TZ)
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=ZONE)
SIGNATURE = "Anna Smith\nSales manager, Acme Ltd\n+373 22 000 000 · anna@acme.example"

# language -> (display name, email, expected greeting, the name form in it)
PEOPLE = {
    "en": ("John Smith", "john.smith@client.example", "Dear John,"),
    "ru": ("Гладков Виктор Семенович", "vg@romashka.example", "Виктор Семенович, добрый день!"),
    "ro": ("Dna Maria Popescu", "maria@client.example", "Bună ziua, doamnă Popescu,"),
    "es": ("Sra. María García López", "mgarcia@client.example", "Estimada Sra. García:"),
}
CLOSINGS = {
    "en": "Kind regards,",
    "ru": "С уважением,",
    "ro": "Cu stimă,",
    "es": "Un cordial saludo,",
}
# the reply_by date (14 March 15:00) written the local way
REPLY_BY = {
    "en": "14 March at 15:00",
    "ru": "14 марта в 15:00",
    "ro": "14 martie, ora 15:00",
    "es": "14 de marzo a las 15:00",
}
OLD_NEW = {
    "en": ("13 March", "17 March"),
    "ru": ("13 марта", "17 марта"),
    "ro": ("13 martie", "17 martie"),
    "es": ("13 de marzo", "17 de marzo"),
}
ORIGINAL = {"en": "12 March", "ru": "12 марта", "ro": "12 martie", "es": "12 de marzo"}
# what each kind must say, per language
ESSENTIALS = {
    ("acknowledgment", "en"): ["will send you a full answer by 14 March at 15:00"],
    ("acknowledgment", "ru"): ["пришлю подробный ответ не позднее 14 марта в 15:00"],
    ("acknowledgment", "ro"): ["răspuns detaliat cel târziu pe 14 martie, ora 15:00"],
    ("acknowledgment", "es"): ["respuesta completa a más tardar el 14 de marzo a las 15:00"],
    ("decline", "en"): ["cannot take it on", "glad to hear from you again"],
    ("decline", "ru"): ["вынуждены отказаться", "будем рады снова получить от Вас письмо"],
    ("decline", "ro"): ["nu o putem prelua", "ne puteți scrie oricând"],
    ("decline", "es"): ["no podemos asumirla", "volver a hablar con usted"],
    ("renegotiation", "en"): ["promised to come back to you by 13 March", "keep is 17 March"],
    ("renegotiation", "ru"): ["Обещанный мной срок — 13 марта", "не позднее 17 марта"],
    ("renegotiation", "ro"): ["cel târziu pe 13 martie", "respecta este 17 martie"],
    ("renegotiation", "es"): ["a más tardar el 13 de marzo", "garantizarle es el 17 de marzo"],
    ("follow_up", "en"): ["whether you have had a chance to look at our proposal of 12 March"],
    ("follow_up", "ru"): ["удалось ли Вам ознакомиться с нашим предложением от 12 марта?"],
    ("follow_up", "ro"): ["dacă ați avut ocazia să analizați oferta noastră din 12 martie"],
    ("follow_up", "es"): ["si ha tenido ocasión de revisar nuestra propuesta del 12 de marzo"],
    ("closing", "en"): ["Thank you for letting me know", "glad to help"],
    ("closing", "ru"): ["Спасибо за ответ", "с удовольствием помогу"],
    ("closing", "ro"): ["Vă mulțumesc că mi-ați spus", "vă ajut cu plăcere"],
    ("closing", "es"): ["Gracias por avisarme", "será un placer ayudarle"],
    ("clarify", "en"): ["1. the quantity", "3. the delivery address", "short call"],
    ("clarify", "ru"): ["1. какой нужен объём", "3. адрес доставки", "по телефону"],
    ("clarify", "ro"): ["1. ce cantitate", "3. adresa de livrare", "convorbire telefonică"],
    ("clarify", "es"): ["1. La cantidad", "3. La dirección de entrega", "breve llamada"],
}


def make(kind: str, language: str, **changes: Any) -> DraftInputs:
    name, email, _greeting = PEOPLE.get(language, PEOPLE["en"])
    values: dict[str, Any] = {
        "language": language,
        "thread_subject": "RE: Re: Offer for Q2",
        "counterpart_email": email,
        "counterpart_name": name,
        "sender_name": "Anna Smith",
        "signature": SIGNATURE,
        "timezone": TZ,
        "original_date": datetime(2025, 3, 12, 10, 0, tzinfo=ZONE),
        "reply_by": datetime(2025, 3, 14, 15, 0, tzinfo=ZONE),
        "old_date": date(2025, 3, 13),
        "new_date": date(2025, 3, 17),
        "about": "proposal" if kind == "follow_up" else None,
        "now": NOW,
    }
    values.update(changes)
    return build_draft_inputs(kind, **values)


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
@pytest.mark.parametrize("kind", DRAFT_KINDS)
def test_every_kind_and_language(kind: str, language: str) -> None:
    draft = render_draft(make(kind, language))
    lines = draft.body_text.splitlines()
    assert draft.language == language and draft.fallback_note is None
    assert draft.kind == kind
    assert draft.subject == "Re: Offer for Q2" and draft.is_reply
    assert lines[0] == PEOPLE[language][2]
    assert lines[1] == ""
    # closing, then the signature from config, at the very end
    assert lines[-4:] == [CLOSINGS[language], *SIGNATURE.split("\n")]
    for phrase in ESSENTIALS[(kind, language)]:
        assert phrase in draft.body_text
    for marker in ("{{", "}}", "{%", "%}", "None", "  "):
        assert marker not in draft.body_text
    assert draft.body_text.endswith("\n") and "\n\n\n" not in draft.body_text
    assert draft.body_html is None
    assert len(draft.body_text.split()) < 150
    findings = check_draft(draft)
    assert [f for f in findings if not f.ok] == []


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_dates_are_localized(language: str) -> None:
    ack = render_draft(make("acknowledgment", language))
    assert REPLY_BY[language] in ack.body_text
    assert ORIGINAL[language] in ack.body_text
    old, new = OLD_NEW[language]
    renegotiation = render_draft(make("renegotiation", language)).body_text
    assert old in renegotiation and new in renegotiation
    assert renegotiation.index(old) < renegotiation.index(new)


@pytest.mark.parametrize(
    ("language", "greeting"),
    [("en", "Hello,"), ("ru", "Добрый день!"), ("ro", "Bună ziua,"), ("es", "Buenos días:")],
)
def test_neutral_greeting_when_the_name_is_unknown(language: str, greeting: str) -> None:
    draft = render_draft(
        make(
            "decline",
            language,
            counterpart_name="Acme Sales",
            counterpart_email="info@acme.example",
        )
    )
    assert draft.body_text.splitlines()[0] == greeting
    assert draft.addressee_name is None
    greeting_finding = check_draft(draft)[0]
    assert greeting_finding.code == "greeting" and greeting_finding.level == "warn"


def test_romanian_and_spanish_without_a_known_gender() -> None:
    ro = render_draft(make("decline", "ro", counterpart_name="Maria Popescu"))
    assert ro.body_text.startswith("Bună ziua,\n")
    es = render_draft(make("decline", "es", counterpart_name="María García López"))
    assert es.body_text.startswith("Buenos días, María:\n")
    es_male = render_draft(make("decline", "es", counterpart_name="Juan Pérez", gender="m"))
    assert es_male.body_text.startswith("Estimado Sr. Pérez:\n")  # first contact: the surname
    # the neutral greeting is the proper form here, so the etiquette check does not flag it
    assert ro.addressee_name is None and "gender is not known" in ro.neutral_reason
    assert check_draft(ro)[0].level == "ok"


def test_russian_name_from_the_signature_of_the_message() -> None:
    draft = render_draft(
        make(
            "acknowledgment",
            "ru",
            counterpart_name="Виктор Гладков",
            counterpart_signature_text="С уважением,\nГладков Виктор Семенович\nДиректор",
        )
    )
    assert draft.body_text.startswith("Виктор Семенович, добрый день!\n")


def test_follow_up_variants() -> None:
    question = render_draft(make("follow_up", "en", about="question")).body_text
    assert "consider my question of 12 March" in question
    plain = render_draft(make("follow_up", "ru", about=None, original_date=None)).body_text
    assert "удалось ли Вам ознакомиться с моим письмом?" in plain


def test_reason_is_included_as_written() -> None:
    text = render_draft(
        make("renegotiation", "en", reason="the supplier has delayed the parts.")
    ).body_text
    assert "manage it: the supplier has delayed the parts. The date" in text


def test_year_is_shown_for_another_year() -> None:
    text = render_draft(
        make("renegotiation", "es", old_date=date(2025, 12, 30), new_date=date(2026, 1, 12))
    ).body_text
    assert "el 30 de diciembre" in text and "el 12 de enero de 2026" in text


# --- language fallback and unknown kinds --------------------------------------------------------


def test_unsupported_language_falls_back_to_english() -> None:
    draft = render_draft(make("acknowledgment", "de", counterpart_name="Hans Müller"))
    assert draft.language == "en" and draft.requested_language == "de"
    assert draft.fallback_note is not None and "English" in draft.fallback_note
    assert draft.body_text.startswith("Dear Hans,\n")
    assert "14 March at 15:00" in draft.body_text


def test_user_template_for_another_language(tmp_path: Path) -> None:
    (tmp_path / "decline").mkdir()
    (tmp_path / "decline" / "de.txt.j2").write_text(
        "Guten Tag{% if name %} {{ name }}{% endif %},\n\nleider nicht.\n\n"
        "Mit freundlichen Grüßen\n{{ signature }}\n",
        encoding="utf-8",
    )
    draft = render_draft(make("decline", "de", counterpart_name="Hans Müller"), tmp_path)
    assert draft.language == "de" and draft.fallback_note is None
    assert draft.body_text.startswith("Guten Tag Hans,\n")


def test_unknown_kind() -> None:
    with pytest.raises(UnknownDraftKind, match="invoice"):
        DraftRenderer().choose_language("invoice", "en")
    with pytest.raises(DraftInputError, match="unknown draft kind"):
        make("invoice", "en")


# --- overrides through TEMPLATES_DIR ---------------------------------------------------------------


def test_a_single_file_overrides(tmp_path: Path) -> None:
    (tmp_path / "decline").mkdir()
    override = tmp_path / "decline" / "en.txt.j2"
    override.write_text(
        '{% extends "_layout/en.txt.j2" %}\n{% block body %}\nOur own decline.\n{% endblock %}\n',
        encoding="utf-8",
    )
    renderer = DraftRenderer(tmp_path)
    draft = renderer.render(make("decline", "en"))
    assert "Our own decline." in draft.body_text
    assert draft.body_text.startswith("Dear John,\n")  # the packaged layout still frames it
    assert draft.templates == (str(override),)
    # every other file still comes from the package
    assert "вынуждены отказаться" in renderer.render(make("decline", "ru")).body_text
    ack = renderer.render(make("acknowledgment", "en"))
    assert "full answer by" in ack.body_text
    assert ack.templates == (str(data_dir("templates") / "acknowledgment" / "en.txt.j2"),)


def test_overriding_the_layout_changes_every_kind(tmp_path: Path) -> None:
    (tmp_path / "_layout").mkdir()
    (tmp_path / "_layout" / "en.txt.j2").write_text(
        "{{ greeting }}\n\n{% block body %}{% endblock %}\n\nBest wishes,\n{{ signature }}\n",
        encoding="utf-8",
    )
    for kind in DRAFT_KINDS:
        text = render_draft(make(kind, "en"), tmp_path).body_text
        assert "\nBest wishes,\nAnna Smith\n" in text
    assert "С уважением," in render_draft(make("decline", "ru"), tmp_path).body_text


def test_html_template_is_autoescaped_and_text_is_not(tmp_path: Path) -> None:
    (tmp_path / "acknowledgment").mkdir()
    (tmp_path / "acknowledgment" / "en.html.j2").write_text(
        "<p>{{ greeting }}</p><p>{{ subject }}</p><p>{{ reason }}</p>", encoding="utf-8"
    )
    (tmp_path / "acknowledgment" / "en.txt.j2").write_text(
        "{{ greeting }}\n{{ subject }}\n{{ reason }}\n{{ signature }}\n", encoding="utf-8"
    )
    inputs = make(
        "acknowledgment",
        "en",
        thread_subject="<script>alert(1)</script>",
        reason="<b>a & b</b>",
    )
    draft = render_draft(inputs, tmp_path)
    assert draft.body_html is not None
    assert "<script>" not in draft.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in draft.body_html
    assert "&lt;b&gt;a &amp; b&lt;/b&gt;" in draft.body_html
    assert "Re: <script>alert(1)</script>" in draft.body_text  # plain text stays plain
    assert len(draft.templates) == 2


def test_format_filters_for_overrides(tmp_path: Path) -> None:
    (tmp_path / "acknowledgment").mkdir()
    (tmp_path / "acknowledgment" / "ru.txt.j2").write_text(
        "{{ reply_by_at | date }}|{{ reply_by_at | date('d MMMM') }}|{{ old_at | date }}|"
        "{{ reply_by_at | datetime('short') }}|{{ original_at | date('full') }}\n",
        encoding="utf-8",
    )
    text = render_draft(make("acknowledgment", "ru"), tmp_path).body_text
    assert (
        text
        == "14 марта 2025\u00a0г.|14 марта|13 марта 2025\u00a0г.|14.03.2025, 15:00|среда, 12 марта 2025\u00a0г.\n"
    )


# --- the sandbox: incoming values are data, never template code ------------------------------------

INJECTIONS = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{% for %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{# comment #}",
    "{{ config }}{{ self }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_subject_and_values_from_mail_are_literal(payload: str, language: str) -> None:
    draft = render_draft(
        make(
            "renegotiation",
            language,
            thread_subject=payload,
            reason=payload,
            counterpart_name=payload,
            signature=f"Anna Smith\n{payload}\n+373 22 000 000",
        )
    )
    assert draft.subject == f"Re: {payload}"
    assert payload in draft.body_text  # the reason and the signature line, verbatim
    assert "49" not in draft.body_text
    assert "<class" not in draft.body_text
    # a name that is template code is no name at all: neutral greeting
    assert draft.addressee_name is None


def test_hostile_header_values_cannot_break_the_subject() -> None:
    draft = render_draft(
        make(
            "acknowledgment",
            "en",
            thread_subject="Offer\r\nBcc: victim@example.com",
            counterpart_name="Evil\r\nBcc: victim@example.com",
        )
    )
    assert "\r" not in draft.subject and "\n" not in draft.subject
    assert draft.subject == "Re: Offer Bcc: victim@example.com"


def _override(tmp_path: Path, text: str, name: str = "decline/en.txt.j2") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}\n", "unsafe|__class__"),
        ("{{ greeting.__class__.__init__.__globals__ }}\n", "unsafe|__class__"),
        ("line one\n{{ no_such_variable }}\n", "line 2: 'no_such_variable' is undefined"),
        ("{% for %}\n", "line 1"),
        ("{{ signature_lines.append('x') }}\n", "unsafe|append|immutable|not safely"),
        ('{% include "missing/file.j2" %}\n', "missing/file.j2"),
        ("{{ 1 / 0 }}\n", "division"),
    ],
)
def test_a_broken_override_gives_one_clear_message(
    tmp_path: Path, template: str, expected: str
) -> None:
    path = _override(tmp_path, template)
    with pytest.raises(DraftTemplateError) as info:
        render_draft(make("decline", "en"), tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    assert re.search(expected, message), message


def test_validate_templates(tmp_path: Path) -> None:
    assert validate_templates() == []
    assert validate_templates(tmp_path) == []
    path = _override(tmp_path, "{{ oops }}\n", "follow_up/ru.txt.j2")
    problems = validate_templates(tmp_path)
    assert len(problems) == 1 and str(path) in problems[0]


def test_templates_use_only_known_variables() -> None:
    """A template that names a variable the context lacks fails at once (StrictUndefined)."""
    for kind in DRAFT_KINDS:
        for language in DRAFT_LANGUAGES:
            for about in ("proposal", "question", None):
                inputs = make(kind, language, about=about, reason="x", original_date=None)
                render_draft(inputs)


def test_text_to_html() -> None:
    assert text_to_html("Dear <John>,\n\nLine 1\nLine 2 & more\n") == (
        '<!DOCTYPE html>\n<html><body style="font-family: Arial, sans-serif;">\n'
        "<p>Dear &lt;John&gt;,</p>\n<p>Line 1<br>\nLine 2 &amp; more</p>\n</body></html>\n"
    )


def test_a_signature_per_language_may_bring_its_own_sign_off() -> None:
    own = render_draft(
        make("closing", "ru", signature="С наилучшими пожеланиями,\n+373 22 000 000")
    ).body_text
    assert own.endswith("С наилучшими пожеланиями,\nAnna Smith\n+373 22 000 000\n")
    assert "С уважением," not in own
    default = render_draft(make("closing", "ro")).body_text
    assert "\nCu stimă,\nAnna Smith\n" in default
