"""Times for people: one clock, the mailbox's ``TIMEZONE``, to the minute.

Why one module: the CLI, the web page, the digest, the demo and the log lines all show times,
and a person must never see "02:39" (UTC) beside the same moment as "04:39" (local). Every
screen shows local times without an offset and names the zone once (``zone_note``); JSON keeps
ISO 8601 with the offset (``iso``), which is for programs.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

MISSING = "—"


def _parse(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def local(value: datetime | str | None, tz: tzinfo, missing: str = MISSING) -> str:
    """``2026-11-23 14:05`` in ``tz``; a naive value is taken as UTC-free wall time as is."""
    moment = _parse(value)
    if moment is None:
        return missing
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M")


def local_clock(value: datetime | str | None, tz: tzinfo, missing: str = MISSING) -> str:
    """``14:05`` (the same day is understood from the context)."""
    moment = _parse(value)
    if moment is None:
        return missing
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%H:%M")


def zone_name(tz: tzinfo) -> str:
    """``Europe/Chisinau`` (an IANA key when there is one)."""
    key = getattr(tz, "key", None)
    return str(key) if key else str(tz)


def zone_note(tz: tzinfo) -> str:
    """``times in Europe/Chisinau``: said once per screen, next to its title."""
    return f"times in {zone_name(tz)}"


def iso(value: datetime | None, tz: tzinfo) -> str | None:
    """ISO 8601 with the offset of ``tz``, for JSON (seconds kept, microseconds dropped)."""
    if value is None:
        return None
    return value.astimezone(tz).isoformat(timespec="seconds")
