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

from mailwatch.core.etiquette import PASSED_WORDS
from mailwatch.i18n import N_, N_plural, current, gettext, ngettext

__all__ = ["finding_code", "finding_text", "passed_word", "reason_text"]

Rule = tuple[re.Pattern[str], Callable[[dict[str, str]], str]]


def _plain(msgid: str) -> Callable[[dict[str, str]], str]:
    return lambda values: gettext(msgid, **values)


def _counted(pair: tuple[str, str], key: str) -> Callable[[dict[str, str]], str]:
    one, many = pair
    return lambda values: ngettext(
        one, many, int(values[key]), **{k: v for k, v in values.items() if k != key}
    )


_FINDINGS: list[Rule] = [
    (re.compile(r"The body is empty\."), _plain(N_("The body is empty."))),
    (re.compile(r"Greets (?P<name>.+) by name\."), _plain(N_("Greets %(name)s by name."))),
    (
        re.compile(r"The greeting does not use the name \((?P<name>.+)\)\."),
        _plain(N_("The greeting does not use the name (%(name)s).")),
    ),
    (
        re.compile(r"No greeting: start with a greeting by name \((?P<name>.+)\)\."),
        _plain(N_("No greeting: start with a greeting by name (%(name)s).")),
    ),
    (
        re.compile(r"A neutral greeting on purpose: (?P<reason>.+)\."),
        _plain(N_("A neutral greeting on purpose: %(reason)s.")),
    ),
    (
        re.compile(
            r"The client's name is not known, so the greeting is neutral; add the name if you "
            r"know it\."
        ),
        _plain(
            N_(
                "The client's name is not known, so the greeting is neutral; add the name if "
                "you know it."
            )
        ),
    ),
    (
        re.compile(r"No greeting: start with a greeting \(by name when you know it\)\."),
        _plain(N_("No greeting: start with a greeting (by name when you know it).")),
    ),
    (re.compile(r"The subject is empty\."), _plain(N_("The subject is empty."))),
    (
        re.compile(r"The subject contains a line break\."),
        _plain(N_("The subject contains a line break.")),
    ),
    (
        re.compile(r'The subject stacks prefixes \("Re: Re:"\); keep one "Re:"\.'),
        _plain(N_('The subject stacks prefixes ("Re: Re:"); keep one "Re:".')),
    ),
    (
        re.compile(r'A reply\'s subject should be "Re: " \+ the original subject\.'),
        _plain(N_('A reply\'s subject should be "Re: " + the original subject.')),
    ),
    (
        re.compile(r"The subject is long \((?P<num>\d+) characters\)\."),
        _plain(N_("The subject is long (%(num)s characters).")),
    ),
    (
        re.compile(r"The subject says what the mail is about\."),
        _plain(N_("The subject says what the mail is about.")),
    ),
    (
        re.compile(r"(?P<num>\d+) words: keep it to the essentials \(under about (?P<max>\d+)\)\."),
        _counted(
            N_plural(
                "%(num)d word: keep it to the essentials (under about %(max)s).",
                "%(num)d words: keep it to the essentials (under about %(max)s).",
            ),
            "num",
        ),
    ),
    (
        re.compile(r"Only (?P<num>\d+) words: is anything missing\?"),
        _counted(
            N_plural(
                "Only %(num)d word: is anything missing?",
                "Only %(num)d words: is anything missing?",
            ),
            "num",
        ),
    ),
    (
        re.compile(r"(?P<num>\d+) words\."),
        _counted(N_plural("%(num)d word.", "%(num)d words."), "num"),
    ),
    (
        re.compile(r"No signature is configured \(MAILWATCH_SIGNATURE\)\."),
        _plain(N_("No signature is configured (MAILWATCH_SIGNATURE).")),
    ),
    (
        re.compile(r'The signature \("(?P<signature>.*)"\) is not at the end\.'),
        _plain(N_('The signature ("%(signature)s") is not at the end.')),
    ),
    (
        re.compile(r"The signature has no contact details \(phone, e-mail or web\)\."),
        _plain(N_("The signature has no contact details (phone, e-mail or web).")),
    ),
    (
        re.compile(r"Ends with the signature and contact details\."),
        _plain(N_("Ends with the signature and contact details.")),
    ),
    (
        re.compile(r'Over-familiar for business mail: "(?P<words>.*)"\.'),
        _plain(N_('Over-familiar for business mail: "%(words)s".')),
    ),
    (
        re.compile(r'Emoticons and "(?P<words>.*)" read as familiar\.'),
        _plain(N_('Emoticons and "%(words)s" read as familiar.')),
    ),
    (re.compile(r"The tone is courteous\."), _plain(N_("The tone is courteous."))),
    (
        re.compile(r"The subject is in capitals, which reads as shouting\."),
        _plain(N_("The subject is in capitals, which reads as shouting.")),
    ),
    (
        re.compile(r"The body is in capitals, which reads as shouting\."),
        _plain(N_("The text is in capitals, which reads as shouting.")),
    ),
    (
        re.compile(r"Several words in capitals in the subject\."),
        _plain(N_("Several words in capitals in the subject.")),
    ),
    (
        re.compile(r"Several words in capitals in the body\."),
        _plain(N_("Several words in capitals in the text.")),
    ),
    (re.compile(r"No shouting in capitals\."), _plain(N_("No shouting in capitals."))),
    (
        re.compile(r'An unfilled placeholder is left: "(?P<text>.*)"\.'),
        _plain(N_('An unfilled placeholder is left: "%(text)s".')),
    ),
    (re.compile(r"No unfilled placeholders\."), _plain(N_("No unfilled placeholders."))),
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
    (re.compile(r"from client (?P<email>\S+)"), _plain(N_("from client %(email)s"))),
    (
        re.compile(r"from client (?P<email>\S+); thanks only \((?P<evidence>.*)\)"),
        _plain(N_("from client %(email)s; thanks only (%(evidence)s)")),
    ),
    (
        re.compile(r"we wrote last, at (?P<when>.+)"),
        _plain(N_("we wrote last, at %(when)s")),
    ),
    (
        re.compile(
            r"answered from another mail client: the \\Answered flag is set on the message of "
            r"(?P<when>.+)"
        ),
        _plain(
            N_("answered from another mail client (the message of %(when)s is marked answered)")
        ),
    ),
    (
        re.compile(r"sent from our own address (?P<email>\S+)"),
        _plain(N_("sent from our own address %(email)s")),
    ),
    (re.compile(r"internal sender (?P<email>\S+)"), _plain(N_("a colleague: %(email)s"))),
    (re.compile(r"no sender address"), _plain(N_("no sender address"))),
    (
        re.compile(r"sender (?P<email>\S+) but Reply-To (?P<reply>\S+) \(a contact form\)"),
        _plain(N_("sender %(email)s, but replies go to %(reply)s (a contact form)")),
    ),
    (re.compile(r"sender (?P<email>\S+)"), _plain(N_("automatic sender %(email)s"))),
    (
        re.compile(r"subject starts with (?P<prefix>.+)"),
        _plain(N_("the subject starts with %(prefix)s")),
    ),
    (
        re.compile(r"no client is waiting: no inbound message"),
        _plain(N_("no client is waiting: no incoming message")),
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
