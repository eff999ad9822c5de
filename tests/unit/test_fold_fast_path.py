"""fold() returns early on ASCII text (most mail): exactly what the full Unicode path gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

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
