"""The FETCH response parser gives what imapclient's parser gives, and raises when it does.

``mailwatch.mail.imap.parse_fetch`` tokenizes with one regex and falls back to
``imapclient.response_parser.parse_fetch_response`` whenever its own reading is not
certain. Compared here on hand-made responses in imaplib's shape (lines, and
``(line ending in {n}, literal)`` tuples) and on generated ones.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from imapclient.exceptions import ProtocolError
from imapclient.response_parser import parse_fetch_response

from mailwatch.mail import imap
from mailwatch.mail.imap import parse_fetch

HEADER = b"From: Ann <a@b.c>\r\nSubject: Hi\r\nMessage-ID: <1@b.c>\r\n\r\n"
REAL = [
    (
        b'1 (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "02-Mar-2026 10:00:00 +0100" '
        b'RFC822.SIZE 1234 BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL '
        b'"quoted-printable" 120 4 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL '
        b'"base64" 300 5 NIL NIL NIL NIL) "alternative" ("boundary" "b1") NIL NIL NIL) '
        b"BODY[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)] {" + str(len(HEADER)).encode() + b"}",
        HEADER,
    ),
    b")",
    (b"2 (UID 9 BODY[1]<0> {5}", b"hello"),
    b" FLAGS ())",
    b'3 (UID 10 FLAGS (\\Answered) INTERNALDATE "02-Mar-2026 10:00:00 -0000" RFC822.SIZE 0 '
    b'BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL) MODSEQ (12345))',
    b'4 (UID 11 X-GM-LABELS ("a \\"quoted\\" label" \\\\Important) ENVELOPE ("Mon, 2 Mar 2026 '
    b'10:00:00 +0000" "Subj" (("Ann" NIL "a" "b.c")) NIL NIL NIL NIL NIL NIL "<1@b.c>"))',
]


def reference(data: list[Any]) -> Any:
    try:
        return ("ok", parse_fetch_response(data, False, True))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def ours(data: list[Any]) -> Any:
    try:
        return ("ok", parse_fetch(data, False))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def test_real_shapes_take_the_fast_path():
    fast = imap._fast_fetch(REAL, False)
    assert fast == parse_fetch_response(REAL, False, True)
    assert fast[7][b"BODY[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)]"] == HEADER
    assert fast[9][b"BODY[1]<0>"] == b"hello"
    assert fast[11][b"X-GM-LABELS"] == (b'a "quoted" label', b"\\\\Important")
    assert type(fast[7][b"BODYSTRUCTURE"]) is type(
        parse_fetch_response(REAL, False, True)[7][b"BODYSTRUCTURE"]
    )


@pytest.mark.parametrize(
    "data",
    [
        [None],
        [],
        [b"1 (UID 1 FLAGS ()"],  # unbalanced
        [b"1 (UID 1 FLAGS ()))"],  # stray )
        [b"1 (UID 1 FLAGS"],  # odd item count
        [b'1 (UID 1 X abc"def")'],  # quote glued to an atom
        [b'1 (UID 1 X "unclosed)'],
        [b"1 (UID 1 X BODY[1 )"],  # unclosed [
        [(b"1 (UID 1 X {3}", b"abcd"), b")"],  # literal of the wrong size
        [b"1 (UID 1 X {3})"],  # marker without a literal
        [(b"1 (UID 1 X {3} Y {3}", b"abc"), b")"],
        [b"1 (UID 007 FLAGS ())"],  # leading zeros: not an int for the lexer
        [b"x (UID 1)"],
        [b"1 (UID x)"],
        [b"1 (UID 1 BODYSTRUCTURE NIL)"],
        [b"1 (UID 1 X %\x01 nil NIL 0 01 -1)"],
        [b'1 (UID 1 INTERNALDATE "not a date")'],
        [b"1 (UID 1 FLAGS (a)) 2 (UID 2 FLAGS (b)) 1 (UID 1 RFC822.SIZE 5)"],
    ],
)
def test_edge_cases_match_imapclient(data: list[Any]):
    assert ours(data) == reference(data)


TOKENS = [
    b"(",
    b")",
    b" ",
    b"  ",
    b"\t",
    b"UID",
    b"FLAGS",
    b"1",
    b"2",
    b"0",
    b"01",
    b"NIL",
    b"nil",
    b'"q"',
    b'"a\\"b"',
    b'"a\\\\"',
    b'"\\x"',
    b'"',
    b"BODY[1]<0>",
    b"BODY[HEADER]",
    b"[",
    b"]",
    b"%",
    b"\x01",
    b"\x7f",
    b"\xc3\xa9",
    b"\\Seen",
    b"{3}",
    b"abc",
    b"-1",
]


@st.composite
def responses(draw: st.DrawFn) -> list[Any]:
    records: list[Any] = []
    for _ in range(draw(st.integers(1, 3))):
        body = b"".join(draw(st.lists(st.sampled_from(TOKENS), max_size=12)))
        line = b"1 (UID " + draw(st.sampled_from([b"5", b"6"])) + b" " + body
        if draw(st.booleans()):
            literal = draw(st.binary(max_size=4))
            size = draw(st.sampled_from([len(literal), len(literal) + 1]))
            records.append((line + b" {" + str(size).encode() + b"}", literal))
            records.append(draw(st.sampled_from([b")", b" FLAGS ())", b"", b"))"])))
        else:
            records.append(line + draw(st.sampled_from([b")", b"", b"))"])))
    return records


@settings(max_examples=3000, deadline=None)
@given(responses())
@example([b'1 (UID 5 X "a\\\\" Y b)'])
@example([b"1 (UID 5 X BODY[a (b) c]<0> Y b)"])
def test_generated_responses_match_imapclient(data: list[Any]):
    assert ours(data) == reference(data)


def test_protocol_errors_stay_protocol_errors():
    with pytest.raises(ProtocolError):
        parse_fetch([b"1 (UID 1 FLAGS ()"])


def test_imaplib_debug_trace_off_unless_logged(caplog: pytest.LogCaptureFixture):
    client = IMAPClient.__new__(IMAPClient)  # no connection needed

    class FakeImap:
        debug = 5

    client._imap = FakeImap()  # type: ignore[assignment]
    imap._quiet_imaplib(client)
    assert client._imap.debug == 0
    client._imap.debug = 5
    with caplog.at_level(logging.DEBUG, logger="imapclient.imaplib"):
        imap._quiet_imaplib(client)
    assert client._imap.debug == 5
