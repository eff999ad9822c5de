"""The sync's cheap first look at a Message-ID agrees with the full header parse on real mail
and on generated header blocks (where it may not, it can only cost or save a text fetch: the
full parse decides what is stored)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.parse import header_message_id, normalize_message_id, split_header_block
from tests.mailsample import corpus_files


def _full(block: bytes) -> str | None:
    return normalize_message_id(split_header_block(block).get("message-id"))


def _head(raw: bytes) -> bytes:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    return raw.partition(sep)[0] + sep


def test_agrees_with_the_full_parse_on_the_sample_corpus():
    files = corpus_files()
    assert len(files) > 50
    for path in files:
        block = _head(path.read_bytes())
        assert header_message_id(block) == _full(block), path.name


_NAME = st.sampled_from([b"Message-ID", b"message-id", b"MESSAGE-ID", b"Subject", b"From"])
_VALUE = st.sampled_from([b"<a@b.c>", b" <x.y@z>", b"", b"<no-end", b"bare@id", b"<p@q> <r@s>"])


@given(
    st.lists(
        st.tuples(_NAME, _VALUE, st.sampled_from([b"", b"\r\n\t<folded@x>", b"\n more"])),
        max_size=5,
    ),
    st.sampled_from([b"\r\n", b"\n"]),
)
def test_agrees_with_the_full_parse_on_generated_blocks(fields, newline):
    block = b"".join(name + b":" + value + fold + newline for name, value, fold in fields)
    assert header_message_id(block + newline) == _full(block + newline)
