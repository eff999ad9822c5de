"""The approval web page in a real browser: Chromium (Playwright) against the real app.

One site per module: mail synced from a real Dovecot into SQLite, drafts written by the
DraftService, the app served by uvicorn in a thread, sending through a real aiosmtpd server.
Each test works on its own drafts, so the order of the tests does not matter.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from typing import Any

import pytest
import time_machine
import uvicorn
from sqlalchemy import select

from mailwatch.config import ALL_KEYS
from mailwatch.digest.links import draft_token
from mailwatch.drafts.service import DraftService
from mailwatch.service.web import create_app
from mailwatch.service.workers import heartbeat, leave
from mailwatch.store.models import Draft, Promise
from mailwatch.track.actions import add_promise
from mailwatch.views.context import View
from mailwatch.views.threads import list_threads
from mailwatch.web.security import LoginLimiter
from tests.helpers import Harness, make_msg, make_settings, sqlite_url
from tests.servers.common import free_port
from tests.servers.smtp import SmtpServer

PASSWORD = "correct horse battery staple"
SECRET = "web-secret-for-tests-0123456789abcdef"
NOW = datetime.now(UTC)

pytestmark = pytest.mark.slow


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Polls ``condition`` until it holds; fails with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class LiveApp:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveApp:
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(), "the web app to start"
        )
        if not self.server.started:
            raise RuntimeError("the web app did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Site:
    url: str
    harness: Harness
    smtp: SmtpServer
    drafts: DraftService
    threads: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)

    def draft(self, draft_id: int) -> Draft:
        with self.harness.factory() as session:
            row = session.get(Draft, draft_id)
            assert row is not None
            return row


def html_mail(subject: str, sender: str, html: str, msgid: str, date: datetime) -> bytes:
    lines = [
        f"From: {sender}",
        "To: sales@example.com",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {msgid}",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + html).encode()


HOSTILE_SUBJECT = "<script>window.__pwned=3</script> Offer"
HOSTILE_HTML = (
    "<html><body><p>Please send the offer for 40 racks.</p>"
    "<script>window.__pwned = 1; alert('script')</script>"
    "<img src=x onerror=\"window.__pwned = 2; alert('img')\">"
    "<p>Encoded: &lt;img src=x onerror=alert(5)&gt; &lt;script&gt;window.__pwned=6&lt;/script&gt;</p>"
    '<a href="javascript:alert(7)">click</a> <svg onload="alert(8)"></svg>'
    "</body></html>"
)
PLAIN_PAYLOAD = "<script>window.__pwned=4</script> <img src=x onerror=alert(9)>"


@pytest.fixture(scope="module")
def site(dovecot, tmp_path_factory) -> Iterator[Site]:
    # a password no help text can contain, so "not in the page" means "not shown"
    account = dovecot.new_account(prefix="web", password="imap-Pw-7hQ2x")
    tmp = tmp_path_factory.mktemp("web")
    smtp = SmtpServer().start()
    messages = {
        "samples": make_msg(
            subject="Samples",
            sender="John Carter <john@client.test>",
            msgid="<samples@client.test>",
            date=NOW - timedelta(days=5),
            body="Hello, when do the samples leave? We need them for the trade show.\n",
        ),
        "prices": make_msg(
            subject="Prices for 2027",
            sender="Ana Popescu <ana@client.test>",
            msgid="<prices@client.test>",
            date=NOW - timedelta(hours=2),
            body="Why so expensive? Add more for the same money.\n",
        ),
        "hostile": html_mail(
            Header(HOSTILE_SUBJECT, "utf-8").encode(),
            f"{Header('Eve <img src=x onerror=alert(3)>', 'utf-8').encode()} <eve@client.test>",
            HOSTILE_HTML,
            "<hostile@client.test>",
            NOW - timedelta(hours=3),
        ),
        "hostile-plain": make_msg(
            subject="Re: Offer",
            sender="Eve <eve@client.test>",
            msgid="<hostile-2@client.test>",
            in_reply_to="<hostile@client.test>",
            references="<hostile@client.test>",
            date=NOW - timedelta(hours=2, minutes=30),
            body=f"Also: {PLAIN_PAYLOAD}\n",
        ),
        "delivery": make_msg(
            subject="Delivery of the contract",
            sender="Mark Stone <mark@client.test>",
            msgid="<delivery@client.test>",
            date=NOW - timedelta(hours=1),
            body="Could you send the signed contract?\n",
        ),
        "link": make_msg(
            subject="Catalogue",
            sender="Maria Lopez <maria@client.test>",
            msgid="<catalogue@client.test>",
            date=NOW - timedelta(hours=4),
            body="Could you send your catalogue?\n",
        ),
        "csrf": make_msg(
            subject="Terms",
            sender="Olga Ivanova <olga@client.test>",
            msgid="<terms@client.test>",
            date=NOW - timedelta(hours=4),
            body="What are your payment terms?\n",
        ),
    }
    for raw in messages.values():
        account.server.append(account.username, "INBOX", raw)
    settings = make_settings(
        account,
        sqlite_url(tmp),
        smtp_host=smtp.host,
        smtp_port=str(smtp.port),
        smtp_security="none",
        sent_copy="always",
        sender_name="Ion Rusu",
        signature="Ion Rusu\\nSales manager, Acme SRL\\n+373 22 000 000",
        web_password=PASSWORD,
        web_secret=SECRET,
    )
    harness = Harness(settings)
    harness.sync()
    with harness.factory() as session:
        rows = list_threads(session, NOW, "all", View.of(settings))
    by_subject = {row.subject: row.id for row in rows}
    threads = {
        "samples": by_subject["Samples"],
        "prices": by_subject["Prices for 2027"],
        "hostile": by_subject[HOSTILE_SUBJECT],
        "delivery": by_subject["Delivery of the contract"],
        "link": by_subject["Catalogue"],
        "csrf": by_subject["Terms"],
    }
    drafts = DraftService(harness.factory, settings)
    ids = {
        "approve": drafts.create("acknowledgment", threads["samples"], NOW).draft["id"],
        "reject": drafts.create("decline", threads["prices"], NOW).draft["id"],
        "hostile": drafts.create("acknowledgment", threads["hostile"], NOW).draft["id"],
        "link": drafts.create("acknowledgment", threads["link"], NOW).draft["id"],
        "csrf": drafts.create("acknowledgment", threads["csrf"], NOW).draft["id"],
        "promise_move": add_promise(
            harness.factory, threads["delivery"], NOW + timedelta(days=2), "the contract", NOW
        ),
        "promise_kept": add_promise(
            harness.factory, threads["delivery"], NOW + timedelta(days=3), "the samples", NOW
        ),
    }
    try:
        with LiveApp(create_app(harness.factory, settings)) as live:
            yield Site(live.url, harness, smtp, drafts, threads, ids)
    finally:
        smtp.stop()
        harness.close()


@pytest.fixture
def context(browser) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield ctx
    finally:
        ctx.close()


def login(page: Any, site: Site, password: str = PASSWORD) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def logged_in_page(context: Any, site: Site) -> Any:
    page = context.new_page()
    login(page, site)
    page.wait_for_url(re.compile(r"/drafts$"))
    return page


def flash(page: Any) -> Any:
    return page.locator(".flash").first


# -- login --------------------------------------------------------------------------------------


def test_login_wrong_password_refused_then_the_queue(site, context):
    page = context.new_page()
    response = page.goto(site.url + "/drafts")
    assert response is not None
    assert "/login" in page.url  # not logged in: sent to the login page
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"

    login(page, site, password="wrong")
    page.get_by_text("Wrong password.").wait_for()
    assert "/login" in page.url
    assert page.locator("a[href='/threads']").count() == 0

    login(page, site)
    page.wait_for_url(re.compile(r"/drafts$"))
    page.get_by_text("Logged in.").wait_for()
    cookie = next(c for c in context.cookies() if c["name"] == "mailwatch_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http on 127.0.0.1
    assert PASSWORD not in cookie["value"]

    card = page.locator(f"#draft-{site.ids['approve']}")
    card.wait_for()
    assert "John Carter" in card.inner_text()
    assert "acknowledgment" in card.inner_text()
    assert re.search(r"\b(min|h|d)\b", card.inner_text())  # the age
    assert card.locator(".check").count() >= 1  # the etiquette check
    assert page.evaluate("typeof htmx") == "object"  # the vendored htmx loaded under the CSP


def test_edit_then_approve_sends_exactly_one_message_with_the_edited_text(site, context):
    draft_id = site.ids["approve"]
    console_errors: list[str] = []
    page = logged_in_page(context, site)
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.get_by_role("link", name=f"Open draft {draft_id}").click()
    page.wait_for_url(re.compile(rf"/drafts/{draft_id}$"))
    # The conversation is on the page, and the draft in an editable box.
    page.get_by_text("when do the samples leave?").wait_for()
    box = page.get_by_label("Text")
    assert box.input_value().startswith("Dear John")
    edited = "Dear John,\n\nthe samples leave on Friday by courier.\n\nKind regards,\nIon Rusu\n"
    box.fill(edited)
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"Draft {draft_id}: saved").wait_for()
    assert site.draft(draft_id).body_text == edited
    assert site.draft(draft_id).status == "pending"

    page.get_by_label("Text").fill(edited.replace("on Friday", "on Friday 12 December"))
    page.get_by_role("button", name="Approve and send").click()
    page.get_by_text(f"Draft {draft_id} sent to").wait_for()
    received = site.smtp.wait_for(1)
    assert len(received) == 1
    message = received[0].message
    body = message.get_body(("plain",)).get_content()
    assert "the samples leave on Friday 12 December by courier." in body
    assert message["In-Reply-To"] == "<samples@client.test>"
    assert site.draft(draft_id).status == "sent"

    # Approving again (a second click, a replayed form) sends nothing more.
    page.goto(f"{site.url}/drafts/{draft_id}")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    again = context.request.post(
        f"{site.url}/drafts/{draft_id}", form={"csrf_token": token, "action": "approve"}
    )
    assert again.ok
    # the answer came after the refusal (the send would have happened inside the request):
    # the page says why, once, and the server still has exactly one message
    assert again.url.endswith(f"/drafts/{draft_id}")
    assert again.text().count(f"Not approved: draft {draft_id} is sent") == 1
    assert len(site.smtp.received) == 1
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors


def test_reject_works_without_javascript(site, browser):
    draft_id = site.ids["reject"]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = logged_in_page(context, site)
        page.goto(f"{site.url}/drafts/{draft_id}")
        assert "cannot take it on" in page.get_by_label("Text").input_value()
        page.get_by_role("button", name="Reject").click()
        page.wait_for_url(re.compile(r"/drafts$"))
        page.get_by_text(f"Draft {draft_id} rejected").wait_for()
        assert page.locator(f"#draft-{draft_id}").count() == 0
    finally:
        context.close()
    assert site.draft(draft_id).status == "rejected"
    assert all("Popescu" not in r.raw.decode(errors="replace") for r in site.smtp.received)


def test_hostile_mail_shows_as_text_and_runs_nothing(site, context):
    dialogs: list[str] = []
    page = logged_in_page(context, site)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{site.url}/drafts/{site.ids['hostile']}")
    page.get_by_text("Please send the offer for 40 racks.").wait_for()
    # The plain-text message shows its markup literally, as text.
    page.get_by_text(PLAIN_PAYLOAD).first.wait_for()
    page.wait_for_load_state("networkidle")  # every image error and load event has fired
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    main = page.locator("main")
    assert main.locator("script, img, svg, iframe, [onerror], [onload]").count() == 0
    assert main.locator("a[href^='javascript']").count() == 0
    # The hostile subject and sender name are text too.
    assert HOSTILE_SUBJECT in page.locator("#conv-h").inner_text()
    assert page.get_by_label("Subject").input_value() == f"Re: {HOSTILE_SUBJECT}"


def test_a_post_without_the_csrf_token_is_refused(site, context):
    draft_id = site.ids["csrf"]
    page = logged_in_page(context, site)
    page.goto(f"{site.url}/drafts/{draft_id}")
    url = f"{site.url}/drafts/{draft_id}"
    missing = context.request.post(url, form={"action": "reject"}, max_redirects=0)
    assert missing.status == 403
    assert "security token" in missing.text()
    wrong = context.request.post(
        url, form={"action": "reject", "csrf_token": "x" * 43}, max_redirects=0
    )
    assert wrong.status == 403
    edit = context.request.post(url, form={"action": "save", "body": "hijacked"}, max_redirects=0)
    assert edit.status == 403
    foreign = context.request.post(
        url,
        form={
            "action": "reject",
            "csrf_token": page.locator("input[name=csrf_token]").first.get_attribute("value"),
        },
        headers={"Origin": "http://evil.test"},
        max_redirects=0,
    )
    assert foreign.status == 403
    row = site.draft(draft_id)
    assert row.status == "pending" and "hijacked" not in row.body_text
    # A GET never changes anything.
    assert context.request.get(f"{url}/approve", max_redirects=0).status in (404, 405)
    assert context.request.get(f"{url}?action=approve").ok
    assert site.draft(draft_id).status == "pending"


def test_digest_links_open_one_draft_and_bad_links_are_refused(site, browser):
    draft_id = site.ids["link"]
    context = browser.new_context()  # not logged in
    try:
        page = context.new_page()
        good = page.goto(f"{site.url}/drafts/{draft_id}?t={draft_token(SECRET, draft_id)}")
        assert good is not None and good.status == 200
        page.get_by_text("Could you send your catalogue?").wait_for()
        page.get_by_role("link", name="Log in to approve, edit or reject").wait_for()
        assert page.get_by_role("button", name="Approve and send").count() == 0
        assert page.locator("form[action^='/drafts']").count() == 0

        token = draft_token(SECRET, draft_id)
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        bad = page.goto(f"{site.url}/drafts/{draft_id}?t={tampered}")
        assert bad is not None and bad.status == 403
        page.get_by_text("This link is invalid or has expired").wait_for()

        with time_machine.travel(datetime.now(UTC) - timedelta(days=8), tick=False):
            old = draft_token(SECRET, draft_id)
        expired = page.goto(f"{site.url}/drafts/{draft_id}?t={old}")
        assert expired is not None and expired.status == 403

        other = page.goto(f"{site.url}/drafts/{site.ids['csrf']}?t={token}")  # another draft
        assert other is not None and other.status == 403
        forged = page.goto(f"{site.url}/drafts/{draft_id}?t={draft_token('guess', draft_id)}")
        assert forged is not None and forged.status == 403
        # The link never logged anyone in.
        page.goto(f"{site.url}/drafts")
        assert "/login" in page.url
    finally:
        context.close()
    assert site.draft(draft_id).status == "pending"


def test_threads_and_promises_mark_kept_and_move_the_date(site, context):
    page = logged_in_page(context, site)
    page.get_by_role("link", name="Threads & promises").click()
    page.wait_for_url(re.compile(r"/threads$"))
    assert page.locator(f"#thread-{site.threads['samples']}").count() == 1  # overdue
    kept = page.locator(f"#promise-{site.ids['promise_kept']}")
    kept.get_by_role("button", name="Mark kept").click()
    page.get_by_text(f"Promise {site.ids['promise_kept']} marked as kept.").wait_for()
    with site.harness.factory() as session:
        assert session.get(Promise, site.ids["promise_kept"]).done_at is not None

    new_day = (NOW + timedelta(days=20)).date()
    moved = page.locator(f"#promise-{site.ids['promise_move']}")
    moved.get_by_label("New date").fill(new_day.isoformat())
    moved.get_by_role("button", name=re.compile("Move the date")).click()
    page.wait_for_url(re.compile(r"/drafts/\d+$"))
    page.get_by_text("A renegotiation draft").wait_for()
    draft_id = int(page.url.rsplit("/", 1)[1])
    row = site.draft(draft_id)
    assert row.kind == "renegotiation" and row.status == "pending"
    assert row.promise_id == site.ids["promise_move"]
    assert row.new_date is not None
    assert row.new_date.astimezone(site.harness.settings.calendar.tz).date() == new_day


def test_every_page_has_a_favicon_and_names_the_time_zone(site, context):
    page = logged_in_page(context, site)
    icons: list[int] = []
    page.on("response", lambda r: icons.append(r.status) if "favicon" in r.url else None)
    page.goto(site.url + "/threads")
    assert page.locator('link[rel="icon"]').get_attribute("href") == "/favicon.ico"
    answer = page.request.get(site.url + "/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"] == "image/x-icon"
    assert answer.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 404 not in icons
    footer = page.locator("footer.zone").inner_text()
    assert footer == f"All times in {site.harness.settings.calendar.tz_name}."


def test_settings_page_masks_secrets(site, context):
    page = logged_in_page(context, site)
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(re.compile(r"/settings$"))
    text = page.locator("main").inner_text()
    assert "WEB_PASSWORD" in text and "set (hidden)" in text
    html = page.content()
    for secret in (PASSWORD, SECRET):
        assert secret not in html
    # the test account's IMAP password is the word "secret", which the help texts also use:
    # look at the values only (each <dd>'s first line; its second is the key's help)
    values = [t.split("\n")[0] for t in page.locator("dd").all_inner_texts()]
    imap_password = site.harness.settings.mailboxes[0].imap.password.reveal()
    assert values and not any(imap_password in v for v in values)
    assert "set (hidden)" in values
    # every key of the table is listed, SEND_RATE with its real unit
    keys = set(page.locator("dt").all_inner_texts())
    assert set(ALL_KEYS) <= keys
    send_rate = page.locator("dt", has_text="SEND_RATE").locator("xpath=..").locator("dd")
    assert "per minute" in send_rate.inner_text()


def test_settings_page_lists_the_workers(site, context):
    factory = site.harness.factory
    heartbeat(
        factory,
        "sales-host:4242:feedbeef",
        timedelta(minutes=5),
        mailboxes=["main"],
        scheduler=True,
        web="127.0.0.1:8025",
        fingerprint={},
    )
    try:
        page = logged_in_page(context, site)
        page.goto(f"{site.url}/settings")
        workers = page.locator("section[aria-labelledby=workers-h]").inner_text()
        assert "sales-host:4242:feedbeef" in workers
        assert "alive" in workers and "main" in workers
    finally:
        leave(factory, "sales-host:4242:feedbeef")
    page.reload()
    assert "No worker is running" in page.locator("section[aria-labelledby=workers-h]").inner_text()


def test_phone_width_and_keyboard(site, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = logged_in_page(context, site)
        for path in ("/drafts", f"/drafts/{site.ids['csrf']}", "/threads", "/settings"):
            page.goto(site.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways at phone width ({overflow}px)"
        page.goto(f"{site.url}/drafts/{site.ids['csrf']}")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_label("Text").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Approve and send"
    finally:
        context.close()


def test_login_attempts_are_rate_limited(site, browser):
    app = create_app(
        site.harness.factory,
        site.harness.settings,
        limiter=LoginLimiter(free=3, base=60),
    )
    with LiveApp(app) as live:
        context = browser.new_context()
        try:
            page = context.new_page()
            for _ in range(3):
                page.goto(live.url + "/login")
                page.get_by_label("Password").fill("guess")
                page.get_by_role("button", name="Log in").click()
                page.get_by_text("Wrong password.").wait_for()
            page.goto(live.url + "/login")
            page.get_by_label("Password").fill(PASSWORD)  # even the right one must wait
            with page.expect_response(lambda r: r.request.method == "POST") as posted:
                page.get_by_role("button", name="Log in").click()
            assert posted.value.status == 429
            page.get_by_text("Too many wrong passwords").wait_for()
        finally:
            context.close()


def test_without_a_password_only_health_and_metrics_answer(site, caplog, tmp_path):
    settings = make_settings(
        type(
            "Account",
            (),
            {"host": "127.0.0.1", "port": 1, "username": "x@example.com", "password": "p"},
        )(),
        sqlite_url(tmp_path),
    )
    with caplog.at_level(logging.WARNING, logger="mailwatch.web"):
        app = create_app(site.harness.factory, settings)
    assert "WEB_PASSWORD is empty" in caplog.text
    with LiveApp(app) as live:
        for path in ("/", "/login", "/drafts", f"/drafts/{site.ids['link']}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(live.url + path, timeout=5)
            assert refused.value.code == 503
        with urllib.request.urlopen(live.url + "/metrics", timeout=5) as response:
            assert response.status == 200
    with site.harness.factory() as session:
        assert session.scalar(select(Draft).where(Draft.id == site.ids["link"])) is not None


def test_conversation_page_close_and_reopen(site, context):
    thread_id = site.threads["prices"]
    page = logged_in_page(context, site)
    page.goto(f"{site.url}/threads/{thread_id}")
    page.get_by_text("Why so expensive?").first.wait_for()
    page.get_by_role("button", name="Close: no reply needed").click()
    page.get_by_text(f"Conversation {thread_id} closed").wait_for()
    assert page.url.endswith(f"/threads/{thread_id}")  # back where the form was
    page.get_by_role("button", name="Reopen").click()
    page.get_by_text(f"Conversation {thread_id} reopened").wait_for()
    assert page.get_by_role("button", name="Reopen").count() == 0


def test_an_uncertain_send_waits_in_the_queue_for_a_persons_decision(site, context):
    """Issue #16: a send whose outcome nobody could tell shows its evidence; the person marks
    it sent (nothing goes out) from the page."""
    draft_id = site.drafts.create("acknowledgment", site.threads["delivery"], NOW).draft["id"]
    evidence = "outcome uncertain: attempt 1 reached DATA; EVIDENCE-LINE"
    with site.harness.factory.begin() as session:
        row = session.get_one(Draft, draft_id)
        row.status, row.attempts, row.last_error = "uncertain", 1, evidence
        row.smtp_data_at = NOW
    before = len(site.smtp.received)
    page = logged_in_page(context, site)
    page.get_by_role("heading", name=re.compile("Sent or not")).wait_for()
    page.locator(f"#draft-{draft_id}").get_by_text("EVIDENCE-LINE").wait_for()
    page.goto(f"{site.url}/drafts/{draft_id}")
    page.get_by_role("button", name="It arrived: mark as sent").click()
    page.get_by_text(f"Draft {draft_id}: sent.").wait_for()
    after = site.draft(draft_id)
    assert after.status == "sent" and after.sent_at is not None
    assert "marked sent by a person" in (after.last_error or "")
    assert len(site.smtp.received) == before


def test_a_refused_action_answers_with_its_status_and_one_clear_line(site, context):
    """Issue #15: routes raise MailwatchError and one handler answers. A missing thread or
    draft is a 404 page; a form action the domain refuses (approving or rewriting a rejected
    draft, closing a thread that is gone) sends the person back with one flash line. Never a
    stack trace, and nothing changes or goes out."""
    page = logged_in_page(context, site)
    missing = 999_999

    thread = context.request.get(f"{site.url}/threads/{missing}", max_redirects=0)
    assert thread.status == 404
    assert thread.text().count(f"No conversation with id {missing}.") == 1
    assert "<h1>Not found</h1>" in thread.text() and "Traceback" not in thread.text()
    draft = context.request.get(f"{site.url}/drafts/{missing}", max_redirects=0)
    assert draft.status == 404 and draft.text().count(f"no draft with id {missing}") == 1

    page.goto(f"{site.url}/drafts")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    gone = context.request.post(
        f"{site.url}/drafts/{missing}",
        form={"csrf_token": token, "action": "approve"},
        max_redirects=0,
    )
    assert gone.status == 404 and gone.text().count(f"no draft with id {missing}") == 1

    closed = context.request.post(
        f"{site.url}/threads/{missing}/state",
        form={"csrf_token": token, "state": "closed", "back": "/threads"},
        max_redirects=0,
    )
    assert closed.status == 303 and closed.headers["location"] == "/threads"
    shown = context.request.get(site.url + "/threads")
    assert shown.text().count(f"Not changed: no thread with id {missing}") == 1

    draft_id = site.drafts.create("decline", site.threads["link"], NOW).draft["id"]
    site.drafts.reject(draft_id, NOW)
    before = len(site.smtp.received)
    approve = context.request.post(
        f"{site.url}/drafts/{draft_id}",
        form={"csrf_token": token, "action": "approve"},
        max_redirects=0,
    )
    assert approve.status == 303 and approve.headers["location"] == f"/drafts/{draft_id}"
    page.goto(f"{site.url}/drafts/{draft_id}")
    assert flash(page).inner_text() == (
        f"Not approved: draft {draft_id} is rejected; only a pending or failed one is approved"
    )
    assert page.locator(".flash").count() == 1
    rewrite = context.request.post(
        f"{site.url}/drafts/{draft_id}/regenerate",
        form={"csrf_token": token, "kind": "closing"},
    )
    assert rewrite.ok and rewrite.url.endswith(f"/drafts/{draft_id}")
    assert rewrite.text().count(f"Not rewritten: draft {draft_id} is rejected") == 1
    assert site.draft(draft_id).status == "rejected"
    assert len(site.smtp.received) == before
