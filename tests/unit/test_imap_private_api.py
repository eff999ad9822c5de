"""The private parts of imapclient and imaplib that ``mailwatch/mail/imap.py`` relies on.

imapclient is pinned to one exact version (pyproject.toml). When an upgrade (or a new Python)
changes one of these parts, this file fails with a message naming it: re-check the use in
mailwatch/mail/imap.py (its docstring lists them), then move the pin.
"""

from __future__ import annotations

import imaplib
import inspect
import re
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import imapclient
import pytest
from imapclient import IMAPClient
from imapclient import response_parser as rp
from imapclient.exceptions import ProtocolError
from imapclient.response_types import Address, Envelope

from mailwatch.mail import imap

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
WHY = "mailwatch/mail/imap.py relies on it (see its docstring): re-check that use, then re-pin"


def _pinned() -> str:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = [d for d in deps if re.match(r"imapclient\b", d, re.IGNORECASE)]
    assert len(pins) == 1, "pyproject.toml must name imapclient once"
    match = re.fullmatch(r"imapclient==([\w.]+)", pins[0].replace(" ", ""), re.IGNORECASE)
    assert match, f"imapclient must be pinned to one exact version (==), not {pins[0]!r}: {WHY}"
    return match.group(1)


def test_imapclient_is_pinned_and_the_pinned_version_is_installed() -> None:
    assert imapclient.__version__ == _pinned(), (
        f"imapclient {imapclient.__version__} is installed, pyproject.toml pins {_pinned()}: "
        f"run the tests of this file on the new version; {WHY}"
    )


@pytest.mark.parametrize(
    ("owner", "name", "params"),
    [
        (rp, "_convert_ENVELOPE", ["envelope_response", "normalise_times"]),
        (rp, "_convert_INTERNALDATE", ["date_string", "normalise_times"]),
        (rp, "parse_fetch_response", ["text", "normalise_times", "uid_is_key"]),
        (rp, "parse_response", ["data"]),
        (IMAPClient, "_checkok", ["self", "command", "typ", "data"]),
        (imaplib.IMAP4, "_command", ["self", "name", "args"]),
        (imaplib.IMAP4, "_command_complete", ["self", "name", "tag"]),
        (imaplib.IMAP4, "_untagged_response", ["self", "typ", "dat", "name"]),
        (imaplib.IMAP4, "_get_line", ["self"]),
    ],
)
def test_private_functions_keep_their_signature(
    owner: object, name: str, params: list[str]
) -> None:
    where = f"{getattr(owner, '__name__', owner)}.{name}"
    function = getattr(owner, name, None)
    assert function is not None, f"{where} is gone: {WHY}"
    found = list(inspect.signature(function).parameters)
    assert found == params, f"{where} now takes {found}, not {params}: {WHY}"


def test_imapclient_keeps_its_imaplib_connection_as_underscore_imap() -> None:
    source = inspect.getsource(IMAPClient.__init__)
    assert "self._imap = " in source, f"IMAPClient no longer sets self._imap: {WHY}"
    assert "self.untagged_responses" in inspect.getsource(imaplib.IMAP4.__init__) or hasattr(
        imaplib.IMAP4, "untagged_responses"
    ), f"imaplib.IMAP4 has no untagged_responses any more: {WHY}"


def test_envelope_and_internaldate_conversions_behave_as_before() -> None:
    envelope = rp._convert_ENVELOPE(
        (
            b"Mon, 2 Mar 2026 10:00:00 +0100",
            b"Subj",
            ((b"Ann", None, b"a", b"b.c"),),
            None,
            None,
            None,
            None,
            None,
            b"<0@b.c>",
            b"<1@b.c>",
        ),
        False,
    )
    assert isinstance(envelope, Envelope), f"_convert_ENVELOPE returns {type(envelope)}: {WHY}"
    assert envelope.subject == b"Subj"
    assert envelope.from_ == (Address(b"Ann", None, b"a", b"b.c"),)
    assert envelope.in_reply_to == b"<0@b.c>" and envelope.message_id == b"<1@b.c>"
    assert envelope.date == datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    when = rp._convert_INTERNALDATE(b"02-Mar-2026 10:00:00 +0100", False)
    assert when == datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1))), (
        f"_convert_INTERNALDATE gives {when!r}: {WHY}"
    )
    assert rp._convert_INTERNALDATE(None, False) is None


def test_idle_lines_parse_with_the_public_parser() -> None:
    assert imap._untagged(b"* 7 EXISTS") == (7, b"EXISTS")
    assert imap._untagged(b"* 3 EXPUNGE") == (3, b"EXPUNGE")
    assert imap._untagged(b"* OK Still here") == (b"OK", b"Still here")
    flags = imap._untagged(b"* 4 FETCH (FLAGS (\\Seen))")
    assert flags == (4, b"FETCH", (b"FLAGS", (b"\\Seen",)))
    with pytest.raises(ProtocolError):
        imap._untagged(b"+ idling")
