"""fold() returns early on ASCII text (most mail): exactly what the full Unicode path gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core import text
from mailwatch.core.text import _fold_char, fold


def reference(text: str, keep_offsets: bool, casefold: bool) -> str:
    """fold() without the ASCII shortcut."""
    if keep_offsets:
        return "".join(map(_fold_char, text))
    decomposed = unicodedata.normalize("NFKD", text.casefold() if casefold else text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@given(
    st.text(alphabet=st.characters(max_codepoint=127)) | st.text(),
    st.booleans(),
    st.booleans(),
)
def test_fold_equals_the_unicode_path(text: str, keep_offsets: bool, casefold: bool) -> None:
    got = fold(text, keep_offsets=keep_offsets, casefold=casefold)
    assert got == reference(text, keep_offsets, casefold)


def test_every_ascii_character():
    text = "".join(chr(i) for i in range(128))
    for keep_offsets in (False, True):
        for casefold in (False, True):
            assert fold(text, keep_offsets=keep_offsets, casefold=casefold) == reference(
                text, keep_offsets, casefold
            )


def _every_character() -> str:
    return "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


def test_fold_equals_the_unicode_path_on_every_character() -> None:
    """The translate tables fold each character as the per-character code did."""
    every = _every_character()
    for keep_offsets in (True, False):
        for casefold in (True, False):
            assert fold(every, keep_offsets=keep_offsets, casefold=casefold) == reference(
                every, keep_offsets, casefold
            )


def test_the_tables_stop_growing_but_still_fold(monkeypatch) -> None:
    monkeypatch.setattr(text, "_FOLD_TABLE", text._FoldTable())
    monkeypatch.setattr(text, "_STRIP_TABLE", text._StripTable())
    monkeypatch.setattr(text, "_TABLE_LIMIT", 10)
    sample = "Ştefan Ärger ёлка ﬁne ß İstanbul " + "".join(map(chr, range(0x400, 0x500)))
    for keep_offsets in (True, False):
        assert fold(sample, keep_offsets=keep_offsets) == reference(sample, keep_offsets, True)
    assert len(text._FOLD_TABLE) <= 10 and len(text._STRIP_TABLE) <= 10
