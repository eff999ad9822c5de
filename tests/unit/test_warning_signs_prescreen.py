"""The warning-sign pre-screen skips only kinds that cannot be found: results are identical to
looking sentence by sentence for every kind (the evaluation set, demo mail, generated text)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core import warning_signs as ws
from mailwatch.core.parse import parse_message
from mailwatch.core.text import split_sentences
from mailwatch.core.warning_signs import SignKind, WarningSign, detect_text_signs

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "eval").rglob("*.eml")) + sorted(
    (ROOT / "mailwatch" / "demo" / "data").glob("*.eml")
)
TABLES = (ws._PRICE, ws._URGENCY, ws._MEETING, ws._NO_GOAL, ws._CONTRACT_TERMS)


def reference(text: str, message_id: str | None, language: str | None) -> list[WarningSign]:
    """Every kind looked for sentence by sentence, no pre-screen (the original code)."""
    sentences = split_sentences(text)
    if not sentences:
        return []
    langs = ws._languages(language)
    signs = []
    for kind, patterns in (
        (SignKind.PRICE_PRESSURE, ws._PRICE),
        (SignKind.URGENCY, ws._URGENCY),
        (SignKind.MEETING_PUSH, ws._MEETING),
        (SignKind.NO_CLEAR_GOAL, ws._NO_GOAL),
    ):
        evidence = ws._find(patterns, langs, sentences)
        if evidence is not None:
            signs.append(WarningSign(kind, evidence, message_id))
    contract = ws._find_contract(langs, sentences)
    if contract is not None:
        signs.append(WarningSign(SignKind.CONTRACT_NITPICKING, contract, message_id))
    order = list(SignKind)
    signs.sort(key=lambda s: order.index(s.kind))
    return signs


def _negative_lookaheads(pattern: str) -> list[str]:
    found, i = [], 0
    while (i := pattern.find("(?!", i)) >= 0:
        depth, j = 0, i
        while j < len(pattern):
            if pattern[j] == "\\":
                j += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[j], 0)
            if depth == 0:
                break
            j += 1
        found.append(pattern[i : j + 1])
        i = j + 1
    return found


def test_the_patterns_keep_the_property_the_prescreen_relies_on():
    """No anchors or positive look-arounds, and no negative look-ahead that could match the
    NUL joining the sentences: then a phrase in a sentence is a phrase in the joined text."""
    for table in TABLES:
        for pattern in table.values():
            source = pattern.pattern.replace("[^", "[")
            assert "$" not in source and "^" not in source
            assert "(?=" not in source and "(?<=" not in source
            for ahead in _negative_lookaheads(pattern.pattern):
                assert not re.search(r"\\[WSD]|\.|\[\^", ahead), ahead


def test_same_signs_on_the_evaluation_set_and_demo_mail():
    found = 0
    for path in SAMPLES:
        msg = parse_message(path.read_bytes())
        for language in (None, "en", "ru", "ro", "es"):
            want = reference(msg.new_text, msg.message_id, language)
            assert detect_text_signs(msg.new_text, msg.message_id, language) == want, path
            found += len(want)
    assert found > 20  # the sample really holds signs


PHRASES = [
    "Why is it so expensive?",
    "We need a discount.",
    "Please send it ASAP!",
    "urgent",
    "Let's meet first.",
    "We are not sure what we need.",
    "The contract clause 5 must be changed.",
    "Цена слишком высокая, нужна скидка.",
    "Срочно!",
    "Este prea scump.",
    "Es muy caro, ¿hay descuento?",
    "Una reunión antes del viernes.",
    "It is not urgent.",
    "> quoted: urgent discount",
    "Hello",
    "\n",
    " ",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PHRASES) | st.text(max_size=20), max_size=10),
    st.sampled_from([None, "en", "ru", "ro", "es"]),
    st.sampled_from(["", " ", "\n", ". ", "\n\n"]),
)
def test_same_signs_on_generated_text(parts: list[str], language: str | None, sep: str) -> None:
    text = sep.join(parts)
    assert detect_text_signs(text, "<m@x>", language) == reference(text, "<m@x>", language)
