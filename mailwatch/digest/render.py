"""The digest as plain text, as HTML with an inline chart, and as one email message.

Incoming mail is untrusted: every value that reaches the HTML is escaped, the HTML uses inline
CSS only and loads nothing from outside (the chart is a ``cid:`` part of the same message),
and the Subject is made of counts only.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape
from typing import Any, TypeVar

from mailwatch.digest.data import FULL_LIST_PATH, Digest, WeekFigures
from mailwatch.i18n import _, datetime_text, ngettext, use_language
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

F = TypeVar("F", bound=Callable[..., Any])


def speaks(func: F) -> F:
    """Run ``func(digest, ...)`` in the digest's language (``Digest.language``)."""

    @functools.wraps(func)
    def wrapper(digest: Digest, *args: Any, **kwargs: Any) -> Any:
        with use_language(digest.language):
            return func(digest, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _local(value: str | None, digest: Digest) -> str:
    """A time for people: the digest's zone, to the minute (the zone is named at the top), as
    the digest's language writes dates (English: ``2026-11-23 14:05``)."""
    from zoneinfo import ZoneInfo

    return datetime_text(value, ZoneInfo(digest.timezone))


def _who(name: str | None, email: str | None) -> str:
    if name and email:
        return f"{name} <{email}>"
    return name or email or _("(unknown)")


def _median(week: WeekFigures) -> str:
    value = week.median_first_response_business_minutes
    return business_duration(value) if value is not None else _("no replies")


def week_line(week: WeekFigures) -> str:
    extra = (
        ngettext(", %(num)d still unanswered", ", %(num)d still unanswered", week.unanswered)
        if week.unanswered
        else ""
    )
    if not week.threads:
        return _("%(week)s: no first responses", week=week.label) + extra
    return (
        ngettext(
            "%(week)s: median first response %(median)s over %(num)d thread",
            "%(week)s: median first response %(median)s over %(num)d threads",
            week.threads,
            week=week.label,
            median=_median(week),
        )
        + extra
    )


# -- plain text ---------------------------------------------------------------------------------


def full_list_url(queue_url: str | None) -> str | None:
    """The web page listing every overdue thread, next to the approval queue's address."""
    if not queue_url:
        return None
    return queue_url.rsplit("/drafts", 1)[0] + FULL_LIST_PATH


@speaks
def overdue_summary_lines(digest: Digest, queue_url: str | None) -> list[str]:
    """When more threads are overdue than listed: all of them by age, and where to see them."""
    if not digest.overdue_more:
        return []
    bands = ", ".join(f"{b.label}: {b.count}" for b in digest.overdue_bands if b.count)
    lines = [
        "  "
        + _(
            "... and %(more)d more. All %(total)d by age: %(bands)s",
            more=digest.overdue_more,
            total=digest.overdue_count,
            bands=bands,
        )
    ]
    lines.append("  " + _("full list: `%(command)s`", command=digest.full_list_command))
    url = full_list_url(queue_url)
    if url:
        lines.append("  " + _("or %(url)s", url=url))
    return lines


def kind_label(kind: str) -> str:
    """A draft kind for people (the identifier stays English in JSON)."""
    from mailwatch.i18n import DRAFT_KIND_LABELS

    return _(DRAFT_KIND_LABELS[kind]) if kind in DRAFT_KIND_LABELS else kind


@speaks
def render_text(digest: Digest, queue_url: str | None = None) -> str:
    none = "  " + _("none")
    out: list[str] = [
        digest.subject_line(),
        _("as of %(when)s (all times)", when=digest.as_of),
        "",
    ]
    if digest.alerts:
        out.append("!! " + _("SYNC PROBLEMS"))
        out += [f"  {line}" for line in digest.alerts]
        out.append("")
    if digest.job_problems:
        out.append("!! " + _("FAILING JOBS"))
        out += [f"  {line}" for line in digest.job_problems]
        out.append("")
    if digest.backlog:
        out += [_("BACKLOG"), f"  {digest.backlog}", ""]

    out.append(_("OVERDUE (%(num)d), longest wait first, business time", num=digest.overdue_count))
    if digest.overdue_more:
        out.append("  " + _("the %(num)d longest waits:", num=len(digest.overdue)))
    for t in digest.overdue:
        who = _who(t.client_name, t.client_email)
        out.append(f"  #{t.thread_id}  " + _("%(wait)s waiting", wait=t.wait) + f"  {who}")
        out.append(f"      {t.subject}")
        if t.snippet:
            out.append(f"      > {t.snippet}")
    if not digest.overdue:
        out.append(none)
    out += overdue_summary_lines(digest, queue_url)
    out.append("")

    out.append(_("DRAFTS TO APPROVE (%(num)d)", num=len(digest.drafts)))
    for d in digest.drafts:
        flag = (
            " " + _("UNCERTAIN: sent or not? decide on the page") if d.status == "uncertain" else ""
        )
        out.append(
            "  "
            + _(
                "draft %(id)d (%(kind)s, %(age)s old) to %(who)s",
                id=d.id,
                kind=kind_label(d.kind),
                age=d.age,
                who=_who(d.client_name, d.client_email),
            )
            + flag
        )
        out.append(f"      {d.subject}")
        out.append(f"      {d.link}")
    if not digest.drafts:
        out.append(none)
    out.append("")

    out.append(_("PROMISES DUE SOON (%(num)d)", num=len(digest.promises_due)))
    for p in digest.promises_due:
        out.append(
            "  "
            + _(
                "promise %(id)d %(when)s (%(due)s), thread #%(thread)s",
                id=p.id,
                when=p.when,
                due=_local(p.due_at, digest),
                thread=p.thread_id,
            )
        )
        out.append(f"      {_who(p.client_name, p.client_email)}: {p.text}")
    if not digest.promises_due:
        out.append(none)
    if digest.promises_missed:
        out.append(_("PROMISES MISSED (%(num)d)", num=len(digest.promises_missed)))
        for p in digest.promises_missed:
            out.append(
                "  "
                + _(
                    "promise %(id)d %(when)s, thread #%(thread)s",
                    id=p.id,
                    when=p.when,
                    thread=p.thread_id,
                )
            )
            out.append(f"      {_who(p.client_name, p.client_email)}: {p.text}")
    out.append("")

    out.append(_("WARNING SIGNS (%(num)d)", num=digest.warning_count))
    for c in digest.warning_clients:
        threads = ", ".join(f"#{tid}" for tid in c.thread_ids)
        who = _who(c.client_name, c.client_email)
        out.append(f"  {who} (" + _("threads %(ids)s", ids=threads) + ")")
        for s in c.signs:
            out.append(f'      {s.label}: "{s.evidence}"')
    if not digest.warning_clients:
        out.append(none)
    out.append("")

    out.append(_("RESPONSE TIMES (business time)"))
    out.append(f"  {week_line(digest.this_week)}")
    out.append(f"  {week_line(digest.last_week)}")
    out.append("")
    out.append(_("SYNC"))
    out += [f"  {s.line}" for s in digest.sync] or ["  " + _("no mailbox configured")]
    if queue_url:
        out += ["", _("Approval queue: %(url)s", url=queue_url)]
    return "\n".join(out) + "\n"


# -- HTML ---------------------------------------------------------------------------------------

_FONT = "font-family:Arial,Helvetica,sans-serif;"
_TD = (
    "padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top;font-size:14px;"
    "overflow-wrap:break-word;"
)
_TH = (
    "padding:6px 8px;border-bottom:2px solid #cbd2d9;text-align:left;font-size:12px;"
    "color:#52606d;text-transform:uppercase;"
)
_MUTED = "color:#7b8794;font-size:13px;"
_LONG = "overflow-wrap:anywhere;"  # text from mail (a URL, a code) may break anywhere on a phone


def e(value: Any) -> str:
    """HTML-escape anything (quotes too), ``None`` as empty."""
    return escape("" if value is None else str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``rows`` hold already-escaped HTML."""
    head = "".join(f'<th style="{_TH}">{e(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_TD}">{cell}</td>' for cell in row) + "</tr>" for row in rows
    )
    return (
        '<table role="presentation" cellspacing="0" cellpadding="0" '
        f'style="border-collapse:collapse;width:100%;margin:4px 0 12px 0;">'
        f"<tr>{head}</tr>{body}</table>"
    )


def _section(title: str, count: int | None, inner: str) -> str:
    suffix = f" ({count})" if count is not None else ""
    return (
        f'<h2 style="{_FONT}font-size:17px;margin:22px 0 6px 0;color:#1f2933;">'
        f"{e(title)}{e(suffix)}</h2>{inner}"
    )


def _none() -> str:
    return f'<p style="{_MUTED}margin:4px 0;">' + e(_("none")) + "</p>"


def _who_html(name: str | None, email: str | None) -> str:
    parts = []
    if name:
        parts.append(f"<strong>{e(name)}</strong>")
    if email:  # an address may break anywhere: a long one must not widen a phone's screen
        parts.append(f'<span style="{_MUTED}{_LONG}">{e(email)}</span>')
    return "<br>".join(parts) or e(_("(unknown)"))


@speaks
def render_html(digest: Digest, chart_cid: str | None = None, queue_url: str | None = None) -> str:
    """The digest as one HTML document; ``chart_cid`` embeds the chart as ``cid:...``."""
    parts: list[str] = []
    parts.append(
        f'<h1 style="{_FONT}font-size:22px;margin:0 0 4px 0;">' + e(_("mailwatch digest")) + "</h1>"
        f'<p style="{_MUTED}margin:0 0 12px 0;">'
        + e(
            _(
                "as of %(when)s (all times), reply SLA %(sla)s",
                when=digest.as_of,
                sla=business_duration(digest.reply_sla_minutes),
            )
        )
        + "</p>"
    )
    if digest.alerts:
        items = "".join(f'<li style="margin:2px 0;">{e(line)}</li>' for line in digest.alerts)
        parts.append(
            '<div style="background:#ffe3e3;border:1px solid #e12d39;border-radius:4px;'
            f'padding:10px 14px;margin:0 0 12px 0;{_FONT}color:#8a041a;">'
            + "<strong>"
            + e(_("Sync problem"))
            + f'</strong><ul style="margin:6px 0 0 18px;padding:0;">{items}</ul></div>'
        )
    if digest.job_problems:
        items = "".join(f'<li style="margin:2px 0;">{e(line)}</li>' for line in digest.job_problems)
        parts.append(
            '<div style="background:#ffe3e3;border:1px solid #e12d39;border-radius:4px;'
            f'padding:10px 14px;margin:0 0 12px 0;{_FONT}color:#8a041a;">'
            + "<strong>"
            + e(_("Failing jobs"))
            + f'</strong><ul style="margin:6px 0 0 18px;padding:0;">{items}</ul></div>'
        )
    if digest.backlog:
        parts.append(
            '<div style="background:#fff8e1;border:1px solid #f0b429;border-radius:4px;'
            f'padding:10px 14px;margin:0 0 12px 0;{_FONT}color:#513c06;">'
            + "<strong>"
            + e(_("Backlog"))
            + f'</strong><p style="margin:6px 0 0 0;">{e(digest.backlog)}</p></div>'
        )

    rows = []
    for t in digest.overdue:
        snippet = (
            f'<div style="{_MUTED}{_LONG}margin-top:3px;">{e(t.snippet)}</div>' if t.snippet else ""
        )
        rows.append(
            [
                f'<strong style="color:#c81e1e;white-space:nowrap;">{e(t.wait)}</strong><br>'
                f'<span style="{_MUTED}">' + e(_("thread #%(id)s", id=t.thread_id)) + "</span>",
                _who_html(t.client_name, t.client_email),
                f'<div style="{_LONG}min-width:8em;">{e(t.subject)}</div>{snippet}',
            ]
        )
    more = ""
    if digest.overdue_more:
        bands = "".join(
            f'<li style="margin:2px 0;">{e(b.label)}: <strong>{e(b.count)}</strong></li>'
            for b in digest.overdue_bands
            if b.count
        )
        url = full_list_url(queue_url)
        link = (
            " "
            + e(_("or"))
            + f' <a href="{e(url)}" style="color:#2563eb;">'
            + e(_("open the full list"))
            + "</a>"
            if url
            else ""
        )
        listed = _(
            "The %(listed)d longest waits are listed; %(more)d more are overdue. "
            "All %(total)d by how long the client has waited:",
            listed=len(digest.overdue),
            more=digest.overdue_more,
            total=digest.overdue_count,
        )
        more = (
            f'<p style="{_FONT}font-size:14px;margin:8px 0 2px 0;">{e(listed)}</p>'
            f'<ul style="{_FONT}font-size:14px;margin:2px 0 6px 18px;padding:0;">{bands}</ul>'
            f'<p style="{_MUTED}margin:2px 0;">' + e(_("Full list:")) + " "
            f"<code>{e(digest.full_list_command)}</code>{link}</p>"
        )
    parts.append(
        _section(
            _("Overdue"),
            digest.overdue_count,
            (_table([_("waiting"), _("client"), _("subject")], rows) if rows else _none()) + more,
        )
    )

    rows = [
        [
            f'<a href="{e(d.link)}" style="color:#2563eb;">'
            + e(_("draft %(id)d", id=d.id)).replace(" ", "&nbsp;", 1)
            + "</a><br>"
            + f'<span style="{_MUTED}">{e(kind_label(d.kind))}, '
            + f'<span style="white-space:nowrap;">{e(d.age)}</span></span>'
            + (
                '<br><strong style="color:#b91c1c;">'
                + e(_("uncertain: sent or not? decide"))
                + "</strong>"
                if d.status == "uncertain"
                else ""
            ),
            _who_html(d.client_name, d.client_email),
            f'<div style="{_LONG}min-width:8em;">{e(d.subject)}</div>',
        ]
        for d in digest.drafts
    ]
    parts.append(
        _section(
            _("Drafts to approve"),
            len(digest.drafts),
            _table([_("draft, age"), _("to"), _("subject")], rows) if rows else _none(),
        )
    )

    rows = [
        [
            f'<span style="color:#b45309;">{e(p.when)}</span><br>'
            f'<span style="{_MUTED}">{e(_local(p.due_at, digest))}</span>',
            _who_html(p.client_name, p.client_email),
            f'<span style="{_LONG}">{e(p.text)}</span><br>'
            f'<span style="{_MUTED}{_LONG}">{e(p.subject)} #{e(p.thread_id)}</span>',
        ]
        for p in digest.promises_due
    ]
    rows += [
        [
            f'<strong style="color:#c81e1e;">{e(p.when)}</strong>',
            _who_html(p.client_name, p.client_email),
            f'<span style="{_LONG}">{e(p.text)}</span><br>'
            f'<span style="{_MUTED}{_LONG}">{e(p.subject)} #{e(p.thread_id)}</span>',
        ]
        for p in digest.promises_missed
    ]
    parts.append(
        _section(
            _("Promises due soon or missed"),
            len(digest.promises_due) + len(digest.promises_missed),
            _table([_("when"), _("client"), _("promise")], rows) if rows else _none(),
        )
    )

    rows = []
    for c in digest.warning_clients:
        signs = "".join(
            f'<div style="margin:2px 0;"><strong>{e(s.label)}</strong>: '
            f'<span style="font-style:italic;">&ldquo;{e(s.evidence)}&rdquo;</span> '
            f'<span style="{_MUTED}">#{e(s.thread_id)}</span></div>'
            for s in c.signs
        )
        rows.append([_who_html(c.client_name, c.client_email), signs])
    parts.append(
        _section(
            _("Clients showing warning signs"),
            digest.warning_count,
            _table([_("client"), _("signs and evidence")], rows) if rows else _none(),
        )
    )

    weeks = "".join(
        f'<p style="margin:3px 0;font-size:14px;">{e(week_line(w))}</p>'
        for w in (digest.this_week, digest.last_week)
    )
    chart = (
        f'<img src="cid:{e(chart_cid)}" width="560" height="220" '
        + 'alt="'
        + e(_("median first response: this week and last week"))
        + '" '
        'style="display:block;margin:8px 0;border:0;width:100%;max-width:560px;height:auto;">'
        if chart_cid
        else ""
    )
    parts.append(_section(_("Response times (business time)"), None, weeks + chart))

    sync = "".join(
        f'<p style="margin:3px 0;font-size:13px;color:{"#c81e1e" if s.problem else "#52606d"};">'
        f"{e(s.line)}</p>"
        for s in digest.sync
    )
    parts.append(_section(_("Sync"), None, sync or _none()))
    if queue_url:
        parts.append(
            f'<p style="{_MUTED}margin:18px 0 0 0;">' + e(_("Approval queue:")) + " "
            f'<a href="{e(queue_url)}" style="color:#2563eb;">{e(queue_url)}</a></p>'
        )

    title = e(digest.subject_line())
    # On a phone (390 px) nothing may be wider than the screen: the chart scales down, long
    # words wrap, and the frame keeps its padding small (inline CSS only: mail clients strip
    # <style>).
    return (
        f'<!DOCTYPE html><html lang="{e(digest.language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>"
        f'<body style="margin:0;padding:6px;background:#f5f7fa;{_FONT}color:#1f2933;">'
        '<div style="max-width:760px;margin:0 auto;background:#ffffff;padding:16px 12px;'
        'border-radius:6px;border:1px solid #e4e7eb;box-sizing:border-box;">'
        + "".join(parts)
        + "</div></body></html>"
    )


# -- the chart ----------------------------------------------------------------------------------


def _font(size: int) -> Any:
    from PIL import ImageFont

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
    from PIL import Image, ImageDraw

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
        draw.text((x0 + 4, text_y), _median(week), fill="#1f2933", font=label)
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
    from mailwatch.digest.links import public_base

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
