"""The fast quote finder gives exactly what quotequail gives, only faster.

``mailwatch.core.parse.quote_head`` pre-screens each line with one alternation of
quotequail's own patterns and confirms a hit with quotequail. Here it is compared with
the plain ``quotequail.quote`` call on every text of the real-mail sample and on generated
texts built from the pieces that matter (intro lines, wrapped intro lines, ">" quoting,
blank and white-space-only lines, the characters quotequail joins without a space).
"""

from __future__ import annotations

import re

import pytest
import quotequail
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailwatch.core import parse
from mailwatch.core.parse import (
    QUOTE_LIMIT,
    QUOTE_WINDOW,
    new_text_of,
    parse_message,
    quote_head,
)
from tests.mailsample import corpus_files


def reference_head(window: str) -> str | None:
    """What new_text_of used before the fast path: quotequail called as it is."""
    pieces = quotequail.quote(window, limit=QUOTE_LIMIT, quote_intro_line=True)
    return pieces[0][1] if len(pieces) > 1 and pieces[0][0] else None


def reference_new_text(text: str) -> str:
    """``new_text_of`` as it was before the fast paths (commit fb888c1), verbatim."""
    if not text:
        return ""
    head = text
    try:
        pieces = quotequail.quote(text[:QUOTE_WINDOW], limit=80, quote_intro_line=True)
        if len(pieces) > 1 and pieces[0][0]:
            head = pieces[0][1]
    except Exception:
        head = text
    separator = parse._QUOTE_SEPARATORS.search(head)
    if separator:
        head = head[: separator.start()]
    kept: list[str] = []
    lines = head.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(">"):
            if kept and parse._INTRO_LINE.match(kept[-1]):
                kept.pop()
            break
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if parse._INTRO_LINE.match(line) and (nxt.startswith(">") or not nxt.strip()):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def test_fast_path_is_active():
    # If a quotequail upgrade changes its internals, the fast path switches itself off
    # (correct but slow): this test says so instead of a silent 10x slowdown.
    assert parse._QUOTE_GATE is not None
    assert parse._QUOTE_GATE[1] == frozenset(":>-_")


def test_same_as_quotequail_on_the_corpus():
    files = corpus_files()
    assert len(files) > 60
    cut = 0
    for path in files:
        text = parse_message(path.read_bytes()).text
        window = text[:QUOTE_WINDOW]
        expected = reference_head(window)
        assert quote_head(window) == expected, path.name
        assert new_text_of(text) == reference_new_text(text), path.name
        cut += expected is not None
    assert cut >= 8  # the sample does exercise the cutting branch


PIECES = [
    "",
    " ",
    "\t",
    "  \x0b ",
    "Hello Bob,",
    "Thanks, see below.",
    "On Mon, 2 Mar 2026 at 10:00, Bob Smith <bob@example.com> wrote:",
    "On Mon, 2 Mar 2026 at 10:00, Bob Smith",
    "<bob@example.com> wrote:",
    "On Mon, 2 Mar 2026 at 10:00, Bob Smith <",
    "bob@example.com> wrote:",
    "wrote:",
    "On",
    "Am 02.03.2026 um 10:00 schrieb Bob:",
    "Le 2 mars 2026, Bob a écrit :",
    "El 2 mar 2026, Ana escribió:",
    "   El lunes, Ana escribió:   ",
    "Иван Петров написал(а):",
    "Иван Петров написал(",
    "а):",
    "Den 2 mars 2026 skrev Bob:",
    "Em 2 de março, Ana escreveu:",
    "Op 2 maart 2026 schreef Bob:",
    "Op 2 maart heeft Bob het volgende geschreven:",
    "2026/3/2 Bob Smith <bob@example.com>",
    "2026/3/2",
    "Bob Smith <bob@example.com>",
    "________________________________",
    "_______________________________",
    "-----Original Message-----",
    "----- Original message -----",
    "-----",
    "Original Message-----",
    "---------- Forwarded message ----------",
    "Begin forwarded message:",
    "Пересылаемое сообщение:",
    "-------- Пересылаемое сообщение --------",
    "Message transféré:",
    "From: Bob <bob@example.com>",
    "Sent: Monday, March 2, 2026 10:00 AM",
    "> quoted line",
    ">",
    "> ",
    ">On Mon, Bob wrote:",
    "> On Mon, Bob wrote:",
    ">> deeper",
    "ends with an open paren (",
    "ends with a quote '",
    'ends with a double quote "',
    "[",
    "{",
    "text ending in a colon:",
    "text ending in a dash -",
    "text ending in an underscore _",
    "text > arrow",
    "line with a\rcarriage return",
    "line\u2028separator",
    "trailing space wrote: ",
    "Bob <bob@example.com>:",
    "Ion a scris:",
    "Hans schrieb:",
    "Иван пишет:",
    "ВЫ НАПИСАЛИ:",
]

texts = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(alphabet=st.sampled_from(list("ab :>-_<(['\"\t/@.")), max_size=12),
        st.text(max_size=20),
    ),
    max_size=120,
).map("\n".join)


@settings(max_examples=1500, deadline=None)
@given(texts)
@example("On Mon, 2 Mar 2026 at 10:00, Bob Smith\n<bob@example.com> wrote:\n> hi")
@example("  \nOn Mon, Bob wrote:\n> hi")
@example(">\nOn Mon, Bob wrote:")
@example("x (\nOn Mon, Bob wrote:")
@example("Иван написал(\nа):\n> привет")  # joined without a space after "("
@example("\n".join(["line"] * 100))
@example("\n".join(["line"] * 79 + ["On Mon, Bob wrote:"]))
@example("\n".join(["line"] * 78 + ["On Mon, Bob", "wrote:"]))
def test_same_as_quotequail_on_generated_text(text: str):
    assert quote_head(text) == reference_head(text)


@settings(max_examples=1000, deadline=None)
@given(texts)
@example("Hi\nOn Mon, Bob wrote:\n> quoted")
@example("Hi\nBob <bob@x.test>:\n\nmore")
@example("Hi\nBOB WROTE:\n> quoted")
@example("> first line quoted\nsecond")
@example("text\n>quoted\nOn Mon, Bob wrote:")
def test_new_text_of_unchanged(text: str):
    assert new_text_of(text) == reference_new_text(text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_plain_quotequail_fallback_unchanged(text: str):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(parse, "_QUOTE_GATE", None)  # as if quotequail's internals had changed
        assert new_text_of(text) == reference_new_text(text)


def test_intro_line_shortcut_assumptions():
    # _is_intro_line relies on two facts about `re`, checked here over all of Unicode.
    everything = "".join(map(chr, range(0x110000)))
    letters = parse._INTRO_WORD_ENDS
    assert frozenset(re.findall(f"(?i)[{letters}]", everything)) == parse._INTRO_END_CHARS
    spaces = "".join(re.findall(r"\s", everything))
    assert spaces == "".join(c for c in everything if c.isspace())


intro_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "On Mon, Bob ",
                "wrote",
                "WROTE",
                "wroTE",
                "ſchrieb",
                "schrieb",
                "написал",
                "написала",
                "НАПИСАЛ",
                "пишет",
                "пишеᲄ",
                "a scris",
                "A SCRIS",
                "escribió",
                "ESCRIBIÓ",
                "<bob@example.com>",
                "<bob@ex ample.com>",
                ">",
                ":",
                "::",
                " ",
                "\t",
                "\u00a0",
                "\u2003",
                "\x1c",
                "x" * 130,
            ]
        ),
        st.text(max_size=6),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(intro_lines)
@example("Bob <bob@example.com>: \u2003")
@example("Am Montag ſchrieb Hans\u00a0:\u00a0")
@example("x" * 201 + " wrote:")
def test_intro_line_shortcut(line: str):
    assert parse._is_intro_line(line) == (parse._INTRO_LINE.match(line) is not None)
    text = f"Hello\n{line}\n> quoted\n"
    assert new_text_of(text) == reference_new_text(text)
    text = f"{line}\n\nmore {line}"
    assert new_text_of(text) == reference_new_text(text)
