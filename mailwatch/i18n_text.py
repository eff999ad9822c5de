"""Stored English texts shown in the interface language: etiquette findings and needs-reply
reasons.

Why at display time: the pure core writes these one-line explanations in English and they are
stored with the draft or the message (JSON and the database keep them English, like every
identifier). Each known shape is matched here and rebuilt from its catalog entry with the same
values; a text of an unknown shape (a new check not yet listed) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailwatch.core.etiquette import PASSED_WORDS, PROBLEM_WORDS
from mailwatch.i18n import N_, N_plural, current, gettext, ngettext

__all__ = ["finding_code", "finding_text", "passed_word", "problem_word", "reason_text"]

Rule = tuple[re.Pattern[str], Callable[[dict[str, str]], str]]


# What a placeholder may stand for in a stored text; anything else is ``.+``.
_SLOT = {"email": r"\S+", "reply": r"\S+", "num": r"\d+", "max": r"\d+"}
_MAY_BE_EMPTY = frozenset({"signature", "words", "text", "evidence"})
_PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sd]")


def _pattern(english: str) -> re.Pattern[str]:
    """The stored English sentence as a regex: each ``%(name)s`` becomes a named group."""
    parts: list[str] = []
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(english):
        name = m.group(1)
        slot = _SLOT.get(name, ".*" if name in _MAY_BE_EMPTY else ".+")
        parts += [re.escape(english[pos : m.start()]), f"(?P<{name}>{slot})"]
        pos = m.end()
    parts.append(re.escape(english[pos:]))
    return re.compile("".join(parts))


def _same(msgid: str, stored: str | None = None) -> Rule:
    """A stored text and its catalog entry, written once: the core stores ``msgid`` filled in
    (or, where the interface words it differently, ``stored``)."""
    return _pattern(stored or msgid), lambda values: gettext(msgid, **values)


def _counted(pair: tuple[str, str], key: str) -> Rule:
    """A stored text with a count: matched by the plural form, shown with ``ngettext``."""
    one, many = pair
    return _pattern(many), lambda values: ngettext(
        one, many, int(values[key]), **{k: v for k, v in values.items() if k != key}
    )


_FINDINGS: list[Rule] = [
    _same(N_("The body is empty.")),
    _same(N_("Greets %(name)s by name.")),
    _same(N_("The greeting does not use the name (%(name)s).")),
    _same(N_("No greeting: start with a greeting by name (%(name)s).")),
    _same(N_("A neutral greeting on purpose: %(reason)s.")),
    _same(
        N_(
            "The client's name is not known, so the greeting is neutral; add the name if "
            "you know it."
        )
    ),
    _same(N_("No greeting: start with a greeting (by name when you know it).")),
    _same(N_("The subject is empty.")),
    _same(N_("The subject contains a line break.")),
    _same(N_('The subject stacks prefixes ("Re: Re:"); keep one "Re:".')),
    _same(N_('A reply\'s subject should be "Re: " + the original subject.')),
    _same(N_("The subject is long (%(num)s characters).")),
    _same(N_("The subject says what the mail is about.")),
    _counted(
        N_plural(
            "%(num)d word: keep it to the essentials (under about %(max)s).",
            "%(num)d words: keep it to the essentials (under about %(max)s).",
        ),
        "num",
    ),
    _counted(
        N_plural(
            "Only %(num)d word: is anything missing?", "Only %(num)d words: is anything missing?"
        ),
        "num",
    ),
    _counted(N_plural("%(num)d word.", "%(num)d words."), "num"),
    _same(N_("No signature is configured (MAILWATCH_SIGNATURE).")),
    _same(N_('The signature ("%(signature)s") is not at the end.')),
    _same(N_("The signature has no contact details (phone, e-mail or web).")),
    _same(N_("Ends with the signature and contact details.")),
    _same(N_('Over-familiar for business mail: "%(words)s".')),
    _same(N_('Emoticons and "%(words)s" read as familiar.')),
    _same(N_("The tone is courteous.")),
    _same(N_("The subject is in capitals, which reads as shouting.")),
    _same(
        N_("The text is in capitals, which reads as shouting."),
        stored="The body is in capitals, which reads as shouting.",
    ),
    _same(N_("Several words in capitals in the subject.")),
    _same(
        N_("Several words in capitals in the text."),
        stored="Several words in capitals in the body.",
    ),
    _same(N_("No shouting in capitals.")),
    _same(N_('An unfilled placeholder is left: "%(text)s".')),
    _same(N_("No unfilled placeholders.")),
]

_CODES = {
    "greeting": N_("greeting"),
    "subject": N_("subject"),
    "length": N_("length"),
    "signature": N_("signature"),
    "familiar": N_("tone"),
    "caps": N_("capitals"),
    "placeholders": N_("placeholders"),
}


# A passed check in plain words (core.etiquette.PASSED_WORDS, which stays English for the CLI):
# the web page's "Reads well: ..." line.
_PASSED = {
    "greeting": N_("greets the client by name"),
    "subject": N_("keeps the conversation's subject"),
    "length": N_("short and to the point"),
    "signature": N_("signed"),
    "familiar": N_("polite in tone"),
    "caps": N_("no shouting in capitals"),
    "placeholders": N_("no blanks left to fill"),
}


# What to look at when a check did not pass (core.etiquette.PROBLEM_WORDS, English for the
# pure core): the CLI queue's "check" column.
_PROBLEMS = {
    "greeting": N_("check the greeting"),
    "subject": N_("check the subject"),
    "length": N_("check the length"),
    "signature": N_("no signature"),
    "familiar": N_("too familiar in tone"),
    "caps": N_("too many capitals"),
    "placeholders": N_("blanks left to fill"),
}


def problem_word(code: str) -> str:
    """What a failed or warned etiquette check asks to look at, in the interface language."""
    if code in _PROBLEMS:
        return gettext(_PROBLEMS[code])
    return PROBLEM_WORDS.get(code, code)


def passed_word(code: str) -> str:
    """What a passed etiquette check means, in the interface language."""
    if code in _PASSED:
        return gettext(_PASSED[code])
    return PASSED_WORDS.get(code, code)


def _rebuild(rules: list[Rule], text: str) -> str:
    if current() == "en" or not text:
        return text
    for pattern, build in rules:
        match = pattern.fullmatch(text.strip())
        if match:
            return build(match.groupdict())
    return text


def finding_text(message: str) -> str:
    """An etiquette finding's message in the interface language."""
    return _rebuild(_FINDINGS, message)


def finding_code(code: str) -> str:
    """An etiquette check's name (``greeting``) in the interface language."""
    return gettext(_CODES[code]) if code in _CODES else code


_REASONS: list[Rule] = [
    _same(N_("from client %(email)s")),
    _same(N_("from client %(email)s; thanks only (%(evidence)s)")),
    _same(N_("we wrote last, at %(when)s")),
    _same(
        N_("answered from another mail client (the message of %(when)s is marked answered)"),
        stored="answered from another mail client: the \\Answered flag is set on the message "
        "of %(when)s",
    ),
    _same(N_("sent from our own address %(email)s")),
    _same(N_("a colleague: %(email)s"), stored="internal sender %(email)s"),
    _same(N_("no sender address")),
    _same(
        N_("sender %(email)s, but replies go to %(reply)s (a contact form)"),
        stored="sender %(email)s but Reply-To %(reply)s (a contact form)",
    ),
    _same(N_("automatic sender %(email)s"), stored="sender %(email)s"),
    _same(N_("the subject starts with %(prefix)s"), stored="subject starts with %(prefix)s"),
    _same(
        N_("no client is waiting: no incoming message"),
        stored="no client is waiting: no inbound message",
    ),
]


def reason_text(reason: str) -> str:
    """A needs-reply reason in the interface language: the common shapes are rebuilt (the
    client's address, the evidence quoted stay as they are); others are shown as stored."""
    if current() == "en" or not reason:
        return reason
    if reason.startswith("no client is waiting: ") and "no inbound message" not in reason:
        rest = reason[len("no client is waiting: ") :]
        return gettext("no client is waiting: %(reason)s", reason=reason_text(rest))
    head, sep, since = reason.rpartition(", waiting since ")
    if sep:
        return gettext("%(reason)s, waiting since %(when)s", reason=reason_text(head), when=since)
    return _rebuild(_REASONS, reason)
