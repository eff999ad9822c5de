"""Backlog policy: a first start over old unanswered mail does not flood the approval queue;
the digest counts the old threads and the web page drafts them in bulk; AUTO_DRAFTS_PER_HOUR
caps what the scheduler writes."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mailwatch.digest.data import build_digest
from mailwatch.digest.render import render_text
from mailwatch.service.jobs import Jobs
from mailwatch.service.web import create_app
from mailwatch.store.models import Draft
from tests.helpers import Harness, make_msg, make_settings, sqlite_url
from tests.integration.test_web import PASSWORD, SECRET, LiveApp

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday; business days 09-18 UTC


def old_and_new(imap_user, old: int = 3, new: int = 1) -> None:
    for n in range(old):  # three weeks old, never answered
        imap_user.server.append(
            imap_user.username,
            "INBOX",
            make_msg(
                sender=f"Old {n} <old{n}@c{n}.test>",
                subject=f"Old request {n}",
                date=START - timedelta(days=21 + n),
            ),
        )
    for n in range(new):  # this morning
        imap_user.server.append(
            imap_user.username,
            "INBOX",
            make_msg(
                sender=f"New {n} <new{n}@n{n}.test>",
                subject=f"New request {n}",
                date=START - timedelta(hours=1, minutes=n),
            ),
        )


def drafted(h: Harness) -> list[tuple[str, str]]:
    with h.factory() as session:
        return [(d.subject, d.kind) for d in session.scalars(select(Draft).order_by(Draft.id))]


@pytest.fixture
def make(imap_user, tmp_path):
    made: list[Harness] = []

    def factory(**extra: str) -> Harness:
        values = {
            "timezone": "UTC",
            "sender_name": "Ion",
            "signature": "Ion",
            "reply_sla": "4h",
            "ack_after": "30m",
            "web_password": PASSWORD,
            "web_secret": SECRET,
            **extra,
        }
        made.append(Harness(make_settings(imap_user, sqlite_url(tmp_path), **values)))
        return made[-1]

    yield factory
    for h in made:
        h.close()


def test_first_start_leaves_old_threads_to_a_person_and_the_digest_counts_them(imap_user, make):
    old_and_new(imap_user)
    h = make()
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    report = jobs.sla_check(START)  # the first start
    assert report.backlog == 3
    assert drafted(h) == [("Re: New request 0", "acknowledgment")]
    # Later checks (or a restart) keep to it.
    assert jobs.sla_check(START + timedelta(hours=3)).created == []
    with h.factory() as session:
        digest = build_digest(session, h.settings, START + timedelta(hours=3))
    assert digest.backlog_threads == 3
    assert digest.backlog.startswith(
        "3 threads waiting longer than a business day when mailwatch started (2026-11-23 10:00)"
    )
    assert "BACKLOG" in render_text(digest)
    # A client who writes after the start is acknowledged as usual.
    imap_user.server.append(
        imap_user.username,
        "INBOX",
        make_msg(sender="Fresh <f@fresh.test>", subject="Fresh", date=START + timedelta(hours=4)),
    )
    h.sync()
    assert len(jobs.sla_check(START + timedelta(hours=5)).created) == 1


def test_the_limit_is_configurable_and_zero_turns_it_off(imap_user, make):
    old_and_new(imap_user, old=2, new=0)
    h = make(ack_backlog_limit="0")
    h.sync()
    assert len(Jobs(h.factory, h.settings).sla_check(START).created) == 2


def test_auto_drafts_per_hour_caps_the_scheduler_and_says_so(imap_user, make, caplog):
    old_and_new(imap_user, old=0, new=5)
    h = make(auto_drafts_per_hour="2")
    h.sync()
    jobs = Jobs(h.factory, h.settings)
    with caplog.at_level(logging.WARNING):
        report = jobs.sla_check(START)
    assert len(report.created) == 2 and report.capped == 3
    assert [r.message for r in caplog.records].count(
        "AUTO_DRAFTS_PER_HOUR (2) reached: no more automatic drafts this hour; the due ones "
        "are written at the next checks"
    ) == 1
    assert jobs.sla_check(START + timedelta(minutes=30)).created == []
    assert len(jobs.sla_check(START + timedelta(minutes=61)).created) == 2
    assert len(drafted(h)) == 4


def test_the_web_page_drafts_the_backlog_in_bulk(imap_user, make, browser):
    old_and_new(imap_user)
    h = make()
    h.sync()
    Jobs(h.factory, h.settings).sla_check(START)
    app = create_app(h.factory, h.settings, clock=lambda: START + timedelta(hours=1))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        with LiveApp(app) as live:
            page = context.new_page()
            page.goto(live.url + "/login")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/drafts$"))
            backlog = page.locator("#backlog-h")
            assert backlog.is_visible()
            assert "3 threads waiting longer than a business day" in page.content()
            # Without the form's CSRF token nothing happens.
            refused = page.request.post(live.url + "/backlog/draft", form={"csrf_token": "x" * 43})
            assert refused.status == 403
            assert len(drafted(h)) == 1
            with page.expect_navigation():
                page.get_by_role(
                    "button", name="Write acknowledgment drafts for all of them"
                ).click()
            page.get_by_text("3 acknowledgment drafts written").wait_for(timeout=10_000)
            assert page.locator("#backlog-h").count() == 0  # nothing left in the backlog
    finally:
        context.close()
    kinds = drafted(h)
    assert len(kinds) == 4 and {k for _s, k in kinds} == {"acknowledgment"}
    with h.factory() as session:
        assert not any(d.automatic for d in session.scalars(select(Draft)))
