"""Which language a client writes in, so drafts go out in the client's own language.

lingua is restricted to the languages we have templates for: a detector choosing among four
languages is far more accurate on short business mail than one choosing among seventy-five.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from mailwatch.core.prescreen import Probe, Screen
from mailwatch.core.text import LANGUAGES

if TYPE_CHECKING:
    from lingua import ConfidenceValue, LanguageDetector

__all__ = [
    "DEFAULT_LANGUAGES",
    "detect_language",
    "detect_languages",
    "thread_language",
    "without_signature",
]

DEFAULT_LANGUAGES: tuple[str, ...] = LANGUAGES

# Below this many letters a guess is noise ("OK", "Da", "Si").
MIN_LETTERS = 4
# lingua's confidence for the best language must reach this, and beat the runner-up by
# MIN_MARGIN; otherwise the text is undecidable ("Factura" is Spanish and Romanian).
MIN_CONFIDENCE = 0.6
MIN_MARGIN = 0.25
# Short texts ("Hello", "Factura") fool trigram models: they must be much surer.
SHORT_LETTERS = 40
SHORT_MIN_CONFIDENCE = 0.72
# Only the start of a long message is looked at: it is enough and keeps detection fast.
MAX_CHARS = 600  # a few sentences decide; more text only costs time

_CYRILLIC_SCRIPT = frozenset({"ru", "uk", "be", "bg", "mk", "sr", "kk", "mn"})

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
_URL_SCREEN = Screen(_URL_RE)

# A closing formula on a line of its own ("Best regards,", "С уважением,", "Cu stimă,", "Un
# saludo,"), or the "-- " signature delimiter. What follows is the signature: name, title,
# company, street address and phones, whose place names are often in another language than the
# message ("str. Uzinelor 19, Chișinău" under an English mail tips a short one to Romanian).
_VALEDICTION_RE = re.compile(
    r"^\s*(?:--\s*|(?:"
    r"(?:best|kind|warm|warmest|with\s+best|many)\s+(?:regards|wishes|thanks)|regards|cheers"
    r"|thanks|thank\s+you|sincerely|yours(?:\s+(?:sincerely|faithfully|truly))?|br"
    r"|с\s+уважением|всего\s+доброго|всего\s+наилучшего|спасибо|благодарю"
    r"|cu\s+stim[ăa]|cu\s+respect|cu\s+drag|toate\s+cele\s+bune|o\s+zi\s+bun[ăa]|numai\s+bine"
    r"|mul[țţt]umesc|mul[țţt]umim"
    r"|(?:un\s+)?saludos?(?:\s+cordiales)?|atentamente|un\s+abrazo|cordialmente|gracias"
    r")\s*[,.!]?\s*)$",
    re.IGNORECASE,
)
MAX_SIGNATURE_LINES = 8  # more than this after a closing formula is not a signature
MIN_BODY_LETTERS = 20  # keep the signature when the text above it is too short to judge alone


@lru_cache(maxsize=8)
def _detector(languages: frozenset[str]) -> LanguageDetector:
    """One detector per language set: building is cheap, but each keeps its loaded models.

    Models are loaded lazily on first use (about 0.7 s for four languages) rather than with
    ``with_preloaded_language_models()``: lingua loads every model of a small set on the first
    call anyway, so preloading would only move that cost into start-up.
    """
    # lazy: lingua (~4 ms to import) only once a text is detected, not for every read that
    # only picks a thread's language from its stored messages (thread_language)
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in sorted(languages)]
    # Low-accuracy mode uses trigram models only: about 7 MB instead of about 120 MB for the
    # four languages, and as fast. Its weakness is very short text, which MIN_LETTERS and
    # the confidence margin already turn into "undecided" (the thread keeps its language).
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()


def _normalise_allowed(allowed: Sequence[str]) -> frozenset[str]:
    from lingua import IsoCode639_1  # lazy: see _detector

    codes = frozenset(code.strip().lower() for code in allowed if code.strip())
    for code in codes:
        try:
            IsoCode639_1.from_str(code)
        except ValueError:
            raise ValueError(f"unknown ISO 639-1 language code {code!r}") from None
    return codes


_LETTER_RE = re.compile(r"[^\W\d_]")
# The Cyrillic blocks: Cyrillic, Supplement, Extended-A/B/C (what unicodedata names CYRILLIC).
_CYRILLIC_RE = re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")


# ASCII letters, deleted by str.translate: what is left shows how many there were
_ASCII_LETTERS = dict.fromkeys(range(ord("A"), ord("Z") + 1)) | dict.fromkeys(
    range(ord("a"), ord("z") + 1)
)


def _letters(text: str) -> tuple[int, int]:
    """(all letters, Cyrillic letters) in ``text``."""
    if text.isascii():  # the letters are A-Z and a-z, none Cyrillic (counted in C)
        return len(text) - len(text.translate(_ASCII_LETTERS)), 0
    return len(_LETTER_RE.findall(text)), len(_CYRILLIC_RE.findall(text))


def without_signature(text: str) -> str:
    """``text`` up to and including its last closing formula, when a short signature follows."""
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        if _VALEDICTION_RE.match(lines[index]):
            rest = [line for line in lines[index + 1 :] if line.strip()]
            if not rest or len(rest) > MAX_SIGNATURE_LINES:
                return text
            keep = lines[:index] if lines[index].strip().startswith("--") else lines[: index + 1]
            body = "\n".join(keep).rstrip()
            if _letters(body)[0] < MIN_BODY_LETTERS:
                return text
            return body
    return text


def detect_language(text: str, allowed: Sequence[str] = DEFAULT_LANGUAGES) -> str | None:
    """The ISO 639-1 code of ``text`` among ``allowed``; None when too short or undecidable.

    A signature after a closing formula is left out (see :func:`without_signature`).
    """
    return detect_languages([text], allowed)[0]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A text the letter rules could not decide: it needs lingua's confidence values."""

    sample: str
    total: int
    marked: str | None


def _screen(text: str, codes: frozenset[str]) -> str | _Pending | None:
    """The cheap rules that decide most texts without a model; else what the model needs."""
    sample = without_signature(text[:MAX_CHARS])
    if _URL_SCREEN.maybe(Probe(sample)):  # most mail has no address or link to blank out
        sample = _URL_RE.sub(" ", sample)
    total, cyrillic = _letters(sample)
    if total < MIN_LETTERS and not (cyrillic and total >= 2):
        return None
    if cyrillic * 2 > total:
        cyrillic_codes = codes & _CYRILLIC_SCRIPT
        if not cyrillic_codes:
            return None  # a Latin-script model would only guess
        if cyrillic_codes == {"ru"}:
            return "ru"  # the only Cyrillic language allowed: no model needed
    if len(codes) == 1:
        return next(iter(codes))
    marked = _marked_language(sample, codes)
    if marked is not None and total < SHORT_LETTERS:
        return marked  # "Mulțumesc!", "¿Cuándo?": the letters say it, the model would guess
    return _Pending(sample, total, marked)


def _decide(pending: _Pending, values: Sequence[ConfidenceValue]) -> str | None:
    if not values:
        return pending.marked
    best = values[0]
    runner_up = values[1].value if len(values) > 1 else 0.0
    code: str = best.language.iso_code_639_1.name.lower()
    if pending.marked is not None and {code, pending.marked} == {"ro", "es"}:
        code = pending.marked  # trigram models confuse ro and es; ț or ñ do not
    needed = MIN_CONFIDENCE if pending.total >= SHORT_LETTERS else SHORT_MIN_CONFIDENCE
    if best.value < needed or best.value - runner_up < MIN_MARGIN:
        return None
    return code


# Below this many undecided texts one call per text is as fast as lingua's thread pool.
PARALLEL_FROM = 8


def detect_languages(
    texts: Sequence[str], allowed: Sequence[str] = DEFAULT_LANGUAGES
) -> list[str | None]:
    """:func:`detect_language` of each text, the model run once for the whole batch.

    lingua computes a batch on all cores in native threads (no process, no extra model copy),
    and only the texts the letter rules cannot decide reach it. The result for each text is
    exactly what :func:`detect_language` gives it alone (tested on the evaluation set).
    """
    codes = _normalise_allowed(allowed)
    if not codes:
        return [None] * len(texts)
    results: list[str | None] = []
    pending: dict[int, _Pending] = {}
    for index, text in enumerate(texts):
        decided = _screen(text, codes)
        if isinstance(decided, _Pending):
            pending[index] = decided
            results.append(None)
        else:
            results.append(decided)
    if not pending:
        return results
    detector = _detector(codes)
    samples = [p.sample for p in pending.values()]
    if len(samples) >= PARALLEL_FROM:
        all_values = detector.compute_language_confidence_values_in_parallel(samples)
    else:
        all_values = [detector.compute_language_confidence_values(s) for s in samples]
    for (index, item), values in zip(pending.items(), all_values, strict=True):
        results[index] = _decide(item, values)
    return results


# Letters that, among en/ru/ro/es, only one language writes: decisive evidence for it.
_ONLY_RO = frozenset("ăâîșțşţ")
_ONLY_ES = frozenset("ñáéíóú¿¡")


def _marked_language(sample: str, codes: frozenset[str]) -> str | None:
    lowered = sample.lower()
    # how many of the text's letters are in each set (one count per letter, in C)
    ro = sum(map(lowered.count, _ONLY_RO))
    es = sum(map(lowered.count, _ONLY_ES))
    if ro and not es and "ro" in codes and (ro >= 2 or len(lowered) < 400):
        return "ro"
    if es and not ro and "es" in codes and (es >= 2 or len(lowered) < 400):
        return "es"
    return None


def thread_language(
    languages_of_inbound_messages_newest_last: Sequence[str | None], default: str = "en"
) -> str:
    """The client's language: that of the newest inbound message that has one, else ``default``.

    The newest message wins because a client who switches language (a colleague takes over) wants
    the answer in the new one. Short undecidable messages ("OK") carry None and are skipped, so
    they never reset the thread's language. (A "most common" fallback can never apply: if any
    message has a language, the newest such message decides.)
    """
    for lang in reversed(languages_of_inbound_messages_newest_last):
        if lang:
            return lang
    return default
