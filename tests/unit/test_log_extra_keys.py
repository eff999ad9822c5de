"""No ``extra=`` in mailwatch passes a key the logging module reserves.

``log.info(..., extra={"thread": 5})`` raises ``KeyError: "Attempt to overwrite 'thread' in
LogRecord"`` at run time, only on the path that logs it (the SLA job crashed after its first
draft this way). This scans every call in the package, so such a key fails here instead.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import mailwatch

# What Logger.makeRecord refuses: the LogRecord's own attributes, plus these two.
RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
PACKAGE = Path(mailwatch.__file__).parent


def extra_keys(tree: ast.AST) -> list[tuple[int, str | None]]:
    """(line, key) for every key of a literal ``extra=`` dict; None for a non-literal extra."""
    found: list[tuple[int, str | None]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg != "extra":
                continue
            value = keyword.value
            if isinstance(value, ast.Dict):
                for key in value.keys:
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        found.append((node.lineno, key.value))
                    else:
                        found.append((node.lineno, None))
            elif isinstance(value, ast.Call) and getattr(value.func, "id", "") == "dict":
                found += [(node.lineno, k.arg) for k in value.keywords]
            else:
                found.append((node.lineno, None))
    return found


def test_the_scanner_finds_a_reserved_key():
    tree = ast.parse(
        'log.info("x", extra={"thread": 1, "ok": 2})\nlog.info("y", extra=dict(name=1))'
    )
    assert extra_keys(tree) == [(1, "thread"), (1, "ok"), (2, "name")]
    assert "thread" in RESERVED and "name" in RESERVED


def test_no_extra_key_in_mailwatch_is_reserved():
    bad = []
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, key in extra_keys(ast.parse(path.read_text(), str(path))):
            checked += 1
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if key is None:
                bad.append(f"{where}: extra= is not a literal dict, so its keys cannot be checked")
            elif key in RESERVED:
                bad.append(f"{where}: extra key {key!r} is a reserved LogRecord attribute")
    assert checked >= 4  # the scan really sees the package's structured log calls
    assert bad == []


def test_the_reserved_key_really_crashes_logging():
    # The reason for the test above, checked against this Python's logging module.
    logger = logging.getLogger("mailwatch.test-reserved")
    try:
        logger.makeRecord("x", logging.INFO, "f", 1, "m", (), None, extra={"thread": 1})
    except KeyError as exc:
        assert "thread" in str(exc)
    else:
        raise AssertionError("logging accepted a reserved key")
