"""The digest as plain text and HTML (Jinja templates), a PNG chart, and one email message.

The text and the HTML are ``templates/digest.txt.j2`` and ``templates/digest.html.j2``, both
rendered from the one :class:`~mailwatch.digest.data.Digest` (the terminal's rich tables in
mailwatch.digest.cli use the same data and the helpers below).

Incoming mail is untrusted: every value that reaches the HTML is escaped (autoescape, with
``html.escape`` so quotes are escaped too), the HTML uses inline CSS only and loads nothing
from outside (the chart is a ``cid:`` part of the same message), and the Subject is made of
counts only.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from jinja2.ext import Extension
from markupsafe import Markup

from mailwatch.digest.data import Digest
from mailwatch.digest.lines import (
    band_counts,
    drafts_more_line,
    full_list_url,
    kind_label,
    local_time,
    median_text,
    speaks,
    thread_refs,
    week_line,
    who_text,
)
from mailwatch.digest.links import public_base
from mailwatch.i18n import _, ngettext
from mailwatch.i18n import duration as business_duration

__all__ = [
    "CHART_CID_DOMAIN",
    "build_email",
    "render_chart",
    "render_html",
    "render_text",
    "week_line",
]

CHART_CID_DOMAIN = "digest.mailwatch"

# -- the templates ------------------------------------------------------------------------------


class OneLine(Extension):
    """The HTML template's lines are joined as it loads, indentation and line breaks dropped:
    the template reads as nested markup, the message stays one line of HTML as it always was.
    Only the template's source changes, never a value printed into it."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return "".join(line.strip() for line in source.splitlines())


def escaped(value: Any) -> Markup:
    """Every value printed into the HTML (the environment's ``finalize``): escaped as
    ``html.escape(quote=True)`` does (``&quot;``, ``&#x27;``), ``None`` as nothing. Markup the
    template made itself (a macro, a ``{% set %}`` block) is already safe and stays."""
    if isinstance(value, Markup):
        return value
    return Markup(escape("" if value is None else str(value), quote=True))


def nbsp_once(text: str) -> Markup:
    """``draft&nbsp;3``: the link's words stay on one line (its first space is a no-break one)."""
    return Markup(escape(text, quote=True).replace(" ", "&nbsp;", 1))


@functools.cache
def _environment(html: bool) -> Environment:
    """Jinja2 for the digest: StrictUndefined (a misspelt name fails, never prints nothing);
    HTML autoescaped; the text neither escaped nor reflowed (one template line, one line)."""
    if html:
        env = Environment(
            loader=PackageLoader("mailwatch.digest", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            finalize=escaped,
            extensions=[OneLine],
        )
        env.filters["nbsp_once"] = nbsp_once
    else:
        env = Environment(
            loader=PackageLoader("mailwatch.digest", "templates"),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # the HTML writes these as markup of its own (the ``who`` macro, the band list)
        env.globals.update(who=who_text, bands=band_counts, thread_ids=thread_refs)
    # The catalog of the digest's language (``@speaks`` sets it); ``pybabel extract`` reads
    # these calls from the templates too (babel.cfg), so the msgids are the code's.
    env.globals.update(
        _=_,
        ngettext=ngettext,
        duration=business_duration,
        local=local_time,
        kind_label=kind_label,
        week_line=week_line,
        full_list_url=full_list_url,
        drafts_more_line=drafts_more_line,
    )
    return env


def _template(name: str) -> Template:
    return _environment(name.endswith(".html.j2")).get_template(name)


@speaks
def render_text(digest: Digest, queue_url: str | None = None) -> str:
    return _template("digest.txt.j2").render(digest=digest, queue_url=queue_url)


@speaks
def render_html(digest: Digest, chart_cid: str | None = None, queue_url: str | None = None) -> str:
    """The digest as one HTML document; ``chart_cid`` embeds the chart as ``cid:...``."""
    return _template("digest.html.j2").render(
        digest=digest, chart_cid=chart_cid, queue_url=queue_url
    )


# -- the chart ----------------------------------------------------------------------------------


def _font(size: int) -> Any:
    from PIL import ImageFont  # lazy: Pillow costs ~20 ms the text digest and --print never need

    # DejaVu Sans (Debian's default font) has Cyrillic and Romanian letters; Pillow's built-in
    # font has Latin only, so a Russian chart would show boxes without it.
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


GOOD, WORSE, OVER_SLA = "#1b7a3a", "#d97706", "#c81e1e"


def bar_colours(values: Sequence[int | None], sla: int) -> list[str]:
    """A bar's colour says how that week went: over the SLA red; within it, the slower of the
    two weeks amber and the faster (or an equal one) green. Never the worse week in green."""
    known = [v for v in values if v is not None]
    best = min(known) if known else None
    colours = []
    for value in values:
        if value is None:
            colours.append(GOOD)
        elif value > sla:
            colours.append(OVER_SLA)
        elif len(known) > 1 and value != best:
            colours.append(WORSE)
        else:
            colours.append(GOOD)
    return colours


@speaks
def render_chart(digest: Digest, width: int = 560, height: int = 220) -> bytes:
    """A PNG bar chart: median first response last week against this week, with the SLA.

    Pillow is imported here: the terminal digest and the CLI's start-up do not need it."""
    from PIL import Image, ImageDraw  # lazy: ~20 ms (python -X importtime) only sending needs

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    small, label = _font(12), _font(14)
    draw.text((12, 8), _("Median first response (business time)"), fill="#1f2933", font=label)
    weeks = [digest.last_week, digest.this_week]
    values = [w.median_first_response_business_minutes for w in weeks]
    sla = digest.reply_sla_minutes
    top = max([v or 0 for v in values] + [sla, 1])
    base_y, chart_top = height - 44, 54
    span = base_y - chart_top
    bar_w = 120
    colours = bar_colours(values, sla)
    for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
        x0 = 90 + index * 220
        if value is not None:
            bar_h = max(2, round(span * value / top))
            draw.rectangle((x0, base_y - bar_h, x0 + bar_w, base_y), fill=colours[index])
            text_y = base_y - bar_h - 18
        else:
            text_y = base_y - 18
        draw.text((x0 + 4, text_y), median_text(week), fill="#1f2933", font=label)
        caption = (
            f"{week.label} (" + ngettext("%(num)d thread", "%(num)d threads", week.threads) + ")"
        )
        draw.text((x0, base_y + 8), caption, fill="#52606d", font=small)
    draw.line((86, base_y, width - 20, base_y), fill="#cbd2d9", width=1)
    sla_y = base_y - round(span * sla / top)
    for x in range(86, width - 20, 12):
        draw.line((x, sla_y, min(x + 6, width - 20), sla_y), fill="#e12d39", width=1)
    draw.text(
        (8, sla_y - 17), _("SLA %(sla)s", sla=business_duration(sla)), fill="#e12d39", font=small
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# -- the message --------------------------------------------------------------------------------


@speaks
def build_email(
    digest: Digest,
    settings: Any,
    from_addr: str,
    to: str | Sequence[str],
    *,
    date: datetime | None = None,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (text/html + image/png).

    ``settings`` gives the web page's address (``WEB_BIND``) for the approval-queue link.
    """
    queue_url = (
        f"{public_base(getattr(settings, 'public_url', ''), settings.web_bind)}/drafts"
        if getattr(settings, "web_bind", "")
        else None
    )
    recipients = [to] if isinstance(to, str) else list(to)
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or CHART_CID_DOMAIN
    chart_cid = make_msgid(idstring="chart", domain=CHART_CID_DOMAIN)[1:-1]
    message = EmailMessage()
    message["Subject"] = digest.subject_line()
    message["From"] = from_addr
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = make_msgid(idstring="digest", domain=domain)
    # Automatic mail: no out-of-office answers to it, and mailwatch never tracks it as a client's.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["X-Mailwatch"] = "digest"
    message.set_content(render_text(digest, queue_url), subtype="plain", charset="utf-8")
    message.add_alternative(
        render_html(digest, chart_cid, queue_url), subtype="html", charset="utf-8"
    )
    html_part = list(message.iter_parts())[1]
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        render_chart(digest),
        maintype="image",
        subtype="png",
        cid=f"<{chart_cid}>",
        filename="response-times.png",
        disposition="inline",
    )
    return message
