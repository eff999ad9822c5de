"""core/parse.py uses quotequail's private API: an upgrade that changes it must fail here, loudly.

The fast quote finder (``parse._QUOTE_GATE``) is built from quotequail's private regexes and
matcher. If they change, parse.py silently falls back to the slow public ``quotequail.quote``;
these tests make that visible instead, and say what to do.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import quotequail
from quotequail import _internal, _patterns
from quotequail._enums import Position

from mailwatch.core import parse

ROOT = Path(__file__).resolve().parents[2]
WHAT_TO_DO = (
    "core/parse.py uses quotequail's private _internal/_patterns (see its docstring). "
    "Check that the fast path still gives quotequail.quote's answer "
    "(tests/unit/test_quote_fastpath.py), adapt _build_quote_gate/_quote_confirm if needed, "
    "then update the exact pin in pyproject.toml."
)


def _pinned() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if re.match(r"quotequail\b", d)]
    assert len(pins) == 1, pins
    m = re.fullmatch(r"quotequail==([\w.]+)", pins[0].replace(" ", ""))
    assert m, f"quotequail must be pinned to one exact version, found {pins[0]!r}. {WHAT_TO_DO}"
    return m.group(1)


def test_installed_quotequail_is_the_pinned_one():
    installed = version("quotequail")
    assert installed == _pinned(), (
        f"quotequail {installed} is installed but pyproject.toml pins {_pinned()}. {WHAT_TO_DO}"
    )


def test_private_pieces_parse_uses_are_there():
    problems = []
    if not callable(getattr(_internal, "find_pattern_on_line", None)):
        problems.append("_internal.find_pattern_on_line is gone")
    if not isinstance(getattr(_internal, "STRIP_SPACE_CHARS", None), str):
        problems.append("_internal.STRIP_SPACE_CHARS is gone or not a string")
    if getattr(_patterns, "MAX_WRAP_LINES", None) != 2:
        problems.append("_patterns.MAX_WRAP_LINES is no longer 2")
    compiled = getattr(_patterns, "COMPILED_PATTERN_MAP", None)
    if not isinstance(compiled, dict) or not all(
        isinstance(r, re.Pattern) for group in compiled.values() for r in group
    ):
        problems.append("_patterns.COMPILED_PATTERN_MAP is no longer a dict of compiled regexes")
    if not hasattr(Position, "Begin"):
        problems.append("_enums.Position.Begin is gone")
    assert not problems, f"{'; '.join(problems)}. {WHAT_TO_DO}"


def test_the_fast_quote_path_is_on():
    assert parse._QUOTE_GATE is not None, (
        "parse._build_quote_gate rejected this quotequail's layout: every message now goes "
        f"through the slow public quotequail.quote. {WHAT_TO_DO}"
    )


def test_private_matcher_agrees_with_the_public_call():
    text = "Thanks, will do.\n\nOn Mon, 2 Mar 2026 at 10:00, Ana Pop <ana@example.com> wrote:\n> hi"
    public = quotequail.quote(text, limit=parse.QUOTE_LIMIT, quote_intro_line=True)
    assert public[0] == (True, "Thanks, will do.\n")
    assert parse.quote_head(text) == "Thanks, will do.\n", WHAT_TO_DO
