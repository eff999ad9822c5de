"""Etiquette findings on drafts, generated or edited by the user."""

from __future__ import annotations

import dataclasses

import pytest

from mailwatch.core.drafting import RenderedDraft
from mailwatch.core.etiquette import MAX_WORDS, Finding, check_draft, check_etiquette, has_problems

SIGNATURE = "Anna Smith\nSales manager, Acme Ltd\n+373 22 000 000"
BODY = (
    "Dear John,\n\n"
    "Thank you for your message. I will send you a full answer by 14 March at 15:00.\n\n"
    "Kind regards,\n" + SIGNATURE + "\n"
)


def findings(
    body: str = BODY,
    subject: str = "Re: Offer",
    name: str | None = "John Smith",
    signature: str = SIGNATURE,
    is_reply: bool = True,
) -> dict[str, Finding]:
    result = check_etiquette(subject, body, name=name, signature=signature, is_reply=is_reply)
    assert [f.code for f in result] == [
        "greeting",
        "subject",
        "length",
        "signature",
        "familiar",
        "caps",
        "placeholders",
    ]
    return {f.code: f for f in result}


def test_a_good_draft_passes_everything() -> None:
    result = findings()
    assert all(f.ok and f.level == "ok" for f in result.values()), result
    assert not has_problems(list(result.values()), "warn")


# --- greeting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_line", "name"),
    [
        ("Dear John,", "John Smith"),
        ("Виктор Семенович, добрый день!", "Гладков Виктор Семенович"),
        ("Виктор Семёнович, добрый день!", "Виктор Семенович"),  # ё and е are one letter here
        ("Bună ziua, doamnă Popescu,", "Maria Popescu"),
        ("Estimada María:", "María García López"),
        ("Buenos días, Maria:", "María García"),  # accents may be dropped by the user
        ("John,", "John Smith"),
    ],
)
def test_greets_by_name(first_line: str, name: str) -> None:
    body = BODY.replace("Dear John,", first_line)
    assert findings(body, name=name)["greeting"].ok


@pytest.mark.parametrize(
    ("first_line", "name", "level"),
    [
        ("Hello,", None, "warn"),  # name unknown: neutral is right, but say so
        ("Добрый день!", None, "warn"),
        ("Bună ziua,", None, "warn"),
        ("Buenos días:", None, "warn"),
        ("Hello,", "John Smith", "warn"),  # a known name left out
        ("Bună ziua,", "Maria Popescu", "warn"),
        ("Thank you for your message.", "John Smith", "fail"),  # no greeting at all
        ("Thank you for your message.", None, "fail"),
    ],
)
def test_greeting_problems(first_line: str, name: str | None, level: str) -> None:
    body = BODY.replace("Dear John,", first_line)
    finding = findings(body, name=name)["greeting"]
    assert not finding.ok and finding.level == level


def test_empty_body() -> None:
    result = findings("", name=None)
    assert result["greeting"].level == "fail"
    assert result["signature"].level == "fail"


# --- subject ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "is_reply", "level"),
    [
        ("Re: Offer", True, "ok"),
        ("RE: Offer", True, "ok"),
        ("Offer", False, "ok"),
        ("", True, "fail"),
        ("   ", False, "fail"),
        ("Offer", True, "warn"),
        ("Re: Re: Offer", True, "warn"),
        ("Re: RE: Offer", True, "warn"),
        ("Re: " + "long " * 40, True, "warn"),
        ("Re: Offer\r\nBcc: victim@example.com", True, "fail"),
    ],
)
def test_subject(subject: str, is_reply: bool, level: str) -> None:
    assert findings(subject=subject, is_reply=is_reply)["subject"].level == level


# --- length, signature --------------------------------------------------------------------------


def test_long_body_warns() -> None:
    long_body = BODY.replace("Thank you for your message.", "We value your time. " * 40)
    finding = findings(long_body)["length"]
    assert finding.level == "warn" and str(MAX_WORDS) in finding.message


def test_signature_words_do_not_count_towards_length() -> None:
    signature = (
        SIGNATURE + "\n" + "\n".join(f"Office {i}, Long Street {i}, City" for i in range(30))
    )
    body = BODY.replace(SIGNATURE, signature)
    assert findings(body, signature=signature)["length"].ok


def test_very_short_body_warns() -> None:
    body = "Dear John,\n\nOK.\n\n" + SIGNATURE
    assert findings(body)["length"].level == "warn"


def test_signature_missing_at_the_end() -> None:
    body = BODY.replace("Kind regards,\n" + SIGNATURE + "\n", "Kind regards\n")
    assert findings(body)["signature"].level == "fail"


def test_signature_in_the_middle_is_not_at_the_end() -> None:
    body = "Dear John,\n\nAnna Smith here.\n\n" + "\n".join(["More text."] * 12) + "\nBye\n"
    assert findings(body)["signature"].level == "fail"


def test_signature_not_configured() -> None:
    finding = findings(signature="")["signature"]
    assert finding.level == "fail" and "MAILWATCH_SIGNATURE" in finding.message


def test_signature_without_contact_details_warns() -> None:
    body = BODY.replace(SIGNATURE, "Anna Smith\nAcme Ltd")
    assert findings(body, signature="Anna Smith\nAcme Ltd")["signature"].level == "warn"


def test_signature_with_an_email_or_web_is_fine() -> None:
    signature = "Anna Smith\nanna@acme.example"
    body = BODY.replace(SIGNATURE, signature)
    assert findings(body, signature=signature)["signature"].ok


def test_a_short_postscript_after_the_signature_is_allowed() -> None:
    body = BODY + "\nP.S. The price list is attached.\n"
    assert findings(body)["signature"].ok


# --- tone ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_line",
    [
        "Hi buddy,",
        "Hey John,",
        "Hiya John!",
        "Привет, Виктор!",
        "Приветик!",
        "Здорово, Виктор!",
        "Hola amigo:",
        "Hola, guapa:",
        "Salut,",
        "Salut Maria,",
        "Ceau Maria,",
        "Servus,",
    ],
)
def test_over_familiar_greetings(first_line: str) -> None:
    body = BODY.replace("Dear John,", first_line)
    finding = findings(body)["familiar"]
    assert finding.level == "fail", first_line


@pytest.mark.parametrize(
    "phrase",
    ["Thx, mate!", "Besos,", "Un abrazo,", "Целую,", "Te pup,", "Cheers mate,"],
)
def test_over_familiar_closings(phrase: str) -> None:
    body = BODY.replace("Kind regards,", phrase)
    assert findings(body)["familiar"].level == "fail", phrase


@pytest.mark.parametrize("text", ["Great news :)", "Спасибо)))", "Thanks!!!", "See you 😀"])
def test_emoticons_warn(text: str) -> None:
    body = BODY.replace("Thank you for your message.", text)
    assert findings(body)["familiar"].level == "warn", text


@pytest.mark.parametrize(
    "text",
    [
        "Cu stimă și salutări cordiale,",  # "salutări" is not "salut"
        "Vă mulțumesc pentru solicitare.",
        "Prices (see item 3) are final.",
        "Добрый день! Как договаривались, высылаю предложение.",
        "Le agradezco su consulta.",
        "Hi John, thank you for your message.",  # informal, but not over-familiar in English
    ],
)
def test_courteous_text_is_not_flagged(text: str) -> None:
    body = BODY.replace("Thank you for your message.", text)
    assert findings(body)["familiar"].ok, text


def test_all_caps_body_fails() -> None:
    body = BODY.replace(
        "Thank you for your message. I will send you a full answer by 14 March at 15:00.",
        "THANK YOU FOR YOUR MESSAGE. I WILL SEND YOU A FULL ANSWER BY 14 MARCH.",
    )
    assert findings(body)["caps"].level == "fail"


def test_caps_subject_and_runs_of_caps_warn() -> None:
    assert findings(subject="RE: URGENT OFFER FOR YOU")["caps"].level == "warn"
    body = BODY.replace("Thank you for", "PLEASE READ THIS NOW. Thank you for")
    assert findings(body)["caps"].level == "warn"


def test_acronyms_and_caps_signatures_are_fine() -> None:
    signature = "Anna Smith\nACME INTERNATIONAL TRADING LLC\n+373 22 000 000"
    body = BODY.replace("Thank you", "Our ООО and LLC partners thank you").replace(
        SIGNATURE, signature
    )
    assert findings(body, signature=signature)["caps"].ok


# --- placeholders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{{ name }}",
        "{% if x %}",
        "Dear {first_name},",
        "[NAME]",
        "[Имя]",
        "<NAME>",
        "by ${date}",
        "TODO: price",
        "XXX",
        "%(name)s",
    ],
)
def test_unresolved_placeholders(text: str) -> None:
    body = BODY.replace("Thank you for your message.", text)
    assert findings(body)["placeholders"].level == "fail", text


@pytest.mark.parametrize(
    "text", ["See [1].", "Item [a] and (b).", "Price: $100.", "Prices in EUR (net)."]
)
def test_not_placeholders(text: str) -> None:
    body = BODY.replace("Thank you for your message.", text)
    assert findings(body)["placeholders"].ok, text


# --- drafts ---------------------------------------------------------------------------------------


def _draft(body: str = BODY) -> RenderedDraft:
    return RenderedDraft(
        kind="acknowledgment",
        language="en",
        requested_language="en",
        subject="Re: Offer",
        body_text=body,
        body_html=None,
        fallback_note=None,
        is_reply=True,
        addressee_name="John Smith",
        signature_lines=tuple(SIGNATURE.split("\n")),
    )


def test_check_draft_and_an_edited_draft() -> None:
    draft = _draft()
    assert not has_problems(check_draft(draft), "warn")
    edited = dataclasses.replace(draft, body_text="hey buddy, {{ price }}\n")
    result = {f.code: f for f in check_draft(edited)}
    assert not result["greeting"].ok
    assert result["familiar"].level == "fail"
    assert result["placeholders"].level == "fail"
    assert result["signature"].level == "fail"
    assert has_problems(check_draft(edited))


def test_the_clients_subject_is_not_judged_for_tone() -> None:
    assert findings(subject="Re: Salut! Hola amigo")["familiar"].ok


def test_has_problems_levels() -> None:
    warn_only = [Finding("greeting", False, "neutral", "warn"), Finding("caps", True, "ok")]
    assert not has_problems(warn_only)
    assert has_problems(warn_only, "warn")


def test_crlf_body_is_read_like_lf() -> None:
    assert all(f.ok for f in findings(BODY.replace("\n", "\r\n")).values())
