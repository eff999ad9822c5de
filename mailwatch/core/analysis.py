"""Everything the tracker learns from one message, in one pure call.

Inbound: does a client wait for us (and why not, when not), the language, a deadline the client
asks of us, warning signs. Outbound: the language and the promises we made. Only client mail
gets the text analysers: a newsletter's "discount" is not a client pushing on price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.classify import Category, Verdict, classify_inbound
from mailwatch.core.language import detect_language, detect_languages
from mailwatch.core.message import Direction, ParsedMessage
from mailwatch.core.pickling import tuple_pickled
from mailwatch.core.promises import DetectedPromise, detect_promises, detect_requested_deadline
from mailwatch.core.warning_signs import WarningSign, detect_text_signs

# Bump when the analysers change in a way that should re-analyse stored mail.
ANALYSIS_VERSION = 2  # 2: "thanks only" needs no reply (intent)


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    own_addresses: frozenset[str]
    internal_domains: frozenset[str]
    calendar: BusinessCalendar
    languages: Sequence[str]


@tuple_pickled
@dataclass(frozen=True, slots=True)
class MessageAnalysis:
    needs_reply: bool
    category: str
    reason: str
    language: str | None
    requested_by: datetime | None
    signs: tuple[WarningSign, ...]
    promises: tuple[DetectedPromise, ...]


def analyze_message(
    msg: ParsedMessage,
    direction: Direction,
    at: datetime | None,
    settings: AnalysisSettings,
    read_text: bool = True,
) -> MessageAnalysis:
    """``read_text`` False: headers only (old mail in a backfill); the verdict is the same."""
    if not read_text:
        if direction is Direction.OUTBOUND:
            return MessageAnalysis(False, Category.OWN.value, "sent by us", None, None, (), ())
        verdict = classify_inbound(msg, settings.own_addresses, settings.internal_domains)
        return MessageAnalysis(
            verdict.needs_reply, verdict.category.value, verdict.reason, None, None, (), ()
        )
    if direction is Direction.OUTBOUND:
        language = detect_language(msg.new_text, settings.languages)
        promises: tuple[DetectedPromise, ...] = ()
        if at is not None and msg.new_text:
            promises = tuple(detect_promises(msg.new_text, at, settings.calendar, language))
        return MessageAnalysis(
            False, Category.OWN.value, "sent by us", language, None, (), promises
        )

    verdict = classify_inbound(msg, settings.own_addresses, settings.internal_domains)
    if not verdict.needs_reply:
        return MessageAnalysis(False, verdict.category.value, verdict.reason, None, None, (), ())
    language = detect_language(msg.new_text, settings.languages)
    requested = None
    if at is not None and msg.new_text:
        requested = detect_requested_deadline(msg.new_text, at, settings.calendar, language)
    signs = tuple(detect_text_signs(msg.new_text, msg.message_id, language))
    return MessageAnalysis(
        True, verdict.category.value, verdict.reason, language, requested, signs, ()
    )


@dataclass(frozen=True, slots=True)
class AnalysisInput:
    """One message for :func:`analyze_messages`: the arguments of :func:`analyze_message`."""

    msg: ParsedMessage
    direction: Direction
    at: datetime | None
    read_text: bool = True


def analyze_messages(
    items: Sequence[AnalysisInput], settings: AnalysisSettings
) -> list[MessageAnalysis]:
    """:func:`analyze_message` for a batch, with one language-model call for all of it.

    Same results, item for item, as calling :func:`analyze_message` on each (tested on the
    evaluation set): the per-message rules are unchanged, only lingua runs once per batch
    (on every core) instead of once per message.
    """
    verdicts: list[Verdict | None] = []
    wants_language: list[int] = []
    for index, item in enumerate(items):
        verdict = None
        if item.direction is not Direction.OUTBOUND:
            verdict = classify_inbound(item.msg, settings.own_addresses, settings.internal_domains)
        verdicts.append(verdict)
        if item.read_text and (verdict is None or verdict.needs_reply):
            wants_language.append(index)
    found = detect_languages([items[i].msg.new_text for i in wants_language], settings.languages)
    languages = dict(zip(wants_language, found, strict=True))
    results = []
    for index, item in enumerate(items):
        verdict = verdicts[index]
        if not item.read_text or (verdict is not None and not verdict.needs_reply):
            if verdict is None:
                results.append(
                    MessageAnalysis(False, Category.OWN.value, "sent by us", None, None, (), ())
                )
            else:
                results.append(
                    MessageAnalysis(
                        verdict.needs_reply, verdict.category.value, verdict.reason,
                        None, None, (), (),
                    )
                )  # fmt: skip
            continue
        results.append(_read(item, verdict, languages[index], settings))
    return results


def _read(
    item: AnalysisInput, verdict: Verdict | None, language: str | None, settings: AnalysisSettings
) -> MessageAnalysis:
    """The text analysers of one message whose language is known (as in analyze_message)."""
    msg, at = item.msg, item.at
    if verdict is None:
        promises: tuple[DetectedPromise, ...] = ()
        if at is not None and msg.new_text:
            promises = tuple(detect_promises(msg.new_text, at, settings.calendar, language))
        return MessageAnalysis(
            False, Category.OWN.value, "sent by us", language, None, (), promises
        )
    requested = None
    if at is not None and msg.new_text:
        requested = detect_requested_deadline(msg.new_text, at, settings.calendar, language)
    signs = tuple(detect_text_signs(msg.new_text, msg.message_id, language))
    return MessageAnalysis(
        True, verdict.category.value, verdict.reason, language, requested, signs, ()
    )
