"""The digest on a phone: at 390 px nothing is wider than the screen (Debian's Chromium)."""

from __future__ import annotations

from dataclasses import replace

from mailwatch.digest.render import render_chart, render_html
from tests.unit.test_digest_render import make_digest


def test_the_digest_reads_well_at_390_px(browser, tmp_path):
    digest = make_digest()
    long_subject = "Re: Quotation Q-2291 pallet racking for QuickBuild warehouse extension " * 2
    digest = replace(
        digest,
        overdue=[
            replace(o, subject=long_subject, client_email="procurement.department@verylong.example")
            for o in digest.overdue
        ],
    )
    (tmp_path / "chart.png").write_bytes(render_chart(digest))
    html = render_html(digest, chart_cid="chart").replace("cid:chart", "chart.png")
    page_file = tmp_path / "digest.html"
    page_file.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        page.wait_for_function("document.images.length && document.images[0].complete")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the digest is {width} px wide on a 390 px screen"
        image_width = page.evaluate("document.images[0].getBoundingClientRect().width")
        assert 300 <= image_width <= 390  # the chart scales down, and is still there
        text = page.locator("body").inner_text()
        assert "as of 2026-11-23 12:00 UTC" in text  # minutes, the zone named once
        page.screenshot(path=str(tmp_path / "digest-390.png"), full_page=True)
    finally:
        context.close()
