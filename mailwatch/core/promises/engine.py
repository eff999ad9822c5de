"""The promise engine: commitments and dates found sentence by sentence, then resolved.

A promise that nobody tracks is the one that slips: "I'll send the proposal by Wednesday" is
written in a hurry and forgotten. The engine finds such commitments in the *new* text of our
outgoing mail (English, Russian, Romanian, Spanish: one module of rules each) and resolves their
due time against the message's own date in the mailbox timezone.

Design, for speed and predictability:

* sentences are matched with precompiled regexes on a lower-cased, accent-folded copy of the
  text (so "pana vineri" matches like "până vineri"; the copy keeps every character position);
* a sentence counts only with a first-person commitment by us *and* a date expression; negations
  ("I can't promise Friday"), questions, conditionals ("If you confirm today, ...") and plain
  statements are ignored;
* the date phrase is extracted here; weekdays and relative expressions are computed directly
  (a weekday is always its *next* occurrence, never today), month-name dates are handed to
  dateparser with the language set explicitly (never its auto-detection, which is slow and reads
  "me" or "are" as dates).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache, lru_cache
from typing import Protocol

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.pickling import tuple_pickled
from mailwatch.core.prescreen import Probe, Screen, ScreenSet
from mailwatch.core.promise_status import check_aware, promise_status
from mailwatch.core.promises import en, es, ro, ru
from mailwatch.core.promises.dates import Ctx, Handler, Hit, rx
from mailwatch.core.text import LANGUAGES, fold, split_sentences

__all__ = [
    "DetectedPromise",
    "detect_promises",
    "detect_requested_deadline",
    "promise_status",
]


@tuple_pickled
@dataclass(frozen=True, slots=True)
class DetectedPromise:
    text: str  # the sentence holding the commitment, trimmed
    due_at: datetime  # aware, in the calendar's timezone
    time_given: bool  # True when the text named a time of day


class LanguageRules(Protocol):
    """The tables each language module (``en``, ``ru``, ``ro``, ``es``) defines."""

    DATES: list[tuple[str, Handler]]  # date phrases and their handlers, earlier rules win
    COMMIT: list[str]  # first-person commitments by us
    NEGATION: re.Pattern[str]  # anywhere in the sentence: takes the commitment back
    NEG_BEFORE: re.Pattern[str]  # right in front of the verb
    CONDITIONAL: re.Pattern[str]  # at the start: depends on the client acting first
    REQUEST: re.Pattern[str]  # a client asking something of us
    STRICT_BEFORE: re.Pattern[str]  # "before Friday": by the end of the day before


# One module of rules per language, each with the same tables.
_RULES: dict[str, LanguageRules] = {"en": en, "ru": ru, "ro": ro, "es": es}

# "before Friday" means by the end of Thursday; "by", "until", "до", "până" include the day.
_STRICT_BEFORE: dict[str, re.Pattern[str]] = {k: m.STRICT_BEFORE for k, m in _RULES.items()}
# Negations anywhere in the sentence that take the commitment back.
_NEGATION: dict[str, re.Pattern[str]] = {k: m.NEGATION for k, m in _RULES.items()}
# A negation right in front of the verb: "не пришлю", "nu vă trimit", "no le enviaré".
_NEG_BEFORE: dict[str, re.Pattern[str]] = {k: m.NEG_BEFORE for k, m in _RULES.items()}
# A promise that depends on the client acting first is not yet ours to keep.
_CONDITIONAL: dict[str, re.Pattern[str]] = {k: m.CONDITIONAL for k, m in _RULES.items()}
# Words of a client asking something of us.
_REQUEST: dict[str, re.Pattern[str]] = {k: m.REQUEST for k, m in _RULES.items()}


# --------------------------------------------------------------------------- date hits


@cache
def _date_rules(lang: str) -> tuple[tuple[re.Pattern[str], Handler, Screen], ...]:
    """Compiled once per language: ``rx`` folds every pattern character by character, which
    cost more than the matching itself when it ran for every sentence. Each rule comes with
    its literal screen: a sentence without any word the pattern needs is not searched."""
    return tuple((pattern, h, Screen(pattern)) for pattern, h in map(_compile, _RULES[lang].DATES))


def _compile(rule: tuple[str, Handler]) -> tuple[re.Pattern[str], Handler]:
    return rx(rule[0]), rule[1]


DateRules = Sequence[tuple[re.Pattern[str], Handler, Screen]]


@cache
def _date_screens(lang: str) -> ScreenSet:
    return ScreenSet([screen for _pattern, _handler, screen in _date_rules(lang)])


def _find_hits(folded: str, ctx: Ctx, rules: DateRules | None = None) -> list[Hit]:
    """All non-overlapping date/time phrases; earlier rules win over later ones.

    ``rules``: the rules to try (in their order); by default those of the language whose
    screen lets the text through (the others cannot match it)."""
    if rules is None:
        every = _date_rules(ctx.lang)
        rules = [every[i] for i in _date_screens(ctx.lang).passing(Probe(folded))]
    taken: list[tuple[int, int]] = []
    hits: list[Hit] = []
    for pattern, handler, _screen in rules:
        for m in pattern.finditer(folded):
            if m.end() == m.start():
                continue
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            hit = handler(m, ctx)
            if hit is None:
                continue
            taken.append((m.start(), m.end()))
            hits.append(hit)
    hits.sort(key=lambda h: h.start)
    return hits


CommitRules = Sequence[tuple[re.Pattern[str], Screen]]


@cache
def _commit_screens(lang: str) -> ScreenSet:
    return ScreenSet([screen for _pattern, screen in _commit_rules(lang)])


@cache
def _commit_rules(lang: str) -> tuple[tuple[re.Pattern[str], Screen], ...]:
    return tuple((pattern, Screen(pattern)) for pattern in map(rx, _RULES[lang].COMMIT))


def _find_commitments(
    sentence: str, folded: str, lang: str, rules: CommitRules | None = None
) -> list[re.Match[str]]:
    """The non-negated first-person commitments of the sentence, in order, not overlapping.

    ``rules``: those of the language that can match somewhere in the whole text."""
    if rules is None:
        every = _commit_rules(lang)
        rules = [every[i] for i in _commit_screens(lang).passing(Probe(folded))]
    candidates: list[re.Match[str]] = []
    for pattern, _screen in rules:
        candidates.extend(pattern.finditer(folded))
    if lang == "es":
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in sentence)
        for m in es.FUTURE_ACCENT.finditer(lowered):
            word = m.group(0).split()[-1]
            if word not in es.NOT_FUTURE:
                candidates.append(m)
    candidates.sort(key=lambda m: (m.start(), -m.end()))
    found: list[re.Match[str]] = []
    for m in candidates:
        if found and m.start() < found[-1].end():
            continue
        if not _NEG_BEFORE[lang].search(folded[: m.start()]):
            found.append(m)
    return found


def _find_commitment(
    sentence: str, folded: str, lang: str, rules: CommitRules | None = None
) -> re.Match[str] | None:
    """First non-negated first-person commitment in the sentence, if any."""
    found = _find_commitments(sentence, folded, lang, rules)
    return found[0] if found else None


# Where one clause of a sentence ends and the next begins (on the folded text).
_CLAUSE_SPLIT_RE = re.compile(r"[,;:](?=\s)|\s(?:and|but|и|а|но|iar|si|dar|y|pero)\s")


def _clauses(folded: str, commitments: list[re.Match[str]]) -> list[tuple[int, int, int]]:
    """``(start, end, anchor)`` per clause holding its own commitment.

    "We will courier the samples tomorrow, and I'll send the price by the end of next week" and
    "Отгрузим в пятницу, счёт вышлю в течение часа" are two promises each: a later commitment
    starts a clause of its own when a clause break separates it from the previous one, and each
    clause keeps the dates written in it. Commitments with no break between them ("I'll check
    and get back to you tomorrow") stay one clause, anchored at the first.
    """
    clauses: list[tuple[int, int, int]] = []
    start, anchor = 0, commitments[0].start()
    previous_end = commitments[0].end()
    for m in commitments[1:]:
        breaks = list(_CLAUSE_SPLIT_RE.finditer(folded, previous_end, m.start()))
        if breaks:
            cut = breaks[-1].start()
            clauses.append((start, cut, anchor))
            start, anchor = cut, m.start()
        previous_end = m.end()
    clauses.append((start, len(folded), anchor))
    return clauses


# --------------------------------------------------------------------------- resolution


def _normalize_language(language: str | None) -> tuple[str, ...]:
    if language:
        code = language.strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return (code,)
    return LANGUAGES


_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)


def _guess_order(text: str, langs: tuple[str, ...]) -> tuple[str, ...]:
    """Cheap script check so Cyrillic text does not run through the Latin rules first."""
    if len(langs) == 1:
        return langs
    if _CYRILLIC_RE.search(text):
        return ("ru", *tuple(x for x in langs if x != "ru"))
    return (*tuple(x for x in langs if x != "ru"), "ru")


_OPENING_RE = re.compile(r"^[\W_]*(?:\w+[\W_]+)?$")
_CLAUSE_BREAK_RE = re.compile(r"[,;:—–()]")
_STRONG_BREAK_RE = re.compile(r"[;:](?=\s)")
_TAG_QUESTION_RE = rx(
    r"[,;]?\s*¿?\s*(?:ok|okay|alright|all\s+right|right|is\s+that\s+ok(?:ay)?|does\s+that\s+"
    r"work(?:\s+for\s+you)?|sounds?\s+good|ок|окей|хорошо|годится|устроит|договорились|bine|"
    r"e\s+bine|este\s+in\s+regula|vale|de\s+acuerdo|(?:le|te)\s+parece(?:\s+bien)?)\s*\?+$"
)


def _is_question(folded: str) -> bool:
    """A real question; a closing tag such as "..., OK?" leaves a statement a statement."""
    text = _TAG_QUESTION_RE.sub("", folded.rstrip())
    return text.rstrip().endswith("?") or "¿" in text


def _resolve(
    hits: list[Hit], anchor: int, folded: str, ctx: Ctx, sent_local: datetime
) -> tuple[datetime, bool] | None:
    """Due time from the phrases of one sentence: the date nearest after the verb wins."""
    cal = ctx.calendar
    dated = [h for h in hits if h.kind in ("date", "instant") or (h.kind == "eod" and h.day)]
    # "vă scriu dumneavoastră: mostrele au plecat astăzi" - a date past a colon or semicolon
    # belongs to another statement, not to the verb.
    after = [
        h
        for h in dated
        if h.start >= anchor and not _STRONG_BREAK_RE.search(folded, anchor, h.start)
    ]
    # A date before the verb belongs to the promise only when it opens the sentence ("Tomorrow
    # I'll send", "Завтра вышлю") or sits in the same clause; "As discussed on Monday, I will
    # send the offer" has no due date.
    before = [
        h
        for h in dated
        if h.start < anchor
        and (
            _OPENING_RE.match(folded[: h.start])
            or not _CLAUSE_BREAK_RE.search(folded[h.end : anchor])
        )
    ]
    chosen = after[0] if after else (before[-1] if before else None)
    times = [h for h in hits if h.kind == "time"]
    eod = any(h.kind == "eod" for h in hits)
    if chosen is None and not times and not eod:
        return None
    if chosen is not None and chosen.kind == "instant" and chosen.instant is not None:
        return chosen.instant.replace(tzinfo=cal.tz), True

    clock: time | None = None
    if times:
        ref = chosen.start if chosen is not None else anchor
        clock = min(times, key=lambda h: abs(h.start - ref)).clock

    if chosen is not None and chosen.day is not None:
        day = chosen.day
        strict = clock is None and bool(_STRICT_BEFORE[ctx.lang].search(folded[: chosen.start]))
        if strict:
            day = cal.previous_business_day(day)
    elif clock is not None:
        day = ctx.today
        if clock <= sent_local.time().replace(tzinfo=None):
            day = cal.next_business_day(ctx.today)
    else:
        day = ctx.today

    if clock is not None:
        due = datetime.combine(day, clock, tzinfo=cal.tz)
        return due, True
    due = cal.end_of_business_day(day)
    if due <= sent_local:
        # "today" written after closing time still means today, not a promise born missed.
        due = datetime.combine(day, time(23, 59), tzinfo=cal.tz)
        if due <= sent_local:
            due = cal.end_of_business_day(cal.next_business_day(day))
    return due, False


def _context(at: datetime, calendar: BusinessCalendar, lang: str) -> tuple[Ctx, datetime]:
    local = calendar.local(at)
    naive = local.replace(tzinfo=None)
    return Ctx(today=local.date(), now=naive, calendar=calendar, lang=lang), local


_check_aware = check_aware  # the detectors check their instants the same way


def detect_promises(
    new_text: str,
    sent_at: datetime,
    calendar: BusinessCalendar,
    language: str | None = None,
) -> list[DetectedPromise]:
    """Commitments by us, with a date, in the new text of one outgoing message."""
    _check_aware(sent_at, "sent_at")
    langs = _normalize_language(language)
    found: list[DetectedPromise] = []
    for sentence in split_sentences(new_text):
        folded = fold(sentence, keep_offsets=True)
        if _is_question(folded):
            continue
        for lang in _guess_order(sentence, langs):
            commitments = _find_commitments(sentence, folded, lang)
            if not commitments:
                continue
            if _NEGATION[lang].search(folded) or _CONDITIONAL[lang].search(folded.lstrip("-–•* ")):
                break
            ctx, local = _context(sent_at, calendar, lang)
            hits = _find_hits(folded, ctx)
            here: list[DetectedPromise] = []
            for start, end, anchor in _clauses(folded, commitments):
                own_hits = [h for h in hits if start <= h.start and h.end <= end]
                resolved = _resolve(own_hits, anchor, folded, ctx, local)
                if resolved is not None:
                    due, time_given = resolved
                    here.append(
                        DetectedPromise(text=sentence.strip(), due_at=due, time_given=time_given)
                    )
            if not here:
                continue
            found.extend(here)
            break
    return found


def detect_requested_deadline(
    new_text: str,
    received_at: datetime,
    calendar: BusinessCalendar,
    language: str | None = None,
) -> datetime | None:
    """The earliest deadline a client asks of us ("could you send it before March 20?")."""
    _check_aware(received_at, "received_at")
    langs = _normalize_language(language)
    if not _may_ask(new_text, langs):
        return None  # no question and no request word anywhere: no sentence can ask a date
    # Where the whole text holds request words (see _whole): only a sentence that overlaps
    # one of those places, or a question, can ask something of us.
    requests = _request_spans(new_text, langs)
    whole = _whole(new_text)
    start = 0  # where the sentence starts in the whole text
    best: datetime | None = None
    for sentence in split_sentences(new_text):
        end = start + len(sentence)
        folded = whole[start:end]  # fold() is one character for one: the folded sentence
        question = "?" in folded or "¿" in folded
        near = [
            lang for lang, spans in requests.items() if any(a < end and b > start for a, b in spans)
        ]
        start = end + 1
        if not question and not near:
            continue
        for lang in _guess_order(sentence, langs):
            asked = lang in near and _REQUEST[lang].search(folded)
            if not asked and not question:
                continue
            if not question and _find_commitment(sentence, folded, lang) is not None:
                continue  # the client promising something is not a request of us
            ctx, local = _context(received_at, calendar, lang)
            hits = _find_hits(folded, ctx)
            resolved = _resolve(hits, 0, folded, ctx, local)
            if resolved is None:
                continue
            due = resolved[0]
            if best is None or due < best:
                best = due
            break
    return best


def _may_ask(text: str, langs: tuple[str, ...] = LANGUAGES) -> bool:
    """Pre-screen for :func:`detect_requested_deadline`: can any sentence ask something of us?

    Every sentence is in :func:`_whole` with spaces around it, and the request patterns have
    no anchors or look-arounds (only ``\\b``, true at a sentence's ends as at the spaces
    around it), so a sentence that is a question or holds a request word makes this true.
    One search per language over the whole text instead of one per sentence and language.
    """
    whole = _whole(text)
    if "?" in whole or "¿" in whole:
        return True
    return bool(_request_spans(text, langs))


@lru_cache(maxsize=16)
def _whole(text: str) -> str:
    """The sentences of ``text`` joined with single spaces, folded (one probe per text).

    Every sentence is in it, with a space (or its start or end) on each side, folded the same
    way, one character for one. So a request pattern (no anchors, no look-arounds) that
    matches a sentence matches it, and a screen that lets a sentence through lets it through.
    """
    return fold(" ".join(split_sentences(text)), keep_offsets=True)


@lru_cache(maxsize=16)
def _request_spans(text: str, langs: tuple[str, ...]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Per language of ``langs``, where its request words are in :func:`_whole` (languages
    without any left out).

    A sentence that a request pattern matches overlaps one of these places: the matches
    ``finditer`` reports, leftmost first, leave no match of the pattern uncovered."""
    whole = _whole(text)
    found = {}
    for lang in langs:
        spans = tuple(m.span() for m in _REQUEST[lang].finditer(whole))
        if spans:
            found[lang] = spans
    return found
