"""Drafts say only true things: our answer time, renegotiations early and late, the dates a
draft names, and phrasings that mean what we mean (issue 12)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.draft_facts import check_draft_facts, dates_named, late_without_apology
from mailwatch.core.drafting import (
    DRAFT_LANGUAGES,
    answer_by,
    build_draft_inputs,
    differs_from_ours,
    format_when,
    offset_of_domain,
)
from mailwatch.drafts.render import render_draft

TZ = "Europe/Chisinau"
ZONE = ZoneInfo(TZ)
CAL = BusinessCalendar(
    tz_name=TZ, work_start=time(9), work_end=time(18), work_days=frozenset(range(5))
)
SIGNATURE = "Elena Rusu\nNordpack SRL\n+373 22 000 000"


def _inputs(kind: str, language: str, now: datetime, **values: object):  # type: ignore[no-untyped-def]
    return build_draft_inputs(
        kind,
        language=language,
        thread_subject="Offer",
        counterpart_email="client@example.com",
        counterpart_name="John Smith",
        sender_name="Elena Rusu",
        signature=SIGNATURE,
        timezone=TZ,
        now=now,
        **values,  # type: ignore[arg-type]
    )


# --- our answer time ----------------------------------------------------------------------------


def test_answer_by_is_the_end_of_the_next_business_day() -> None:
    friday = datetime(2026, 3, 13, 11, 0, tzinfo=ZONE)
    assert answer_by(friday, CAL) == datetime(2026, 3, 16, 18, 0, tzinfo=ZONE)
    assert answer_by(friday, CAL, 2) == datetime(2026, 3, 17, 18, 0, tzinfo=ZONE)


def test_the_clients_delivery_date_is_not_our_answer_date() -> None:
    """The bug of issue 12: the client's (far) date became the date of our answer."""
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    delivery = datetime(2027, 3, 19, 18, 0, tzinfo=ZONE)
    assert answer_by(now, CAL, 1, delivery) == datetime(2026, 3, 11, 18, 0, tzinfo=ZONE)


def test_answer_by_never_after_the_clients_own_deadline() -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    soon = datetime(2026, 3, 10, 16, 0, tzinfo=ZONE)
    assert answer_by(now, CAL, 1, soon) == soon


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    within=st.integers(min_value=0, max_value=5),
    deadline_hours=st.one_of(st.none(), st.integers(min_value=-100, max_value=400)),
)
def test_answer_by_properties(now: datetime, within: int, deadline_hours: int | None) -> None:
    now = now.replace(tzinfo=ZONE)
    deadline = now + timedelta(hours=deadline_hours) if deadline_hours is not None else None
    result = answer_by(now, CAL, within, deadline)
    assert result > now
    if deadline is not None and deadline > now:
        assert result <= deadline


# --- renegotiation: early and late --------------------------------------------------------------

OLD = datetime(2026, 3, 12, 18, 0, tzinfo=ZONE)
NEW = datetime(2026, 3, 17, 18, 0, tzinfo=ZONE)
PROMISED_ON = datetime(2026, 3, 5, 11, 0, tzinfo=ZONE)


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_early_renegotiation(language: str) -> None:
    now = datetime(2026, 3, 11, 10, 0, tzinfo=ZONE)
    inputs = _inputs(
        "renegotiation", language, now, old_date=OLD, new_date=NEW, promised_on=PROMISED_ON
    )
    assert not inputs.late
    draft = render_draft(inputs)
    assert check_draft_facts(inputs, draft.body_text, language) == []


EARLY_WORDS = (
    "in advance",
    "while there is still time",
    "заранее",
    "de pe acum",
    "din timp",
    "con antelación",
    "Se lo comunico ya",
)
APOLOGY = {"en": "apologise", "ru": "Прошу прощения", "ro": "Îmi cer scuze", "es": "disculpas"}


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_late_renegotiation_apologises_and_does_not_claim_to_be_early(language: str) -> None:
    now = datetime(2026, 3, 13, 10, 0, tzinfo=ZONE)
    inputs = _inputs(
        "renegotiation", language, now, old_date=OLD, new_date=NEW, promised_on=PROMISED_ON
    )
    assert inputs.late
    text = render_draft(inputs).body_text
    assert APOLOGY[language] in text
    assert not any(word in text for word in EARLY_WORDS)
    for false_claim in ("agreed", "договорились", "stabilit împreună", "acordado"):
        assert false_claim not in text
    assert check_draft_facts(inputs, text, language) == []
    assert not late_without_apology(inputs, text)


def test_the_check_catches_a_late_renegotiation_that_claims_to_be_early() -> None:
    now = datetime(2026, 3, 13, 10, 0, tzinfo=ZONE)
    inputs = _inputs("renegotiation", "en", now, old_date=OLD, new_date=NEW)
    text = (
        "Dear John,\n\nI am writing in advance: we agreed on 12 March; the new date is 17 March.\n"
    )
    problems = check_draft_facts(inputs, text, "en")
    assert any("in advance" in p for p in problems)
    assert any("without an apology" in p for p in problems)
    assert any("we agreed" in p for p in problems)
    assert late_without_apology(inputs, text)


# --- every date named is a date of the thread ---------------------------------------------------


def test_a_date_that_is_not_in_the_thread_is_false() -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    inputs = _inputs(
        "acknowledgment", "en", now, reply_by=datetime(2026, 3, 11, 18, 0, tzinfo=ZONE)
    )
    assert check_draft_facts(inputs, "You will have it by 11 March.", "en") == []
    problems = check_draft_facts(inputs, "You will have it by 19 March 2027.", "en")
    assert problems and "19 march 2027" in problems[0]


def test_our_answer_after_the_clients_deadline_is_refused() -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    inputs = _inputs(
        "acknowledgment",
        "en",
        now,
        reply_by=datetime(2026, 3, 12, 18, 0, tzinfo=ZONE),
        client_deadline=datetime(2026, 3, 11, 12, 0, tzinfo=ZONE),
    )
    text = render_draft(inputs).body_text
    assert any(
        "after the client's own deadline" in p for p in check_draft_facts(inputs, text, "en")
    )


@pytest.mark.parametrize(
    ("language", "text", "advice"),
    [
        ("es", "le enviaré la respuesta antes del 14 de marzo", "a más tardar"),
        ("ru", "пришлю ответ до 14 марта", "не позднее"),
        ("ro", "vă trimit răspunsul până la 14 martie", "cel târziu"),
    ],
)
def test_ambiguous_deadline_phrasing_is_caught(language: str, text: str, advice: str) -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    inputs = _inputs(
        "acknowledgment", language, now, reply_by=datetime(2026, 3, 14, 18, 0, tzinfo=ZONE)
    )
    problems = check_draft_facts(inputs, text, language)
    assert len(problems) == 1 and advice in problems[0]


@pytest.mark.parametrize("language", DRAFT_LANGUAGES)
def test_acknowledgment_names_our_date_and_the_clients_date_as_theirs(language: str) -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    deadline = datetime(2026, 4, 30, 18, 0, tzinfo=ZONE)  # "by 30 April": a day, no time
    ours = answer_by(now, CAL, 1, deadline)
    inputs = _inputs("acknowledgment", language, now, reply_by=ours, client_deadline=deadline)
    text = render_draft(inputs).body_text
    our_words = format_when(ours, language, TZ, now)
    their_words = format_when(deadline, language, TZ, now, with_time=False)
    assert our_words in text and their_words in text
    assert text.index(our_words) < text.index(their_words)
    assert format_when(deadline, language, TZ, now) not in text  # no time they did not give
    assert check_draft_facts(inputs, text, language) == []
    # a time the client gave is kept
    at_three = datetime(2026, 4, 30, 15, 0, tzinfo=ZONE)
    inputs = _inputs("acknowledgment", language, now, reply_by=ours, client_deadline=at_three)
    assert format_when(at_three, language, TZ, now) in render_draft(inputs).body_text


def test_dates_named_in_four_languages() -> None:
    found = dates_named(
        "14 March, 15 марта, 16 martie 2027, 17 de marzo de 2026, April 2, 03.05.2026"
    )
    assert [(d, m, y) for d, m, y, _ in found] == [
        (14, 3, None),
        (15, 3, None),
        (16, 3, 2027),
        (17, 3, 2026),
        (2, 4, None),
        (3, 5, 2026),
    ]
    assert dates_named("mai 3 zile, în mai multe loturi") == []


# --- the time zone for a client abroad ----------------------------------------------------------


def test_a_client_abroad_sees_the_time_zone() -> None:
    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZONE)
    reply_by = datetime(2026, 3, 11, 18, 0, tzinfo=ZONE)
    madrid = _inputs("acknowledgment", "es", now, reply_by=reply_by, client_offset_minutes=60)
    assert madrid.show_zone
    assert "18:00 (UTC+2)" in render_draft(madrid).body_text
    local = _inputs("acknowledgment", "es", now, reply_by=reply_by, client_offset_minutes=120)
    assert not local.show_zone and "(UTC" not in render_draft(local).body_text


def test_offsets() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=ZONE)
    assert offset_of_domain("ana@firma.ro", summer) == 180
    assert offset_of_domain("juan@olmo.es", summer) == 120
    assert offset_of_domain("john@acme.com", summer) is None
    assert differs_from_ours(120, summer, TZ) and not differs_from_ours(180, summer, TZ)
    assert not differs_from_ours(None, summer, TZ)


def test_date_only_values_stay_dates() -> None:
    assert format_when(date(2026, 3, 14), "ru", TZ, datetime(2026, 3, 1, tzinfo=ZONE)) == "14 марта"
