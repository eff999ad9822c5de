"""Find the part of a message worth reading (first text/plain, else first text/html).

Works on the nested tuples of an IMAP BODYSTRUCTURE as imapclient returns them, so the
sync can fetch only a prefix of that one part instead of the whole message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mailwatch.core.pickling import tuple_pickled


@tuple_pickled
@dataclass(frozen=True, slots=True)
class TextPart:
    section: str  # IMAP section spec, e.g. "1", "1.2"
    subtype: str  # "plain" or "html"
    charset: str | None
    encoding: str | None
    size: int | None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", errors="replace")
    return value if isinstance(value, str) else ""


def _is_multipart(node: Sequence[Any]) -> bool:
    return bool(node) and isinstance(node[0], list | tuple) and not isinstance(node[0], bytes | str)


def _params(value: Any) -> dict[str, str]:
    if not isinstance(value, list | tuple):
        return {}
    items = [_text(v) for v in value]
    return {items[i].lower(): items[i + 1] for i in range(0, len(items) - 1, 2)}


def _is_attachment(node: Sequence[Any]) -> bool:
    for extra in node[7:]:
        if (
            isinstance(extra, list | tuple)
            and extra
            and isinstance(extra[0], bytes | str)
            and _text(extra[0]).lower() == "attachment"
        ):
            return True
    return False


def _leaves(node: Sequence[Any], section: str) -> list[tuple[str, Sequence[Any]]]:
    if _is_multipart(node):
        parts = (
            node[0]
            if isinstance(node[0], list)
            else [p for p in node if isinstance(p, list | tuple) and not isinstance(p, bytes | str)]
        )
        found: list[tuple[str, Sequence[Any]]] = []
        for number, part in enumerate(parts, 1):
            prefix = f"{section}.{number}" if section else str(number)
            found.extend(_leaves(part, prefix))
        return found
    return [(section or "1", node)]


def choose_text_part(structure: Sequence[Any] | None) -> TextPart | None:
    """The first readable text part, or None when the message has no text at all."""
    if not structure:
        return None
    try:
        leaves = _leaves(structure, "")
    except (IndexError, TypeError):
        return None
    for wanted in ("plain", "html"):
        for section, node in leaves:
            if len(node) < 7:
                continue
            if _text(node[0]).lower() != "text" or _text(node[1]).lower() != wanted:
                continue
            if _is_attachment(node):
                continue
            size = node[6] if isinstance(node[6], int) else None
            return TextPart(
                section=section,
                subtype=wanted,
                charset=_params(node[2]).get("charset"),
                encoding=_text(node[5]).lower() or None,
                size=size,
            )
    return None
