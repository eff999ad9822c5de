"""Issue #16, attacks 5 and 6, against a real Dovecot: clocks that lie, and a reused Message-ID.

- A client whose Date is 20 minutes ahead, or says 2099, cannot keep an answered conversation
  "awaiting us": the message's time is min(Date, INTERNALDATE).
- Even when the server's own INTERNALDATE is ahead too (an imported message), our reply that
  names the client's message in In-Reply-To answers it, whatever the clocks say.
- A different message that reuses a known Message-ID is stored with its own text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailwatch.views.context import View
from mailwatch.views.threads import list_threads
from tests.helpers import Harness, make_msg, make_settings, sqlite_url

pytestmark = pytest.mark.dovecot


def _states(harness: Harness) -> dict[str, str]:
    """State by subject ("Re:" left out), as of half an hour from now: after the skewed
    client's own time, so its message counts even if the tracker believed its clock."""
    later = datetime.now(UTC) + timedelta(minutes=30)
    with harness.factory() as session:
        rows = list_threads(session, later, "all", View.of(harness.settings))
    return {row.subject.removeprefix("Re: "): row.state for row in rows}


@pytest.fixture
def harness(imap_user, tmp_path):
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        yield h
    finally:
        h.close()


def _reply(user: str, to: str, parent: str, date: datetime) -> bytes:
    return make_msg(
        subject="Re: Prices",
        sender=f"Ion Rusu <{user}>",
        to=to,
        in_reply_to=parent,
        references=parent,
        date=date,
        body="Dear John, the prices follow tomorrow.\n",
    )


@pytest.mark.parametrize(
    "ahead", [timedelta(minutes=20), datetime(2099, 1, 1, tzinfo=UTC) - datetime.now(UTC)]
)
def test_a_client_clock_ahead_does_not_keep_an_answered_thread_waiting(harness, imap_user, ahead):
    server, user = imap_user.server, imap_user.username
    now = datetime.now(UTC)
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices",
            sender="John Carter <john@client.test>",
            msgid="<skew@client.test>",
            date=now + ahead,
        ),
    )
    server.append(user, "Sent Items", _reply(user, "john@client.test", "<skew@client.test>", now))
    harness.sync()
    stored = harness.by_msgid("<skew@client.test>")
    assert stored.header_date is not None and stored.header_date > now + timedelta(minutes=19)
    assert stored.date is not None and stored.internal_date is not None
    assert stored.date == stored.internal_date  # min(Date, INTERNALDATE)
    assert stored.date <= datetime.now(UTC)
    assert _states(harness)["Prices"] == "awaiting_them"


def test_our_reply_naming_the_message_answers_it_even_when_the_server_clock_is_ahead(
    harness, imap_user
):
    server, user = imap_user.server, imap_user.username
    now = datetime.now(UTC)
    future = now + timedelta(minutes=20)
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices",
            sender="John Carter <john@client.test>",
            msgid="<imported@client.test>",
            date=future,
        ),
        internal_date=future,  # imported: the server's own date is ahead too
    )
    server.append(
        user, "Sent Items", _reply(user, "john@client.test", "<imported@client.test>", now)
    )
    harness.sync()
    assert _states(harness)["Prices"] == "awaiting_them"


def test_a_reused_message_id_on_a_different_message_gets_its_text(harness, imap_user):
    server, user = imap_user.server, imap_user.username
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Prices",
            sender="John Carter <john@client.test>",
            msgid="<same@client.test>",
            body="First message: the prices please.\n",
        ),
    )
    harness.sync()
    server.append(
        user,
        "INBOX",
        make_msg(
            subject="Something else entirely",
            sender="Mallory <mallory@other.test>",
            msgid="<same@client.test>",
            body="Second message, REUSED-ID-TEXT, a different sender.\n",
        ),
    )
    harness.sync()
    rows = [m for m in harness.messages() if m.message_id == "<same@client.test>"]
    assert len(rows) == 2
    texts = {m.subject: m.text_prefix for m in rows}
    assert "First message" in texts["Prices"]
    assert "REUSED-ID-TEXT" in texts["Something else entirely"]
