"""The batched analysis (one language-model pass per batch, on every core) gives exactly what the
one-message-at-a-time path gives: on the evaluation set, the demo mail and generated texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.analysis import (
    AnalysisInput,
    AnalysisSettings,
    analyze_message,
    analyze_messages,
)
from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.language import PARALLEL_FROM, detect_language, detect_languages
from mailwatch.core.message import Direction
from mailwatch.core.parse import parse_message

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "eval").rglob("*.eml")) + sorted(
    (ROOT / "mailwatch" / "demo" / "data").glob("*.eml")
)
SETTINGS = AnalysisSettings(
    own_addresses=frozenset({"sales@example.com"}),
    internal_domains=frozenset({"example.com"}),
    calendar=BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD"),
    languages=("en", "ru", "ro", "es"),
)


def _inputs() -> list[AnalysisInput]:
    """Every sample as it came (inbound) and as if we had written it (outbound), text read
    and headers only, at its own date and at a fixed one."""
    items = []
    for path in SAMPLES:
        msg = parse_message(path.read_bytes())
        when = msg.date or datetime(2026, 11, 23, 10, tzinfo=UTC)
        for direction in (Direction.INBOUND, Direction.OUTBOUND):
            for at in (when, None):
                items.append(AnalysisInput(msg, direction, at, True))
            items.append(AnalysisInput(msg, direction, when, False))
    return items


def test_the_sample_is_big_and_varied():
    assert len(SAMPLES) >= 200
    languages = {detect_language(parse_message(p.read_bytes()).new_text) for p in SAMPLES}
    assert {"en", "ru", "ro", "es"} <= languages


def test_batch_equals_one_at_a_time_on_the_evaluation_set_and_demo_mail():
    items = _inputs()
    one_by_one = [analyze_message(i.msg, i.direction, i.at, SETTINGS, i.read_text) for i in items]
    assert analyze_messages(items, SETTINGS) == one_by_one
    # The analysers really ran: languages, deadlines, signs and promises are in the results.
    assert sum(r.language is not None for r in one_by_one) > 100
    assert any(r.requested_by for r in one_by_one)
    assert any(r.signs for r in one_by_one)
    assert any(r.promises for r in one_by_one)


def test_batch_sizes_around_the_parallel_threshold_agree():
    texts = [parse_message(p.read_bytes()).new_text for p in SAMPLES]
    alone = [detect_language(t) for t in texts]
    for size in (1, PARALLEL_FROM - 1, PARALLEL_FROM, 50, len(texts)):
        got: list[str | None] = []
        for start in range(0, len(texts), size):
            got += detect_languages(texts[start : start + size])
        assert got == alone, size
    assert detect_languages([]) == []
    assert detect_languages(texts[:3], ()) == [None, None, None]


WORDS = [
    "Could you send the offer by Friday?",
    "Мы отправим договор завтра.",
    "Vă rog să trimiteți oferta până pe 20 martie.",
    "¿Podrían enviarnos el presupuesto antes del lunes?",
    "Why is it so expensive?",
    "ok",
    "Thanks,\nJohn",
    "Цена слишком высокая, нужна скидка",
    "Mulțumesc!",
    "https://example.com/a",
    "We will send it next week.",
    "urgent!!! asap",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)
        | st.text(max_size=80),
        min_size=0,
        max_size=3 * PARALLEL_FROM,
    ),
    st.integers(min_value=0, max_value=30),
)
def test_batch_equals_one_at_a_time_on_generated_texts(texts: list[str], days: int) -> None:
    at = datetime(2026, 11, 23, 10, tzinfo=UTC) - timedelta(days=days)
    assert detect_languages(texts) == [detect_language(t) for t in texts]
    items = []
    for n, text in enumerate(texts):
        raw = (
            f"From: Client {n} <c{n}@client.test>\r\nTo: sales@example.com\r\n"
            f"Subject: q{n}\r\nMessage-ID: <g{n}@client.test>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
        ).encode()
        msg = parse_message(raw)
        items.append(AnalysisInput(msg, (Direction.INBOUND, Direction.OUTBOUND)[n % 2], at))
    one_by_one = [analyze_message(i.msg, i.direction, i.at, SETTINGS) for i in items]
    assert analyze_messages(items, SETTINGS) == one_by_one
