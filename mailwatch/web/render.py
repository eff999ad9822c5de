"""Showing mail safely, and the small formatting the templates need.

Mail is hostile input. What the store keeps of a message is text (the sync turns an HTML part
into text), so it is shown escaped, as text, in a ``white-space: pre-wrap`` block. When a stored
body still is HTML (an HTML part whose text kept its markup), it goes through nh3 with a short
allow-list first: no scripts, no event handlers, no styles, no images (a remote image is a
read-receipt for the sender), links only to http(s)/mailto and opened with
``rel="noopener noreferrer nofollow"``. The page's Content-Security-Policy is the second wall.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import nh3
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from mailwatch import i18n
from mailwatch.digest.data import SIGN_LABELS
from mailwatch.i18n_text import finding_code, finding_text, reason_text

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_HTML_HINT = re.compile(
    r"<\s*(html|body|div|p|br|table|span|a|b|i|strong|em|ul|ol|li|h[1-6]|blockquote|img|"
    r"script|style|iframe|svg|font)\b",
    re.IGNORECASE,
)


def sanitize_html(markup: str) -> Markup:
    """nh3 with the allow-list above; the result is safe to put into a page as it is."""
    cleaned = nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "svg"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)


def looks_like_html(text: str, content_type: str) -> bool:
    return "html" in (content_type or "").lower() and bool(_HTML_HINT.search(text))


def message_body(text: str, content_type: str = "text/plain") -> Markup:
    """A stored message body as safe markup: sanitized HTML, or escaped text."""
    if looks_like_html(text, content_type):
        return sanitize_html(text)
    return escape(text)


def age(then: datetime | str | None, now: datetime) -> str:
    """``5 min``, ``3 h``, ``2 d``: how long ago (in the interface language)."""
    if then is None:
        return "—"
    if isinstance(then, str):
        then = datetime.fromisoformat(then)
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 3600:
        return i18n.gettext("%(num)d min", num=max(1, seconds // 60))
    if seconds < 48 * 3600:
        return i18n.gettext("%(num)d h", num=seconds // 3600)
    return i18n.gettext("%(num)d d", num=seconds // 86400)


def local_time(value: datetime | str | None, tz: Any) -> str:
    """``2026-11-23 14:05`` in the team's time zone (the one clock: core.timefmt), or Babel's
    date and time to the minute in the other interface languages."""
    return i18n.datetime_text(value, tz)


def business_minutes(value: int | None) -> str:
    if not value:
        return i18n.gettext("%(num)d min", num=0)
    hours, minutes = divmod(int(value), 60)
    if hours and minutes:
        return i18n.gettext("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    if hours:
        return i18n.gettext("%(num)d h", num=hours)
    return i18n.gettext("%(num)d min", num=minutes)


def sign_label(kind: str | None) -> str:
    """A warning sign's name in the interface language (its kind stays English in JSON)."""
    if kind in SIGN_LABELS:
        return i18n.gettext(SIGN_LABELS[kind])
    return (kind or i18n.gettext("sign")).replace("_", " ")


def template_env() -> Environment:
    """Jinja2 with autoescaping everywhere; templates ship inside the package."""
    env = Environment(
        loader=PackageLoader("mailwatch.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # gettext with the request's language (mailwatch.i18n's context variable); newstyle: the
    # template's %(name)s values are escaped, and {% trans %} blocks are trimmed as extracted.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: i18n.translations(i18n.current()).gettext(message),
        ngettext=lambda one, many, n: i18n.translations(i18n.current()).ngettext(one, many, n),
        pgettext=lambda context, message: i18n.translations(i18n.current()).pgettext(
            context, message
        ),
        newstyle=True,
    )
    env.globals["label"] = i18n.label
    env.globals["sign_label"] = sign_label
    env.filters["finding"] = finding_text
    env.filters["check_name"] = finding_code
    env.filters["reason"] = reason_text
    env.filters["message_body"] = message_body
    env.filters["business_minutes"] = business_minutes
    return env
