"""Turn fetched header bytes and a text prefix into a ``ParsedMessage``.

Incoming mail is untrusted and often broken (8-bit headers, unknown charsets, missing
Message-IDs, truncated base64). Nothing in here may raise on bad input: every problem is
recorded in ``parse_errors`` and parsing goes on with what could be read.

Private API: the quote finder uses quotequail's private ``_internal`` and ``_patterns`` (its
regexes and its per-line matcher), because the public ``quotequail.quote`` gives the same answer
about 10x slower. quotequail is therefore pinned to one exact version in pyproject.toml, and
tests/unit/test_quotequail_pin.py fails with a clear message when the installed version or the
private pieces used here change. Should the layout change anyway, ``_build_quote_gate`` notices
and the public ``quotequail.quote`` is used instead (same result, slower).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

import quotequail
from quotequail import _internal, _patterns  # private: pinned, see the module docstring
from quotequail._enums import Position

from mailwatch.core.bodystructure import TextPart
from mailwatch.core.message import FETCHED_HEADERS, MARKER_HEADERS, Address, ParsedMessage
from mailwatch.core.pickling import tuple_pickled

TEXT_LIMIT = 4096  # characters of text kept per message
QUOTE_WINDOW = 2000  # characters handed to quotequail; separators below it are found by regex
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")
_ONE_LINE_DIRTY = re.compile(r"[^\S ]|  |[\x00-\x1f\x7f]")  # what one_line would change
_B64_JUNK_RE = re.compile(rb"[^A-Za-z0-9+/]")
_ENCODED_WORD_GAP_RE = re.compile(r"(\?=)\s+(=\?)")
_SINGLE_VALUED = frozenset(FETCHED_HEADERS) - {"references", "authentication-results"}
# Between two Authentication-Results headers (a control character: never inside a value).
AR_SEPARATOR = b"\x1e"


def one_line(value: str) -> str:
    """Collapse any CR, LF or control character to a single space.

    Everything that may later end up in a header goes through here, so a hostile
    display name or subject can never inject a header line.
    """
    if _ONE_LINE_DIRTY.search(value) is None:
        return value.strip()  # nothing to collapse (the usual case)
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
    letters = sum(map(str.isalpha, cyrillic))
    high = sum(map(str.isalpha, _CYRILLIC_RE.findall(cyrillic)))
    if letters and high >= letters / 2:
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


_MESSAGE_ID_FIELD = re.compile(rb"(?im)^message-id[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)")


def header_message_id(block: bytes) -> str | None:
    """The Message-ID of a header block, read without splitting the whole block.

    A cheap first look for the sync (is this message stored already?); the full parse
    (:func:`split_header_block`, :func:`parse_fetched_headers`) decides what is stored, so an
    odd block read differently here only costs or saves a text fetch, never a message."""
    match = _MESSAGE_ID_FIELD.search(block)
    return normalize_message_id(b" ".join(match.group(1).split())) if match else None


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
            elif name == "authentication-results":  # one per checking server: keep them all
                headers[name] += AR_SEPARATOR + stripped.replace(AR_SEPARATOR, b" ")
        else:
            headers[name] = (
                stripped.replace(AR_SEPARATOR, b" ")
                if name == "authentication-results"
                else stripped
            )

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


# The common shapes of an address list, which email.utils.getaddresses (a slow
# character-by-character parser) reads as follows: "a@b.c" -> ("", "a@b.c");
# 'Ann B. Lee <a@b.c>' -> ("Ann B. Lee", "a@b.c"); '"Lee, Ann" <a@b.c>' -> ("Lee, Ann",
# "a@b.c"); comma-separated. Anything else (comments, groups, escapes, line breaks, odd
# white space, empty items...) goes to getaddresses. Tests compare both on the corpus and
# on generated lists.
_ADDR_ATOM = r'[^()<>@,:;."\[\]\\\s]+'
_ADDR_SPEC = rf"{_ADDR_ATOM}(?:\.{_ADDR_ATOM})*@{_ADDR_ATOM}(?:\.{_ADDR_ATOM})*"
_PHRASE_WORD = r'[^()<>@,:;"\[\]\\\s]+'
_SIMPLE_ADDRESS = re.compile(
    rf"[ \t]*(?:({_ADDR_SPEC})"
    rf"|({_PHRASE_WORD}(?:[ \t]+{_PHRASE_WORD})*)[ \t]*<({_ADDR_SPEC})>"
    rf'|"([^"\\\r\n]*)"[ \t]*<({_ADDR_SPEC})>)[ \t]*(?:,|\Z)'
)
_TABS = re.compile(r"[ \t]+")


def _simple_addresses(text: str) -> list[tuple[str, str]] | None:
    """``getaddresses([text])`` for the common shapes only; None for anything else."""
    pairs: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _SIMPLE_ADDRESS.match(text, pos)
        if m is None:
            return None
        bare, phrase, phrase_addr, quoted, quoted_addr = m.groups()
        if bare is not None:
            pairs.append(("", bare))
        elif phrase is not None:
            pairs.append((_TABS.sub(" ", phrase), phrase_addr))
        else:
            pairs.append((quoted, quoted_addr))
        pos = m.end()
    return pairs or None


def parse_addresses(raw: bytes | None, errors: list[str] | None = None) -> tuple[Address, ...]:
    if not raw:
        return ()
    text = _decode_bytes(raw)
    pairs = _simple_addresses(text)
    if pairs is None:
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
    # Outlook's header block in four languages ("De la:"/"Trimis:", "De:"/"Enviado el:"); HTML
    # mail turned into text may leave a blank line between its first two lines.
    r"(?:From|От|De|De la|Von):\s.+\n(?:[ \t]*\n)?"
    r"(?:(?:Sent|Отправлено|Trimis|Enviado|Enviado el|Gesendet|Date|Дата|Fecha|Data):\s)|"
    # Zoho Mail: "---- On Mon, 02 Mar 2026 Bob <b@x> wrote ----"
    r"-{3,}\s.{0,200}(?:wrote|написал|написала|a scris|escribió)\s*-{3,})",
    re.IGNORECASE | re.MULTILINE,
)
_INTRO_LINE = re.compile(
    r"^.{0,200}(?:wrote|написал|написала|пишет|a scris|escribió|schrieb)\s*:?\s*$|^.{0,120}<[^>\s]+@[^>\s]+>:\s*$",
    re.IGNORECASE,
)
_INTRO_WORD_ENDS = "eлатsób"  # the last letters of the words in _INTRO_LINE


def _case_variants(letters: str) -> frozenset[str]:
    """Every character that ``re.IGNORECASE`` matches to one of ``letters``.

    Found by asking ``re`` itself over the Basic Multilingual Plane (a few ms), so that
    its special cases (ſ for s, ᲄ for т...) are included; no cased character outside the
    BMP folds to a Latin or Cyrillic letter (tests check this over all of Unicode).
    """
    plane = "".join(map(chr, range(0x10000)))
    return frozenset(re.findall(f"(?i)[{re.escape(letters)}]", plane))


_INTRO_END_CHARS = _case_variants(_INTRO_WORD_ENDS)


_INTRO_WORD_END = re.compile(
    r"(?:wrote|написал|написала|пишет|a scris|escribió|schrieb)\Z", re.IGNORECASE
)
_INTRO_WORD_MAX = 8  # the longest of those words, in characters (IGNORECASE maps 1 to 1)


def _is_intro_line(line: str) -> bool:
    """``_INTRO_LINE.match(line)``, with most lines turned down by a look at their end.

    A match ends with one of the words, then white space, an optional colon and white
    space; or with ">:" and white space (``\\s`` is exactly ``str.isspace``).
    """
    tail = line.rstrip()
    if not tail:
        return False
    if tail[-1] == ":":
        if tail.endswith(">:"):
            return _INTRO_LINE.match(line) is not None
        tail = tail[:-1].rstrip()
        if not tail:
            return False
    if tail[-1] not in _INTRO_END_CHARS:
        return False
    if _INTRO_WORD_END.search(tail, max(0, len(tail) - _INTRO_WORD_MAX)) is None:
        return False
    return _INTRO_LINE.match(line) is not None


# -- quote detection -----------------------------------------------------------------------
#
# quotequail.quote(text, limit=QUOTE_LIMIT, quote_intro_line=True) cuts the text at the
# first line n where one of its 43 reply/forward regexes matches line n, or line n joined
# with line n + 1 (a wrapped intro line); failing that, at line QUOTE_LIMIT - 1. It tries
# every regex on both candidates of every line: ~86 Python-level attempts per line, which
# made it the most expensive part of a sync. ``_quote_cut`` computes the same candidates
# once per line and rejects almost all of them with two cheap tests (the last character,
# then ONE alternation of quotequail's own regexes); only a line that passes both is handed
# to quotequail's ``find_pattern_on_line`` to confirm. Same answer, ~10x faster
# (tests/unit/test_quote_fastpath.py compares both on the corpus and on generated text).

QUOTE_LIMIT = 80  # quotequail's line limit: everything from this line on counts as quoted


def _build_quote_gate() -> tuple[re.Pattern[str], frozenset[str] | None, str] | None:
    """The union of quotequail's patterns, the characters a match must end with, and the
    characters after which quotequail joins a wrapped line without a space."""
    try:
        regexes = [r for group in _patterns.COMPILED_PATTERN_MAP.values() for r in group]
        if (
            not callable(getattr(_internal, "find_pattern_on_line", None))
            or _patterns.MAX_WRAP_LINES != 2
            or not isinstance(getattr(_internal, "STRIP_SPACE_CHARS", None), str)
            or not regexes
            or any(r.flags != re.UNICODE for r in regexes)
        ):
            return None
        union = re.compile("|".join(f"(?:{r.pattern})" for r in regexes))
        no_space: str = _internal.STRIP_SPACE_CHARS
    except Exception:  # another quotequail layout: use it as it is
        return None
    # Every pattern ends with a literal before "$" (":", ">", "-", "_"): a candidate ending
    # with anything else cannot match. Derived from the patterns, not hard-coded; one
    # pattern of another shape switches this pre-test off.
    ends: set[str] | None = set()
    for r in regexes:
        m = re.fullmatch(r"(?s)(?:.*[^\\])?([:>_-])[)+]*\$", r.pattern)
        if m is None or "|" in r.pattern or ends is None:
            ends = None
            continue
        ends.add(m.group(1))
    return union, frozenset(ends) if ends else None, no_space


_QUOTE_GATE = _build_quote_gate()


def _quote_cut(window: str) -> int | None:
    """quotequail's ``find_quote_position(lines, 2, QUOTE_LIMIT, Position.Begin)``."""
    assert _QUOTE_GATE is not None
    union, ends, no_space = _QUOTE_GATE
    lines = window.split("\n")
    stop = min(len(lines), QUOTE_LIMIT)
    if ends is None:
        candidates: Iterable[int] = range(stop)
    else:
        # Line n can match only if its own stripped text, or that of line n + 1 (the
        # wrapped candidate; with a blank line n + 1 it equals the first), ends with a
        # character a pattern can end with.
        ending = [line.rstrip()[-1:] in ends for line in lines[: stop + 1]]
        ending.append(False)
        candidates = [n for n in range(stop) if ending[n] or ending[n + 1]]
    for n in candidates:
        if _quote_hit(union, no_space, lines, n) and _quote_confirm(lines, n):
            return n
    return QUOTE_LIMIT - 1 if len(lines) >= QUOTE_LIMIT else None


def _quote_hit(union: re.Pattern[str], no_space: str, lines: list[str], n: int) -> bool:
    """Whether the union matches line n, or line n joined with line n + 1, as quotequail
    builds them (a leading ">" removed; a blank line n ends the attempt)."""
    line = lines[n]
    cand = line[1:].strip() if line.startswith(">") else line
    if not cand:
        return False
    stripped = cand.strip()
    if stripped and union.match(stripped):
        return True
    if n + 1 >= len(lines):
        return False
    joined = line + lines[n + 1] if line and line[-1] in no_space else line + " " + lines[n + 1]
    if joined.startswith(">"):
        joined = joined[1:].strip()
    stripped = joined.strip()
    return bool(stripped) and union.match(stripped) is not None


def _quote_confirm(lines: list[str], n: int) -> bool:
    return _internal.find_pattern_on_line(lines, n, 2, Position.Begin) is not None


def quote_head(window: str) -> str | None:
    """The text above the first quote/forward intro in ``window``, as quotequail finds it.

    Equal to ``pieces[0][1]`` of ``quotequail.quote(window, limit=QUOTE_LIMIT,
    quote_intro_line=True)`` when that returns two pieces, and None when it returns one.
    """
    if _QUOTE_GATE is None:
        pieces = quotequail.quote(window, limit=QUOTE_LIMIT, quote_intro_line=True)
        return pieces[0][1] if len(pieces) > 1 and pieces[0][0] else None
    cut = _quote_cut(window)
    if cut is None:
        return None
    return "\n".join(window.split("\n")[:cut])


def new_text_of(text: str) -> str:
    """The part of a message its author wrote now: quoted replies and forwarded history cut off."""
    if not text:
        return ""
    head = text
    try:
        # quotequail is quadratic in the number of lines: give it a bounded window only.
        found = quote_head(text[:QUOTE_WINDOW])
        if found is not None:
            head = found
    except Exception:
        head = text
    separator = _QUOTE_SEPARATORS.search(head)
    if separator:
        head = head[: separator.start()]
    # Keep the lines before the first "> " quoted line, or before an intro line ("Bob
    # wrote:") followed by a quoted or blank line, whichever comes first.
    lines = head.split("\n")
    if head.startswith(">"):
        quoted = 0
    else:
        at = head.find("\n>")
        quoted = len(lines) if at < 0 else head.count("\n", 0, at) + 1
    stop = quoted
    for i in range(quoted):
        if _is_intro_line(lines[i]):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if nxt.startswith(">") or not nxt.strip():
                stop = i
                break
    kept = lines[:stop]
    if stop == quoted < len(lines) and kept and _is_intro_line(kept[-1]):
        kept.pop()
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
    return parse_fetched_headers(
        split_header_block(header_block),
        body_prefix,
        transfer_encoding=transfer_encoding,
        charset=charset,
        body_subtype=body_subtype,
    )


def parse_fetched_headers(
    headers: dict[str, bytes],
    body_prefix: bytes = b"",
    *,
    transfer_encoding: str | None = None,
    charset: str | None = None,
    body_subtype: str = "plain",
) -> ParsedMessage:
    """``parse_fetched`` for a header block already split by ``split_header_block``."""
    errors: list[str] = []
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
        if name in headers and name != "authentication-results"
    }
    if "date" in headers:
        # kept for its UTC offset: a client in another zone sees the times we state with it
        markers["date"] = one_line(decode_header_value(headers["date"], errors))[:100]
    if "authentication-results" in headers:  # each header decoded alone, then joined
        markers["authentication-results"] = "\x1e".join(
            decode_header_value(part, errors)[:1000]
            for part in headers["authentication-results"].split(AR_SEPARATOR)[:8]
        )
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


def first_text_part(message: Message) -> Message | None:
    """The first text/plain part that is not an attachment, else the first such text/html:
    the part the sync chooses from BODYSTRUCTURE (``core.bodystructure.choose_text_part``)."""
    for wanted in ("plain", "html"):
        for part in message.walk():
            if part.is_multipart() or part.get_content_maintype() != "text":
                continue
            if part.get_content_subtype() != wanted:
                continue
            if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
                continue
            return part
    return None


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a whole RFC 5322 message (tests, demo data, evaluation sets).

    Picks the first text/plain part (else the first text/html) exactly as the sync does
    with BODYSTRUCTURE, so both paths give the same result.
    """
    head, sep, _ = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    chosen = first_text_part(message_from_bytes(raw, policy=compat32))
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


@tuple_pickled
@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as the sync fetched it, before parsing: plain, picklable data, so the
    parsing can run in another process while the sync fetches the next batch."""

    uid: int
    header_block: bytes | None  # None: not fetched (``header_error`` says why)
    header_error: str | None
    body: bytes
    part: TextPart | None
    internal_date: datetime | None
    size: int | None
    flags: tuple[str, ...]


def parse_raw(raw: RawMessage, key_parts: Iterable[str]) -> ParsedMessage:
    """The ``ParsedMessage`` of a fetched message; never raises (a message that cannot be
    read at all is kept aside under a key made of ``key_parts``, never lost)."""
    part = raw.part
    if raw.header_block is None:  # not fetched: kept aside with the reason
        return unparseable(raw.header_error or "no header block", key_parts)
    try:
        return parse_fetched_headers(
            split_header_block(raw.header_block),
            raw.body,
            transfer_encoding=part.encoding if part else None,
            charset=part.charset if part else None,
            body_subtype=part.subtype if part else "plain",
        )
    except Exception as exc:  # parse_fetched should never raise; belt and braces
        return unparseable(f"parse failed: {exc}", key_parts)
