"""The requested-deadline pre-screen only skips texts in which no sentence can ask anything:
results are identical to the full sentence-by-sentence search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.business_time import BusinessCalendar
from mailwatch.core.parse import parse_message
from mailwatch.core.prescreen import ScreenSet
from mailwatch.core.promises import detect_requested_deadline
from mailwatch.core.promises import engine as promises

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "tests" / "data" / "eval").rglob("*.eml")) + sorted(
    (ROOT / "mailwatch" / "demo" / "data").glob("*.eml")
)
CAL = BusinessCalendar(tz_name="Europe/Chisinau", holidays_country="MD")
AT = datetime(2026, 11, 23, 10, tzinfo=UTC)


def reference(text: str, at: datetime, language: str | None) -> datetime | None:
    """The search without the pre-screens: every sentence searched for request words in
    every language, every date and commitment rule tried."""
    saved = promises._may_ask, promises._request_spans, ScreenSet.passing
    promises._may_ask = lambda *_args: True
    promises._request_spans = lambda *_args: {k: ((0, 1 << 30),) for k in promises._REQUEST}
    ScreenSet.passing = lambda self, _probe: list(range(self._size))  # type: ignore[method-assign]
    try:
        return detect_requested_deadline(text, at, CAL, language)
    finally:
        promises._may_ask, promises._request_spans, ScreenSet.passing = saved  # type: ignore[method-assign]


def test_request_patterns_have_no_anchors_or_lookarounds():
    for rx in promises._REQUEST.values():
        source = rx.pattern.replace("[^", "[")
        for token in ("$", "^", "(?=", "(?!", "(?<", " "):
            assert token not in source, (token, rx.pattern[:60])


def test_same_deadlines_on_the_evaluation_set_and_demo_mail():
    found = skipped = 0
    for path in SAMPLES:
        text = parse_message(path.read_bytes()).new_text
        for language in (None, "en", "ru", "ro", "es"):
            want = reference(text, AT, language)
            assert detect_requested_deadline(text, AT, CAL, language) == want, path
            found += want is not None
        skipped += not promises._may_ask(text)
    assert found > 10 and skipped > 10  # both paths are exercised


PHRASES = [
    "Could you send the offer by Friday?",
    "Please send it before March 20.",
    "We need it by tomorrow.",
    "Thanks for the call on Monday.",
    "See you on 12.03.",
    "Пришлите, пожалуйста, до пятницы.",
    "Vă rog să trimiteți oferta până pe 20 martie.",
    "¿Podrían enviarlo antes del lunes",
    "> could you send it by Friday?",
    "could\tyou",
    "send it by Friday",
    "Hello",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PHRASES) | st.text(max_size=15), max_size=8),
    st.sampled_from(["\n", " ", "\n\n", "\r\n", ". "]),
    st.sampled_from([None, "en", "ru", "ro", "es"]),
    st.integers(min_value=0, max_value=60),
)
def test_same_deadlines_on_generated_text(
    parts: list[str], sep: str, language: str | None, days: int
) -> None:
    text = sep.join(parts)
    at = AT + timedelta(days=days)
    assert detect_requested_deadline(text, at, CAL, language) == reference(text, at, language)
