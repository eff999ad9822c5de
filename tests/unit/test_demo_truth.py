"""The demo's sample texts and dates agree whatever day it runs (issue 12): the client's own date
is still ahead, our acknowledgment's date comes before it, and the draft passes the date check."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.draft_facts import check_draft_facts
from mailwatch.core.drafting import answer_by, build_draft_inputs
from mailwatch.core.parse import parse_message
from mailwatch.core.promises import detect_requested_deadline
from mailwatch.demo import SAMPLES, sample_bytes, sample_date, with_date
from mailwatch.drafts.render import render_draft
from mailwatch.drafts.service import gender_of_first_name

TZ = ZoneInfo("Europe/Chisinau")
CAL = BusinessCalendar(tz_name="Europe/Chisinau", work_start=time(9), work_end=time(18))
# every day of the week, at the start, middle and end of the working day, over a year
DAYS = [
    datetime(2026, 1, 5, 8, 0, tzinfo=UTC) + timedelta(days=d, hours=h)
    for d in range(0, 365, 5)
    for h in (0, 5, 10)
]


@pytest.mark.parametrize("now", DAYS[::7] + DAYS[1::23])
def test_the_spanish_clients_date_stays_ahead_and_our_answer_comes_first(now: datetime) -> None:
    sample = next(s for s in SAMPLES if s.file.startswith("05-es"))
    when = sample_date(sample, now, TZ)
    parsed = parse_message(with_date(sample_bytes(sample.file), when))
    assert parsed.date is not None and parsed.date <= now
    theirs = detect_requested_deadline(parsed.new_text, parsed.date, CAL, "es")
    assert theirs is not None and theirs > now  # never a date already past
    assert theirs - now < timedelta(days=21)  # nor one a year away
    ours = answer_by(now, CAL, 1, theirs)
    assert now < ours <= theirs
    inputs = build_draft_inputs(
        "acknowledgment",
        language="es",
        thread_subject=parsed.subject,
        counterpart_email=parsed.from_addr.email if parsed.from_addr else "",
        counterpart_name=parsed.from_addr.name if parsed.from_addr else None,
        counterpart_signature_text=parsed.new_text,
        sender_name="Elena Rusu",
        signature="Elena Rusu\n+373 22 000 000",
        timezone="Europe/Chisinau",
        original_date=parsed.date,
        reply_by=ours,
        client_deadline=theirs,
        now=now,
        gender_lookup=gender_of_first_name,
        client_offset_minutes=int(parsed.date.utcoffset().total_seconds() // 60),  # type: ignore[union-attr]
    )
    draft = render_draft(inputs)
    assert check_draft_facts(inputs, draft.body_text, "es") == []
    assert draft.body_text.startswith("Estimada Sra. López:\n")


def test_no_sample_names_a_fixed_calendar_date() -> None:
    from mailwatch.core.draft_facts import dates_named

    for sample in SAMPLES:
        text = parse_message(sample_bytes(sample.file)).new_text
        assert dates_named(text) == [], sample.file
