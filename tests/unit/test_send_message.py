"""The RFC 5322 message built from a draft: headers, threading, loop marker, header safety."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from mailwatch.send.message import MAX_REFERENCES, DraftMessageError, build_message

NOW = datetime(2026, 3, 11, 9, 30, tzinfo=UTC)


@dataclass
class FakeDraft:
    message_id: str = "<mw.1.abc@example.com>"
    from_addr: dict[str, Any] = field(
        default_factory=lambda: {"name": "Anna Sales", "email": "sales@example.com"}
    )
    to_addrs: list[Any] = field(
        default_factory=lambda: [{"name": "Виктор Семенович", "email": "client@acme.test"}]
    )
    cc_addrs: list[Any] = field(default_factory=list)
    subject: str = "Re: Offer for 200 chairs"
    body_text: str = "Виктор Семенович, добрый день.\n\nПришлю предложение до пятницы.\n"
    body_html: str | None = None
    in_reply_to: str | None = "<q2@acme.test>"
    references: list[Any] = field(default_factory=lambda: ["<q1@acme.test>", "<q2@acme.test>"])
    thread_index: str | None = None
    thread_topic: str | None = None
    automatic: bool = False


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].decode().lower()
        for line in head.split(b"\r\n")
        if line and not line[:1].isspace()
    ]


def test_headers_and_body():
    built = build_message(FakeDraft(), NOW)
    msg = parse(built.raw)
    assert msg["Message-ID"] == "<mw.1.abc@example.com>"
    assert msg["From"].addresses[0].addr_spec == "sales@example.com"
    assert msg["To"].addresses[0].display_name == "Виктор Семенович"
    assert msg["Subject"] == "Re: Offer for 200 chairs"
    assert msg["Date"].datetime == NOW
    assert msg["In-Reply-To"] == "<q2@acme.test>"
    assert msg["References"].split() == ["<q1@acme.test>", "<q2@acme.test>"]
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert "пятницы" in msg.get_content()
    assert "Auto-Submitted" not in msg and "Thread-Index" not in msg
    assert built.sender == "sales@example.com"
    assert built.recipients == ("client@acme.test",)
    assert max(built.raw) < 128  # 7-bit: no reliance on 8BITMIME
    assert all(len(line) <= 998 for line in built.raw.split(b"\r\n"))


def test_html_alternative_outlook_headers_and_automatic_marker():
    draft = FakeDraft(
        body_html="<p>Добрый день</p>",
        thread_index="AQHZ1234abcd==",
        thread_topic="Offer for 200 chairs",
        automatic=True,
        cc_addrs=[
            {"name": "", "email": "boss@acme.test"},
            {"name": "dup", "email": "CLIENT@acme.test"},
        ],
    )
    built = build_message(draft, NOW)
    msg = parse(built.raw)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Добрый день</p>"
    assert msg.get_body(("plain",)).get_content().startswith("Виктор")
    assert msg["Thread-Index"] == "AQHZ1234abcd=="
    assert msg["Thread-Topic"] == "Offer for 200 chairs"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert built.recipients == ("client@acme.test", "boss@acme.test")  # each address once
    assert header_names(built.raw).count("mime-version") == 1


def test_hostile_display_name_and_subject_cannot_add_headers():
    draft = FakeDraft(
        to_addrs=[{"name": "Evil\r\nBcc: victim@evil.test", "email": "client@acme.test"}],
        from_addr={"name": "Sales\nX-Injected: 1", "email": "sales@example.com"},
        subject="Re: Offer\r\nBcc: victim2@evil.test\nX-Injected: 2\u2028X-Other: 3",
        thread_topic="Topic\r\nX-Injected: 3",
        thread_index="AAA\r\nX-Injected: 4",
        in_reply_to="<q2@acme.test>\r\nX-Injected: 5",
        references=["<q1@acme.test>\r\nBcc: x@evil.test"],
    )
    built = build_message(draft, NOW)
    names = header_names(built.raw)
    assert "bcc" not in names and "x-injected" not in names and "x-other" not in names
    assert "thread-index" not in names  # not a valid Thread-Index any more: left out
    msg = parse(built.raw)
    assert [a.addr_spec for a in msg["To"].addresses] == ["client@acme.test"]
    assert built.recipients == ("client@acme.test",)
    assert msg["Subject"].startswith("Re: Offer") and "\n" not in msg["Subject"]
    assert msg["In-Reply-To"] == "<q2@acme.test>"
    assert msg["References"] == "<q1@acme.test>"


@pytest.mark.parametrize(
    "email",
    ["client@acme.test\r\nBcc: x@evil.test", "a@b.test, c@d.test", "not-an-address", ""],
)
def test_an_address_that_is_not_one_plain_address_is_refused(email):
    with pytest.raises(DraftMessageError, match="To"):
        build_message(FakeDraft(to_addrs=[{"name": "X", "email": email}]), NOW)


@pytest.mark.parametrize("message_id", ["", "no-brackets@example.com", "<a b@example.com>", "<x>"])
def test_a_malformed_message_id_is_refused(message_id):
    with pytest.raises(DraftMessageError, match="Message-ID"):
        build_message(FakeDraft(message_id=message_id), NOW)


def test_no_recipient_is_refused():
    with pytest.raises(DraftMessageError, match="no recipient"):
        build_message(FakeDraft(to_addrs=[]), NOW)


def test_long_reference_chains_keep_the_root_and_the_newest():
    refs = [f"<r{i}@acme.test>" for i in range(60)]
    msg = parse(build_message(FakeDraft(references=refs), NOW).raw)
    kept = msg["References"].split()
    assert len(kept) == MAX_REFERENCES
    assert kept[0] == "<r0@acme.test>" and kept[-1] == "<r59@acme.test>"


def test_same_draft_same_message_id_on_every_attempt():
    first = parse(build_message(FakeDraft(), NOW).raw)
    second = parse(build_message(FakeDraft(), datetime(2026, 3, 12, tzinfo=UTC)).raw)
    assert first["Message-ID"] == second["Message-ID"]
