"""The IMAP sync against a real Dovecot: backfill, new mail, flags, UIDVALIDITY, IDLE,
broken links and broken mail. Both profiles: full Dovecot and an Office 365-like one."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import Header

import pytest
from sqlalchemy import select

from mailwatch.errors import MailAccessError
from mailwatch.store.models import Folder, Message, Thread
from mailwatch.sync.watch import MailboxWatcher
from mailwatch.views.threads import list_threads
from tests.helpers import Harness, make_msg, make_settings, sqlite_url, wait_until
from tests.mailsample import corpus_files


@pytest.fixture(params=["full", "o365"])
def account(request: pytest.FixtureRequest):
    """A fresh mailbox on either server profile."""
    return request.getfixturevalue("imap_user" if request.param == "full" else "imap_user_o365")


@pytest.fixture
def harness(account, tmp_path):
    h = Harness(make_settings(account, sqlite_url(tmp_path)))
    yield h
    h.close()


def _conversation(account) -> dict[str, str]:
    """A client question in INBOX and our reply in Sent Items; returns the Message-IDs."""
    server, user = account.server, account.username
    server.append(user, "INBOX", make_msg(msgid="<q1@acme.test>", subject="Offer for 200 chairs"))
    server.append(
        user,
        "Sent Items",
        make_msg(
            msgid="<a1@example.com>",
            sender=f"Sales <{user}>",
            to="Client <client@acme.test>",
            subject="Re: Offer for 200 chairs",
            in_reply_to="<q1@acme.test>",
            references="<q1@acme.test>",
            body="Thank you, I will send the offer by Friday.\n",
        ),
    )
    return {"question": "<q1@acme.test>", "answer": "<a1@example.com>"}


def test_backfill_then_incremental_then_quiet_poll(account, harness):
    ids = _conversation(account)
    report = harness.sync()
    assert report.new == 2
    assert {f.role for f in report.folders} == {
        "inbox",
        "sent",
    }  # Sent Items found on both profiles
    question, answer = harness.by_msgid(ids["question"]), harness.by_msgid(ids["answer"])
    assert question.direction == "inbound" and answer.direction == "outbound"
    assert question.thread_id == answer.thread_id is not None
    assert harness.count(Thread) == 1

    account.server.append(
        account.username, "INBOX", make_msg(msgid="<q2@acme.test>", subject="Another thing")
    )
    report = harness.sync()
    assert report.new == 1
    assert harness.count(Message) == 3

    quiet = (
        harness.sync()
    )  # connection stays open: an unchanged mailbox costs one EXAMINE per folder
    assert quiet.new == 0
    assert quiet.commands == 2


def test_reading_never_marks_mail_seen(account, harness):
    uid = account.server.append(account.username, "INBOX", make_msg())
    harness.sync()
    with account.client() as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags([uid])[uid]
    assert b"\\Seen" not in flags


def test_backfill_days_limits_history(imap_user, tmp_path):
    old = datetime.now(UTC) - timedelta(days=100)
    imap_user.server.append(
        imap_user.username, "INBOX", make_msg(msgid="<old@acme.test>", date=old), internal_date=old
    )
    imap_user.server.append(imap_user.username, "INBOX", make_msg(msgid="<new@acme.test>"))
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path), backfill_days="30"))
    try:
        h.sync()
        assert [m.message_id for m in h.messages()] == ["<new@acme.test>"]
    finally:
        h.close()


def test_answered_flag_from_another_client_moves_the_thread(account, tmp_path):
    clock = [datetime.now(UTC)]
    h = Harness(
        make_settings(account, sqlite_url(tmp_path), flag_scan_interval="1m"), now=lambda: clock[0]
    )
    try:
        uid = account.server.append(account.username, "INBOX", make_msg(msgid="<ask@acme.test>"))
        h.sync()
        with h.factory() as session:
            assert [r.state for r in list_threads(session, clock[0])] == ["awaiting_us"]
        # Answered from a phone: no copy in Sent, only the \Answered flag on the server.
        account.server.set_flags(account.username, "INBOX", uid, [b"\\Answered", b"\\Seen"])
        clock[0] += timedelta(minutes=2)  # the periodic flag scan is due (used without CONDSTORE)
        report = h.sync()
        assert report.flags_changed == 1
        assert h.by_msgid("<ask@acme.test>").answered
        with h.factory() as session:
            assert [r.state for r in list_threads(session, clock[0])] == ["awaiting_them"]
    finally:
        h.close()


def test_uidvalidity_change_rematches_without_duplicates(account, harness):
    _conversation(account)
    account.server.append(
        account.username, "INBOX", make_msg(msgid="<q3@acme.test>", subject="Delivery")
    )
    harness.sync()
    before = {m.message_key: m.id for m in harness.messages()}
    recreated = account.server.recreate_folder_with_new_uidvalidity(account.username, "INBOX")
    report = harness.sync()
    inbox = next(f for f in report.folders if f.role == "inbox")
    assert inbox.uidvalidity_reset and inbox.new == 0 and inbox.relocated == 2
    after = {m.message_key: m.id for m in harness.messages()}
    assert after == before  # same rows, nothing duplicated
    with harness.factory() as session:
        folder = session.scalars(select(Folder).where(Folder.role == "inbox")).one()
        assert folder.uidvalidity == recreated.new_uidvalidity
    uids = sorted(loc.uid for loc in harness.locations() if loc.folder_id == folder.id)
    assert uids == sorted(recreated.uid_map.values())


def test_idle_wakes_the_watcher_on_new_mail(imap_user, tmp_path):
    h = Harness(
        make_settings(imap_user, sqlite_url(tmp_path), poll_interval="10m", idle_renew="10m")
    )
    stop = threading.Event()
    watcher = MailboxWatcher(h.syncer, h.settings, stop)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: watcher.passes >= 1, 10, "the watcher's first pass")
        assert h.syncer.conn.has_idle
        wait_until(lambda: h.syncer.conn.idling, 10, "the watcher in IDLE")
        started = time.monotonic()
        imap_user.server.append(imap_user.username, "INBOX", make_msg(msgid="<idle@acme.test>"))
        wait_until(lambda: h.count(Message) == 1, 10, "the new message stored")
        assert time.monotonic() - started < 5  # woken by IDLE, not by the 10-minute poll
    finally:
        stop.set()
        thread.join(15)
        h.close()
    assert not thread.is_alive()


def test_connection_cut_mid_fetch_then_resume(imap_user, tmp_path, proxy_factory):
    for n in range(60):
        imap_user.server.append(
            imap_user.username, "INBOX", make_msg(msgid=f"<cut{n}@acme.test>", body="x" * 3000)
        )
    proxy = proxy_factory(imap_user.host, imap_user.port)
    host, port = proxy.address

    class ViaProxy:
        pass

    via = ViaProxy()
    via.host, via.port, via.username, via.password = (
        host,
        port,
        imap_user.username,
        imap_user.password,
    )
    h = Harness(make_settings(via, sqlite_url(tmp_path), fetch_batch="10"))
    try:
        h.syncer.ensure_connected()
        proxy.cut_after_server_bytes(40_000)  # dies in the middle of the FETCH responses
        with pytest.raises(MailAccessError):
            h.sync()
        partial = h.count(Message)
        assert 0 < partial < 60
        proxy.restore()
        h.sync()  # reconnects and resumes after the last committed UID
        messages = h.messages()
        assert len(messages) == 60
        assert len({m.message_key for m in messages}) == 60
    finally:
        h.close()


def test_dead_link_times_out_instead_of_hanging(imap_user, tmp_path, proxy_factory):
    imap_user.server.append(imap_user.username, "INBOX", make_msg())
    proxy = proxy_factory(imap_user.host, imap_user.port)

    class ViaProxy:
        pass

    via = ViaProxy()
    via.host, via.port = proxy.address
    via.username, via.password = imap_user.username, imap_user.password
    h = Harness(make_settings(via, sqlite_url(tmp_path), imap_timeout="5"))
    try:
        h.syncer.ensure_connected()
        proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(MailAccessError):
            h.sync()
        assert time.monotonic() - started < 15
    finally:
        proxy.restore()
        h.close()


def test_odd_headers_are_decoded(imap_user, tmp_path):
    server, user = imap_user.server, imap_user.username
    ru_subject = Header("Счёт на оплату № 17", "utf-8").encode()
    name = Header("Гладков Виктор Семенович", "utf-8").encode()
    server.append(
        user,
        "INBOX",
        make_msg(msgid="<e1@x.test>", subject=ru_subject, sender=f"{name} <vg@x.test>"),
    )
    # Raw 8-bit UTF-8 in headers (common from broken clients)
    server.append(
        user,
        "INBOX",
        make_msg(msgid="<e2@x.test>", subject="Oferta până vineri", sender="Ion Rusu <ion@x.test>"),
    )
    # Raw 8-bit cp1251 and an encoded word with an unknown charset
    raw = make_msg(msgid="<e3@x.test>", subject="PLACEHOLDER").replace(
        b"PLACEHOLDER", "Привет".encode("cp1251") + b" =?x-unknown?Q?abc?="
    )
    server.append(user, "INBOX", raw)
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        h.sync()
        assert h.by_msgid("<e1@x.test>").subject == "Счёт на оплату № 17"
        assert h.by_msgid("<e1@x.test>").from_name == "Гладков Виктор Семенович"
        assert h.by_msgid("<e2@x.test>").subject == "Oferta până vineri"
        odd = h.by_msgid("<e3@x.test>")
        assert odd.subject.startswith("Привет")  # cp1251 recovered, unknown charset kept readable
    finally:
        h.close()


def test_missing_and_duplicated_message_ids(imap_user, tmp_path):
    server, user = imap_user.server, imap_user.username
    no_id = make_msg(msgid="", subject="No id here", date=datetime(2026, 3, 2, 10, tzinfo=UTC))
    server.append(user, "INBOX", no_id)
    server.append(user, "Sent Items", no_id)  # the same message in two folders: one row
    server.append(
        user, "INBOX", make_msg(msgid="<same@x.test>", subject="First", sender="A <a@x.test>")
    )
    server.append(
        user, "INBOX", make_msg(msgid="<same@x.test>", subject="Second", sender="B <b@x.test>")
    )
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        h.sync()
        messages = h.messages()
        assert len(messages) == 3
        synthetic = [m for m in messages if m.message_id_synthetic]
        assert len(synthetic) == 1 and synthetic[0].subject == "No id here"
        assert len([loc for loc in h.locations() if loc.message_id == synthetic[0].id]) == 2
        reused = sorted(m.subject for m in messages if m.message_id == "<same@x.test>")
        assert reused == ["First", "Second"]  # a reused id does not swallow a different message
        assert len({m.message_key for m in messages}) == 3
    finally:
        h.close()


def test_thirty_megabyte_message(imap_user, tmp_path):
    import base64

    attachment = base64.encodebytes(b"\0" * (22 * 1024 * 1024))  # ~30 MB once encoded
    raw = (
        b"From: Big Client <big@acme.test>\r\nTo: sales@example.com\r\nSubject: Drawings\r\n"
        b"Message-ID: <big@acme.test>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease see the drawings attached.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="d.bin"\r\n\r\n'
        + attachment.replace(b"\n", b"\r\n")
        + b"\r\n--b1--\r\n"
    )
    assert len(raw) > 29 * 1024 * 1024
    imap_user.server.append(imap_user.username, "INBOX", raw)
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        report = h.sync()
        big = h.by_msgid("<big@acme.test>")
        assert big.size == len(raw)
        assert big.text_prefix.strip() == "Please see the drawings attached."
        assert report.commands < 15  # headers + one small text section, never the 30 MB
    finally:
        h.close()


def test_real_mail_sample_synced_nothing_lost(imap_user, tmp_path):
    files = corpus_files()  # tests/data/mail: 65 real messages, 14 reply pairs
    assert len(files) > 60
    imap_user.server.bulk_load_maildir(imap_user.username, "INBOX", files)
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    try:
        report = h.sync()
        locations = h.locations()
        assert len(locations) == len(files)  # every message has its place: none lost
        assert len({loc.uid for loc in locations}) == len(files)
        messages = h.messages()
        keys = Counter(m.message_key for m in messages)
        assert max(keys.values()) == 1
        assert report.new == len(messages)
        by_id = {m.message_id: m for m in messages}
        links = 0
        for m in messages:
            parent = by_id.get(m.in_reply_to or "")
            if parent is not None and m.thread_id is not None and parent.thread_id is not None:
                links += 1
                assert m.thread_id == parent.thread_id, (m.message_id, parent.message_id)
        assert links >= 14  # every reply pair of the sample is one thread
        # a second pass finds nothing new and duplicates nothing
        assert h.sync().new == 0
        assert len(h.messages()) == len(messages)
    finally:
        h.close()


def test_store_on_postgres(imap_user, pg_url):
    ids = _conversation(imap_user)
    h = Harness(make_settings(imap_user, pg_url))
    try:
        assert h.sync().new == 2
        assert h.by_msgid(ids["question"]).thread_id == h.by_msgid(ids["answer"]).thread_id
        recreated = imap_user.server.recreate_folder_with_new_uidvalidity(
            imap_user.username, "INBOX"
        )
        assert recreated.new_uidvalidity != recreated.old_uidvalidity
        assert h.sync().new == 0
        assert h.count(Message) == 2
        with h.factory() as session:
            rows = [t.to_json() for t in list_threads(session, datetime.now(UTC))]
        assert rows[0]["message_ids"] == [ids["question"], ids["answer"]]
        assert rows[0]["last_inbound_at"].endswith("+00:00")
    finally:
        h.close()


def _mime(kind: str, n: int) -> bytes:
    """Messages whose first text part sits in different places of their MIME tree."""
    head = (
        f"From: Client <c{n}@acme.test>\r\nTo: sales@example.com\r\nSubject: {kind} {n}\r\n"
        f"Message-ID: <{kind}{n}@acme.test>\r\nDate: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
    )
    text = f"Hello, {kind} number {n}: could you quote 40 chairs by Friday?\r\n"
    html = f"<p>Hello, <b>{kind}</b> number {n}: could you quote 40 chairs?</p>\r\n"
    if kind == "plain":
        body = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}"
    elif kind == "qp":
        body = (
            "Content-Type: text/plain; charset=iso-8859-1\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\nPre=E7o por favor =3D 40\r\n"
        )
    elif kind == "mixed":  # part 1 is the text
        body = (
            'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}--b1\r\n"
            "Content-Type: application/pdf\r\nContent-Disposition: attachment\r\n\r\n%PDF\r\n"
            "--b1--\r\n"
        )
    elif kind == "nested":  # part 1 is a multipart/alternative: the text is 1.1
        body = (
            'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            'Content-Type: multipart/alternative; boundary="b2"\r\n\r\n--b2\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}--b2\r\n"
            f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}--b2--\r\n--b1--\r\n"
        )
    elif kind == "html":
        body = f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}"
    else:  # no text at all
        body = "Content-Type: application/octet-stream\r\n\r\nAAAA\r\n"
    return (head + body).encode()


@pytest.mark.parametrize("tracked", [False, True])
def test_each_message_gets_its_text_wherever_its_text_part_sits(imap_user, tmp_path, tracked):
    """The first text part comes with the headers (part 1) or in a second fetch (1.1, TEXT):
    what is stored is the text the message's own MIME tree gives, either way."""
    from mailwatch.core.parse import parse_message

    kinds = ["plain", "qp", "mixed", "nested", "html", "none"]
    raws = {f"<{k}{n}@acme.test>": _mime(k, n) for n in range(3) for k in kinds}
    for raw in raws.values():
        imap_user.server.append(imap_user.username, "INBOX", raw)
    h = Harness(make_settings(imap_user, sqlite_url(tmp_path)))
    if tracked:  # as `sync --once` wires it: parsed (and analysed) by the tracker's preparer
        h.syncer.preparer = h.tracker.preparer()
        h.syncer.after_batch = h.tracker.feed
    fetches: list[list[str]] = []
    fetch = h.syncer.conn.fetch
    h.syncer.conn.fetch = lambda uids, items, *a, **kw: (  # type: ignore[method-assign]
        fetches.append([str(i) for i in items]) or fetch(uids, items, *a, **kw)
    )
    try:
        h.sync()
        stored = {m.message_id: (m.text_prefix, m.new_text) for m in h.messages()}
    finally:
        h.close()
    assert set(stored) == set(raws)
    for message_id, raw in raws.items():
        if message_id.startswith("<none"):
            continue  # no text part: the sync reads the body's start (BODY[TEXT]) as before
        want = parse_message(raw)
        assert stored[message_id] == (want.text, want.new_text), message_id
    assert any("chairs" in text for text, _ in stored.values())
    # one FETCH brought headers and part 1; only the others' texts were asked for after
    first = [items for items in fetches if any("HEADER.FIELDS" in i for i in items)]
    assert first and all(any(i.startswith("BODY.PEEK[1]<0.") for i in f) for f in first)
    later = {i for items in fetches if items not in first for i in items}
    assert later <= {"BODY.PEEK[1.1]<0.8192>", "BODY.PEEK[TEXT]<0.8192>"}, later


def test_after_a_renumbering_stored_messages_text_is_not_fetched_again(account, harness):
    _conversation(account)
    harness.sync()
    account.server.recreate_folder_with_new_uidvalidity(account.username, "INBOX")
    fetches: list[list[str]] = []
    fetch = harness.syncer.conn.fetch
    harness.syncer.conn.fetch = lambda uids, items, *a, **kw: (  # type: ignore[method-assign]
        fetches.append([str(i) for i in items]) or fetch(uids, items, *a, **kw)
    )
    report = harness.sync()
    inbox = next(f for f in report.folders if f.role == "inbox")
    assert inbox.uidvalidity_reset and inbox.new == 0
    assert not [i for items in fetches for i in items if i.startswith("BODY.PEEK[1")], fetches
