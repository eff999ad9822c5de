"""The digest as data: a real SQLite store (Alembic schema), rows through the models, the real
tracker, then ``build_digest`` as of an instant.

November 2026: the 19th is a Thursday, the 20th a Friday, the 23rd a Monday. TIMEZONE=UTC,
work hours 09:00-18:00 Mon-Fri, REPLY_SLA 4h.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import Settings, settings_from_values
from mailwatch.digest.data import build_digest, business_duration, wall_duration
from mailwatch.digest.links import draft_token, verify_draft_token
from mailwatch.store.db import make_engine, session_factory, upgrade
from mailwatch.store.models import Draft, Mailbox, Message, Promise, Thread
from mailwatch.track.tracker import Tracker

US = "sales@example.com"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def make_cfg(db_url: str, **extra: str) -> Settings:
    values = {
        "MAILWATCH_DATABASE_URL": db_url,
        "MAILWATCH_IMAP_HOST": "imap.example.com",
        "MAILWATCH_IMAP_USERNAME": US,
        "MAILWATCH_IMAP_PASSWORD": "secret",
        "MAILWATCH_INTERNAL_DOMAINS": "example.com",
        "MAILWATCH_TIMEZONE": "UTC",
        "MAILWATCH_REPLY_SLA": "4h",
        "MAILWATCH_WEB_BIND": "127.0.0.1:8025",
    }
    values.update({f"MAILWATCH_{k.upper()}": v for k, v in extra.items()})
    return settings_from_values(values)


class Store:
    """Rows through the models, as the sync would write them (analysis left to the tracker)."""

    def __init__(self, tmp_path: Path, **extra: str) -> None:
        self.url = f"sqlite:///{tmp_path / 'digest.db'}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        self.settings = make_cfg(self.url, **extra)
        with self.factory() as session, session.begin():
            mailbox = Mailbox(name="main", username=US, last_sync_at=utc(23, 11, 50))
            session.add(mailbox)
            session.flush()
            self.mailbox_id = mailbox.id
        self.count = 0

    def thread(self, subject: str, name: str, email: str, *messages: dict[str, Any]) -> int:
        """A conversation: ``messages`` are dicts with ``at``, ``out`` (ours), ``text``..."""
        with self.factory() as session, session.begin():
            dates = [m["at"] for m in messages]
            inbound = [m["at"] for m in messages if not m.get("out")]
            outbound = [m["at"] for m in messages if m.get("out")]
            thread = Thread(
                mailbox_id=self.mailbox_id,
                subject=subject,
                normalized_subject=subject.lower(),
                counterpart_name=name,
                counterpart_email=email,
                first_message_at=min(dates),
                last_message_at=max(dates),
                last_inbound_at=max(inbound) if inbound else None,
                last_outbound_at=max(outbound) if outbound else None,
                message_count=len(messages),
            )
            session.add(thread)
            session.flush()
            for m in messages:
                self.count += 1
                ours = bool(m.get("out"))
                sender = (m.get("from_name", "Sales"), US) if ours else (name, email)
                sender = m.get("sender", sender)
                to = [{"name": name, "email": email}] if ours else [{"name": "", "email": US}]
                session.add(
                    Message(
                        mailbox_id=self.mailbox_id,
                        thread_id=thread.id,
                        message_key=f"<m{self.count}@test>",
                        message_id=f"<m{self.count}@test>",
                        subject=m.get("subject", subject if not ours else "Re: " + subject),
                        normalized_subject=subject.lower(),
                        from_name=sender[0],
                        from_email=sender[1],
                        to_addrs=to,
                        date=m["at"],
                        internal_date=m["at"],
                        direction="outbound" if ours else "inbound",
                        counterpart_email=email,
                        markers=m.get("markers", {}),
                        text_prefix=m.get("text", "Hello"),
                        new_text=m.get("text", "Hello"),
                    )
                )
            return thread.id

    def track(self) -> None:
        Tracker(self.factory, self.settings).refresh()

    def add(self, *rows: Any) -> None:
        with self.factory() as session, session.begin():
            session.add_all(rows)

    def digest(self, now: datetime = NOW, **settings: str) -> Any:
        cfg = make_cfg(self.url, **settings) if settings else self.settings
        with self.factory() as session:
            return build_digest(session, cfg, now)

    def close(self) -> None:
        self.engine.dispose()


def inbound(at: datetime, text: str = "Hello, could you send us your prices?", **kw: Any) -> dict:
    return {"at": at, "text": text, **kw}


def ours(at: datetime, text: str = "Dear client, here it is.", **kw: Any) -> dict:
    return {"at": at, "text": text, "out": True, **kw}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path, web_secret="digest-test-secret")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def world(store: Store) -> dict[str, int]:
    ids = {
        # Overdue 11h: Friday 10:00 -> 18:00 (8h) + Monday 09:00 -> 12:00 (3h).
        "ana": store.thread(
            "Offer for 40 printers",
            "Ana Popescu",
            "ana@client.test",
            inbound(utc(20, 9, 30), "Hello, any news?"),
            ours(utc(20, 9, 40), "We are on it."),
            inbound(
                utc(20, 10),
                "Good morning,\n\nCould you send the offer\ttoday?\n\n> quoted older text\n",
            ),
        ),
        # Overdue 6h, and pushing on price.
        "bob": store.thread(
            "Discount",
            "Bob Stone",
            "bob@client.test",
            inbound(utc(20, 15), "Why is it so expensive? We need a bigger discount."),
        ),
        # Waiting 2h only (Monday 10:00): not overdue yet.
        "fresh": store.thread(
            "Brochure", "Dan Fresh", "dan@fresh.test", inbound(utc(23, 10), "Send a brochure.")
        ),
        "news": store.thread(
            "Our November newsletter",
            "News",
            "news@vendor.test",
            inbound(
                utc(19, 9),
                "Big sale!",
                markers={"list-id": "<news.vendor.test>", "precedence": "bulk"},
            ),
        ),
        "colleague": store.thread(
            "Lunch?", "Ion", "ion@example.com", inbound(utc(19, 9), "Lunch at noon?")
        ),
        "ooo": store.thread(
            "Automatic reply: Offer",
            "Eve Away",
            "eve@client.test",
            inbound(
                utc(19, 9),
                "I am out of the office until Monday.",
                markers={"auto-submitted": "auto-replied"},
            ),
        ),
        "noreply": store.thread(
            "Your order has shipped",
            "Shop",
            "noreply@shop.test",
            inbound(utc(19, 9), "Your order is on its way."),
        ),
        # Answered last week in 1h (Thursday 10:00 -> 11:00).
        "carla": store.thread(
            "Proposal",
            "Carla Diaz",
            "carla@client.test",
            inbound(utc(19, 10), "Please send a proposal."),
            ours(utc(19, 11), "Thank you, I will send it soon."),
        ),
        # Answered this week in 30m (Monday 09:00 -> 09:30).
        "this_week": store.thread(
            "Samples",
            "Gil Ray",
            "gil@client.test",
            inbound(utc(23, 9), "Can we get samples?"),
            ours(utc(23, 9, 30), "Yes."),
        ),
        # Our own mail to a colleague, with a "promise" in it: never in the digest.
        "internal_out": store.thread(
            "Report", "Ion", "ion@example.com", ours(utc(19, 9), "Report by Tuesday.")
        ),
        # We wrote first to a prospect: a client thread although nobody answered.
        "prospect": store.thread(
            "Introduction", "Hal Kent", "hal@prospect.test", ours(utc(19, 9), "Hello Hal.")
        ),
    }
    store.track()
    mb = store.mailbox_id

    def promise(thread: str, text: str, due: datetime, made: datetime) -> Promise:
        return Promise(
            mailbox_id=mb,
            thread_id=ids[thread],
            text=text,
            made_at=made,
            due_at=due,
            source="manual",
        )

    store.add(
        promise("carla", "send the proposal by Tuesday", utc(24, 18), utc(19, 11)),
        promise("carla", "call back by Friday", utc(27, 18), utc(19, 11)),  # beyond two days
        promise("ana", "send the price list by Wednesday", utc(18, 18), utc(17, 9)),  # missed
        promise("ana", "an old promise", utc(2, 18), utc(1, 9)),  # missed long ago
        promise("news", "unsubscribe us by Tuesday", utc(24, 12), utc(19, 9)),
        promise("internal_out", "send the report by Tuesday", utc(24, 12), utc(19, 9)),
        promise("prospect", "call Hal on Tuesday", utc(24, 12), utc(19, 9)),
    )

    def draft(n: int, thread: str, status: str, created: datetime) -> Draft:
        return Draft(
            mailbox_id=mb,
            thread_id=ids[thread],
            kind="acknowledgment",
            language="en",
            status=status,
            message_id=f"<draft{n}@example.com>",
            from_addr={"name": "Sales", "email": US},
            to_addrs=[{"name": "Ana Popescu", "email": "ana@client.test"}],
            subject="Re: Offer for 40 printers",
            body_text="Dear Ana, ...",
            created_at=created,
        )

    store.add(
        draft(1, "ana", "pending", utc(23, 10)),
        draft(2, "bob", "rejected", utc(23, 10)),
        draft(3, "fresh", "pending", utc(23, 13)),  # written after "now"
    )
    return ids


def test_overdue_only_client_threads_longest_wait_first(store: Store, world: dict[str, int]):
    digest = store.digest()
    assert [t.thread_id for t in digest.overdue] == [world["ana"], world["bob"]]
    ana, bob = digest.overdue
    assert ana.waiting_business_minutes == 11 * 60
    assert ana.overdue_business_minutes == 7 * 60
    assert ana.wait == "11h 00m"
    assert (ana.client_name, ana.client_email) == ("Ana Popescu", "ana@client.test")
    assert ana.subject == "Offer for 40 printers"
    # One line of the client's last new text; our message in between is not it.
    assert ana.snippet.startswith("Good morning, Could you send the offer today?")
    assert "\n" not in ana.snippet and "\t" not in ana.snippet
    assert bob.wait == "6h 00m"
    assert bob.warning_signs == ["price_pressure"]


def test_nothing_from_bulk_internal_automatic_or_no_reply_mail(store: Store, world: dict[str, int]):
    digest = store.digest()
    text = json.dumps(digest.to_json())
    for word in ("newsletter", "Lunch", "out of the office", "shipped", "unsubscribe", "report"):
        assert word not in text
    hidden = {world[k] for k in ("news", "colleague", "ooo", "noreply", "internal_out")}
    shown = {t.thread_id for t in digest.overdue}
    shown |= {p.thread_id for p in digest.promises_due + digest.promises_missed}
    shown |= {tid for c in digest.warning_clients for tid in c.thread_ids}
    assert not shown & hidden


def test_promises_due_in_two_business_days_and_missed(store: Store, world: dict[str, int]):
    digest = store.digest()
    assert [p.text for p in digest.promises_due] == [
        "call Hal on Tuesday",
        "send the proposal by Tuesday",
    ]
    proposal = digest.promises_due[1]
    assert proposal.client_email == "carla@client.test"
    assert proposal.subject == "Proposal"
    # Monday 12:00 -> 18:00 (6h) + Tuesday 09:00 -> 18:00 (9h).
    assert proposal.business_minutes_left == 15 * 60
    assert proposal.when == "due in 15h 00m"
    assert [p.text for p in digest.promises_missed] == ["send the price list by Wednesday"]
    assert digest.promises_missed[0].when == "missed, due 2026-11-18 18:00"
    # Friday's promise comes into the window on Wednesday.
    wednesday = store.digest(utc(25, 9))
    assert "call back by Friday" in [p.text for p in wednesday.promises_due]


def test_drafts_awaiting_approval_with_signed_links(store: Store, world: dict[str, int]):
    digest = store.digest()
    (draft,) = digest.drafts
    assert draft.kind == "acknowledgment"
    assert draft.client_email == "ana@client.test"
    assert draft.subject == "Re: Offer for 40 printers"
    assert draft.age == "2h 00m" and draft.age_minutes == 120
    base, _, token = draft.link.partition("?t=")
    assert base == f"http://127.0.0.1:8025/drafts/{draft.id}"
    assert verify_draft_token("digest-test-secret", token, draft.id)
    assert not verify_draft_token("digest-test-secret", token, draft.id + 1)
    assert not verify_draft_token("another-secret", token, draft.id)
    assert not verify_draft_token("digest-test-secret", token, draft.id, max_age=-1)
    # Without WEB_SECRET the link is plain.
    plain = store.digest(web_secret="")
    assert plain.drafts[0].link == f"http://127.0.0.1:8025/drafts/{draft.id}"
    assert draft_token("k", 5) != draft_token("k", 6)


def test_warning_sign_clients_with_evidence(store: Store, world: dict[str, int]):
    digest = store.digest()
    (client,) = digest.warning_clients
    assert client.client_email == "bob@client.test"
    assert client.thread_ids == [world["bob"]]
    (sign,) = [s for s in client.signs if s.kind == "price_pressure"]
    assert sign.label == "pushes on price"
    assert "expensive" in sign.evidence.lower() or "discount" in sign.evidence.lower()


def test_response_times_this_week_against_last(store: Store, world: dict[str, int]):
    digest = store.digest()
    assert digest.this_week.median_first_response_business_minutes == 30
    assert digest.this_week.threads == 1
    # Dan wrote this week and is still waiting.
    assert digest.this_week.unanswered == 1
    assert digest.this_week.start == "2026-11-23T00:00:00+00:00"
    # Last week: Carla 60 and Ana 10 (her first message at 09:30, our answer at 09:40).
    assert digest.last_week.threads == 2
    assert digest.last_week.median_first_response_business_minutes == 35
    assert digest.last_week.unanswered == 1  # Bob, never answered
    # Before Monday 09:30 nothing was answered this week.
    early = store.digest(utc(23, 9, 15))
    assert early.this_week.threads == 0
    assert early.this_week.median_first_response_business_minutes is None


def test_as_of_an_earlier_instant(store: Store, world: dict[str, int]):
    # Friday 16:00: Ana has waited 6h (overdue by 2h); Bob 1h; Monday's mail does not exist.
    digest = store.digest(utc(20, 16))
    assert [t.thread_id for t in digest.overdue] == [world["ana"]]
    assert digest.drafts == []


def test_sync_health_ok_gap_and_auth_error_on_top(store: Store, world: dict[str, int]):
    (line,) = store.digest().sync
    assert line.status == "ok" and not store.digest().alerts
    later = store.digest(utc(23, 15))
    assert later.sync[0].status == "gap"
    assert "no sync for 3h 10m" in later.alerts[0]
    with store.factory() as session, session.begin():
        mailbox = session.get_one(Mailbox, store.mailbox_id)
        mailbox.last_error = (
            "login refused for 'sales@example.com' at imap:993: AUTHENTICATIONFAILED"
        )
        mailbox.last_error_at = utc(23, 11, 55)
    digest = store.digest()
    assert digest.sync[0].status == "auth_error"
    assert digest.alerts and "login problem" in digest.alerts[0]
    assert digest.subject_line().startswith("mailwatch digest: SYNC PROBLEM, 2 overdue")


def test_a_configured_mailbox_never_synced_is_a_problem(store: Store, world: dict[str, int]):
    digest = store.digest(mailboxes="main,support", support_imap_username="support@example.com")
    statuses = {s.mailbox: s.status for s in digest.sync}
    assert statuses == {"main": "ok", "support": "never"}
    assert digest.sync[0].mailbox == "support"  # problems first


def test_subject_counts_and_json(store: Store, world: dict[str, int]):
    digest = store.digest()
    assert digest.subject_line() == (
        "mailwatch digest: 2 overdue, 1 draft to approve, 1 promise missed, 2 promises due soon"
    )
    data = json.loads(json.dumps(digest.to_json()))
    assert data["counts"]["overdue"] == 2
    assert data["overdue"][0]["client_email"] == "ana@client.test"
    assert data["generated_at"] == "2026-11-23T12:00:00+00:00"


def test_empty_store(tmp_path: Path):
    store = Store(tmp_path)
    try:
        digest = store.digest()
        assert digest.overdue == digest.drafts == digest.promises_due == []
        assert digest.subject_line() == "mailwatch digest: 0 overdue, 0 drafts to approve"
    finally:
        store.close()


def test_durations():
    assert business_duration(0) == "0m"
    assert business_duration(65) == "1h 05m"
    assert business_duration(60 * 30) == "30h 00m"
    assert wall_duration(45) == "45m"
    assert wall_duration(int(timedelta(days=2, hours=3).total_seconds() // 60)) == "2d 3h"


def test_a_large_backlog_lists_the_20_longest_waits_then_counts_by_age(tmp_path: Path):
    """25 overdue clients over ten weeks: 20 rows, every one counted by age, and the way to all."""
    from mailwatch.digest.render import render_html, render_text

    s = Store(tmp_path)
    try:
        now = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # a Thursday: 6h ago is overdue
        ages = [0.25, 0.6, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 18, 20, 22, 25, 27]
        ages += [30, 35, 40, 50, 60, 70, 80, 95]
        for n, days in enumerate(ages):
            at = now - timedelta(days=days)
            s.thread(f"Question {n}", f"Client {n}", f"c{n}@client{n}.test", inbound(at))
        s.track()
        digest = s.digest(now)
    finally:
        s.close()
    assert digest.overdue_count == 25 and len(digest.overdue) == 20
    waits = [t.waiting_business_minutes for t in digest.overdue]
    assert waits == sorted(waits, reverse=True)  # the longest waits, in order
    assert digest.overdue[0].subject == "Question 24"  # 95 days
    cal = s.settings.calendar
    all_waits = sorted(
        (cal.business_minutes_between(now - timedelta(days=d), now) for d in ages), reverse=True
    )
    assert waits == all_waits[:20]
    bands = {b.label: b.count for b in digest.overdue_bands}
    assert bands == {
        "under 1 day": 2,
        "1-7 days": 5,
        "1-4 weeks": 10,
        "1-3 months": 7,
        "over 3 months": 1,
    }
    assert "digest: SYNC PROBLEM, 25 overdue, 0 drafts" in digest.subject_line()  # sync is stale
    assert digest.to_json()["counts"]["overdue"] == 25
    text = render_text(digest, queue_url="http://127.0.0.1:8025/drafts")
    assert text.count(" waiting  ") == 20
    assert "... and 5 more. All 25 by age: under 1 day: 2, 1-7 days: 5" in text
    assert "full list: `mailwatch threads --state overdue`" in text
    assert "http://127.0.0.1:8025/threads?show=all#overdue-h" in text
    html = render_html(digest, queue_url="http://127.0.0.1:8025/drafts")
    assert "5 more are overdue" in html and "/threads?show=all#overdue-h" in html


def test_a_small_backlog_has_no_summary(store: Store, world: dict[str, int]):
    from mailwatch.digest.render import render_text

    digest = store.digest()
    assert digest.overdue_more == 0
    assert "more. All" not in render_text(digest)


def test_an_uncertain_send_is_in_the_digest_for_a_person(store: Store, world: dict[str, int]):
    """Issue #16: a send nobody could confirm is listed (and flagged) until someone decides;
    links never point at a wildcard address."""
    from mailwatch.digest.render import render_html, render_text

    with store.factory() as session, session.begin():
        row = session.query(Draft).filter_by(message_id="<draft2@example.com>").one()
        row.status, row.attempts = "uncertain", 1
    digest = store.digest(web_bind="0.0.0.0:8025", web_allow_remote="true")
    uncertain = [d for d in digest.drafts if d.status == "uncertain"]
    assert len(uncertain) == 1
    assert all("0.0.0.0" not in d.link for d in digest.drafts)
    assert "UNCERTAIN" in render_text(digest)
    assert "uncertain: sent or not?" in render_html(digest)


def test_a_long_approval_queue_lists_the_uncertain_and_the_oldest_then_counts_the_rest(
    tmp_path: Path,
):
    """30 drafts wait (one per thread): the digest lists 20 (the uncertain one, then the 19 oldest pending), in
    their oldest-first order, and counts all 30 in its subject, JSON and every form."""
    from mailwatch.cli.digest_text import print_digest
    from mailwatch.digest.render import render_html, render_text

    s = Store(tmp_path)
    try:
        now = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
        tids = [
            s.thread(
                f"Order {n}", "Ana Popescu", "ana@client.test", inbound(now - timedelta(days=2))
            )
            for n in range(30)
        ]  # (one draft of a kind per thread)
        created = [now - timedelta(hours=40 - n) for n in range(30)]  # oldest first
        s.add(
            *(
                Draft(
                    mailbox_id=s.mailbox_id,
                    thread_id=tids[n],
                    kind="acknowledgment",
                    language="en",
                    status="uncertain" if n == 27 else "pending",
                    message_id=f"<queue{n}@example.com>",
                    from_addr={"name": "Sales", "email": US},
                    to_addrs=[{"name": "Ana Popescu", "email": "ana@client.test"}],
                    subject=f"Re: Order {n}",
                    body_text="Dear Ana, ...",
                    created_at=at,
                )
                for n, at in enumerate(created)
            )
        )
        s.track()
        digest = s.digest(now)
    finally:
        s.close()
    subjects = [d.subject for d in digest.drafts]
    assert subjects == [f"Re: Order {n}" for n in range(19)] + ["Re: Order 27"]
    assert digest.drafts_count == 30 and digest.drafts_more == 10
    assert "30 drafts to approve" in digest.subject_line()
    data = digest.to_json()
    assert data["drafts_total"] == 30 and data["counts"]["drafts"] == 30
    assert len(data["drafts"]) == 20
    text = render_text(digest, queue_url="http://127.0.0.1:8025/drafts")
    assert "DRAFTS TO APPROVE (30)" in text
    assert "... and 10 more waiting for approval: http://127.0.0.1:8025/drafts" in text
    html = render_html(digest, queue_url="http://127.0.0.1:8025/drafts")
    assert "The 20 oldest are listed; 10 more wait for approval." in html
    assert "Open the approval queue" in html
    out = io.StringIO()
    print_digest(digest, make_console_to(out))
    printed = out.getvalue()
    assert "drafts to approve (30), the 20 oldest" in printed
    assert "... and 10 more waiting for approval: `mailwatch drafts list`" in printed
    assert printed.count("Re: Order") == 20


def make_console_to(out: io.StringIO) -> Any:
    from rich.console import Console

    return Console(file=out, width=200, color_system=None)
