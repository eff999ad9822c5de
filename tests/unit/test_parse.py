"""Header and text parsing: broken input never raises, and nothing can inject a header."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailwatch.core.parse import (
    decode_body_prefix,
    decode_header_value,
    new_text_of,
    one_line,
    parse_fetched,
    parse_message,
    split_header_block,
)


def test_rfc2047_and_folded_headers():
    block = (
        b"Subject: =?utf-8?B?0KHRh9GR0YIg0L3QsCDQvtC/0LvQsNGC0YM=?=\r\n"
        b"  =?utf-8?Q?_=E2=84=96_17?=\r\n"
        b'From: "=?koi8-r?B?58zBxMvP1w==?=" <vg@x.ru>\r\n'
        b"Message-ID: <a@b>\r\nReferences: <r1@x>\r\n <r2@x>\r\nIn-Reply-To: junk <r2@x> (comment)\r\n\r\n"
    )
    msg = parse_fetched(block)
    assert msg.subject == "Счёт на оплату № 17"
    assert msg.from_addr is not None and msg.from_addr.name == "Гладков"
    assert msg.references == ("<r1@x>", "<r2@x>")
    assert msg.in_reply_to == "<r2@x>"
    assert msg.parent_ids == ("<r1@x>", "<r2@x>")


def test_missing_message_id_gets_a_stable_synthetic_one():
    block = b"From: a@x.test\r\nSubject: hi\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n"
    first, second = parse_fetched(block), parse_fetched(block)
    assert first.message_id_synthetic and first.message_id == second.message_id
    assert first.message_id.endswith("@mailwatch.invalid>")
    other = parse_fetched(block.replace(b"hi", b"ho"))
    assert other.message_id != first.message_id


def test_dates():
    msg = parse_fetched(b"Date: Fri, 13 Mar 2026 17:55:00 +0200\r\n\r\n")
    assert msg.date == datetime(2026, 3, 13, 15, 55, tzinfo=UTC)
    broken = parse_fetched(b"Date: the day after tomorrow\r\n\r\n")
    assert broken.date is None and any("Date" in e for e in broken.parse_errors)


def test_hostile_values_cannot_break_a_header_line():
    block = b"Subject: =?utf-8?Q?Hello=0D=0ABcc:_victim@x.test?=\r\nFrom: =?utf-8?Q?Eve=0ABcc:_x@y?= <eve@x.test>\r\n\r\n"
    msg = parse_fetched(block)
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.from_addr is not None and "\n" not in msg.from_addr.name


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=2000),
    st.binary(max_size=2000),
    st.sampled_from([None, "base64", "quoted-printable", "8bit"]),
    st.sampled_from([None, "utf-8", "koi8-r", "x-unknown", "cp1251"]),
)
def test_any_bytes_parse_without_raising(header, body, encoding, charset):
    msg = parse_fetched(header, body, transfer_encoding=encoding, charset=charset)
    assert msg.message_id.startswith("<")
    assert "\n" not in msg.subject and "\r" not in msg.subject


@given(st.text(max_size=300))
def test_one_line_never_keeps_line_breaks(text):
    assert "\n" not in one_line(text) and "\r" not in one_line(text)


def _one_line_reference(value: str) -> str:
    """one_line before its fast path for clean values."""
    return re.sub(
        r"\s+",
        " ",
        re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", value.replace("\r", " ").replace("\n", " ")),
    ).strip()


@settings(max_examples=1000)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab  \t\r\n\x0b\x1c\x7f\x85\xa0\u2028\u3000é"))
        | st.characters(),
        max_size=40,
    )
)
def test_one_line_fast_path_changes_nothing(text):
    assert one_line(text) == _one_line_reference(text)


def test_truncated_base64_prefix_decodes_what_is_there():
    raw = base64.encodebytes("Добрый день! Пришлю макет до 13 марта.".encode())
    text = decode_body_prefix(raw[:37], "base64", "utf-8")
    assert text.startswith("Добрый")


def test_new_text_cuts_quotes_in_several_languages():
    en = "I will send it by Friday.\n\nOn Mon, Mar 9, 2026 at 10:00 AM, Bob <b@x.com> wrote:\n> by Friday?\n"
    assert new_text_of(en) == "I will send it by Friday."
    ru = 'Пришлю до пятницы.\n\n18.03.2026, 10:00, "Иван" <i@x.ru>:\n> когда будет?\n'
    assert new_text_of(ru) == "Пришлю до пятницы."
    outlook = "Sure, tomorrow.\n\n________________________________\nFrom: Client <c@x.com>\nSent: Monday\n\nold text"
    assert new_text_of(outlook) == "Sure, tomorrow."
    es = "Le enviaré el presupuesto el lunes.\n\nEl lun, 9 mar 2026 a las 10:00, Ana <a@x.es> escribió:\n> ¿Cuándo?"
    assert new_text_of(es) == "Le enviaré el presupuesto el lunes."


def test_html_only_message_gets_text():
    raw = (
        b"From: a@x.test\r\nMessage-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Hello&nbsp;there</p><script>alert(1)</script></body></html>"
    )
    msg = parse_message(raw)
    assert "Hello" in msg.text and "alert" not in msg.text and "<p>" not in msg.text


def test_first_text_part_of_multipart():
    raw = (
        b'From: a@x.test\r\nMessage-ID: <m@x>\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b'--B\r\nContent-Type: multipart/alternative; boundary="C"\r\n\r\n'
        b"--C\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("Привет".encode("koi8-r"))
        + b"\r\n--C\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--C--\r\n--B--\r\n"
    )
    assert parse_message(raw).text == "Привет"


def test_duplicate_headers_keep_the_first_but_join_references():
    headers = split_header_block(
        b"Return-Path: <>\r\nReturn-Path: <a@x>\r\nReferences: <1@x>\r\nReferences: <2@x>\r\n\r\n"
    )
    assert headers["return-path"] == b"<>"
    assert headers["references"] == b"<1@x> <2@x>"


def test_markers_are_kept_for_classification():
    msg = parse_fetched(
        b"Auto-Submitted: auto-replied\r\nList-Id: <x.lists.test>\r\nPrecedence: bulk\r\n\r\n"
    )
    assert msg.markers == {
        "auto-submitted": "auto-replied",
        "list-id": "<x.lists.test>",
        "precedence": "bulk",
    }


def test_header_decoding_survives_garbage():
    assert decode_header_value(b"=?utf-8?B?not base64!!?=") != ""
    assert decode_header_value("=?unknown-charset?Q?caf=E9?=") != ""


def _guess_8bit_reference(raw: bytes) -> str:
    """_guess_8bit before it counted with map/findall."""
    cyrillic = raw.decode("cp1251", errors="replace")
    letters = [c for c in cyrillic if c.isalpha()]
    high = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    if letters and len(high) >= len(letters) / 2:
        return cyrillic
    return raw.decode("cp1252", errors="replace")


@settings(max_examples=500)
@given(st.binary(max_size=60))
@example("Привет, world! ѓ҂҃".encode("cp1251", errors="replace"))
@example(bytes(range(128, 256)))
def test_guess_8bit_unchanged(raw):
    from mailwatch.core.parse import _guess_8bit

    assert _guess_8bit(raw) == _guess_8bit_reference(raw)


@pytest.mark.parametrize(
    "quote_head",
    [
        "De la: Ion Rusu <ion@acme.md>\nTrimis: luni, 2 martie 2026 10:00\nCătre: Ana\n",
        "De: Jorge <jorge@cliente.es>\nEnviado el: lunes, 2 de marzo de 2026 10:00\nPara: Ana\n",
        "From: Bob <bob@x.test>\n\nSent: Monday, March 2, 2026 10:00 AM\nTo: Ana\n",
        "---- On Mon, 02 Mar 2026 10:00:00 +0200 Bob <bob@x.test> wrote ----\n",
    ],
)
def test_outlook_and_zoho_quote_headers_cut_the_history(quote_head):
    text = f"Thanks, I will send it by Friday.\n\n{quote_head}\nI will send you the samples by Thursday.\n"
    assert new_text_of(text) == "Thanks, I will send it by Friday."
