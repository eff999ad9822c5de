"""Turn fetched header bytes and a text prefix into a ``ParsedMessage``.

Incoming mail is untrusted and often broken (8-bit headers, unknown charsets, missing
Message-IDs, truncated base64). Nothing in here may raise on bad input: every problem is
recorded in ``parse_errors`` and parsing goes on with what could be read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import quopri
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime

import quotequail

from mailwatch.core.message import FETCHED_HEADERS, MARKER_HEADERS, Address, ParsedMessage

TEXT_LIMIT = 4096  # characters of text kept per message
QUOTE_WINDOW = 2000  # characters handed to quotequail; separators below it are found by regex
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")
_B64_JUNK_RE = re.compile(rb"[^A-Za-z0-9+/]")
_ENCODED_WORD_GAP_RE = re.compile(r"(\?=)\s+(=\?)")
_SINGLE_VALUED = frozenset(FETCHED_HEADERS) - {"references"}


def one_line(value: str) -> str:
    """Collapse any CR, LF or control character to a single space.

    Everything that may later end up in a header goes through here, so a hostile
    display name or subject can never inject a header line.
    """
    return _WS_RE.sub(" ", _CTRL_RE.sub(" ", value.replace("\r", " ").replace("\n", " "))).strip()


def _decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Decode header or body bytes: the declared charset, then UTF-8, then cp1252."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return _guess_8bit(raw)


def _guess_8bit(raw: bytes) -> str:
    """Undeclared 8-bit text: Cyrillic cp1251 when most letters are non-ASCII, else cp1252.

    (Cyrillic words are all high bytes; Western text has an accented letter here and there.)
    """
    cyrillic = raw.decode("cp1251", errors="replace")
    letters = [c for c in cyrillic if c.isalpha()]
    high = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    if letters and len(high) >= len(letters) / 2:
        return cyrillic
    return raw.decode("cp1252", errors="replace")


def decode_header_value(raw: bytes | str, errors: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words (and raw 8-bit bytes) into one clean line."""
    text = _decode_bytes(raw) if isinstance(raw, bytes) else raw
    if "=?" not in text:
        return one_line(text)
    # Adjacent encoded words are joined without the white space between them (RFC 2047 6.2).
    text = _ENCODED_WORD_GAP_RE.sub(r"\1\2", text)
    try:
        parts = decode_header(text)
    except Exception as exc:  # malformed encoded words: keep the raw text
        if errors is not None:
            errors.append(f"header decoding: {exc}")
        return one_line(text)
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(_decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return one_line("".join(out))


def split_header_block(block: bytes) -> dict[str, bytes]:
    """Unfold a header block into ``{lower-case name: raw value}``.

    Only the first occurrence of a field is kept, except References which is joined:
    the first Return-Path or Message-ID is the one the receiving server put there.
    """
    headers: dict[str, bytes] = {}
    name: str | None = None
    value = bytearray()

    def flush() -> None:
        if name is None:
            return
        stripped = bytes(value).strip()
        if name in headers:
            if name == "references":
                headers[name] += b" " + stripped
        else:
            headers[name] = stripped

    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if not line.strip():
            if name is not None and not line:
                # blank line ends the header block
                flush()
                name = None
                value = bytearray()
                break
            continue
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                value += b" " + line.strip()
            continue
        colon = line.find(b":")
        if colon <= 0:
            continue  # garbage line inside the header: skip it, keep going
        flush()
        name = line[:colon].strip().decode("ascii", errors="replace").lower()
        value = bytearray(line[colon + 1 :])
    flush()
    return headers


def parse_addresses(raw: bytes | None, errors: list[str] | None = None) -> tuple[Address, ...]:
    if not raw:
        return ()
    text = _decode_bytes(raw)
    try:
        pairs = getaddresses([text])
    except Exception as exc:
        if errors is not None:
            errors.append(f"address parsing: {exc}")
        return ()
    result: list[Address] = []
    for name, email in pairs:
        email = one_line(email).strip("<>").lower()
        if "@" not in email:
            continue
        result.append(Address(name=decode_header_value(name, errors).strip("\"' "), email=email))
    return tuple(result)


def normalize_message_id(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode("ascii", errors="replace") if isinstance(raw, bytes) else raw
    match = _MSGID_RE.search(text)
    if match:
        return match.group(0)
    text = one_line(text).strip()
    if not text or " " in text:
        return None
    return f"<{text}>"


def message_ids_in(raw: bytes | None) -> tuple[str, ...]:
    if not raw:
        return ()
    seen: dict[str, None] = {}
    for match in _MSGID_RE.finditer(raw.decode("ascii", errors="replace")):
        seen.setdefault(match.group(0), None)
    return tuple(seen)


def parse_date(raw: bytes | None, errors: list[str] | None = None) -> datetime | None:
    if not raw:
        return None
    text = _decode_bytes(raw).strip()
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        if errors is not None:
            errors.append(f"unreadable Date {text[:60]!r}: {exc}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def decode_body_prefix(
    raw: bytes, transfer_encoding: str | None, charset: str | None, errors: list[str] | None = None
) -> str:
    """Decode the first bytes of a body part; the cut may fall inside an escape or a character."""
    encoding = (transfer_encoding or "").strip().lower()
    data = raw
    try:
        if encoding == "base64":
            clean = _B64_JUNK_RE.sub(b"", raw)
            clean = clean[: len(clean) - len(clean) % 4]
            data = base64.b64decode(clean)
        elif encoding == "quoted-printable":
            data = quopri.decodestring(raw)
    except (binascii.Error, ValueError) as exc:
        if errors is not None:
            errors.append(f"body decoding ({encoding}): {exc}")
        data = raw
    text = _decode_bytes(data, charset)
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\ufffd")


_SCRIPT_STYLE_RE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_RE = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d|/blockquote)\b[^>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_BLANKS_RE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def html_to_text(markup: str) -> str:
    """A rough text rendering of HTML: enough for language, promise and sign detection."""
    text = _SCRIPT_STYLE_RE.sub(" ", markup)
    text = _BLOCK_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    lines = (line.strip() for line in text.split("\n"))
    return _BLANKS_RE.sub("\n\n", "\n".join(lines)).strip()


_QUOTE_SEPARATORS = re.compile(
    r"^(?:-{2,}\s*(?:Original Message|Исходное сообщение|Mesaj original|Mensaje original|"
    r"Forwarded message|Пересылаемое сообщение)\s*-{2,}|_{20,}|"
    r"(?:From|От|De|Von):\s.+\n(?:(?:Sent|Отправлено|Trimis|Enviado|Gesendet|Date|Дата):\s))",
    re.IGNORECASE | re.MULTILINE,
)
_INTRO_LINE = re.compile(
    r"^.{0,200}(?:wrote|написал|написала|пишет|a scris|escribió|schrieb)\s*:?\s*$|^.{0,120}<[^>\s]+@[^>\s]+>:\s*$",
    re.IGNORECASE,
)


def new_text_of(text: str) -> str:
    """The part of a message its author wrote now: quoted replies and forwarded history cut off."""
    if not text:
        return ""
    head = text
    try:
        # quotequail is quadratic in the number of lines: give it a bounded window only.
        pieces = quotequail.quote(text[:QUOTE_WINDOW], limit=80, quote_intro_line=True)
        if len(pieces) > 1 and pieces[0][0]:
            head = pieces[0][1]
    except Exception:
        head = text
    separator = _QUOTE_SEPARATORS.search(head)
    if separator:
        head = head[: separator.start()]
    kept: list[str] = []
    lines = head.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(">"):
            if kept and _INTRO_LINE.match(kept[-1]):
                kept.pop()
            break
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if _INTRO_LINE.match(line) and (nxt.startswith(">") or not nxt.strip()):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def synthetic_message_id(headers: dict[str, bytes]) -> str:
    """A stable id for a message that has none, so its copies in two folders stay one row."""
    digest = hashlib.sha1()
    for name in ("from", "to", "date", "subject"):
        digest.update(headers.get(name, b""))
        digest.update(b"\0")
    return f"<{digest.hexdigest()[:32]}@mailwatch.invalid>"


def parse_fetched(
    header_block: bytes,
    body_prefix: bytes = b"",
    *,
    transfer_encoding: str | None = None,
    charset: str | None = None,
    body_subtype: str = "plain",
) -> ParsedMessage:
    """Build a ``ParsedMessage`` from what the IMAP sync fetched; never raises."""
    errors: list[str] = []
    headers = split_header_block(header_block)
    message_id = normalize_message_id(headers.get("message-id"))
    synthetic = message_id is None
    if message_id is None:
        message_id = synthetic_message_id(headers)
    references = message_ids_in(headers.get("references"))
    in_reply_to_ids = message_ids_in(headers.get("in-reply-to"))
    in_reply_to = in_reply_to_ids[-1] if in_reply_to_ids else None
    from_addrs = parse_addresses(headers.get("from"), errors)
    if not from_addrs:
        from_addrs = parse_addresses(headers.get("sender"), errors)
    content_type_raw = _decode_bytes(headers.get("content-type", b"text/plain"))
    content_type = one_line(content_type_raw.split(";", 1)[0]).lower() or "text/plain"
    if charset is None:
        match = re.search(r'charset\s*=\s*"?([\w.:-]+)', content_type_raw, re.IGNORECASE)
        charset = match.group(1) if match else None
    markers = {
        name: decode_header_value(headers[name], errors)[:500]
        for name in MARKER_HEADERS
        if name in headers
    }
    if content_type == "multipart/report" and "report-type" in content_type_raw.lower():
        markers["content-type"] = one_line(content_type_raw)[:300]
    text = ""
    if body_prefix:
        text = decode_body_prefix(body_prefix, transfer_encoding, charset, errors)
        if body_subtype.lower() == "html":
            text = html_to_text(text)
    text = text[:TEXT_LIMIT]
    try:
        new_text = new_text_of(text)
    except Exception as exc:  # defensive: the quote finder must never stop a sync
        errors.append(f"quote detection: {exc}")
        new_text = text
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=decode_header_value(headers.get("subject", b""), errors),
        from_addr=from_addrs[0] if from_addrs else None,
        to=parse_addresses(headers.get("to"), errors),
        cc=parse_addresses(headers.get("cc"), errors),
        reply_to=parse_addresses(headers.get("reply-to"), errors),
        date=parse_date(headers.get("date"), errors),
        thread_index=one_line(_decode_bytes(headers["thread-index"])) or None
        if "thread-index" in headers
        else None,
        thread_topic=decode_header_value(headers["thread-topic"], errors) or None
        if "thread-topic" in headers
        else None,
        content_type=content_type,
        markers=markers,
        text=text,
        new_text=new_text,
        message_id_synthetic=synthetic,
        parse_errors=tuple(errors),
    )


def unparseable(reason: str, key_parts: Iterable[str]) -> ParsedMessage:
    """The record kept for a message that could not be read at all (kept aside, never lost)."""
    digest = hashlib.sha1("\0".join(key_parts).encode()).hexdigest()[:32]
    return ParsedMessage(
        message_id=f"<unparseable-{digest}@mailwatch.invalid>",
        in_reply_to=None,
        references=(),
        subject="",
        from_addr=None,
        message_id_synthetic=True,
        parse_errors=(reason,),
    )


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole RFC 5322 message (tests, demo data, evaluation sets).

    Picks the first text/plain part (else the first text/html) exactly as the sync does
    with BODYSTRUCTURE, so both paths give the same result.
    """
    import email
    from email.message import Message
    from email.policy import compat32

    head, sep, _ = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    message: Message = email.message_from_bytes(raw, policy=compat32)
    chosen: Message | None = None
    for wanted in ("plain", "html"):
        for part in message.walk():
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            if part.get_content_subtype() != wanted:
                continue
            if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
                continue
            chosen = part
            break
        if chosen is not None:
            break
    body = b""
    encoding = None
    charset = None
    subtype = "plain"
    if chosen is not None:
        payload = chosen.get_payload(decode=True)  # transfer encoding undone here
        body = payload if isinstance(payload, bytes) else b""
        charset = chosen.get_content_charset()
        subtype = chosen.get_content_subtype()
    return parse_fetched(
        head + sep,
        body,
        transfer_encoding=encoding,
        charset=charset,
        body_subtype=subtype,
    )
