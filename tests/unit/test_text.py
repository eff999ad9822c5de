"""core/text.py: one fold, one sentence splitter and one language list for the whole core."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from mailwatch import config, i18n
from mailwatch.core import drafting, language, warning_signs
from mailwatch.core.promises import LANGUAGES as PROMISE_LANGUAGES
from mailwatch.core.text import LANGUAGES, fold, split_sentences

# Mail-like text: letters of the four languages with their accents, digits, punctuation that
# ends sentences, quotes, bullets, spaces and line breaks (CR too).
MAIL_ALPHABET = st.sampled_from(
    [
        *"abcxyzABCXYZ ăâîșțşţ ĂÎȘ ñáéíóúü ÑÁ йёЁЙабвгдеЖЗИ 0123 .!?…,;:-*•>«»\"'()¿¡",
        *("\n", "\r\n", " ", "  ", "Mr.", "т.е.", "ß", "ﬁ", "İ"),
    ]
)
mail_text = st.lists(MAIL_ALPHABET, max_size=120).map("".join)


def test_one_language_list_everywhere():
    assert LANGUAGES == ("en", "ru", "ro", "es")
    for other in (
        config.LANGUAGES,
        i18n.UI_LANGUAGES,
        drafting.DRAFT_LANGUAGES,
        language.DEFAULT_LANGUAGES,
        PROMISE_LANGUAGES,
    ):
        assert other is LANGUAGES


def test_fold_examples():
    assert fold("Ştefan") == fold("ștefan") == "stefan"
    assert fold("José MARÍA") == "jose maria"
    assert fold("Пётр Йосиф") == "петр иосиф"
    assert fold("Straße ﬁle") == "strasse file"  # case folding and compatibility forms
    assert fold("María", casefold=False) == "Maria"
    assert fold("până vineri", keep_offsets=True) == "pana vineri"
    # one for one: "ß" and "ﬁ" stay as they are rather than change the length
    assert fold("Straße ﬁle", keep_offsets=True) == "straße ﬁle"


@given(mail_text)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    offsets = fold(text, keep_offsets=True)
    assert fold(offsets, keep_offsets=True) == offsets


@given(mail_text)
def test_fold_keeps_offsets_when_asked(text: str) -> None:
    folded = fold(text, keep_offsets=True)
    assert len(folded) == len(text)
    # each character folds on its own: a match on the folded copy points at the same text
    assert all(folded[i] == fold(c, keep_offsets=True) for i, c in enumerate(text))


@given(mail_text)
def test_fold_leaves_no_accent_and_no_upper_case(text: str) -> None:
    folded = fold(text)
    assert not any(c.isupper() for c in folded)
    assert not any(c in folded for c in "ăâîșțşţñáéíóúüёй")


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def _unquoted(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return " ".join(ln for ln in lines if not ln.lstrip().startswith(">"))


@given(mail_text)
def test_splitter_never_loses_or_invents_text(text: str) -> None:
    sentences = split_sentences(text)
    # every word of the unquoted lines is in exactly one sentence, in order
    assert _words(" ".join(sentences)) == _words(_unquoted(text))
    for sentence in sentences:
        assert sentence and sentence == sentence.strip()
        assert "\n" not in sentence and "  " not in sentence


@given(mail_text)
def test_sentences_are_substrings_of_the_joined_lines(text: str) -> None:
    # what the requested-deadline pre-screen in core.promises relies on
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    joined = re.sub(r"\s+", " ", " ".join(ln for ln in lines if ln and not ln.startswith(">")))
    for sentence in split_sentences(text):
        assert sentence in joined


def test_splitter_examples():
    text = (
        "Hi John,\n"
        "Mr. Smith will send the offer by Friday. Is that ok?\n"
        "> quoted line. Not ours.\n"
        "We will call you tomorrow, i.e. on the\n"
        "12th, as agreed.\n"
        "\n"
        "- first point\n"
        "- second point\n"
    )
    assert split_sentences(text) == [
        "Hi John,",
        "Mr. Smith will send the offer by Friday.",
        "Is that ok?",
        "We will call you tomorrow, i.e. on the 12th, as agreed.",
        "- first point",
        "- second point",
    ]


def test_promises_and_warning_signs_read_the_same_sentences():
    text = "Hello,\nwe need a discount. Send it today!\nThanks"
    signs = warning_signs.detect_text_signs(text, None, "en")
    assert [s.evidence for s in signs] == ["we need a discount."]
    assert split_sentences(text) == ["Hello,", "we need a discount.", "Send it today!", "Thanks"]


def test_warning_sign_evidence_is_the_whole_sentence():
    # The old warning-sign splitter cut at every dot and line break: the evidence stopped at
    # "orders@cohen-distribution." or "20." and lost the wrapped line.
    text = (
        "For urgent orders please contact orders@cohen-distribution.com or call\n+1 212 555 0100.\n"
    )
    [sign] = warning_signs.detect_text_signs(text, None, "en")
    assert sign.evidence == (
        "For urgent orders please contact orders@cohen-distribution.com or call +1 212 555 0100."
    )
    [sign] = warning_signs.detect_text_signs(
        "Ne puteți face o reducere dacă luăm 20.000 de bucăți?", None, "ro"
    )
    assert sign.evidence == "Ne puteți face o reducere dacă luăm 20.000 de bucăți?"
