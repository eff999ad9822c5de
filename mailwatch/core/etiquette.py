"""Is a draft a good business email? Findings shown with the draft before it is approved.

Works on what the user sees and may have edited: a subject and a plain-text body. Each finding
has a ``code`` (one per rule), ``ok`` and a ``message``; ``level`` is "ok", "warn" (worth a look)
or "fail" (should be fixed before sending). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mailwatch.core.drafting import RenderedDraft
from mailwatch.core.text import fold

__all__ = [
    "MAX_WORDS",
    "PASSED_WORDS",
    "PROBLEM_WORDS",
    "Finding",
    "check_draft",
    "check_etiquette",
    "has_problems",
]

# Each check in plain words, for the one-line summaries (CLI list, web queue): what a passed
# check means, and what to look at when it did not pass. The finding's message has details.
PASSED_WORDS = {
    "greeting": "greets the client by name",
    "subject": "keeps the conversation's subject",
    "length": "short and to the point",
    "signature": "signed",
    "familiar": "polite in tone",
    "caps": "no shouting in capitals",
    "placeholders": "no blanks left to fill",
}
PROBLEM_WORDS = {
    "greeting": "check the greeting",
    "subject": "check the subject",
    "length": "check the length",
    "signature": "no signature",
    "familiar": "too familiar in tone",
    "caps": "too many capitals",
    "placeholders": "blanks left to fill",
}

MAX_WORDS = 150  # these kinds say one thing; a longer body loses the reader
MIN_WORDS = 8

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # greeting | subject | length | signature | familiar | caps | placeholders
    ok: bool
    message: str
    level: Level = "ok"


def _ok(code: str, message: str) -> Finding:
    return Finding(code, True, message, "ok")


def _warn(code: str, message: str) -> Finding:
    return Finding(code, False, message, "warn")


def _fail(code: str, message: str) -> Finding:
    return Finding(code, False, message, "fail")


# --- rules ----------------------------------------------------------------------------------------

_GREETING_RE = re.compile(
    fold(
        r"^[^\w]*(?:dear|hello|hi|good\s+(?:morning|afternoon|evening|day)|greetings"
        r"|здравствуйте|добр(?:ый|ое|ого)\s+(?:день|вечер|утро|времени)|доброе\s+утро|уважаем"
        r"|bun[ăa]\s+(?:ziua|diminea[țţt]a|seara)|stimat[ăae]?|dragă|draga"
        r"|estimad[oa]s?|apreciad[oa]s?|distinguid[oa]s?|buen[oa]s\s+(?:d[ií]as|tardes|noches)"
        r"|hola)\b"
    )
)
_GREETING_ANYWHERE_RE = re.compile(
    fold(
        r"\b(?:добрый\s+(?:день|вечер)|доброе\s+утро|здравствуйте|good\s+(?:morning|afternoon|evening)"
        r"|bun[ăa]\s+ziua|buenos\s+d[ií]as|buenas\s+tardes)\b"
    )
)

# Over-familiar forms (matched on case- and accent-folded text).
_FAMILIAR: tuple[tuple[str, str], ...] = (
    (r"\b(?:hi|hey|hello)+\s+(?:buddy|mate|pal|dude|guys|bro|sweetie|honey)\b", "en"),
    (r"^[^\w]*(?:hey|hiya|yo|sup|howdy)\b", "en"),
    (r"^[^\w]*здорово\b", "ru"),
    (r"\b(?:buddy|dude|bro|xoxo|luv|thx|pls|hugs)\b", "en"),
    (r"\bcheers\s+mate\b", "en"),
    (r"\bпривет\w*", "ru"),
    (r"\b(?:хай|здарова|дружище|братан|бро|чмоки|целую|обнимаю|пока-пока|чао)\b", "ru"),
    (r"\b(?:salut|salutare|servus|ceau|hei|pa\s+pa|te\s+pup|pupici|pupic|frate)\b", "ro"),
    (r"\bhola+\s+(?:amig[oa]|guap[oa]|maj[oa]|ti[oa]|cari[nñ]o|chic[oa]s?)\b", "es"),
    (r"\b(?:amig[oa]|cari[nñ]o|guap[oa]|besos|besitos|un\s+abrazo|que\s+tal|chao|holi)\b", "es"),
)
_FAMILIAR_RE = [(re.compile(fold(p), re.MULTILINE), lang) for p, lang in _FAMILIAR]
_SMILEY_RE = re.compile(r"(?<!\w)[:;=]-?[)(DPp](?!\w)|\){2,}|\({2,}|!{3,}|\?{3,}")
_EMOJI_RE = re.compile("[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff]")

_PLACEHOLDER_CASE_SENSITIVE = re.compile(r"\[\s*[A-Z_]{2,}(?:\s+[A-Z_]+)*\s*\]|<\s*[A-Z_]{2,}\s*>")
_PLACEHOLDER_WORDS = re.compile(
    r"\{\{|\}\}|\{%|%\}|\{#|#\}|\$\{\w*\}|%\(\w+\)[sd]|\{[a-z_]{2,30}\}"
    r"|\[\s*(?:name|first name|date|имя|фио|дата|nume|data|nombre|fecha)\s*\]|<\s*(?:name|имя)\s*>"
    r"|\bTODO\b|\bTBD\b|\bXXX+\b|\bFIXME\b|\blorem ipsum\b",
    re.IGNORECASE,
)

_REPLY_RE = re.compile(r"^re:\s*\S", re.IGNORECASE)
_STACKED_RE = re.compile(r"^(?:\s*(?:re|aw|sv|fw|fwd|ответ|răspuns)\s*:){2,}", re.IGNORECASE)
_CONTACT_RE = re.compile(r"@|\+?\d[\d\s().-]{6,}\d|https?://|www\.", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_CAPS_WORD_RE = re.compile(r"^[^\W\d_]{3,}$")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _signature_start(lines: list[str], signature: Sequence[str]) -> int | None:
    """Index of the line where the signature begins (its first line, at the end), or None."""
    first = next((s.strip() for s in signature if s.strip()), "")
    if not first:
        return None
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    tail = nonblank[-(len([s for s in signature if s.strip()]) + 3) :]
    for i in reversed(tail):
        if fold(lines[i].strip()) == fold(first) or fold(first) in fold(lines[i]):
            return i
    return None


def _name_tokens(name: str | None) -> list[str]:
    if not name:
        return []
    return [fold(t) for t in re.split(r"[\s,]+", name) if len(t.strip(".")) >= 2]


def _check_greeting(lines: list[str], name: str | None, neutral_reason: str = "") -> Finding:
    head = [line.strip() for line in lines if line.strip()][:2]
    if not head:
        return _fail("greeting", "The body is empty.")
    first = fold(head[0])
    tokens = _name_tokens(name)
    greeted = bool(_GREETING_RE.search(first)) or bool(_GREETING_ANYWHERE_RE.search(first))
    named = any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", first) for t in tokens)
    if named and (greeted or len(first.split()) <= 6):
        return _ok("greeting", f"Greets {name} by name.")
    if tokens:
        if greeted:
            return _warn("greeting", f"The greeting does not use the name ({name}).")
        return _fail("greeting", f"No greeting: start with a greeting by name ({name}).")
    if greeted and neutral_reason:
        return _ok("greeting", f"A neutral greeting on purpose: {neutral_reason}.")
    if greeted:
        return _warn(
            "greeting",
            "The client's name is not known, so the greeting is neutral; add the name if you know it.",
        )
    return _fail("greeting", "No greeting: start with a greeting (by name when you know it).")


def _check_subject(subject: str, is_reply: bool) -> Finding:
    text = subject.strip()
    if not text:
        return _fail("subject", "The subject is empty.")
    if "\r" in subject or "\n" in subject:
        return _fail("subject", "The subject contains a line break.")
    if _STACKED_RE.match(text):
        return _warn("subject", 'The subject stacks prefixes ("Re: Re:"); keep one "Re:".')
    if is_reply and not _REPLY_RE.match(text):
        return _warn("subject", 'A reply\'s subject should be "Re: " + the original subject.')
    if len(text) > 150:
        return _warn("subject", f"The subject is long ({len(text)} characters).")
    return _ok("subject", "The subject says what the mail is about.")


def _check_length(content: str) -> Finding:
    words = len(_WORD_RE.findall(content))
    if words > MAX_WORDS:
        return _warn(
            "length", f"{words} words: keep it to the essentials (under about {MAX_WORDS})."
        )
    if words < MIN_WORDS:
        return _warn("length", f"Only {words} words: is anything missing?")
    return _ok("length", f"{words} words.")


def _check_signature(lines: list[str], signature: Sequence[str], start: int | None) -> Finding:
    configured = [s for s in signature if s.strip()]
    if not configured:
        return _fail("signature", "No signature is configured (MAILWATCH_SIGNATURE).")
    if start is None:
        return _fail("signature", f'The signature ("{configured[0].strip()}") is not at the end.')
    if not _CONTACT_RE.search("\n".join(lines[start:])):
        return _warn("signature", "The signature has no contact details (phone, e-mail or web).")
    return _ok("signature", "Ends with the signature and contact details.")


def _check_familiar(text: str) -> Finding:
    folded = fold(text)
    for pattern, _lang in _FAMILIAR_RE:
        match = pattern.search(folded)
        if match:
            return _fail(
                "familiar", f'Over-familiar for business mail: "{match.group(0).strip()}".'
            )
    match = _SMILEY_RE.search(text) or _EMOJI_RE.search(text)
    if match:
        return _warn("familiar", f'Emoticons and "{match.group(0)}" read as familiar.')
    return _ok("familiar", "The tone is courteous.")


def _check_caps(subject: str, content: str) -> Finding:
    for label, text in (("subject", subject), ("body", content)):
        letters = [ch for ch in text if ch.isalpha()]
        upper = sum(1 for ch in letters if ch.isupper())
        if len(letters) >= 12 and upper / len(letters) > 0.6:
            message = f"The {label} is in capitals, which reads as shouting."
            # a subject in capitals is usually the client's own: worth a look, not a failure
            return _warn("caps", message) if label == "subject" else _fail("caps", message)
        run = 0
        for word in text.split():
            word = word.strip(".,;:!?\"'()«»")
            if _CAPS_WORD_RE.match(word) and word.isupper():
                run += 1
                if run >= 4:
                    return _warn("caps", f"Several words in capitals in the {label}.")
            else:
                run = 0
    return _ok("caps", "No shouting in capitals.")


def _check_placeholders(body: str) -> Finding:
    match = _PLACEHOLDER_WORDS.search(body) or _PLACEHOLDER_CASE_SENSITIVE.search(body)
    if match:
        return _fail("placeholders", f'An unfilled placeholder is left: "{match.group(0)}".')
    return _ok("placeholders", "No unfilled placeholders.")


def check_etiquette(
    subject: str,
    body_text: str,
    *,
    name: str | None,
    signature: str | Sequence[str],
    is_reply: bool = True,
    neutral_reason: str = "",
) -> list[Finding]:
    """Findings for a draft as the user will send it (it may have been edited).

    ``name`` is the client's name (full or as greeted; None when unknown), ``signature`` the
    configured signature (text or lines), ``is_reply`` whether the subject should start "Re:".
    One finding per rule, in a fixed order: greeting, subject, length, signature, familiar,
    caps, placeholders. ``neutral_reason`` says why the proper form of address for this
    language cannot carry a known name (a neutral greeting is then right, not a shortcoming).
    """
    sig_lines = _lines(signature) if isinstance(signature, str) else list(signature)
    lines = _lines(body_text)
    start = _signature_start(lines, sig_lines)
    content_lines = lines if start is None else lines[:start]
    content = "\n".join(content_lines)
    return [
        _check_greeting(lines, name, neutral_reason),
        _check_subject(subject, is_reply),
        _check_length(content),
        _check_signature(lines, sig_lines, start),
        _check_familiar(content),  # the subject is mostly the client's own words
        _check_caps(subject, content),
        _check_placeholders(body_text),
    ]


def check_draft(draft: RenderedDraft) -> list[Finding]:
    """:func:`check_etiquette` on a rendered (or edited, via ``dataclasses.replace``) draft."""
    return check_etiquette(
        draft.subject,
        draft.body_text,
        name=draft.addressee_name,
        signature=draft.signature_lines,
        is_reply=draft.is_reply,
        neutral_reason=draft.neutral_reason,
    )


def has_problems(findings: Sequence[Finding], level: Level = "fail") -> bool:
    """True when a finding is at ``level`` ("fail": must fix; "warn": anything not ok)."""
    if level == "warn":
        return any(not f.ok for f in findings)
    return any(f.level == "fail" for f in findings)
