"""The address-list shortcut reads exactly what email.utils.getaddresses reads.

``mailwatch.core.parse._simple_addresses`` handles the common shapes ("a@b.c",
"Name <a@b.c>", '"Last, First" <a@b.c>', comma-separated) with one regex and returns None
for everything else, which then goes to getaddresses. Whenever it does answer, the answer
must be getaddresses' own.
"""

from __future__ import annotations

from email.utils import getaddresses

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailwatch.core import parse
from mailwatch.core.parse import _decode_bytes, split_header_block
from tests.mailsample import corpus_files


def check(text: str) -> bool:
    """True when the shortcut answered (and then agreed with getaddresses)."""
    fast = parse._simple_addresses(text)
    if fast is not None:
        assert fast == getaddresses([text]), text
    return fast is not None


def test_same_as_getaddresses_on_the_corpus():
    answered = total = 0
    for path in corpus_files():
        raw = path.read_bytes()
        head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0] + b"\n\n"
        headers = split_header_block(head)
        for name in ("from", "sender", "to", "cc", "reply-to"):
            if headers.get(name):
                total += 1
                answered += check(_decode_bytes(headers[name]))
    assert total > 200
    assert answered > total * 0.7  # the shortcut does cover the usual case


PIECES = [
    "a@b.c",
    "first.last@example.com",
    "x_y+tag@sub.example.co.uk",
    "o'brien@example.ie",
    "=?utf-8?B?0JjQstCw0L0=?=",
    "Ann",
    "B.",
    "Lee",
    "Иван",
    "J.Smith",
    "<a@b.c>",
    "<first.last@example.com>",
    "<a@b>",
    '"Lee, Ann"',
    '""',
    '"a\\"b"',
    '"x',
    " ",
    "  ",
    "\t",
    ",",
    ", ",
    "@",
    ".",
    "..",
    "<",
    ">",
    "(comment)",
    ":",
    ";",
    "group:",
    "[1.2.3.4]",
    "\r\n",
    "\u00a0",
    "\\",
    "a@b@c",
    "a@.b",
    ".a@b",
]

address_lists = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(alphabet=st.sampled_from(list('ab.@<>" ,\t()\\:;')), max_size=6),
    ),
    min_size=1,
    max_size=10,
).map("".join)


@settings(max_examples=4000, deadline=None)
@given(address_lists)
@example("a@b.c,")
@example("a@b.c, ")
@example('  Ann   B.  Lee\t<a@b.c> ,\t"Lee, Ann" <x@y.z>,b@c.d  ')
@example("Ann <a@b.c")
@example("Ann a@b.c")
@example('"Ann" Lee <a@b.c>')
def test_same_as_getaddresses_on_generated_lists(text: str):
    check(text)


def test_parse_addresses_uses_it():
    got = parse.parse_addresses(b'"Lee, Ann" <Ann@Example.com>, bob@x.test')
    assert [(a.name, a.email) for a in got] == [("Lee, Ann", "ann@example.com"), ("", "bob@x.test")]
