"""Pre-screens for regexes: skip a search that cannot match, with the same results.

Most phrase rules (warning signs, intents, date and commitment phrases) begin with a word
boundary or a look-behind, and many are case-insensitive: Python's ``re`` can then neither
jump to the first character of a match nor test a branch by its first letter, so a search
costs a trip through every alternative at every position of the text, and nearly every
client message matches nothing. But each of these patterns needs some text to match:
``(?<!\\w)(?:too|very)\\s+expensive(?!\\w)`` cannot match a text without the word "expensive".

:class:`Screen` reads a pattern's syntax tree once (at import, with ``re``'s own parser) and
derives what every match needs, as an OR of ANDs: for some alternative of the pattern, each
of a few groups, a group being one of some *whole words* (a literal word the pattern
delimits by ``\\b``, a look-around, a space or punctuation) or one of some *substrings*
(literal text). Testing that costs a set intersection with the text's words and a few
substring tests, in C; a text that fails it cannot match, so the search is skipped with the
same result, by construction. A pattern about which nothing is known (``\\d+``) is always
searched. :class:`ScreenSet` does the same for many patterns at once (the phrases of an
intent, the date rules of a language): which of them can match, from one look-up.

Case-insensitive patterns are screened on :func:`caseless`, a copy of the text where every
character that ``re.IGNORECASE`` treats as equal maps to one and the same character (the
lower case, and one representative of the few groups ``re`` adds, such as s/ſ or в/ᲀ).
``tests/unit/test_prescreen.py`` generates texts from every screened pattern (hypothesis
``from_regex``) and checks each passes its screen.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["Probe", "Screen", "caseless", "required_literals"]

# sre's parser and opcodes: the syntax tree ``re`` itself compiles (private but stable API,
# the same since 3.11; ``sre_parse`` is its deprecated alias).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")


def _extra_cases() -> dict[int, tuple[int, ...]] | None:
    """The characters ``re.IGNORECASE`` treats as equal besides lower/upper case (s and ſ)."""
    try:
        cases: dict[int, tuple[int, ...]] = importlib.import_module("re._casefix")._EXTRA_CASES
    except (ImportError, AttributeError):  # another Python: every non-ASCII text is searched
        return None
    return cases


_EXTRA = _extra_cases()
# İ (U+0130) is the one character whose str.lower() is two characters ("i̇"); re's simple
# lower-casing makes it "i".
_BEFORE_LOWER = {0x130: "i"}


def _is_word_char(char: str) -> bool:
    """``\\w`` of ``re`` on str patterns."""
    return char.isalnum() or char == "_"


# Characters that re.IGNORECASE equates with a character of the other word-ness (Greek iota
# and the combining ypogegrammeni): a word holding one is never used.
_MIXED_WORDNESS = frozenset(
    chr(code)
    for lo, others in (_EXTRA or {}).items()
    if len({_is_word_char(chr(c)) for c in (lo, *others)}) > 1
    for code in (lo, *others)
)
# Each character of a group re.IGNORECASE adds maps to the group's smallest; the groups whose
# members differ in word-ness (iota) are left alone, and never used in a literal.
_CANONICAL: dict[int, str] = {
    lo: chr(min(lo, *others))
    for lo, others in (_EXTRA or {}).items()
    if chr(lo) not in _MIXED_WORDNESS
}


def caseless(text: str) -> str:
    """``text`` with each character replaced by its ``re.IGNORECASE`` class representative.

    One character out for each character in. Two characters that a case-insensitive pattern
    treats as the same give the same character here, so a literal found by such a pattern in
    ``text`` is in ``caseless(text)`` as ``caseless(literal)``.
    """
    if text.isascii():
        return text.lower()  # no ASCII character has another representative than its lower
    return text.translate(_BEFORE_LOWER).lower().translate(_CANONICAL)


# --------------------------------------------------------------------------- literal sets

_REPEATS = frozenset({_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)})


def _usable(code: int, ignore_case: bool) -> str | None:
    """The character a literal contributes to a required string, or None (it cannot)."""
    char = chr(code)
    if not ignore_case:
        return char
    if (_EXTRA is None and not char.isascii()) or char in _MIXED_WORDNESS:
        return None
    folded = caseless(char)
    return folded if len(folded) == 1 else None


def _score(literals: frozenset[str]) -> float:
    """How good a set is to test: long literals are rare in mail (few texts pass the screen),
    each literal is one more substring test; "with " passes half of all mail, "decided to"
    almost none."""
    return min(min(map(len, literals)), 12) - 0.5 * math.log2(len(literals))


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    """The set to test among those that are all required (see :func:`_score`)."""
    if not candidates:
        return None
    return max(candidates, key=_score)


# Most strings a run of literal text may stand for ("(?:send|share) (?:me |us )?"): beyond
# this, the run is cut into shorter literals instead.
MAX_EXPANSION = 8


def _finite(op: Any, av: Any, ignore_case: bool) -> frozenset[str] | None:
    """Every string the one item ``(op, av)`` can match, when that is a short literal list."""
    if op is _c.LITERAL:
        char = _usable(av, ignore_case)
        return None if char is None else frozenset({char})
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _finite_seq(sub.data, ignore_case)
    if op is _c.BRANCH:
        found: set[str] = set()
        for alternative in av[1]:
            one = _finite_seq(alternative.data, ignore_case)
            if one is None:
                return None
            found |= one
        return frozenset(found) if len(found) <= MAX_EXPANSION else None
    if op in _REPEATS:
        low, high, sub = av
        if low == 0 and high == 1:
            one = _finite_seq(sub.data, ignore_case)
            return None if one is None else one | {""}
    if op is _c.IN and av and all(kind is _c.LITERAL for kind, _ in av):  # [ée]
        chars = {_usable(code, ignore_case) for _, code in av}
        return None if None in chars else frozenset(c for c in chars if c is not None)
    return None


def _finite_seq(items: Sequence[tuple[Any, Any]], ignore_case: bool) -> frozenset[str] | None:
    strings = {""}
    for op, av in items:
        one = _finite(op, av, ignore_case)
        if one is None or len(strings) * len(one) > MAX_EXPANSION:
            return None
        strings = {a + b for a in strings for b in one}
    return frozenset(strings)


def _need(items: Sequence[tuple[Any, Any]], ignore_case: bool) -> frozenset[str] | None:
    """A set of strings one of which every match of the sequence ``items`` contains."""
    candidates: list[frozenset[str]] = []
    run: set[str] = {""}

    def flush() -> None:
        nonlocal run
        if "" not in run:
            candidates.append(frozenset(run))
        run = {""}

    for op, av in items:
        one = _finite(op, av, ignore_case)
        if one is not None and len(run) * len(one) <= MAX_EXPANSION:
            run = {a + b for a in run for b in one}
            continue
        flush()  # this item ends a run of literal text
        if one is not None:  # a literal list, too long to append to the run: a run of its own
            run = set(one)
            continue
        inner: frozenset[str] | None = None
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if not (add_flags or del_flags):  # (?i:...) and the like: not looked into
                inner = _need(sub.data, ignore_case)
        elif op is _c.BRANCH:
            found: set[str] = set()
            for alternative in av[1]:
                best = _need(alternative.data, ignore_case)
                if best is None:
                    found.clear()
                    break
                found |= best
            inner = frozenset(found) if found else None
        elif op in _REPEATS:
            low, _high, sub = av
            if low >= 1:
                inner = _need(sub.data, ignore_case)
        elif op is getattr(_c, "ATOMIC_GROUP", None):
            inner = _need(av.data, ignore_case)
        # AT, ASSERT, ASSERT_NOT, IN, ANY, CATEGORY, NOT_LITERAL, GROUPREF...: nothing required
        if inner is not None:
            candidates.append(inner)
    flush()
    return _best(candidates)


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of ``pattern`` contains (None: no such set).

    For a case-insensitive pattern the strings are in :func:`caseless` form. The empty string
    is never in the set (a pattern that can match the empty text gets None).
    """
    tree = _tree(pattern)
    if tree is None:
        return None
    found = _need(tree.data, bool(tree.state.flags & re.IGNORECASE))
    if found is None or "" in found:
        return None
    return found


def _tree(pattern: re.Pattern[str]) -> Any:
    if pattern.flags & re.VERBOSE or pattern.flags & re.LOCALE or pattern.flags & re.ASCII:
        return None  # never used by the analysers; not worth reasoning about
    return _parser.parse(pattern.pattern, pattern.flags)


# --------------------------------------------------------------------------- whole words


def _is_word_class(av: Any) -> bool:
    return bool(av) and len(av) == 1 and av[0] == (_c.IN, [(_c.CATEGORY, _c.CATEGORY_WORD)])


def _nonword_char_item(op: Any, av: Any) -> bool:
    """An item that always matches exactly one character that ``\\w`` never matches."""
    if op is _c.LITERAL:
        return chr(av) in _DELIMITERS
    if op is _c.IN:
        return bool(av) and all(
            (kind is _c.CATEGORY and value is _c.CATEGORY_SPACE)
            or (kind is _c.LITERAL and chr(value) in _DELIMITERS)
            for kind, value in av
        )
    return False


# ASCII characters that are not \w and have no other case (one is matched only by itself).
_DELIMITERS = frozenset(" \t\n\r\f\v!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~")


def _consumes_nonword(op: Any, av: Any, at_end: bool) -> bool:
    """The item always consumes a non-word character last (``at_end``) or first."""
    if _nonword_char_item(op, av):
        return True
    if op in _REPEATS:
        low, _high, sub = av
        return low >= 1 and len(sub.data) == 1 and _nonword_char_item(*sub.data[0])
    return False


def _left_edge(op: Any, av: Any) -> bool:
    """After this item, the character before is a non-word one (or there is none)."""
    if op is _c.AT:
        return av in (_c.AT_BOUNDARY, _c.AT_BEGINNING, _c.AT_BEGINNING_STRING)
    if op is _c.ASSERT_NOT:
        direction, sub = av
        return direction < 0 and _is_word_class(sub.data)
    return _consumes_nonword(op, av, at_end=True)


def _right_edge(op: Any, av: Any) -> bool:
    """Before this item, the character after is a non-word one (or there is none)."""
    if op is _c.AT:
        return av in (_c.AT_BOUNDARY, _c.AT_END, _c.AT_END_STRING)
    if op is _c.ASSERT_NOT:
        direction, sub = av
        return direction > 0 and _is_word_class(sub.data)
    return _consumes_nonword(op, av, at_end=False)


def _full_words(text: str, left: bool, right: bool) -> list[str]:
    """The words of a literal ``text`` that are whole words of any text it is found in."""
    if not _MIXED_WORDNESS.isdisjoint(text):
        return []
    words: list[str] = []
    start = None
    for index, char in enumerate([*text, " "]):
        if index < len(text) and _is_word_char(char):
            if start is None:
                start = index
            continue
        if start is not None:
            at_start, at_end = start == 0, index == len(text)
            if (left or not at_start) and (right or not at_end):
                words.append(text[start:index])
            start = None
        if index < len(text) and char not in _DELIMITERS:
            return []  # a character whose word-ness another case might change: be safe
    return words


# What a match needs, as an OR of ANDs: any clause, each clause all of its groups, each group
# one of its whole words (as :attr:`Probe.words` gives them) or one of its substrings.
Group = tuple[frozenset[str], frozenset[str]]
Clause = tuple[Group, ...]
Requirement = tuple[Clause, ...]

# Conditions added to each clause besides its most selective one: each is a cheap check,
# but only done when that one holds.
MAX_EXTRA = 4


def _cost(group: Group) -> float:
    """How costly and how leaky a group is to test: a set look-up per word is nearly free and
    a long word is rare; each substring is one scan of the text, and a short one ("is ") is
    found in most mail."""
    words, literals = group
    return sum(0.05 + 0.4 * max(0, 7 - len(w)) for w in words) + sum(
        1 + 0.5 * max(0, 12 - len(x)) for x in literals
    )


def _requirement_cost(requirement: Requirement) -> float:
    return sum(min(map(_cost, clause)) for clause in requirement)


def _requirement(
    items: Sequence[tuple[Any, Any]], ignore_case: bool, left: bool, right: bool
) -> Requirement | None:
    """What every text the sequence ``items`` matches holds (None: nothing is known).

    ``left``/``right``: the character before/after the sequence is not a word character.
    """
    parts: list[Requirement] = []
    count = len(items)

    def left_of(i: int) -> bool:
        return left if i == 0 else _left_edge(*items[i - 1])

    def right_of(i: int) -> bool:
        return right if i == count - 1 else _right_edge(*items[i + 1])

    i = 0
    while i < count:
        # A run of items with a short list of literal strings: their whole words.
        strings, j = {""}, i
        while j < count:
            one = _finite(*items[j], ignore_case)
            if one is None or len(strings) * len(one) > MAX_EXPANSION:
                break
            strings = {a + b for a in strings for b in one}
            j += 1
        if j > i:
            raw = _finite_seq(items[i:j], ignore_case=False)
            clauses: set[Clause] = set()
            for literal in raw or ():
                words = _full_words(literal, left_of(i), right_of(j - 1))
                if not words:
                    clauses.clear()
                    break
                # every whole word of the string: "we will pass" needs we, will and pass
                forms = sorted({_word_form(w, ignore_case) for w in words})
                clauses.add(tuple((frozenset({w}), _NONE) for w in forms))
            if clauses and raw is not None:
                parts.append(tuple(sorted(clauses)))
            elif "" not in strings:
                parts.append((((_NONE, frozenset(strings)),),))
            i = j
            continue
        op, av = items[i]
        inner: Requirement | None = None
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if not (add_flags or del_flags):
                inner = _requirement(sub.data, ignore_case, left_of(i), right_of(i))
        elif op is _c.BRANCH:
            found: list[Clause] = []
            for alternative in av[1]:
                one_need = _requirement(alternative.data, ignore_case, left_of(i), right_of(i))
                if one_need is None:
                    found = []
                    break
                found.extend(one_need)
            inner = tuple(found) if found else None
        elif op in _REPEATS and av[0] >= 1:
            if av[1] == 1:
                inner = _requirement(av[2].data, ignore_case, left_of(i), right_of(i))
            else:  # repeated: the literals it needs, not its whole words
                literals = _need(av[2].data, ignore_case)
                inner = None if literals is None else (((_NONE, literals),),)
        if inner is not None:
            parts.append(inner)
        i += 1
    if not parts:
        return None
    # Every part is needed: the cheapest one, and with each of its clauses the best few
    # single-clause parts as further conditions.
    parts.sort(key=_requirement_cost)
    primary, others = parts[0], parts[1:]
    extra = [p[0] for p in others if len(p) == 1]
    # A part of several clauses ("add|include|throw in") still needs, whichever clause
    # holds, that clause's most selective group: any word or substring of those groups.
    for part in others:
        if len(part) > 1:
            keys = [min(clause, key=_cost) for clause in part]
            any_word: frozenset[str] = frozenset().union(*(k[0] for k in keys))
            any_literal: frozenset[str] = frozenset().union(*(k[1] for k in keys))
            extra.append(((any_word, any_literal),))
    extra.sort(key=lambda clause: min(map(_cost, clause)))
    added = tuple(group for clause in extra[:MAX_EXTRA] for group in clause)
    return tuple(clause + added for clause in primary)


_NONE: frozenset[str] = frozenset()


def _word_form(word: str, ignore_case: bool) -> str:
    return caseless(word) if ignore_case else word


# --------------------------------------------------------------------------- screens

_WORD_RE = re.compile(r"\w+")


class Probe:
    """One text as the screens read it, each form computed once and shared by all of them."""

    __slots__ = ("_caseless", "_caseless_words", "_words", "ascii", "text")

    def __init__(self, text: str, words: Iterable[str] | None = None) -> None:
        """``words``: the ``\\w+`` runs of ``text`` when the caller has them already."""
        self.text = text
        self.ascii = text.isascii()  # then no non-ASCII literal can be in it
        self._caseless: str | None = None
        self._words: frozenset[str] | None = None if words is None else frozenset(words)
        self._caseless_words: frozenset[str] | None = None

    @property
    def caseless(self) -> str:
        if self._caseless is None:
            self._caseless = caseless(self.text)
        return self._caseless

    @property
    def words(self) -> frozenset[str]:
        """The whole words (``\\w+`` runs) of the text."""
        if self._words is None:
            self._words = frozenset(_WORD_RE.findall(self.text))
        return self._words

    @property
    def caseless_words(self) -> frozenset[str]:
        """The whole words of the text in :func:`caseless` form."""
        if self._caseless_words is None:
            # caseless() keeps every character's word-ness, so these are its words' forms
            self._caseless_words = frozenset(_WORD_RE.findall(self.caseless))
        return self._caseless_words


class Screen:
    """A cheap necessary condition for ``pattern`` to match a text.

    ``maybe(probe)`` False means the pattern cannot match ``probe.text``; True means it might
    (search it). The condition, read from the pattern: for some alternative of it, each of a
    few whole words or substrings that alternative needs (set look-ups and a few substring
    tests); a pattern about which nothing is known is always searched.
    """

    __slots__ = ("always", "clauses", "ignore_case", "index")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.ignore_case = bool(pattern.flags & re.IGNORECASE)
        tree = _tree(pattern)
        requirement = None
        if tree is not None:
            self.ignore_case = bool(tree.state.flags & re.IGNORECASE)
            requirement = _requirement(tree.data, self.ignore_case, False, False)
        self.always = requirement is None
        self.clauses: Requirement = requirement or ()
        self.index = _Index([(0, clause) for clause in self.clauses])

    @property
    def words(self) -> frozenset[str]:
        """The words a text is first looked up for (tests and tuning)."""
        return self.index.words

    @property
    def literals(self) -> tuple[str, ...]:
        """The substrings a text is first scanned for (tests and tuning)."""
        return tuple(x for x, _ in self.index.ascii_literals + self.index.other_literals)

    def maybe(self, probe: Probe) -> bool:
        """False when the pattern cannot match ``probe.text``."""
        return self.always or bool(self.index.passing(probe, self.ignore_case, first=True))


class _Index:
    """Clauses of one or more screens (``(screen number, clause)``), each filed under the
    words and substrings of its most selective group: the rest of a clause is checked only
    when one of those is found in the text."""

    __slots__ = ("ascii_literals", "by_word", "looks_up", "other_literals", "scans", "words")

    def __init__(self, clauses: Sequence[tuple[int, Clause]]) -> None:
        by_word: dict[str, list[tuple[int, Clause]]] = {}
        by_literal: dict[str, list[tuple[int, Clause]]] = {}
        for number, clause in clauses:
            key = min(clause, key=_cost)
            # the cheapest tests first: the first that fails ends the check
            rest = tuple(sorted((g for g in clause if g is not key), key=_cost))
            for word in key[0]:
                by_word.setdefault(word, []).append((number, rest))
            for literal in key[1]:
                by_literal.setdefault(literal, []).append((number, rest))
        self.by_word = {w: tuple(c) for w, c in by_word.items()}
        self.words = frozenset(by_word)
        literals = sorted(by_literal.items())
        self.ascii_literals = tuple((x, tuple(c)) for x, c in literals if x.isascii())
        self.other_literals = tuple((x, tuple(c)) for x, c in literals if not x.isascii())
        # whether any test looks at the text itself, and any at its words
        self.scans = any(group[1] for _number, clause in clauses for group in clause)
        self.looks_up = any(group[0] for _number, clause in clauses for group in clause)

    def passing(self, probe: Probe, ignore_case: bool, first: bool = False) -> set[int]:
        """The numbers of the screens whose condition ``probe`` meets (with ``first``: stop
        at the first one found)."""
        words = _NONE
        if ignore_case:
            if self.looks_up:
                words = probe.caseless_words
            text = probe.caseless if self.scans else ""
        else:
            text = probe.text
            if self.looks_up:
                words = probe.words
        found: set[int] = set()
        for word in self.words.intersection(words):
            for number, rest in self.by_word[word]:
                if number not in found and all(_holds(g, words, text) for g in rest):
                    found.add(number)
                    if first:
                        return found
        for literals in (self.ascii_literals, () if probe.ascii else self.other_literals):
            for literal, clauses in literals:
                if literal in text:
                    for number, rest in clauses:
                        if number not in found and all(_holds(g, words, text) for g in rest):
                            found.add(number)
                            if first:
                                return found
        return found


def _holds(group: Group, words: frozenset[str], text: str) -> bool:
    return not group[0].isdisjoint(words) or any(x in text for x in group[1])


class ScreenSet:
    """Many screens at once: which of them may let a text through, from one look-up of its
    words instead of one call per screen (the phrases of an intent, the date rules of a
    language)."""

    __slots__ = ("_always", "_index", "_size", "ignore_case", "screens")

    def __init__(self, screens: Sequence[Screen]) -> None:
        cases = {s.ignore_case for s in screens}
        if len(cases) > 1:
            raise ValueError("a screen set's patterns must all be case-sensitive or all not")
        self.ignore_case = cases == {True}
        self.screens = tuple(screens)
        self._size = len(screens)
        self._always = frozenset(i for i, s in enumerate(screens) if s.always)
        self._index = _Index(
            [(number, clause) for number, screen in enumerate(screens) for clause in screen.clauses]
        )

    def passing(self, probe: Probe) -> list[int]:
        """The numbers (ascending) of the screens that let ``probe`` through."""
        found = self._index.passing(probe, self.ignore_case)
        return sorted(found | self._always)
