"""The scheduler's slots: every worker must compute the same ones, or a claim per (job, slot)
would not make a run happen once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.service.schedule import Daily, Every

TZ = ZoneInfo("Europe/Chisinau")
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


def test_interval_slots_are_aligned_to_the_epoch_not_to_a_process_start():
    every = Every("outbox", timedelta(seconds=30))
    now = datetime(2026, 11, 23, 9, 0, 47, 123456, tzinfo=UTC)
    assert every.latest(now) == datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
    assert every.after(now) == datetime(2026, 11, 23, 9, 1, 0, tzinfo=UTC)
    # a slot boundary itself is the latest slot, and the next one is a period later
    edge = datetime(2026, 11, 23, 9, 1, tzinfo=UTC)
    assert every.latest(edge) == edge
    assert every.after(edge) == edge + timedelta(seconds=30)


@given(moments, st.sampled_from([30, 60, 300, 1800, 1800.5]))
def test_interval_slots_bracket_now(now, seconds):
    every = Every("job", timedelta(seconds=seconds))
    latest, upcoming = every.latest(now), every.after(now)
    assert latest is not None
    assert latest <= now < upcoming
    assert upcoming - latest == timedelta(seconds=seconds)
    assert every.latest(latest + timedelta(microseconds=1)) == latest  # the same key


def test_daily_slots_keep_the_local_hour_across_summer_time():
    digest = Daily("daily-digest", time(8, 30), frozenset(range(5)), TZ)
    previous, times = datetime(2026, 10, 22, 12, 0, tzinfo=TZ), []
    for _ in range(4):
        previous = digest.after(previous)
        times.append(previous.astimezone(TZ).strftime("%a %d %H:%M %z"))
    assert times == [
        "Fri 23 08:30 +0300",
        "Mon 26 08:30 +0200",
        "Tue 27 08:30 +0200",
        "Wed 28 08:30 +0200",
    ]


def test_a_daily_slot_missed_by_less_than_the_grace_is_still_due_once():
    digest = Daily("daily-digest", time(8, 30), frozenset(range(5)), TZ, timedelta(hours=1))
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=TZ)
    assert digest.latest(monday - timedelta(minutes=1)) is None  # Friday's is long past
    assert digest.latest(monday) == monday.astimezone(UTC)
    assert digest.latest(monday + timedelta(minutes=59)) == monday.astimezone(UTC)
    assert digest.latest(monday + timedelta(minutes=61)) is None
    # Saturday and Sunday are not work days: Monday follows Friday
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    assert digest.after(friday) == monday.astimezone(UTC)


def test_no_work_day_never_runs_and_never_spins():
    digest = Daily("daily-digest", time(8, 30), frozenset(), TZ)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert digest.latest(now) is None
    assert digest.after(now) == now + timedelta(days=7)
