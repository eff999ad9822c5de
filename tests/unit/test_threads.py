"""Threading: every reply link between two stored messages ends in one thread."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwatch.core.message import Address, Direction, ParsedMessage
from mailwatch.core.threads import (
    NEW_THREAD,
    ThreadIndex,
    counterpart_of,
    message_direction,
    normalize_subject,
    thread_index_root,
)

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
CLIENT = Address("Client", "client@acme.test")


def msg(
    mid: str, parents: tuple[str, ...] = (), subject: str = "Offer", tindex: str | None = None
) -> ParsedMessage:
    return ParsedMessage(
        message_id=mid,
        in_reply_to=parents[-1] if parents else None,
        references=parents,
        subject=subject,
        from_addr=CLIENT,
        thread_index=tindex,
    )


class Store:
    """What the SQL store does with a ThreadIndex, in memory."""

    def __init__(self) -> None:
        self.index = ThreadIndex()
        self.thread: dict[str, int] = {}
        self.next_id = 0

    def add(self, m: ParsedMessage, when: datetime = T0, who: Address = CLIENT) -> int:
        choice = self.index.choose(m, who, when)
        if choice.thread_id == NEW_THREAD:
            self.next_id += 1
            tid = self.next_id
            self.index.new_thread(tid)
        else:
            tid = choice.thread_id
            if choice.merge:
                for key, value in self.thread.items():
                    if value in choice.merge:
                        self.thread[key] = tid
                self.index.merge(tid, choice.merge)
        self.index.register(m, tid, who, when)
        self.thread[m.message_id] = tid
        return tid


def test_normalize_subject_prefixes_in_many_languages():
    for subject in (
        "Re: Offer",
        "RE: Fwd: offer",
        "AW: Offer",
        "SV: Offer",
        "RV: Offer",
        "Ответ: Offer",
        "Отв: Offer",
        "Răspuns: Offer",
        "Re[2]: Offer",
        "[EXTERNAL] Re: Offer",
        "Fw:  Offer ",
    ):
        assert normalize_subject(subject) == "offer", subject


def test_reply_before_parent_still_joins():
    s = Store()
    child = s.add(msg("<b>", ("<a>",)))
    parent = s.add(msg("<a>"))
    assert child == parent


def test_a_message_linking_two_threads_merges_them():
    s = Store()
    s.add(msg("<a>"))
    s.add(msg("<x>", subject="Other"))
    s.add(msg("<c>", ("<a>", "<x>")))
    assert s.thread["<a>"] == s.thread["<x>"] == s.thread["<c>"]


def test_outlook_thread_index_without_references():
    root = base64.b64encode(bytes(range(22))).decode()
    reply = base64.b64encode(bytes(range(22)) + b"\x01\x02\x03\x04\x05").decode()
    assert thread_index_root(reply) == root
    s = Store()
    first = s.add(msg("<o1>", tindex=root, subject="Contract"))
    second = s.add(msg("<o2>", tindex=reply, subject="Something else"))
    assert first == second


def test_subject_fallback_needs_same_counterpart_and_window():
    s = Store()
    first = s.add(msg("<s1>", subject="Delivery of chairs"))
    assert s.add(msg("<s2>", subject="RE: Delivery of chairs"), T0 + timedelta(days=2)) == first
    other = Address("Other", "other@x.test")
    assert s.add(msg("<s3>", subject="Re: Delivery of chairs"), T0, other) != first
    assert s.add(msg("<s4>", subject="Re: Delivery of chairs"), T0 + timedelta(days=90)) != first


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.lists(st.integers(0, 30), max_size=3)),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_every_reply_link_ends_in_one_thread(edges, rnd):
    messages = {}
    for node, parents in edges:
        messages.setdefault(f"<{node}>", tuple(f"<{p}>" for p in parents if p != node))
    order = list(messages)
    rnd.shuffle(order)
    s = Store()
    for mid in order:
        s.add(msg(mid, messages[mid], subject=f"subject {mid}"))
    for mid, parents in messages.items():
        for parent in parents:
            if parent in s.thread:
                assert s.index.find(s.thread[mid]) == s.index.find(s.thread[parent])
                assert s.thread[mid] == s.thread[parent]


def test_direction_and_counterpart():
    own = frozenset({"sales@example.com"})
    ours = ParsedMessage(
        "<1>",
        None,
        (),
        "Re: x",
        Address("Sales", "sales@example.com"),
        to=(Address("", "sales@example.com"), Address("Ana", "ana@client.test")),
    )
    assert message_direction(ours, "inbox", own) is Direction.OUTBOUND
    assert counterpart_of(ours, Direction.OUTBOUND, own) == Address("Ana", "ana@client.test")
    theirs = msg("<2>")
    assert message_direction(theirs, "inbox", own) is Direction.INBOUND
    assert message_direction(theirs, "sent", own) is Direction.OUTBOUND
    assert counterpart_of(theirs, Direction.INBOUND, own) == CLIENT
