"""``--json`` output is written by orjson but must stay byte for byte what ``json.dumps(...,
ensure_ascii=False, indent=2)`` wrote before: scripts and people diff and parse it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.cli.output import json_text


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
