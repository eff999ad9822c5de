"""Values that may end up in a mail header: made safe, and the reply subject.

Everything that reaches a header of an outgoing draft (the subject, a display name) goes through
:func:`header_safe`, so a hostile display name or subject such as ``"x\\r\\nBcc: victim@..."`` can
never start a header line of its own: CR, LF and every other control character become a space.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import formataddr

__all__ = [
    "MAX_HEADER_CHARS",
    "format_address",
    "header_safe",
    "plain_display_name",
    "reply_subject",
    "strip_reply_prefixes",
]

MAX_HEADER_CHARS = 200

# Characters that break or disguise a header: C0/C1 controls (CR, LF, TAB, NUL, ...), DEL, the
# Unicode line and paragraph separators, and the bidirectional overrides used to spoof text.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_SET = frozenset(_BIDI)
_ELLIPSIS = "…"

# Reply prefixes in the languages mailwatch meets: Re, RE, Re[2], Re(3), Re^2, AW (de), SV (sv/da/no),
# VS (fi), Antw (nl), Odp (pl), YNT (tr), Res (pt), R (it), Rif (it), Ответ/Отв (ru), Răspuns (ro).
_REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|odp|ynt|res|r|rif|回复|答复|ответ|отв|răspuns|raspuns|răs|ras)"
    r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*",
    re.IGNORECASE,
)
# Tags a mail gateway puts in front of external mail; a reply should not carry them along.
_GATEWAY_TAG_RE = re.compile(
    r"^\s*\[(?:external|ext|external email|extern|externo|externe|suspicious|caution|spam"
    r"|внешн(?:ий|ее|яя)|внешнее письмо|extern[ăa])\]\s*:?\s*",
    re.IGNORECASE,
)


def _clean_char(ch: str) -> str:
    if ch in _BIDI_SET:
        return ""
    category = unicodedata.category(ch)
    if category == "Cs":  # a lone surrogate cannot be encoded at all
        return ""
    if category == "Cc" or category.startswith("Z"):  # controls; every kind of space
        return " "
    return ch


def header_safe(value: object, max_length: int = MAX_HEADER_CHARS) -> str:
    """``value`` as one clean line of at most ``max_length`` characters.

    CR, LF, TAB and every other control character become a space, bidirectional overrides are
    dropped, runs of whitespace collapse to one space, and a value that is too long is cut at a
    word boundary where one is near, ending in "…". ``None`` gives "".
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(_clean_char(ch) for ch in text)
    text = " ".join(text.split())
    if len(text) <= max_length:
        return text
    if max_length == 1:
        return _ELLIPSIS
    cut = text[: max_length - 1]
    space = cut.rfind(" ")
    if space >= max(1, max_length - 21):
        cut = cut[:space]
    return cut.rstrip() + _ELLIPSIS


def strip_reply_prefixes(subject: str) -> str:
    """The subject without any stack of reply prefixes or gateway tags in front of it.

    "RE: Re[2]: AW: Ответ: Offer" -> "Offer"; "[EXTERNAL] RE: Offer" -> "Offer". Forward
    prefixes (Fwd:, FW:) are part of what the conversation is called and stay.
    """
    text = header_safe(subject, max_length=10_000)
    while True:
        stripped = _GATEWAY_TAG_RE.sub("", text, count=1)
        stripped = _REPLY_PREFIX_RE.sub("", stripped, count=1)
        if stripped == text:
            return text.strip()
        text = stripped


def reply_subject(original: str | None, max_length: int = MAX_HEADER_CHARS) -> str:
    """ "Re: " + the original subject, never "Re: Re: ...", safe for a header.

    An empty original gives "" (the caller chooses a subject of its own then).
    """
    rest = strip_reply_prefixes(original or "")
    if not rest:
        return ""
    return header_safe("Re: " + rest, max_length=max_length)


_NAME_MAX = 64
_NAME_ALLOWED = re.compile(r"^[\w .,'’&()\-]+$")
_NAME_SPAMMY = re.compile(
    r"(?i)(https?:|www\.|\.(com|net|org|ru|cn|xyz|top|info|biz)\b|@|\$|€|£|%|!|\?|\*"
    r"|\bfree\b|\bwin(ner)?\b|\bprize\b|\bbitcoin\b|\bcrypto\b|\bviagra\b|\bcasino\b"
    r"|\bloan\b|\bclick\b|\boffer\b|\burgent\b)"
)


def plain_display_name(name: object) -> str:
    """The display name to write in a To/Cc header we send, or "" (address only).

    A client's display name comes from untrusted mail: "WIN $1000 at casino.example" must not
    be repeated in our name. Kept only when it looks like a person's or a company's name:
    short, letters, spaces and a few punctuation marks, no links, prices or spam words.
    """
    text = header_safe(name)
    if not text or len(text) > _NAME_MAX or not _NAME_ALLOWED.match(text):
        return ""
    if _NAME_SPAMMY.search(text) or sum(c.isdigit() for c in text) > 2:
        return ""
    if not any(c.isalpha() for c in text):
        return ""
    return text


_EMAIL_RE = re.compile(r"^[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+\.[^\s<>()\[\]\\,;:@\"]+$")


def format_address(display_name: str | None, email: str) -> str:
    """A ``To:``/``From:`` value: the cleaned display name (RFC 2047-encoded when needed).

    Raises ValueError when ``email`` is not one plain address (a CR/LF, a space, a comma or a
    second "@" in it would let it carry more than one recipient or another header).
    """
    address = email.strip()
    if not _EMAIL_RE.match(address) or any(unicodedata.category(ch) == "Cc" for ch in address):
        raise ValueError(f"not a single plain e-mail address: {address!r}")
    name = header_safe(display_name or "", max_length=100)
    return formataddr((name, address), charset="utf-8")
