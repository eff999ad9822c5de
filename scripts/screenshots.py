"""Screenshots of the approval web page, with the demo's sample mail, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

What it does: starts the demo's embedded IMAP server (pymap, in memory), loads the sample
conversations of ``mailwatch demo``, syncs and tracks them into a throw-away SQLite database,
writes a few drafts (acknowledgments, a decline for the client showing warning signs, a
renegotiation of the open promise), serves the real web app on a free loopback port and has
Chromium (headless, through Playwright) log in and photograph the queue, a draft, the
threads and promises page and the settings page, each at desktop and at phone width.
Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_site(workdir: Path) -> tuple[Any, Any, dict[str, int]]:
    """Sync the demo's sample mail and write drafts; returns (settings, factory, page ids)."""
    from mailwatch.config import settings_from_values
    from mailwatch.demo import (
        DEMO_PASSWORD,
        DEMO_TIMEZONE,
        DEMO_USER,
        EmbeddedImapServer,
        demo_values,
        load_samples,
    )
    from mailwatch.drafts.service import DraftError, DraftService
    from mailwatch.store.db import make_engine, session_factory, upgrade
    from mailwatch.store.mail import MailStore
    from mailwatch.sync.engine import MailboxSync
    from mailwatch.track.tracker import Tracker
    from mailwatch.views.context import View
    from mailwatch.views.promises import list_promises
    from mailwatch.views.threads import list_threads

    now = datetime.now(UTC)
    with EmbeddedImapServer() as imap:
        load_samples(imap.host, imap.port, DEMO_USER, DEMO_PASSWORD, now, ZoneInfo(DEMO_TIMEZONE))
        values = demo_values(imap.port, workdir)
        values["MAILWATCH_WEB_PASSWORD"] = PASSWORD
        values["MAILWATCH_WEB_SECRET"] = "screenshots-secret-0123456789abcdef"
        values["MAILWATCH_SMTP_HOST"] = "smtp.example.com"
        values["MAILWATCH_SMTP_SECURITY"] = "starttls"
        values["MAILWATCH_SMTP_PORT"] = "587"
        settings = settings_from_values(values)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        factory = session_factory(engine)
        store = MailStore(factory, settings.own_addresses, settings.thread_subject_window)
        syncer = MailboxSync(settings, settings.mailboxes[0], store)
        try:
            syncer.sync_once()
        finally:
            syncer.close()
    Tracker(factory, settings).refresh()

    drafts = DraftService(factory, settings)
    ids: dict[str, int] = {}
    with factory() as session:
        waiting = list_threads(session, now, "awaiting_us", View.of(settings))
        promises = [
            p
            for p in list_promises(session, now, View.of(settings))
            if p.status in ("open", "missed")
        ]
    for row in waiting:
        kind = "decline" if row.warning_signs else "acknowledgment"
        try:
            created = drafts.create(kind, row.id, now - timedelta(minutes=40))
        except DraftError:
            continue
        ids.setdefault("draft", int(created.draft["id"]))
    for promise in promises[:1]:
        if promise.thread_id is None:
            continue  # a promise outside a conversation: nothing to renegotiate in
        due = promise.due_at
        with contextlib.suppress(DraftError):
            drafts.create(
                "renegotiation",
                promise.thread_id,
                now,
                promise_id=promise.id,
                new_date=settings.calendar.end_of_business_day(
                    settings.calendar.next_business_day(due.date())
                ),
            )
    return settings, factory, ids


def serve(app: Any) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from mailwatch.service.web import create_app

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailwatch-shots-") as tmp:
        settings, factory, ids = sample_site(Path(tmp))
        server, thread, url = serve(create_app(factory, settings))
        pages = {
            "queue": "/drafts",
            "draft": f"/drafts/{ids.get('draft', 1)}",
            "threads": "/threads",
            "settings": "/settings",
        }
        written = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
                )
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        is_mobile=size == "phone",
                    )
                    page = context.new_page()
                    page.goto(url + "/login")
                    if size == "desktop":
                        path = args.out / "login-desktop.png"
                        page.screenshot(path=str(path))
                        written.append(path)
                    page.get_by_label("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.wait_for_url(url + "/drafts")
                    for name, target in pages.items():
                        page.goto(url + target)
                        page.wait_for_load_state("networkidle")
                        path = args.out / f"{name}-{size}.png"
                        page.screenshot(path=str(path), full_page=True)
                        written.append(path)
                    context.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
