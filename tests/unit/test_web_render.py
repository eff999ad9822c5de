"""Showing hostile mail safely: nh3 for HTML, escaping for text; the templates ship and escape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from mailwatch.web.render import (
    age,
    business_minutes,
    message_body,
    sanitize_html,
    template_env,
)

HOSTILE = (
    "<p>Hello <b>team</b></p><script>alert(1)</script><style>body{display:none}</style>"
    '<img src="https://tracker.test/p.gif" onerror="alert(2)">'
    '<a href="javascript:alert(3)" onclick="alert(4)">x</a>'
    '<a href="https://example.com/offer">offer</a>'
    '<iframe src="https://evil.test"></iframe><svg onload="alert(5)"><circle/></svg>'
    '<div style="position:fixed" onmouseover="alert(6)">box</div>'
    '<form action="https://evil.test"><input name="p"></form>'
)


def test_sanitize_html_keeps_text_and_drops_everything_active():
    clean = str(sanitize_html(HOSTILE))
    assert "<p>Hello <b>team</b></p>" in clean
    assert "offer</a>" in clean and 'href="https://example.com/offer"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    for bad in (
        "<script",
        "alert(1)",
        "<style",
        "<img",
        "tracker.test",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "<svg",
        "onload",
        "style=",
        "onmouseover",
        "<form",
        "<input",
    ):
        assert bad not in clean, bad


def test_message_body_escapes_text_and_sanitizes_html():
    text = "Use <script>alert(1)</script> and <b>bold</b>\n-- \nJohn <john@client.test>"
    shown = str(message_body(text, "text/plain"))
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "&lt;john@client.test&gt;" in shown  # text stays text
    html = str(message_body(HOSTILE, "text/html; charset=utf-8"))
    assert "<p>Hello <b>team</b></p>" in html and "<script" not in html
    # HTML-part text without markup is just escaped text.
    assert str(message_body("a < b & c", "text/html")) == "a &lt; b &amp; c"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=5), "1 min"),
        (timedelta(minutes=42), "42 min"),
        (timedelta(hours=5), "5 h"),
        (timedelta(hours=47), "47 h"),
        (timedelta(days=3, hours=1), "3 d"),
    ],
)
def test_age(delta, expected):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert age(now - delta, now) == expected
    assert age((now - delta).isoformat(), now) == expected
    assert age(None, now) == "—"


def test_business_minutes():
    assert business_minutes(None) == "0 min"
    assert business_minutes(45) == "45 min"
    assert business_minutes(120) == "2 h"
    assert business_minutes(135) == "2 h 15 min"


def test_templates_and_static_files_ship_inside_the_package():
    static = resources.files("mailwatch.web") / "static"
    for name in ("style.css", "htmx.min.js", "htmx.LICENSE.txt"):
        assert (static / name).is_file(), name
    assert "htmx" in (static / "htmx.min.js").read_text()[:200]
    env = template_env()
    for name in ("base.html", "login.html", "queue.html", "draft.html", "threads.html"):
        source = env.loader.get_source(env, name)[0]  # type: ignore[union-attr]
        assert "http://" not in source and "https://" not in source, name  # nothing external
        assert "<script>" not in source and "style=" not in source, name  # CSP: no inline


def test_templates_autoescape():
    env = template_env()
    html = env.get_template("error.html").render(
        title="<script>alert(1)</script>", text="<img src=x onerror=alert(2)>", logged_in=False
    )
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
