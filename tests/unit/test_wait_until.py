"""tests.helpers.wait_until: the one way the tests wait (a condition and a deadline)."""

from __future__ import annotations

import time

import pytest

from tests.helpers import wait_until


def test_returns_the_first_truthy_value_as_soon_as_it_comes():
    calls = iter([None, 0, [], "ready"])
    started = time.monotonic()
    assert wait_until(lambda: next(calls), 5, "ready", interval=0.01) == "ready"
    assert time.monotonic() - started < 1


def test_fails_after_the_deadline_with_the_message_of_the_end():
    seen = []
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"not within 0.2 s: 3 rows, not 4"):
        wait_until(lambda: seen.append(1), 0.2, lambda: f"{len(seen) and 3} rows, not 4")
    assert 0.2 <= time.monotonic() - started < 2
    assert len(seen) >= 2  # it kept asking until the deadline


def test_an_error_in_the_predicate_ends_the_wait_at_once():
    def died():
        raise AssertionError("the process exited")

    started = time.monotonic()
    with pytest.raises(AssertionError, match="the process exited"):
        wait_until(died, 30, "never")
    assert time.monotonic() - started < 1
