"""The faster sentence splitter cuts every text exactly where the previous one did, and every
sentence sits in the joined unquoted lines between spaces (what the deadline screens use)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.parse import parse_message
from mailwatch.core.promises import engine
from mailwatch.core.text import (
    _ABBREVIATIONS,
    _SENT_END_RE,
    _SPACES_RE,
    _blocks,
    fold,
    split_sentences,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    p
    for p in sorted((ROOT / "tests" / "data").rglob("*"))
    + sorted((ROOT / "mailwatch" / "demo" / "data").glob("*.eml"))
    if p.is_file() and (p.suffix == ".eml" or p.parent.name in ("ham", "spam"))
]
_LAST_WORD_RE = re.compile(r"[\w.]+$")


def reference(text: str) -> list[str]:
    """The splitter as it was before (session 5), kept here as the yardstick."""
    sentences: list[str] = []
    for raw_block in _blocks(text):
        block = _SPACES_RE.sub(" ", raw_block).strip()
        start = 0
        for m in _SENT_END_RE.finditer(block):
            end = m.end()
            rest = block[end:].lstrip()
            word = _LAST_WORD_RE.findall(block[start : m.start() + 1].rstrip(".!?…"))
            last = word[0].lower() if word else ""
            if m.group(0).startswith(".") and (
                last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())
            ):
                continue
            if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in '¿¡"«“-'):
                continue
            sentences.append(block[start:end].strip())
            start = end
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return [s for s in sentences if s]


def _texts() -> list[str]:
    return [parse_message(p.read_bytes()).new_text for p in SAMPLES]


def test_same_sentences_on_real_mail():
    texts = _texts()
    assert len(texts) > 200
    assert sum(len(reference(t)) for t in texts) > 2000
    for text in texts:
        assert split_sentences(text) == reference(text)


PIECES = st.sampled_from(
    [
        "Mr. Smith", "e.g. this", "т.е. так", "Sra. López", " A. B. Jones", "ok.", "Ok!", "why?",
        "…", "No. 5", "3.5", "it.", " ", "\n", "\n\n", "> quoted", "-- ", "¿Qué?", "«Да»",
        "\"Hi.\"", "x_y.", "İ.", "ß.", "a", "Z", "7", "\t", "\u00a0", "(see below.)", "etc. and",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES | st.text(max_size=6), max_size=30).map("".join))
def test_same_sentences_on_generated_text(text: str) -> None:
    assert split_sentences(text) == reference(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES | st.text(max_size=6), max_size=30).map("".join))
def test_every_sentence_sits_between_spaces_in_the_whole_text(text: str) -> None:
    whole = engine._whole(text)
    at = 0
    for sentence in split_sentences(text):
        folded = fold(sentence, keep_offsets=True)
        found = whole.find(folded, at)
        assert found >= 0, (folded, whole)
        assert found == 0 or whole[found - 1] == " "
        end = found + len(folded)
        assert end == len(whole) or whole[end] == " "
        at = end
