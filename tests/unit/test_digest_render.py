"""Rendering the digest: text, HTML (escaped, self-contained), the PNG chart, the email."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from PIL import Image
from rich.console import Console

from mailwatch.cli.digest_text import print_digest
from mailwatch.config import settings_from_values
from mailwatch.digest.data import (
    AgeBand,
    Digest,
    DraftItem,
    OverdueThread,
    PromiseItem,
    SignItem,
    SyncHealth,
    WarningClient,
    WeekFigures,
)
from mailwatch.digest.render import (
    GOOD,
    OVER_SLA,
    WORSE,
    _environment,
    bar_colours,
    build_email,
    render_chart,
    render_html,
    render_text,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "digest"
HOSTILE = '<script>alert("x")</script> & <img src=http://evil.test/p.png onerror=boom()>'


def week(label: str, median: int | None, threads: int) -> WeekFigures:
    return WeekFigures(
        label, "2026-11-23T00:00:00+00:00", "2026-11-23T12:00:00+00:00", median, threads, 0
    )


def make_digest(alerts: bool = False, empty: bool = False) -> Digest:
    sync = [
        SyncHealth(
            "main",
            "auth_error" if alerts else "ok",
            "2026-11-23T11:50:00+00:00",
            "login refused <b>" if alerts else None,
            None,
            10,
            "main: login problem: login refused <b>" if alerts else "main: OK",
        )
    ]
    overdue = [
        OverdueThread(
            thread_id=7,
            mailbox="main",
            client_name="Mallory <b>Evil</b>",
            client_email="mallory@client.test",
            subject=HOSTILE,
            waiting_since="2026-11-20T10:00:00+00:00",
            reply_due_at="2026-11-20T14:00:00+00:00",
            waiting_business_minutes=660,
            overdue_business_minutes=420,
            wait="11h 00m",
            snippet="[bold red]not markup[/] \"quoted\" <iframe src='x'>",
            warning_signs=["price_pressure"],
        )
    ]
    drafts = [
        DraftItem(
            id=3,
            kind="acknowledgment",
            thread_id=7,
            language="en",
            client_name="Mallory",
            client_email="mallory@client.test",
            subject="Re: " + HOSTILE,
            created_at="2026-11-23T10:00:00+00:00",
            age_minutes=120,
            age="2h 00m",
            link='http://127.0.0.1:8025/drafts/3?t=abc"><script>',
        )
    ]
    promise = PromiseItem(
        id=1,
        thread_id=7,
        text="send <the> offer",
        due_at="2026-11-24T18:00:00+00:00",
        status="open",
        source="detected",
        client_name="Mallory",
        client_email="mallory@client.test",
        subject=HOSTILE,
        business_minutes_left=900,
        when="due in 15h 00m",
    )
    signs = [SignItem("price_pressure", "pushes on price", "why so <expensive>", 7)]
    clients = [WarningClient("Mallory", "mallory@client.test", [7], [HOSTILE], signs)]
    return Digest(
        generated_at="2026-11-23T12:00:00+00:00",
        timezone="UTC",
        reply_sla_minutes=240,
        sync=sync,
        alerts=[sync[0].line] if alerts else [],
        overdue=[] if empty else overdue,
        drafts=[] if empty else drafts,
        promises_due=[] if empty else [promise],
        promises_missed=[],
        warning_clients=[] if empty else clients,
        this_week=week("this week", None if empty else 30, 0 if empty else 1),
        last_week=week("last week", None if empty else 95, 0 if empty else 4),
    )


def settings():
    return settings_from_values(
        {"MAILWATCH_IMAP_HOST": "imap.example.com", "MAILWATCH_IMAP_USERNAME": "sales@example.com"}
    )


def test_html_escapes_everything_from_mail():
    html = render_html(make_digest(alerts=True), chart_cid="chart.1@digest.mailwatch")
    assert "<script" not in html.lower()
    assert "<iframe" not in html.lower()
    assert "<b>" not in html and "<img src=http" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in html
    assert "Mallory &lt;b&gt;Evil&lt;/b&gt;" in html
    assert "why so &lt;expensive&gt;" in html
    # The link's quote cannot close the attribute.
    assert 'href="http://127.0.0.1:8025/drafts/3?t=abc&quot;&gt;&lt;script&gt;"' in html


def test_html_is_self_contained_with_inline_css():
    html = render_html(make_digest(), chart_cid="chart.1@digest.mailwatch")
    assert "<style" not in html.lower() and "<link" not in html.lower()
    assert "url(" not in html.lower()
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources == ["cid:chart.1@digest.mailwatch"]
    assert "<script" not in html.lower()


def test_sync_problem_comes_first():
    digest = make_digest(alerts=True)
    html = render_html(digest)
    assert html.index("Sync problem") < html.index("Overdue")
    text = render_text(digest)
    assert text.index("SYNC PROBLEMS") < text.index("OVERDUE")
    assert digest.subject_line().startswith("mailwatch digest: SYNC PROBLEM")


def test_text_part_holds_every_section():
    text = render_text(make_digest(), queue_url="http://127.0.0.1:8025/drafts")
    assert "11h 00m waiting  Mallory <b>Evil</b> <mallory@client.test>" in text
    assert HOSTILE in text  # plain text needs no escaping
    assert "draft 3 (acknowledgment, 2h 00m old)" in text
    assert "due in 15h 00m" in text
    assert 'pushes on price: "why so <expensive>"' in text
    assert "this week: median first response 30m over 1 thread" in text
    assert "last week: median first response 1h 35m over 4 threads" in text
    assert "Approval queue: http://127.0.0.1:8025/drafts" in text


def test_chart_is_a_png_pillow_can_read():
    for digest in (make_digest(), make_digest(empty=True)):
        png = render_chart(digest)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG" and image.size == (560, 220)
        # The bars are drawn: the image is not a blank canvas.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 2


def test_email_structure_alternative_text_related_html_png():
    message = build_email(
        make_digest(), settings(), "Sales <sales@example.com>", ["boss@example.com"]
    )
    assert message.get_content_type() == "multipart/alternative"
    text, related = list(message.iter_parts())
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, png = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert png.get_content_type() == "image/png"
    cid = png["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert png.get_content_disposition() == "inline"
    Image.open(io.BytesIO(png.get_content())).load()
    assert message["Subject"] == (
        "mailwatch digest: 1 overdue, 1 draft to approve, 1 promise due soon"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == "boss@example.com"
    # Round trip through bytes, as a server would receive it.
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("html",))
    assert body is not None and "&lt;script&gt;" in body.get_content()
    assert "http://127.0.0.1:8025/drafts" in parsed.get_body(("plain",)).get_content()


def test_subject_never_carries_mail_content():
    message = build_email(make_digest(), settings(), "sales@example.com", "boss@example.com")
    subject = str(message["Subject"])
    assert "<" not in subject and "\n" not in subject and "Mallory" not in subject


def test_terminal_print_does_not_interpret_markup():
    console = Console(record=True, width=200, color_system=None)
    print_digest(make_digest(alerts=True), console)
    out = console.export_text()
    assert "[bold red]not markup[/]" in out
    assert "Mallory <b>Evil</b>" in out
    assert "SYNC PROBLEM" in out
    assert "11h 00m" in out and "draft" in out and "pushes on price" in out


def test_the_worse_week_is_never_painted_good():
    # [last week, this week] medians against a 240-minute SLA
    assert bar_colours([95, 30], 240) == [WORSE, GOOD]  # this week faster: it is the green one
    assert bar_colours([30, 95], 240) == [GOOD, WORSE]  # this week slower: amber, not green
    assert bar_colours([30, 300], 240) == [GOOD, OVER_SLA]
    assert bar_colours([60, 60], 240) == [GOOD, GOOD]
    assert bar_colours([None, 300], 240)[1] == OVER_SLA


def test_the_chart_shows_the_slower_week_in_the_warning_colour():
    digest = make_digest()  # last week 95 min over 4 threads, this week 30 min
    image = Image.open(io.BytesIO(render_chart(digest))).convert("RGB")
    colours = {image.getpixel((x, image.height - 50)) for x in range(90, 460)}

    def rgb(hex_colour: str) -> tuple[int, int, int]:
        return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]

    assert rgb(WORSE) in colours and rgb(GOOD) in colours
    left_bar = image.getpixel((150, image.height - 50))  # last week's bar (the slower one)
    assert left_bar == rgb(WORSE)


def every_section(hostile: str) -> Digest:
    """Every section filled, mail text in each: job problems, backlog, the age bands, a missed
    promise, an uncertain draft, a sync line."""
    base = make_digest(alerts=True)
    missed = replace(base.promises_due[0], id=2, text=hostile, when="missed, due 2026-11-20 18:00")
    return replace(
        base,
        job_problems=[f"sync: failed: {hostile}"],
        backlog=f"37 threads waiting: {hostile}",
        overdue_total=25,
        overdue_bands=[AgeBand("under 1 day", 3), AgeBand("1-7 days", 0), AgeBand(hostile, 21)],
        promises_missed=[missed],
        drafts=[*base.drafts, replace(base.drafts[0], id=4, status="uncertain", kind=hostile)],
        sync=[*base.sync, replace(base.sync[0], status="gap", line=f"b: gap {hostile}")],
        this_week=replace(base.this_week, label=hostile),
    )


def test_html_escapes_mail_text_in_every_section():
    html = render_html(every_section(HOSTILE), "c@d", "http://127.0.0.1:8025/drafts")
    assert "<script" not in html.lower() and "<img src=http" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;"
    for where in ("Failing jobs", "Backlog", "longest waits are listed", "Sync"):
        assert where in html
    assert html.count(escaped) >= 10
    assert "draft&nbsp;4" in html and "uncertain: sent or not? decide" in html
    assert 'href="http://127.0.0.1:8025/threads?show=all#overdue-h"' in html


def test_text_lists_the_summary_and_flags_on_their_lines():
    text = render_text(every_section("x"), "http://127.0.0.1:8025/drafts")
    lines = text.splitlines()
    assert "  ... and 24 more. All 25 by age: under 1 day: 3, x: 21" in lines
    assert "  full list: `mailwatch threads --state overdue`" in lines
    assert "  or http://127.0.0.1:8025/threads?show=all#overdue-h" in lines
    assert (
        "  draft 4 (x, 2h 00m old) to Mallory <mallory@client.test> "
        "UNCERTAIN: sent or not? decide on the page"
    ) in lines
    assert (
        "PROMISES MISSED (1)" in lines
        and "  promise 2 missed, due 2026-11-20 18:00, thread #7" in lines
    )
    assert text.endswith("\n\nApproval queue: http://127.0.0.1:8025/drafts\n")
    assert "\n\n\n" not in text


@pytest.mark.parametrize("html", [True, False])
def test_a_misspelt_name_in_a_template_fails(html: bool):
    """StrictUndefined: a name the data lacks stops the digest instead of printing nothing."""
    with pytest.raises(UndefinedError):
        _environment(html).from_string("{{ digest.overdue_cuont }}").render(digest=make_digest())


# The text part as the hand-written renderer wrote it before the templates: every line, every
# blank line between the sections, and the final newline are the contract.
TEXT_BEFORE_THE_TEMPLATES = """\
mailwatch digest: 1 overdue, 1 draft to approve, 1 promise due soon
as of 2026-11-23 12:00 UTC (all times)

OVERDUE (1), longest wait first, business time
  #7  11h 00m waiting  Mallory <b>Evil</b> <mallory@client.test>
      <script>alert("x")</script> & <img src=http://evil.test/p.png onerror=boom()>
      > [bold red]not markup[/] "quoted" <iframe src='x'>

DRAFTS TO APPROVE (1)
  draft 3 (acknowledgment, 2h 00m old) to Mallory <mallory@client.test>
      Re: <script>alert("x")</script> & <img src=http://evil.test/p.png onerror=boom()>
      http://127.0.0.1:8025/drafts/3?t=abc"><script>

PROMISES DUE SOON (1)
  promise 1 due in 15h 00m (2026-11-24 18:00), thread #7
      Mallory <mallory@client.test>: send <the> offer

WARNING SIGNS (1)
  Mallory <mallory@client.test> (threads #7)
      pushes on price: "why so <expensive>"

RESPONSE TIMES (business time)
  this week: median first response 30m over 1 thread
  last week: median first response 1h 35m over 4 threads

SYNC
  main: OK

Approval queue: http://127.0.0.1:8025/drafts
"""


def test_the_text_part_is_the_same_line_for_line():
    text = render_text(make_digest(), queue_url="http://127.0.0.1:8025/drafts")
    assert text == TEXT_BEFORE_THE_TEMPLATES


def test_the_html_part_is_the_same_byte_for_byte():
    """tests/data/digest/every-section-en.html is what the hand-written renderer made of
    ``every_section(HOSTILE)`` before the templates (one line, every value escaped). When the
    design changes on purpose, write the new file from ``render_html`` and review its diff."""
    html = render_html(
        every_section(HOSTILE), "chart.1@digest.mailwatch", "http://127.0.0.1:8025/drafts"
    )
    assert html == (DATA / "every-section-en.html").read_text(encoding="utf-8")
