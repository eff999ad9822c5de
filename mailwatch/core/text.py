"""Text helpers shared by the core: the language list, accent folding and sentence splitting.

Each of these existed several times with small drifts (six copies of ``_fold``, two sentence
splitters that cut the same mail differently, the language tuple in six places). One copy here
keeps promises, warning signs, drafting and names reading mail the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["LANGUAGES", "fold", "fold_words", "split_sentences"]

# The languages mailwatch reads and writes (mail analysis, drafts, the user interface).
LANGUAGES: tuple[str, ...] = ("en", "ru", "ro", "es")


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    low = c.lower()
    if len(low) != 1:
        low = c  # "İ".lower() is two characters: keep the original, one for one
    base = "".join(ch for ch in unicodedata.normalize("NFD", low) if not unicodedata.combining(ch))
    if len(base) != 1:
        return low
    # "İ" could not be lower-cased one for one, but its base letter "I" can
    lower = base.lower()
    return lower if len(lower) == 1 else base


# Most characters a table remembers (mail is untrusted: it could hold every code point).
_TABLE_LIMIT = 1 << 16


class _FoldTable(dict[int, str]):
    """``str.translate`` table of :func:`_fold_char`, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        value = _fold_char(chr(code))
        if len(self) < _TABLE_LIMIT:
            self[code] = value
        return value


class _StripTable(dict[int, "str | None"]):
    """``str.translate`` table that drops combining marks, filled as characters are met."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = None if unicodedata.combining(char) else char
        if len(self) < _TABLE_LIMIT:
            self[code] = value
        return value


_FOLD_TABLE = _FoldTable()
_STRIP_TABLE = _StripTable()


def fold(text: str, *, keep_offsets: bool = False, casefold: bool = True) -> str:
    """``text`` without accents and, by default, case-folded: "Ştefan" -> "stefan", "ё" -> "е".

    Two variants, because their callers need different guarantees:

    * ``keep_offsets=False`` (word lists, names, greetings): Unicode case folding and NFKD
      compatibility decomposition, so "ß" -> "ss" and "ﬁ" -> "fi"; the result may be longer or
      shorter than the input.
    * ``keep_offsets=True`` (regex rules whose match positions are used on the original text):
      one character out for each character in, so ``fold(s, keep_offsets=True)[i]`` is the
      folded ``s[i]``; a character whose folding would change the length is only lower-cased,
      or kept as it is.

    ``casefold=False`` only strips the accents ("María" -> "Maria"); it applies to the first
    variant (the second always lower-cases).
    """
    if text.isascii():  # most mail: no accents to strip, and lower() is the case folding
        return text.lower() if keep_offsets or casefold else text
    # one table look-up per character (in C) instead of a Python call per character
    if keep_offsets:
        return text.translate(_FOLD_TABLE)
    decomposed = unicodedata.normalize("NFKD", text.casefold() if casefold else text)
    return decomposed.translate(_STRIP_TABLE)


def fold_words(words: str) -> frozenset[str]:
    """A word list written with spaces ("mr sir señor"), folded for look-ups of folded words."""
    return frozenset(fold(w) for w in words.split())


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "nr", "vs", "etc", "approx", "incl", "e.g",
    "i.e", "a.m", "p.m", "г", "гг", "т.е", "т.к", "т.д", "т.п", "ул", "д", "стр", "тел", "др",
    "пр", "см", "s.a", "dl", "dna", "sr", "sra", "sres", "srta", "ud", "uds", "pág", "núm",
    "tel",
})  # fmt: skip
_SENT_END_RE = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s)")
_BULLET_RE = re.compile(r"^(?:[-*•·–]|\d{1,2}[.)])\s")
_SPACES_RE = re.compile(r"\s+")


def _blocks(text: str) -> list[str]:
    """Paragraphs of the unquoted lines: blank lines, bullets and short or clause-ending lines
    (greetings such as "Hi John,") end one; hard-wrapped lines of one sentence are joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    blocks: list[str] = []
    current: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        if current and _BULLET_RE.match(line):
            blocks.append(" ".join(current))
            current = []
        current.append(line)
        if len(line) <= 30 or line.endswith((":", ";")):
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


_NON_SPACE_RE = re.compile(r"\S")
_PUNCTUATION = frozenset(".!?…")


def _is_abbreviation(block: str, start: int, end: int) -> bool:
    """Whether the word before ``block[end - 1]`` (within ``block[start:end]``, trailing
    punctuation left out) is an abbreviation or an initial: the ``[\\w.]+`` run it ends with."""
    while end > start and block[end - 1] in _PUNCTUATION:
        end -= 1
    first = end
    while first > start and (block[first - 1].isalnum() or block[first - 1] in "_."):
        first -= 1
    last = block[first:end].lower()
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def split_sentences(text: str) -> list[str]:
    """The sentences of mail text, without quoted (``>``) lines, whitespace collapsed.

    See :func:`_sentences`; a new list each time (callers may change theirs), the splitting
    done once per text: the deadline and warning-sign analysers read the same message.
    """
    return list(_sentences(text))


@lru_cache(maxsize=64)
def _sentences(text: str) -> tuple[str, ...]:
    """The sentences of mail text, without quoted (``>``) lines, whitespace collapsed.

    A full stop after an abbreviation ("Mr.", "т.е.", "Sra.") or an initial does not end a
    sentence, nor does one followed by a lower-case word; hard-wrapped lines of one sentence
    are kept together. Every sentence is a substring of the unquoted lines joined with single
    spaces.
    """
    sentences: list[str] = []
    for raw_block in _blocks(text):
        block = _SPACES_RE.sub(" ", raw_block).strip()
        start = 0
        for m in _SENT_END_RE.finditer(block):
            end = m.end()
            after = _NON_SPACE_RE.search(block, end)  # the next word's first character
            if after is not None:
                first = after.group(0)
                if not (first.isupper() or first.isdigit() or first in '¿¡"«“-'):
                    continue
            if m.group(0).startswith(".") and _is_abbreviation(block, start, m.start() + 1):
                continue
            sentences.append(block[start:end].strip())
            start = end
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return tuple(s for s in sentences if s)
