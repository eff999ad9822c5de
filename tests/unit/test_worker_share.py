"""How many mailboxes each live worker aims to hold: every mailbox covered, none twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.service.workers import fingerprint_conflict, share


@given(
    st.integers(0, 500),
    st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=20, unique=True),
)
def test_shares_cover_every_mailbox_and_differ_by_at_most_one(mailboxes, workers):
    shares = [share(mailboxes, workers, me) for me in workers]
    assert sum(shares) == mailboxes
    assert max(shares) - min(shares) <= 1


def test_twelve_mailboxes_on_three_and_five_workers():
    assert [share(12, ["a", "b", "c"], me) for me in "abc"] == [4, 4, 4]
    assert [share(12, list("abcde"), me) for me in "abcde"] == [3, 3, 2, 2, 2]
    # Before its first heartbeat is seen, a worker counts itself.
    assert share(12, ["a"], "b") == 6


def test_settings_conflict_names_the_first_differing_analysis_key():
    mine = {"TIMEZONE": "1", "REPLY_SLA": "2", "LANGUAGES": "3"}
    assert fingerprint_conflict(mine, dict(mine)) is None
    assert fingerprint_conflict(mine, {**mine, "REPLY_SLA": "x"}) == "REPLY_SLA"
    # A key the other worker does not know (an older version) is not a conflict.
    assert fingerprint_conflict(mine, {"TIMEZONE": "1"}) is None
