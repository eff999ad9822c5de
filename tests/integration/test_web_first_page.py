"""The web page stays readable with a backlog: 20 rows a section, the longest waits first, then
"Show all" (a real browser against the real app, mail synced from a real Dovecot)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailwatch.drafts.service import DraftService
from mailwatch.service.web import create_app
from mailwatch.views.context import View
from mailwatch.views.threads import list_threads
from mailwatch.web.pages import FIRST_PAGE
from tests.helpers import Harness, make_msg, make_settings, sqlite_url
from tests.integration.test_web import PASSWORD, SECRET, LiveApp

pytestmark = pytest.mark.slow
NOW = datetime.now(UTC)
CLIENTS = FIRST_PAGE + 3
DRAFTS = FIRST_PAGE + 2


@pytest.fixture(scope="module")
def backlog(dovecot, tmp_path_factory) -> Iterator[tuple[str, list[int]]]:
    account = dovecot.new_account(prefix="page")
    for n in range(CLIENTS):
        raw = make_msg(
            subject=f"Question {n}",
            sender=f"Client {n} <c{n}@client{n}.test>",
            msgid=f"<q{n}@client{n}.test>",
            date=NOW - timedelta(days=5 + 2 * n),  # older and older: Question 22 waits longest
            body="Hello, could you send us your prices?\n",
        )
        account.server.append(account.username, "INBOX", raw)
    settings = make_settings(
        account,
        sqlite_url(tmp_path_factory.mktemp("page")),
        web_password=PASSWORD,
        web_secret=SECRET,
    )
    harness = Harness(settings)
    harness.sync()
    with harness.factory() as session:
        overdue = list_threads(session, NOW, "overdue", View.of(settings))
    assert len(overdue) == CLIENTS
    drafts = DraftService(harness.factory, settings)
    for row in overdue[:DRAFTS]:
        drafts.create("acknowledgment", row.id, NOW)
    try:
        with LiveApp(create_app(harness.factory, settings)) as live:
            yield live.url, [row.id for row in overdue]
    finally:
        harness.close()


def _login(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url + "/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/drafts$"))
    return page


def test_queue_first_page_then_show_all(backlog, browser):
    url, _ = backlog
    page = _login(browser, url)
    assert page.locator("#pending-h .count").inner_text() == str(DRAFTS)
    assert page.locator("li.draft-card").count() == FIRST_PAGE
    page.locator("#pending-all").click()
    page.wait_for_url(re.compile(r"/drafts\?show=all"))
    assert page.locator("li.draft-card").count() == DRAFTS


def test_threads_first_page_is_the_longest_waits_then_show_all(backlog, browser):
    url, longest_first = backlog
    page = _login(browser, url)
    page.goto(url + "/threads")
    assert page.locator("#overdue-h .count").inner_text() == str(CLIENTS)
    cards = page.locator("li.thread")
    shown = [int(i.removeprefix("thread-")) for i in cards.evaluate_all("e => e.map(x => x.id)")]
    assert shown == longest_first[:FIRST_PAGE]
    assert "Question 0" not in page.content()  # the shortest waits are behind "Show all"
    page.locator("#overdue-all").click()
    page.wait_for_url(re.compile(r"/threads\?show=all"))
    assert page.locator("li.thread").count() == CLIENTS
