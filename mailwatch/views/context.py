"""The time context of every read: the business calendar, the SLA and the languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailwatch.config import Settings
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.timefmt import iso, local


@dataclass(frozen=True)
class View:
    """The settings a read needs: business calendar, SLA, default language, who is "us"."""

    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    sla: timedelta = timedelta(hours=4)
    default_language: str = "en"
    internal_domains: frozenset[str] = frozenset()
    own_addresses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Settings) -> View:
        languages = settings.languages or ("en",)
        return cls(
            settings.calendar,
            settings.reply_sla,
            languages[0],
            frozenset(settings.internal_domains or ()),
            frozenset(settings.own_addresses or ()),
        )

    def at(self, value: datetime | None) -> datetime | None:
        """``value`` in the team's timezone (the read models hold their times so)."""
        return value.astimezone(self.calendar.tz) if value is not None else None

    def iso(self, value: datetime | None) -> str | None:
        """ISO 8601 with the offset of the team's timezone (to the second), for JSON."""
        return iso(value, self.calendar.tz)

    def local(self, value: datetime | str | None) -> str:
        """The team's local time to the minute, for people."""
        return local(value, self.calendar.tz)


def iso_text(value: datetime | None) -> str | None:
    """A read model's time as the JSON contract writes it: ISO 8601, seconds, own offset."""
    return value.isoformat(timespec="seconds") if value is not None else None
