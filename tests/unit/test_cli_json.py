"""``--json`` output is written by orjson but must stay byte for byte what ``json.dumps(...,
ensure_ascii=False, indent=2)`` wrote before: scripts and people diff and parse it."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.cli.output import json_text, print_json


def reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # any code point: non-ASCII, controls, U+2028, lone surrogates
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert json_text(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        [],
        {},
        {"a": [], "b": {}, "c": [[]]},
        {"subject": 'Angebot für Müller – 日本語 \u2028 \x7f \x00 \x1f "q" \\ /', "n": None},
        [1e-7, 1e-5, 0.1, 1e16, 1e22, 2.5e-10, -0.0, 3.0],  # orjson writes some differently
        {"line": "ends with a number 1.5", "price": 1.5},
        {1: "int key"},  # json turns it into "1"; orjson refuses
        [2**64, -(2**63) - 1],  # beyond orjson's integers
        ("a", "tuple"),
    ],
)
def test_known_differences_fall_back(value: Any) -> None:
    assert json_text(value) == reference(value)


def test_what_json_refuses_is_still_refused() -> None:
    """orjson would write a datetime; json.dumps raises, and so must --json (no new format)."""
    with pytest.raises(TypeError):
        json_text({"at": datetime(2026, 1, 1, tzinfo=UTC)})


floatless = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(),  # the scalars of a ThreadView's JSON (and larger ints, surrogates)
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(floatless)
def test_without_the_float_search_the_same_text_when_there_is_no_float(value: Any) -> None:
    assert json_text(value, floats=False) == reference(value)


@settings(max_examples=200, deadline=None)
@given(documents, st.booleans())
def test_print_json_writes_the_same_bytes_to_a_binary_stdout(value: Any, floats: bool) -> None:
    """On a UTF-8 stdout with a buffer the bytes go straight to it, after any text before."""
    if not floats:
        value = json.loads(json.dumps(value), parse_float=str)  # floats become strings
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape")
    out.write("before\n")
    with contextlib.redirect_stdout(out):
        print_json(value, floats=floats)
    out.flush()
    text = StringIO()
    with contextlib.redirect_stdout(text):
        print_json(value, floats=floats)
    assert raw.getvalue() == ("before\n" + text.getvalue()).encode("utf-8", "surrogateescape")
    assert text.getvalue() == reference(value) + "\n"
