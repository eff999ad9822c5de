"""The attacks on the web page that held before issue #16, replayed on every `make test`:
hostile mail (script, event handlers, javascript: links, SVG) shows as text and runs nothing,
and a form without the session's CSRF token, or from another site, changes nothing.

Chromium (Playwright) against the service's own uvicorn set-up (tests/adversarial/
test_web_abuse.py's ``Served``); the hostile message is stored as the sync would store it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailwatch.store.db import session_factory
from mailwatch.store.models import Draft, Mailbox, Message, Thread
from tests.adversarial.test_web_abuse import PASSWORD, Served

HOSTILE_SUBJECT = "<script>window.__pwned=1</script> Offer"
HOSTILE_NAME = 'Eve <img src=x onerror="window.__pwned=2">'
HOSTILE_HTML = (
    "<p>Please send the offer.</p><script>window.__pwned = 3</script>"
    '<img src=x onerror="window.__pwned = 4"><a href="javascript:window.__pwned=5">x</a>'
    '<svg onload="window.__pwned=6"></svg><iframe src="javascript:alert(7)"></iframe>'
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Served, int]]:
    with Served(tmp_path) as served:
        factory = session_factory(served.engine)
        now = datetime.now(UTC)
        with factory.begin() as session:
            mailbox = Mailbox(name="main", username="sales@example.com")
            session.add(mailbox)
            session.flush()
            thread = Thread(mailbox_id=mailbox.id, subject=HOSTILE_SUBJECT, message_count=1)
            session.add(thread)
            session.flush()
            message = Message(
                mailbox_id=mailbox.id,
                thread_id=thread.id,
                message_key="<hostile@client.test>",
                message_id="<hostile@client.test>",
                subject=HOSTILE_SUBJECT,
                from_name=HOSTILE_NAME,
                from_email="eve@client.test",
                direction="inbound",
                content_type="text/html",
                text_prefix=HOSTILE_HTML,
                new_text=HOSTILE_HTML,
                date=now - timedelta(hours=1),
            )
            session.add(message)
            session.flush()
            draft = Draft(
                mailbox_id=mailbox.id,
                thread_id=thread.id,
                kind="acknowledgment",
                language="en",
                status="pending",
                message_id="<draft-x@example.com>",
                from_addr={"name": "Ion", "email": "sales@example.com"},
                to_addrs=[{"name": HOSTILE_NAME, "email": "eve@client.test"}],
                subject=f"Re: {HOSTILE_SUBJECT}",
                body_text=f"Dear {HOSTILE_NAME},\n\nthanks.\n",
                replied_message_row_id=message.id,
                created_at=now,
            )
            session.add(draft)
            session.flush()
            draft_id = draft.id
        yield served, draft_id


def _status(served: Served, draft_id: int) -> str:
    with session_factory(served.engine)() as session:
        return session.get_one(Draft, draft_id).status


def _logged_in(browser: Any, served: Served) -> tuple[Any, Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url + "/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/drafts$"))
    return context, page


def test_hostile_mail_runs_nothing_on_any_page(site, browser):
    served, draft_id = site
    context, page = _logged_in(browser, served)
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("/drafts", f"/drafts/{draft_id}", "/threads"):
            page.goto(served.url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__pwned") is None, path
            main = page.locator("main")
            assert main.locator("script, iframe, svg, [onerror], [onload]").count() == 0, path
            assert main.locator("a[href^='javascript']").count() == 0, path
        assert dialogs == []
        page.goto(f"{served.url}/drafts/{draft_id}")
        page.get_by_text("Please send the offer.").wait_for()  # the hostile mail is on the page
        assert HOSTILE_SUBJECT in page.get_by_label("Subject").input_value()  # shown as text
    finally:
        context.close()


def test_forms_without_the_token_or_from_another_site_change_nothing(site, browser):
    served, draft_id = site
    context, page = _logged_in(browser, served)
    try:
        page.goto(f"{served.url}/drafts/{draft_id}")
        url = f"{served.url}/drafts/{draft_id}"
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        for form, headers in (
            ({"action": "reject"}, {}),
            ({"action": "approve", "csrf_token": "x" * 43}, {}),
            ({"action": "reject", "csrf_token": token}, {"Origin": "http://evil.test"}),
            ({"action": "reject", "csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
        ):
            answer = context.request.post(url, form=form, headers=headers, max_redirects=0)
            assert answer.status == 403, (form, headers)
        assert context.request.get(f"{url}?action=approve").ok  # a GET changes nothing
        assert _status(served, draft_id) == "pending"
    finally:
        context.close()
