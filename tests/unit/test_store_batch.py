"""Storing a batch at once gives the same rows as storing its messages one by one.

``MailStore.save_batch`` threads the batch in memory and writes it with a few statements;
a merge of two stored conversations writes what is pending first. Whatever the batch
size, messages, threads and locations must come out the same, and the checkpoint of a
failed batch must not move.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailwatch.core.parse import parse_message, unparseable
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.mail import FetchedMessage, MailStore
from mailwatch.store.models import Folder, Message, MessageLocation, Thread
from tests.helpers import make_msg

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWN = frozenset({"sales@example.com"})


def _messages() -> list[tuple[str, bytes, tuple[str, ...]]]:
    """(folder role, raw message, flags): replies before parents, merges, duplicates..."""
    out: list[tuple[str, bytes, tuple[str, ...]]] = []

    def add(role: str, flags: tuple[str, ...] = (), **kw: Any) -> None:
        out.append((role, make_msg(**kw), flags))

    for n in range(4):  # four conversations, each: question, our answer, their reply
        q, a, r = f"<q{n}@acme.test>", f"<a{n}@example.com>", f"<r{n}@acme.test>"
        client = f"Client {n} <c{n}@acme.test>"
        # the reply arrives first (stored before its parents), then the rest
        add(
            "inbox",
            ("\\Seen",),
            subject=f"Re: Offer {n}",
            sender=client,
            msgid=r,
            in_reply_to=a,
            references=f"{q} {a}",
            date=T0 + timedelta(hours=n, minutes=30),
        )
        add(
            "inbox",
            ("\\Answered", "\\Seen"),
            subject=f"Offer {n}",
            sender=client,
            msgid=q,
            date=T0 + timedelta(hours=n),
        )
        add(
            "sent",
            (),
            subject=f"Re: Offer {n}",
            sender="Sales <sales@example.com>",
            to=client,
            msgid=a,
            in_reply_to=q,
            date=T0 + timedelta(hours=n, minutes=10),
        )
    # a message that links conversations 0 and 1: they merge
    add(
        "inbox",
        (),
        subject="Both offers",
        sender="Client 0 <c0@acme.test>",
        msgid="<both@acme.test>",
        references="<q0@acme.test> <q1@acme.test>",
        date=T0 + timedelta(hours=5),
    )
    # the same message twice (a copy), and a reused Message-ID on a different message
    add(
        "inbox",
        (),
        subject="Invoice",
        sender="Billing <bill@acme.test>",
        msgid="<dup@acme.test>",
        date=T0 + timedelta(hours=6),
    )
    add(
        "inbox",
        ("\\Seen",),
        subject="Invoice",
        sender="Billing <bill@acme.test>",
        msgid="<dup@acme.test>",
        date=T0 + timedelta(hours=6),
    )
    add(
        "inbox",
        (),
        subject="Something else",
        sender="Other <o@else.test>",
        msgid="<dup@acme.test>",
        date=T0 + timedelta(hours=7),
    )
    # threading by subject and counterpart only, and by Outlook's Thread-Index
    for k in range(3):
        add(
            "inbox",
            (),
            subject="Weekly figures",
            sender="Stats <stats@acme.test>",
            msgid=f"<w{k}@acme.test>",
            date=T0 + timedelta(days=k),
        )
    for k in range(2):
        add(
            "inbox",
            (),
            subject=f"Topic {k}",
            sender="Outlook <ol@corp.test>",
            msgid=f"<ol{k}@corp.test>",
            date=T0 + timedelta(hours=k),
            headers={"Thread-Index": "AdQrJ1zS2mQW7kuS0q5J3cG8X9ZkTw==" + "A" * k},
        )
    # no Message-ID at all
    add(
        "inbox",
        (),
        subject="No id",
        sender="Anon <anon@x.test>",
        msgid="",
        date=T0 + timedelta(hours=9),
    )
    # a later message that merges conversations 2 and 3 and 0
    add(
        "sent",
        (),
        subject="All of it",
        sender="Sales <sales@example.com>",
        to="Client 2 <c2@acme.test>",
        msgid="<all@example.com>",
        references="<a2@example.com> <r3@acme.test> <both@acme.test>",
        date=T0 + timedelta(hours=10),
    )
    return out


def _store(tmp_path: Path, name: str, url: str | None = None) -> MailStore:
    engine = make_engine(url or f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    return MailStore(session_factory(engine), OWN, timedelta(days=30))


def _fetched(raw: bytes, uid: int, flags: tuple[str, ...]) -> FetchedMessage:
    parsed = parse_message(raw)
    return FetchedMessage(
        uid=uid, flags=flags, internal_date=parsed.date, size=len(raw), parsed=parsed
    )


def _sync(store: MailStore, batch_size: int) -> None:
    mailbox = store.ensure_mailbox("main", "sales@example.com")
    folders = {
        role: store.folder(mailbox, name, role)
        for role, name in (("inbox", "INBOX"), ("sent", "Sent Items"))
    }
    items: dict[str, list[FetchedMessage]] = {"inbox": [], "sent": []}
    for role, raw, flags in _messages():
        items[role].append(_fetched(raw, len(items[role]) + 1, flags))
    items["inbox"].append(
        FetchedMessage(
            uid=len(items["inbox"]) + 1,
            flags=(),
            internal_date=None,
            size=None,
            parsed=unparseable("fetch failed: test", ("INBOX", "1", "99")),
        )
    )
    for role in ("inbox", "sent"):
        folder = folders[role]
        todo = items[role]
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            _, folder = store.save_batch(folder, chunk, checkpoint_uid=chunk[-1].uid)


def _rows(store: MailStore) -> dict[str, list[tuple[Any, ...]]]:
    skip = {"created_at", "updated_at"}
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.factory() as session:
        for model in (Message, Thread, MessageLocation, Folder):
            columns = [c for c in model.__table__.columns if c.name not in skip]
            out[model.__tablename__] = [
                tuple(row) for row in session.execute(select(*columns).order_by(columns[0]))
            ]
    return out


def test_batch_size_does_not_change_what_is_stored(tmp_path: Path):
    one_by_one = _store(tmp_path, "one.db")
    _sync(one_by_one, 1)
    expected = _rows(one_by_one)
    assert len(expected["messages"]) == 23  # 24 fetched, one of them a copy
    # threads: the merged 0+1+2+3 conversation, invoice, reused id, weekly, outlook, no id
    threads = {row[0]: row for row in expected["threads"]}
    assert 4 <= len(threads) < 12
    for size in (3, 7, 500):
        store = _store(tmp_path, f"b{size}.db")
        _sync(store, size)
        assert _rows(store) == expected, size


def test_thread_figures_add_up(tmp_path: Path):
    store = _store(tmp_path, "s.db")
    _sync(store, 500)
    with store.factory() as session:
        for thread in session.scalars(select(Thread)):
            messages = list(session.scalars(select(Message).where(Message.thread_id == thread.id)))
            assert thread.message_count == len(messages)
            dates = [m.date for m in messages if m.date]
            assert thread.first_message_at == min(dates)
            assert thread.last_message_at == max(dates)
        orphans = session.scalars(select(Message).where(Message.thread_id.is_(None))).all()
        assert [m.subject for m in orphans] == [""]  # only the unreadable one


def test_failed_batch_keeps_nothing_and_the_checkpoint(tmp_path: Path, monkeypatch):
    store = _store(tmp_path, "f.db")
    mailbox = store.ensure_mailbox("main", "sales@example.com")
    folder = store.folder(mailbox, "INBOX", "inbox")
    good = [_fetched(make_msg(msgid=f"<g{i}@acme.test>"), i + 1, ()) for i in range(3)]
    _, folder = store.save_batch(folder, good, checkpoint_uid=3)
    more = [_fetched(make_msg(msgid=f"<m{i}@acme.test>"), i + 4, ()) for i in range(3)]

    def boom(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(MailStore, "_flush_pending", boom)
    with pytest.raises(RuntimeError):
        store.save_batch(folder, more, checkpoint_uid=6)
    monkeypatch.undo()
    assert store.folder(mailbox, "INBOX", "inbox").last_uid == 3
    assert len(_rows(store)["messages"]) == 3
    # the in-memory index was dropped with the rollback: the retry stores everything
    result, folder = store.save_batch(folder, more, checkpoint_uid=6)
    assert result.stored == 3 and folder.last_uid == 6
    assert store.known_keys(mailbox, ["<m0@acme.test>", "<g0@acme.test>"]) == {
        "<m0@acme.test>",
        "<g0@acme.test>",
    }


def test_same_rows_on_postgres(tmp_path: Path, pg_url: str):
    one_by_one = _store(tmp_path, "one.db")
    _sync(one_by_one, 1)
    store = _store(tmp_path, "", pg_url)
    _sync(store, 500)
    assert _rows(store) == _rows(one_by_one)
