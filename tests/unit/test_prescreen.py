"""The literal pre-screens (core/prescreen.py) never skip a search that would have matched.

Proof by generation: for every pattern the analysers screen, hypothesis generates texts that
the pattern matches (``from_regex``, with any text around the match) and the screen must let
each of them through. On real mail (the evaluation set, the demo mail, the repository's mail
sample), a text the screen rejects must indeed not match. And the analysis results with the
screens are those with every screen switched off (every search run, as before the screens).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailwatch.core import intent, language, prescreen, warning_signs
from mailwatch.core.analysis import AnalysisInput, analyze_messages
from mailwatch.core.message import Direction
from mailwatch.core.parse import parse_message
from mailwatch.core.prescreen import Probe, Screen, ScreenSet, caseless, required_literals
from mailwatch.core.promises import engine
from mailwatch.core.text import LANGUAGES, fold, split_sentences
from tests.unit.test_analysis_pool import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = (
    sorted((ROOT / "tests" / "data" / "eval").rglob("*.eml"))
    + sorted((ROOT / "mailwatch" / "demo" / "data").glob("*.eml"))
    + sorted(p for p in (ROOT / "tests" / "data" / "mail").rglob("*") if p.is_file())
)
SAMPLES = [p for p in SAMPLES if p.name != "README.md"]


def _screens() -> list[tuple[str, re.Pattern[str], Screen]]:
    """Every screen the analysers use, with its pattern."""
    found: list[tuple[str, re.Pattern[str], Screen]] = []
    for kind, screens in warning_signs._screens().items():
        table = {
            warning_signs.SignKind.PRICE_PRESSURE: warning_signs._PRICE,
            warning_signs.SignKind.URGENCY: warning_signs._URGENCY,
            warning_signs.SignKind.MEETING_PUSH: warning_signs._MEETING,
            warning_signs.SignKind.NO_CLEAR_GOAL: warning_signs._NO_GOAL,
            warning_signs.SignKind.CONTRACT_NITPICKING: warning_signs._CONTRACT_TERMS,
        }[kind]
        for lang, screen in screens.items():
            found.append((f"sign-{kind.value}-{lang}", table[lang], screen))
    for name, phrases in intent._PATTERNS.items():
        for n, phrase in enumerate(phrases):
            pattern = re.compile(phrase)
            found.append((f"intent-{name.value}-{n}", pattern, Screen(pattern)))
    found.append(("language-url", language._URL_RE, language._URL_SCREEN))
    found.append(("intent-thanks", intent._THANKS, intent._THANKS_SCREEN))
    found.append(("intent-unspecific", intent._UNSPECIFIC, intent._UNSPECIFIC_SCREEN))
    for lang in LANGUAGES:
        for n, (pattern, _handler, screen) in enumerate(engine._date_rules(lang)):
            found.append((f"date-{lang}-{n}", pattern, screen))
        for n, (pattern, screen) in enumerate(engine._commit_rules(lang)):
            found.append((f"commit-{lang}-{n}", pattern, screen))
    return found


SCREENS = _screens()


def test_the_screens_are_used_and_most_can_skip():
    assert len(SCREENS) > 140
    # a screen that lets everything through would be correct but useless
    assert sum(not s.always for _, _, s in SCREENS) > 0.9 * len(SCREENS)


@pytest.mark.parametrize(("name", "pattern", "screen"), SCREENS, ids=[s[0] for s in SCREENS])
def test_every_text_a_pattern_matches_passes_its_screen(name, pattern, screen):
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(pattern))
    def check(text: str) -> None:
        assert pattern.search(text)
        assert screen.maybe(Probe(text)), (name, text)

    check()


def _texts() -> list[str]:
    """Real text as the analysers see it: new text, its sentences, folded and not."""
    texts = []
    for path in SAMPLES:
        new_text = parse_message(path.read_bytes()).new_text
        sentences = split_sentences(new_text)
        texts += [new_text, fold(new_text), "\x00".join(sentences)]
        texts += [fold(s, keep_offsets=True) for s in sentences]
    return texts


def test_a_text_rejected_by_a_screen_never_matches_on_real_mail():
    texts = _texts()
    rejected = 0
    for _name, pattern, screen in SCREENS:
        for text in texts:
            if not screen.maybe(Probe(text)):
                rejected += 1
                assert pattern.search(text) is None, (_name, text[:200])
    assert rejected > len(texts) * len(SCREENS) // 2  # the screens do skip most searches


TRICKY = [
    r"(?<!\w)(?:too|very)\s+expensive(?!\w)",
    r"\bno longer (?:need|require|interested)",
    r"\b(?:send|share) (?:me |us )?(?:a |the )?(?:quote|offer)\b",
    r"\bfoo\w*",
    r"\d+:\d+",
    r"(?:ab)+c",
    r"x(?:yz)?",
    r"^hello world$",
    r"(?i)straße|(?i:kelvin)",
    r"(?i)\bsit\b",
    r"(?i)\bkit\b",
    r"(?i)\bвот\b",
    r"(?i)\bιx\b",
    r"(?i)(?<!\w)(?:asap|urgent(?:ly)?)(?!\w)",
    r"[ée]t[ée] (?:prochain|dernier)\b",
    r"(?m)^dear \w+,$",
]


@pytest.mark.parametrize("source", TRICKY)
def test_tricky_patterns_are_screened_safely(source):
    pattern = re.compile(source)
    screen = Screen(pattern)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(pattern))
    def check(text: str) -> None:
        assert screen.maybe(Probe(text)), text

    check()


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("It is ſit here", r"(?i)\bsit\b"),  # long s: re.IGNORECASE equates it with s
        ("A KIT", r"(?i)\bkit\b"),  # Kelvin sign
        ("İT İS", r"(?i)\bit\b"),  # dotted capital I
        ("ВОТ ТАК", r"(?i)\bвот\b"),
        ("ᲀот", r"(?i)\bвот\b"),  # Cyrillic rounded ve: equal to в under IGNORECASE
        ("prefix-no longer need", r"\bno longer (?:need|require|interested)"),
    ],
)
def test_case_folding_corners(text, source):
    pattern = re.compile(source)
    assert pattern.search(text)
    assert Screen(pattern).maybe(Probe(text))


def test_a_text_without_the_words_is_skipped():
    screen = Screen(re.compile(r"(?i)(?<!\w)(?:too|very)\s+expensive(?!\w)"))
    assert not screen.maybe(Probe("The offer is fine, thank you."))
    assert not screen.maybe(Probe("inexpensive"))  # not a whole word: cannot match
    assert screen.maybe(Probe("Far TOO Expensive!"))
    assert required_literals(re.compile(r"\d+")) is None
    assert Screen(re.compile(r"\d+")).always


def test_caseless_keeps_one_character_per_character_and_its_word_ness():
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Cs":
            continue
        out = caseless(char)
        assert len(out) == 1, hex(code)
        assert (char.isalnum() or char == "_") == (out.isalnum() or out == "_"), hex(code)


@pytest.mark.parametrize(
    "block", [(0x20, 0x250), (0x370, 0x530), (0x1C80, 0x1C90), (0x1E00, 0x1F00), (0x2100, 0x2140)]
)
def test_characters_equal_under_ignorecase_are_equal_caseless(block):
    for code in range(*block):
        char = chr(code)
        variants = {char.lower(), char.upper(), char.swapcase(), char.casefold()}
        for variant in variants:
            if len(variant) != 1 or variant in prescreen._MIXED_WORDNESS:
                continue
            if re.fullmatch(re.escape(char), variant, re.IGNORECASE):
                assert caseless(char) == caseless(variant), (hex(code), variant)
    for lo, others in (prescreen._EXTRA or {}).items():
        if chr(lo) in prescreen._MIXED_WORDNESS:
            continue
        for other in others:
            assert caseless(chr(lo)) == caseless(chr(other))


# -- the analysis results with and without the screens -------------------------------------


def _inputs() -> list[AnalysisInput]:
    items = []
    for path in SAMPLES:
        msg = parse_message(path.read_bytes())
        when = msg.date or datetime(2026, 11, 23, 10, tzinfo=UTC)
        items.extend(AnalysisInput(msg, d, when, True) for d in Direction)
    return items


def test_results_with_the_screens_equal_results_with_every_search_run(monkeypatch):
    items = _inputs()
    screened = analyze_messages(items, SETTINGS)
    monkeypatch.setattr(Screen, "maybe", lambda _self, _probe: True)
    monkeypatch.setattr(ScreenSet, "passing", lambda self, _probe: list(range(self._size)))
    # and every sentence searched for request words, wherever the whole text has them
    monkeypatch.setattr(
        engine, "_request_spans", lambda *_args: {k: ((0, 1 << 30),) for k in engine._REQUEST}
    )
    monkeypatch.setattr(engine, "_may_ask", lambda *_args: True)
    unscreened = analyze_messages(items, SETTINGS)
    assert screened == unscreened
    # every analyser had something to find
    assert sum(r.needs_reply for r in screened) > 100
    assert sum(r.requested_by is not None for r in screened) > 10
    assert sum(bool(r.signs) for r in screened) > 5
    assert sum(bool(r.promises) for r in screened) > 10
    assert len({r.reason.split(";")[-1].split(":")[0] for r in screened}) > 5  # many intents


@given(st.text(alphabet=st.sampled_from(list("ab ſsSKkİiIвᲀВ.,?\n-'")), max_size=40))
@settings(max_examples=300, deadline=None)
def test_random_text_on_tricky_patterns(text):
    for source in TRICKY:
        pattern = re.compile(source)
        if pattern.search(text):
            assert Screen(pattern).maybe(Probe(text)), (source, text)


def test_a_screen_set_passes_exactly_what_its_screens_pass():
    sets = [(engine._date_screens(lang), engine._date_rules(lang)) for lang in LANGUAGES]
    sets += [(engine._commit_screens(lang), engine._commit_rules(lang)) for lang in LANGUAGES]
    sets += [
        (intent._phrase_screens()[i], [(Screen(re.compile(p)),) for p in ps])
        for i, ps in intent._PATTERNS.items()
    ]
    texts = _texts()[:400]
    for screen_set, rules in sets:
        screens = [rule[-1] for rule in rules]
        for text in texts:
            probe = Probe(text)
            assert screen_set.passing(probe) == [
                i for i, screen in enumerate(screens) if screen.maybe(probe)
            ]
