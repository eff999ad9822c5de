"""``--json`` output: one JSON document, written by orjson, the text Python's json would write.

Neither rich nor the command parser here: a read command on the quick path (:mod:`.quick`)
prints its JSON with nothing else loaded.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from typing import Any

import orjson

__all__ = ["json_text", "print_json"]

#: a line of indented JSON that ends in a float (a string cannot end a line: its newlines are
#: escaped), where orjson may write it differently from Python (``1e-7`` against ``1e-07``)
_FLOAT_LINE = re.compile(rb"\d[.eE][-+]?\d+,?\n")
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_ORJSON_TIMES = orjson.OPT_INDENT_2 | orjson.OPT_OMIT_MICROSECONDS


def _not_plain_json(value: Any) -> Any:
    raise TypeError  # what json.dumps refuses, orjson refuses too: then json.dumps says why


def json_text(rows: Any, *, floats: bool = True) -> str:
    """``json.dumps(rows, ensure_ascii=False, indent=2)``, the same text, written by orjson.

    Python's json uses its pure-Python encoder whenever ``indent`` is set: ~0.3 s for the 5,846
    overdue threads of a 1M-message store, against ~10 ms here. orjson's indented output is the
    same for str, int, bool, None, lists and dicts with str keys; whatever it writes otherwise
    (a float, an int beyond 64 bits, a non-str key, a lone surrogate, a type json refuses) goes
    to ``json.dumps`` (tests/unit/test_cli_json.py compares the two). NaN and infinities, which
    no mailwatch output holds and JSON does not allow, would come out as ``null``.

    ``floats=False`` is the caller's word that ``rows`` hold no float (their types say so, as
    ``ThreadView.to_json``'s do): then the search for a float's line is skipped (25 ms of the
    6 MB overdue list at 1M messages).
    """
    data = _orjson_text(rows, floats)
    return data.decode() if isinstance(data, bytes) else data


def _orjson_text(rows: Any, floats: bool) -> bytes | str:
    """orjson's UTF-8 bytes, or ``json.dumps``'s text where orjson would write otherwise."""
    try:
        data = orjson.dumps(rows, default=_not_plain_json, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if floats and _FLOAT_LINE.search(data + b"\n"):
        return json.dumps(rows, ensure_ascii=False, indent=2)
    return data


def _iso_seconds(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat(timespec="seconds")
    to_json = getattr(value, "to_json", None)  # a view orjson wrote as a dataclass
    if to_json is not None:
        return to_json()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _orjson_times(rows: Any) -> bytes | str:
    """orjson's bytes with aware datetimes written as ``isoformat(timespec="seconds")``
    (orjson's own writing of them, to the second) and dataclasses as their fields;
    ``json.dumps`` where orjson refuses (a view then written by its ``to_json``)."""
    try:
        return orjson.dumps(rows, default=_not_plain_json, option=_ORJSON_TIMES)
    except TypeError:
        return json.dumps(rows, ensure_ascii=False, indent=2, default=_iso_seconds)


def print_json(rows: Any, *, floats: bool = True, times: bool = False) -> None:
    """One JSON document on standard output (``--json``): UTF-8 as is, indented.

    orjson's bytes go straight to the binary buffer of a UTF-8 standard output (a terminal, a
    pipe, a file): a long list is not decoded and encoded again. ``floats``: see
    :func:`json_text`. ``times``: ``rows`` hold aware datetimes (and no float), written to the
    second with their offset, and may hold dataclasses whose fields are the keys to write, in
    order; the caller's word that no offset has seconds (orjson drops them: see
    ``views.threads.threads_json_times``).
    """
    out = sys.stdout
    data = _orjson_times(rows) if times else _orjson_text(rows, floats)
    buffer = getattr(out, "buffer", None)
    utf8 = (getattr(out, "encoding", None) or "").lower().replace("-", "") == "utf8"
    if isinstance(data, bytes) and buffer is not None and utf8:
        out.flush()  # what was written as text comes first
        buffer.write(data + b"\n")
        buffer.flush()
        return
    out.write((data.decode() if isinstance(data, bytes) else data) + "\n")
