"""``threads --json`` with its times written by orjson prints the same bytes as with the times
written by ``isoformat(timespec="seconds")``, and falls back where orjson would not.

The quick path leaves a listing's times as datetimes for orjson (``threads_json_times`` and
``print_json(..., times=True)``): that holds only while every UTC offset is whole minutes,
which every zone's is since 1973; an older time makes the listing take the text path.
"""

from __future__ import annotations

import dataclasses
import io
import sys
import zoneinfo
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.cli.jsonout import print_json
from mailwatch.core.signs import SignKind, WarningSign
from mailwatch.views.threads import (
    Counterpart,
    ThreadState,
    ThreadView,
    threads_json,
    threads_json_times,
)

ZONES = sorted(zoneinfo.available_timezones())
SOME_ZONES = ["UTC", "Europe/Chisinau", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe"]


def printed(rows: object, **options: bool) -> bytes:
    """What print_json writes to a UTF-8 standard output."""
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="utf-8")
    saved = sys.stdout
    sys.stdout = stream
    try:
        print_json(rows, **options)
        stream.flush()
    finally:
        sys.stdout = saved
    return buffer.getvalue()


def times(zone: str, first_year: int) -> st.SearchStrategy[datetime | None]:
    instants = st.datetimes(
        min_value=datetime(first_year, 1, 2), max_value=datetime(2099, 12, 30)
    ).map(lambda d: d.replace(tzinfo=UTC).astimezone(zoneinfo.ZoneInfo(zone)))
    return st.none() | instants


@st.composite
def views(draw: st.DrawFn, first_year: int = 1973) -> list[ThreadView]:
    zone = draw(st.sampled_from(SOME_ZONES))
    when = times(zone, first_year)
    rows = []
    for number in range(draw(st.integers(0, 6))):
        rows.append(
            ThreadView(
                id=number + 1,
                mailbox=draw(st.sampled_from([None, "main", "sales «eu»"])),
                subject=draw(st.text(max_size=20)),
                counterpart=Counterpart(draw(st.none() | st.text(max_size=8)), "a@client.test"),
                state=draw(st.sampled_from(list(ThreadState))),
                needs_reply_reason="a question",
                overdue=draw(st.booleans()),
                overdue_business_minutes=draw(st.integers(0, 10**6)),
                waiting_business_minutes=draw(st.integers(0, 10**6)),
                waiting_since=draw(when),
                reply_due_at=draw(when),
                last_inbound_at=draw(when),
                last_outbound_at=draw(when),
                first_response_business_minutes=draw(st.none() | st.integers(0, 10**5)),
                language=draw(st.sampled_from([None, "en", "ru"])),
                message_ids=tuple(draw(st.lists(st.text(max_size=12), max_size=3))),
                warning_signs=tuple(
                    WarningSign(kind, draw(st.text(max_size=10)), None)
                    for kind in draw(st.lists(st.sampled_from(list(SignKind)), max_size=2))
                ),
                requested_by=draw(when),
                answered_by=draw(st.sampled_from([None, "us", "Ana"])),
                snoozed_until=draw(when),
                message_count=draw(st.integers(0, 50)),
                last_message_at=draw(when),
            )
        )
    return rows


@settings(max_examples=300, deadline=None)
@given(views())
def test_orjson_writes_the_times_as_the_text_path_does(rows: list[ThreadView]) -> None:
    with_times = threads_json_times(rows)
    assert with_times is not None
    assert printed(with_times, times=True) == printed(threads_json(rows), floats=False)


@settings(max_examples=200, deadline=None)
@given(views(first_year=1800))
def test_a_time_before_1973_takes_the_text_path(rows: list[ThreadView]) -> None:
    names = ("waiting_since", "reply_due_at", "last_inbound_at", "last_outbound_at")
    names += ("requested_by", "snoozed_until", "last_message_at")
    stamps = [getattr(row, n) for row in rows for n in names if getattr(row, n) is not None]
    with_times = threads_json_times(rows)
    if any(value.year < 1973 for value in stamps):
        assert with_times is None
    else:
        assert with_times is not None
        assert printed(with_times, times=True) == printed(threads_json(rows), floats=False)


def test_every_zone_has_whole_minute_offsets_since_1973() -> None:
    """The premise, for every zone this machine knows: orjson's text is Python's."""
    start = datetime(1973, 1, 1, tzinfo=UTC)
    for name in ZONES:
        zone = zoneinfo.ZoneInfo(name)
        for step in range(0, 24 * 366 * 70, 24 * 29 + 7):  # about monthly, to 2043
            value = (start + timedelta(hours=step, microseconds=step)).astimezone(zone)
            written = orjson.dumps(value, option=orjson.OPT_OMIT_MICROSECONDS)
            assert written.decode().strip('"') == value.isoformat(timespec="seconds"), name


def test_orjson_would_drop_an_offsets_seconds() -> None:
    """Why the guard: a local mean time (Monrovia, 1900: -0:43:08) loses its seconds."""
    value = datetime(1900, 1, 1, tzinfo=zoneinfo.ZoneInfo("Africa/Monrovia"))
    assert value.isoformat(timespec="seconds").endswith("-00:43:08")
    written = orjson.dumps(value, option=orjson.OPT_OMIT_MICROSECONDS).decode()
    assert not written.strip('"').endswith("-00:43:08")


@pytest.mark.parametrize("rows", [[], [{"a": 1}]])
def test_rows_without_times_print_the_same(rows: list[dict[str, int]]) -> None:
    assert printed(rows, times=True) == printed(rows, floats=False)


@settings(max_examples=50, deadline=None)
@given(views())
def test_a_views_fields_are_its_json_keys_in_order(rows: list[ThreadView]) -> None:
    """What lets orjson write the views themselves: their fields are the contract's keys."""
    for row in rows:
        assert [f.name for f in dataclasses.fields(row)] == list(row.to_json())
        assert row.needs_reply is (row.state is ThreadState.AWAITING_US)


@settings(max_examples=50, deadline=None)
@given(views())
def test_a_text_orjson_refuses_falls_back_to_the_views_own_json(rows: list[ThreadView]) -> None:
    rows = [dataclasses.replace(r, message_count=2**70 + r.id) for r in rows]  # beyond 64 bits
    with_times = threads_json_times(rows)
    assert with_times is not None
    assert printed(with_times, times=True) == printed(threads_json(rows), floats=False)
