"""One clock: times for people in the mailbox's TIMEZONE to the minute; JSON keeps the offset."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mailwatch.core import timefmt
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.tracking import track_thread
from mailwatch.logs import TextFormatter, setup_logging
from mailwatch.views.context import View

TZ = ZoneInfo("Europe/Chisinau")
MOMENT = datetime(2026, 11, 30, 2, 39, 17, 123456, tzinfo=UTC)  # 04:39 in Chisinau


def test_people_see_local_minutes_and_programs_see_offsets():
    assert timefmt.local(MOMENT, TZ) == "2026-11-30 04:39"
    assert timefmt.local(MOMENT.isoformat(), TZ) == "2026-11-30 04:39"
    assert timefmt.local(None, TZ) == "—"
    assert timefmt.zone_note(TZ) == "times in Europe/Chisinau"
    assert timefmt.iso(MOMENT, TZ) == "2026-11-30T04:39:17+02:00"  # no microseconds
    view = View(BusinessCalendar(tz_name="Europe/Chisinau"), timedelta(hours=4))
    assert view.iso(MOMENT) == "2026-11-30T04:39:17+02:00"


def test_the_why_line_is_in_local_time():
    from mailwatch.core.tracking import Direction, MessageFacts

    facts = MessageFacts("<a@x>", Direction.INBOUND, MOMENT, True, "a client asked")
    calendar = BusinessCalendar(tz_name="Europe/Chisinau")
    status = track_thread([facts], calendar, timedelta(hours=4))
    assert "waiting since 2026-11-30 04:39" in status.reason
    assert "+00:00" not in status.reason and "T02:39" not in status.reason


def test_log_lines_carry_the_mailbox_time():
    record = logging.makeLogRecord({"msg": "synced", "levelname": "INFO", "name": "mailwatch"})
    record.created = MOMENT.timestamp()
    line = TextFormatter(TZ).format(record)
    assert line.startswith("2026-11-30 04:39:17 info")


def test_libraries_chatter_only_from_warning_up():
    try:
        setup_logging("text", "debug", "Europe/Chisinau")
        assert logging.getLogger("mailwatch").getEffectiveLevel() == logging.DEBUG
        for library in ("imapclient", "alembic", "sqlalchemy.engine"):
            assert logging.getLogger(library).getEffectiveLevel() == logging.WARNING
    finally:
        setup_logging("text", "warning")
