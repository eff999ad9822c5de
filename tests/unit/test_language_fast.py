"""The faster letter counts of the language screen give what the regex and per-character
counts gave (ASCII text counted with str.translate, marked letters with str.count)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core import language


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_letter_counts_equal_the_regex_counts(text: str) -> None:
    want = (len(language._LETTER_RE.findall(text)), len(language._CYRILLIC_RE.findall(text)))
    assert language._letters(text) == want


def test_every_ascii_character_is_counted_as_the_regex_does() -> None:
    every = "".join(map(chr, range(128))) * 2
    assert language._letters(every) == (len(language._LETTER_RE.findall(every)), 0)


@given(st.text(alphabet=st.sampled_from(list("ăâîșțşţñáéíóú¿¡ab ĂÂÎȘȚÑÁ"))) | st.text())
def test_marked_language_counts_as_before(text: str) -> None:
    codes = frozenset({"en", "ru", "ro", "es"})
    lowered = text.lower()
    ro = sum(1 for ch in lowered if ch in language._ONLY_RO)
    es = sum(1 for ch in lowered if ch in language._ONLY_ES)
    want = None
    if ro and not es and (ro >= 2 or len(lowered) < 400):
        want = "ro"
    elif es and not ro and (es >= 2 or len(lowered) < 400):
        want = "es"
    assert language._marked_language(text, codes) == want
