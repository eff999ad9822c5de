"""Needs-reply classification: every verdict says why; clients are never silently dropped."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.classify import (
    Category,
    Verdict,
    classify_inbound,
    is_automatic_recipient,
    is_internal_domain,
    no_reply_local_part,
)
from mailwatch.core.message import Address, ParsedMessage

OWN = frozenset({"sales@ourco.com", "maria@ourco.com"})
INTERNAL = frozenset({"ourco.com", "ourco-group.ro"})
CLIENT = Address("Viktor Gladkov", "viktor@client.ru")


def msg(
    subject: str = "Re: Proposal",
    sender: Address | None = CLIENT,
    markers: Mapping[str, str] | None = None,
    content_type: str = "text/plain",
    reply_to: tuple[Address, ...] = (),
    text: str = "Thank you, we will review it.",
) -> ParsedMessage:
    return ParsedMessage(
        message_id="<m1@client.ru>",
        in_reply_to=None,
        references=(),
        subject=subject,
        from_addr=sender,
        to=(Address("Sales", "sales@ourco.com"),),
        reply_to=reply_to,
        content_type=content_type,
        markers=dict(markers or {}),
        text=text,
        new_text=text,
    )


def verdict(m: ParsedMessage) -> Verdict:
    return classify_inbound(m, OWN, INTERNAL)


def test_plain_client_needs_reply() -> None:
    v = verdict(msg())
    assert v == Verdict(
        True,
        Category.CLIENT,
        "from client viktor@client.ru; request: a message for us to answer",
    )


def test_client_refusal_still_needs_reply() -> None:
    v = verdict(msg(subject="Re: Offer", text="Thank you, we no longer need it."))
    assert v.needs_reply and v.category is Category.CLIENT


@pytest.mark.parametrize(
    ("markers", "reason_part"),
    [
        ({"auto-submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"auto-submitted": "auto-generated"}, "Auto-Submitted: auto-generated"),
        ({"auto-submitted": "auto-notified; owner-email=x@y"}, "Auto-Submitted: auto-notified"),
        ({"x-autoreply": "yes"}, "X-Autoreply: yes"),
        ({"x-autorespond": "Out of office"}, "X-Autorespond"),
        ({"precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"return-path": "<>"}, "Return-Path: <>"),
        ({"return-path": " < > "}, "Return-Path: <>"),
        (
            {"x-ms-exchange-inbox-rules-loop": "viktor@client.ru"},
            "X-MS-Exchange-Inbox-Rules-Loop: viktor@client.ru",
        ),
    ],
)
def test_auto_reply_headers(markers: dict[str, str], reason_part: str) -> None:
    v = verdict(msg(markers=markers))
    assert v.category is Category.AUTO_REPLY
    assert not v.needs_reply
    assert reason_part in v.reason


@pytest.mark.parametrize(
    ("subject", "prefix"),
    [
        ("Automatic reply: Re: Proposal", "Automatic reply:"),
        ("Auto-Reply: Proposal", "Auto-Reply:"),
        ("Autoreply: your message", "Autoreply:"),
        ("Out of Office: Re: Proposal", "Out of Office:"),
        ("Out of the office until Monday", "Out of the office"),
        ("[Out of Office] Re: Proposal", "[Out of Office]"),
        ("Автоматический ответ: Re: Предложение", "Автоматический ответ:"),
        ("Автоответ: Re: Счёт", "Автоответ:"),
        ("Нет на месте: Re: Договор", "Нет на месте:"),
        ("Răspuns automat: Re: Ofertă", "Răspuns automat:"),
        ("Raspuns automat: Oferta", "Raspuns automat:"),
        ("Respuesta automática: Re: Presupuesto", "Respuesta automática:"),
        ("Fuera de la oficina: Re: Presupuesto", "Fuera de la oficina:"),
    ],
)
def test_out_of_office_subjects(subject: str, prefix: str) -> None:
    v = verdict(msg(subject=subject))
    assert v.category is Category.AUTO_REPLY
    assert v.reason == f"subject starts with {prefix!r}"


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Automatic reply settings for our team",  # a human reply about auto-replies
        "Out of office hours support contract",  # "out of office" as ordinary words
        "Fw: Out of Office: Re: Proposal",  # a person forwarding an OOF to us
        "Question about your autoreply product",
        "Нет, на месте разберёмся",
    ],
)
def test_subjects_that_only_look_automatic(subject: str) -> None:
    v = verdict(msg(subject=subject))
    assert v.category is Category.CLIENT, v


def test_auto_submitted_no_means_a_person_wrote_it() -> None:
    v = verdict(
        msg(markers={"auto-submitted": "no", "return-path": "<>"}, subject="Automatic reply: x")
    )
    assert v.category is Category.CLIENT
    assert "Auto-Submitted: no" in v.reason


def test_x_auto_response_suppress_alone_is_ordinary_outlook_mail() -> None:
    v = verdict(msg(markers={"x-auto-response-suppress": "All"}))
    assert v.category is Category.CLIENT


def test_exchange_generated_message_source_alone_is_not_automatic() -> None:
    v = verdict(msg(markers={"x-ms-exchange-generated-message-source": "Mailbox Rules Agent"}))
    assert v.category is Category.CLIENT


def test_client_message_forwarded_by_our_own_o365_rule() -> None:
    # A client wrote to a colleague; the colleague's Office 365 rule redirected it here.
    markers = {
        "x-ms-exchange-inbox-rules-loop": "colleague@ourco.com",
        "x-ms-exchange-generated-message-source": "Mailbox Rules Agent",
        "auto-submitted": "auto-generated",
        "return-path": "<>",
    }
    v = verdict(msg(markers=markers))
    assert v.needs_reply and v.category is Category.CLIENT
    assert "forwarded here by our mailbox rule" in v.reason
    assert "colleague@ourco.com" in v.reason


def test_client_oof_forwarded_by_our_rule_is_still_auto_reply() -> None:
    markers = {
        "x-ms-exchange-inbox-rules-loop": "sales@ourco.com",
        "auto-submitted": "auto-replied",
    }
    assert verdict(msg(markers=markers)).category is Category.AUTO_REPLY
    markers = {"x-ms-exchange-inbox-rules-loop": "sales@ourco.com"}
    assert verdict(msg(markers=markers, subject="Automatic reply: x")).category is (
        Category.AUTO_REPLY
    )


@pytest.mark.parametrize(
    ("kwargs", "reason_part"),
    [
        (
            {"content_type": 'multipart/report; report-type="delivery-status"; boundary=x'},
            "multipart/report",
        ),
        ({"content_type": "multipart/report"}, "multipart/report"),
        ({"sender": Address("Mail Delivery System", "MAILER-DAEMON@mx.client.ru")}, "sender"),
        ({"sender": Address("", "postmaster@client.ru")}, "sender postmaster@client.ru"),
        (
            {"sender": Address("", "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@client.ru")},
            "sender microsoftexchange",
        ),
        ({"markers": {"x-failed-recipients": "bob@client.ru"}}, "X-Failed-Recipients"),
        ({"subject": "Undeliverable: Re: Proposal"}, "'Undeliverable:'"),
        ({"subject": "Delivery Status Notification (Failure)"}, "Delivery Status Notification"),
        ({"subject": "Undelivered Mail Returned to Sender"}, "Undelivered Mail"),
        ({"subject": "Недоставлено: Re: Договор"}, "Недоставлено:"),
    ],
)
def test_bounces(kwargs: dict[str, object], reason_part: str) -> None:
    v = verdict(msg(**kwargs))  # type: ignore[arg-type]
    assert v.category is Category.BOUNCE
    assert not v.needs_reply
    assert reason_part in v.reason


def test_bounce_beats_auto_reply_markers() -> None:
    v = verdict(
        msg(
            sender=Address("", "mailer-daemon@mx.client.ru"),
            markers={"auto-submitted": "auto-replied", "return-path": "<>"},
        )
    )
    assert v.category is Category.BOUNCE


def test_read_receipt_is_automatic() -> None:
    v = verdict(msg(content_type="multipart/report; report-type=disposition-notification"))
    assert v.category is Category.AUTO_REPLY
    assert "disposition-notification" in v.reason


@pytest.mark.parametrize(
    ("markers", "reason"),
    [
        ({"x-spam-flag": "YES"}, "X-Spam-Flag: YES"),
        ({"x-spam-status": "Yes, score=7.1 required=5.0"}, "X-Spam-Status: Yes, score=7.1"),
        ({"x-ms-exchange-organization-scl": "5"}, "X-MS-Exchange-Organization-SCL: 5"),
        ({"x-ms-exchange-organization-scl": "9"}, "X-MS-Exchange-Organization-SCL: 9"),
    ],
)
def test_spam(markers: dict[str, str], reason: str) -> None:
    v = verdict(msg(markers=markers))
    assert v.category is Category.SPAM
    assert v.reason.startswith(reason)


@pytest.mark.parametrize(
    "markers",
    [
        {"x-spam-flag": "NO"},
        {"x-spam-status": "No, score=0.2 required=5.0"},
        {"x-ms-exchange-organization-scl": "1"},
        {"x-ms-exchange-organization-scl": "-1"},
        {"x-ms-exchange-organization-scl": "garbage"},
    ],
)
def test_not_spam(markers: dict[str, str]) -> None:
    assert verdict(msg(markers=markers)).category is Category.CLIENT


@pytest.mark.parametrize(
    ("markers", "reason"),
    [
        ({"precedence": "bulk"}, "Precedence: bulk"),
        ({"precedence": "list"}, "Precedence: list"),
        ({"precedence": "junk"}, "Precedence: junk"),
        ({"list-id": "<news.lists.example.com>"}, "List-Id: <news.lists.example.com>"),
        ({"list-unsubscribe": "<mailto:unsub@example.com>"}, "List-Unsubscribe:"),
        ({"list-post": "<mailto:group@example.com>"}, "List-Post:"),
    ],
)
def test_bulk(markers: dict[str, str], reason: str) -> None:
    v = verdict(msg(markers=markers))
    assert v.category is Category.BULK
    assert v.reason.startswith(reason)


@pytest.mark.parametrize(
    "email",
    [
        "noreply@client.ru",
        "no-reply@client.ru",
        "no_reply@client.ru",
        "NoReply123@client.ru",
        "donotreply@bank.es",
        "do-not-reply@bank.es",
        "do_not_reply@bank.es",
        "dontreply@x.com",
        "notifications@github.com",
        "notification@portal.ro",
        "billing-noreply@x.com",
        "noreply.invoices@x.com",
        "notify@x.com",
    ],
)
def test_no_reply_senders(email: str) -> None:
    v = verdict(msg(sender=Address("Portal", email)))
    assert v.category is Category.NO_REPLY
    assert v.reason == f"sender {email.lower()}"


@pytest.mark.parametrize(
    "email",
    [
        "juno-reply@x.com",  # "noreply" only inside a longer word
        "replyto@x.com",
        "noah@x.com",
        "notion@x.com",
        "annotations@x.com",
        "reply@x.com",
    ],
)
def test_not_no_reply(email: str) -> None:
    assert no_reply_local_part(email) is None
    assert verdict(msg(sender=Address("X", email))).category is Category.CLIENT


def test_no_reply_contact_form_with_personal_reply_to_is_a_client() -> None:
    v = verdict(
        msg(
            sender=Address("Website", "noreply@ourwebsite-forms.com"),
            reply_to=(Address("Ana", "ana@client.es"),),
        )
    )
    assert v.needs_reply and v.category is Category.CLIENT
    assert "Reply-To ana@client.es" in v.reason


def test_no_reply_with_no_reply_reply_to_stays_no_reply() -> None:
    v = verdict(
        msg(
            sender=Address("Portal", "noreply@x.com"),
            reply_to=(Address("", "donotreply@x.com"),),
        )
    )
    assert v.category is Category.NO_REPLY


def test_own_and_internal() -> None:
    assert verdict(msg(sender=Address("Maria", "Maria@OurCo.com"))).category is Category.OWN
    v = verdict(msg(sender=Address("Ion", "ion@ourco.com")))
    assert v == Verdict(False, Category.INTERNAL, "internal sender ion@ourco.com")
    assert verdict(msg(sender=Address("Ion", "ion@eu.ourco.com"))).category is Category.INTERNAL
    assert verdict(msg(sender=Address("Ion", "ion@ourco-group.ro"))).category is Category.INTERNAL
    # Not a subdomain, just a similar name.
    assert verdict(msg(sender=Address("Ion", "ion@notourco.com"))).category is Category.CLIENT


def test_order_own_before_internal_before_everything() -> None:
    auto = {"auto-submitted": "auto-replied", "list-id": "<x>"}
    assert verdict(msg(sender=Address("", "sales@ourco.com"), markers=auto)).category is (
        Category.OWN
    )
    assert verdict(msg(sender=Address("", "ion@ourco.com"), markers=auto)).category is (
        Category.INTERNAL
    )


def test_order_auto_reply_before_spam_before_bulk_before_no_reply() -> None:
    everything = {
        "auto-submitted": "auto-replied",
        "x-spam-flag": "YES",
        "list-id": "<x.lists.example>",
    }
    noreply = Address("", "noreply@x.com")
    assert verdict(msg(sender=noreply, markers=everything)).category is Category.AUTO_REPLY
    del everything["auto-submitted"]
    assert verdict(msg(sender=noreply, markers=everything)).category is Category.SPAM
    del everything["x-spam-flag"]
    assert verdict(msg(sender=noreply, markers=everything)).category is Category.BULK
    del everything["list-id"]
    assert verdict(msg(sender=noreply, markers=everything)).category is Category.NO_REPLY


def test_message_without_sender() -> None:
    v = verdict(msg(sender=None))
    assert v == Verdict(False, Category.NO_REPLY, "no sender address")


def test_internal_domain_normalisation() -> None:
    assert is_internal_domain("Sub.OurCo.com", frozenset({"@ourco.com"}))
    assert is_internal_domain("ourco.com", frozenset({".ourco.com "}))
    assert not is_internal_domain("", frozenset({"ourco.com"}))
    assert not is_internal_domain("x.com", frozenset({""}))


# --- is_automatic_recipient ---------------------------------------------------------------------


def test_automatic_recipient_fine_for_a_client() -> None:
    assert is_automatic_recipient(CLIENT, {"x-auto-response-suppress": "All"}) is None
    assert is_automatic_recipient(CLIENT, {"auto-submitted": "no"}) is None


@pytest.mark.parametrize(
    ("addr", "markers", "reason_part"),
    [
        (Address("", "noreply@x.com"), {}, "no-reply address noreply@x.com"),
        (Address("", "do-not-reply@x.com"), {}, "no-reply address"),
        (Address("", "MAILER-DAEMON@x.com"), {}, "bounce address"),
        (Address("", "bounces+abc=x.com@lists.example.com"), {}, "bounce address"),
        (CLIENT, {"auto-submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        (CLIENT, {"x-autoreply": "yes"}, "X-Autoreply: yes"),
        (CLIENT, {"return-path": "<>"}, "Return-Path: <>"),
        (CLIENT, {"precedence": "auto_reply"}, "Precedence: auto_reply"),
        (CLIENT, {"x-failed-recipients": "a@b.c"}, "bounce"),
        (CLIENT, {"list-id": "<team.lists.example.com>"}, "mailing list"),
        (CLIENT, {"precedence": "bulk"}, "Precedence: bulk"),
        (CLIENT, {"list-post": "<mailto:team@lists.example.com>"}, "List-Post"),
        (CLIENT, {"x-spam-flag": "YES"}, "spam"),
        (Address("", "not-an-address"), {}, "not a usable address"),
    ],
)
def test_automatic_recipients(addr: Address, markers: dict[str, str], reason_part: str) -> None:
    reason = is_automatic_recipient(addr, markers)
    assert reason is not None
    assert reason_part in reason


_MARKER_NAMES = st.sampled_from(
    [
        "auto-submitted",
        "x-autoreply",
        "x-auto-response-suppress",
        "x-ms-exchange-inbox-rules-loop",
        "x-ms-exchange-generated-message-source",
        "precedence",
        "list-id",
        "return-path",
        "x-spam-flag",
        "x-spam-status",
        "x-ms-exchange-organization-scl",
        "x-failed-recipients",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(max_size=80),
    markers=st.dictionaries(_MARKER_NAMES, st.text(max_size=40), max_size=5),
    local=st.from_regex(r"[a-zA-Z0-9._+-]{1,20}", fullmatch=True),
    content_type=st.sampled_from(["text/plain", "multipart/report", "multipart/mixed; x=y"]),
)
def test_classify_never_fails_and_always_explains(
    subject: str, markers: dict[str, str], local: str, content_type: str
) -> None:
    m = msg(
        subject=subject,
        sender=Address("", f"{local.lower()}@client.example"),
        markers=markers,
        content_type=content_type,
    )
    v = verdict(m)
    assert v.reason.strip()
    assert v.needs_reply == (v.category is Category.CLIENT)
    is_automatic_recipient(Address("", f"{local.lower()}@client.example"), markers)


# --- cases found by the evaluation set (tests/data/eval) ------------------------------------


def test_delivery_report_from_our_own_exchange_is_a_bounce_not_internal() -> None:
    v = verdict(
        msg(
            subject="Undeliverable: Catalogue",
            sender=Address(
                "Microsoft Outlook", "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@ourco.com"
            ),
            content_type="multipart/report; report-type=delivery-status",
        )
    )
    assert v.category is Category.BOUNCE and not v.needs_reply
    assert "delivery-status" in v.reason


def test_colleague_subject_that_reads_like_a_bounce_stays_internal() -> None:
    v = verdict(
        msg(subject="Delivery failed for order 118", sender=Address("Ion", "ion@ourco.com"))
    )
    assert v == Verdict(False, Category.INTERNAL, "internal sender ion@ourco.com")


def test_our_web_form_relaying_a_visitor_needs_a_reply() -> None:
    v = verdict(
        msg(
            subject="Mesaj nou de pe site",
            sender=Address("ourco.com", "wordpress@ourco.com"),
            reply_to=(Address("Doina Cazacu", "doina.cazacu@gmail.com"),),
        )
    )
    assert v.needs_reply and v.category is Category.CLIENT
    assert "Reply-To doina.cazacu@gmail.com" in v.reason
    # A colleague replying with a colleague's Reply-To is still internal.
    v = verdict(
        msg(sender=Address("Ion", "ion@ourco.com"), reply_to=(Address("Ana", "ana@ourco.com"),))
    )
    assert v.category is Category.INTERNAL
