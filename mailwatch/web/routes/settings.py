"""The settings page (every setting in force, secrets masked, and the workers) and the
page's language switch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailwatch.config import SETTINGS, Setting, Settings, mask_url
from mailwatch.i18n import UI_LANGUAGES, _
from mailwatch.web import reads
from mailwatch.web.pages import LANGUAGE_COOKIE, Pages, Refused, form_back


def _words(text: str) -> str:
    """A string of the settings table (marked ``N_`` in config) in the interface language;
    an empty one stays empty (gettext("") is the catalog's header)."""
    return _(text) if text else ""


def setting_help(setting: Setting) -> str:
    """What a setting is for, and what it takes, in the interface language."""
    return f"{_words(setting.help)} ({_words(setting.type)})"


async def settings_page(pages: Pages, request: Request) -> Response:
    return pages.render(
        request,
        "settings.html",
        nav="settings",
        title=_("Settings"),
        general=settings_rows(pages.settings),
        mailboxes=mailbox_rows(pages.settings),
        help={s.key: setting_help(s) for s in SETTINGS},
        workers=await pages.call(reads.workers, pages.factory),
    )


async def set_language(pages: Pages, request: Request, form: FormData) -> Response:
    """The page's language switch: a cookie for a year (a plain form, CSRF-checked)."""
    language = str(form.get("language") or "")
    if language not in UI_LANGUAGES:
        raise Refused(
            400,
            _("Unknown language"),
            _("%(language)r is not offered.", language=language[:20]),
        )
    response = RedirectResponse(form_back(form, "/drafts"), 303)
    response.set_cookie(
        LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax"
    )
    return response


# -- the settings page's rows ------------------------------------------------------------------


def _secret(value: Any) -> str:
    return _("set (hidden)") if value else _("not set")


def _minutes(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0:
        return _("%(num)d h", num=seconds // 3600)
    if seconds % 60 == 0:
        return _("%(num)d min", num=seconds // 60)
    return _("%(num)d s", num=seconds)


def _shown(setting: Setting, raw: Mapping[str, str], values: Mapping[str, Any]) -> str:
    """What the page says for one setting: the text in force, its unit, and whether default."""
    if setting.secret:
        return _secret(raw.get(setting.key) or values.get(setting.key))
    if setting.key in raw:
        text, note = raw[setting.key], ""
    elif setting.default:
        text, note = setting.default, " (" + _("default") + ")"
    else:
        value = values.get(setting.key)
        if value is None or value == "" or value == frozenset() or value == ():
            return "—"
        text = _minutes(value) if isinstance(value, timedelta) else str(value)
        note = (
            f" ({_words(setting.default_note)})"
            if setting.default_note
            else " (" + _("default") + ")"
        )
    if setting.key == "DATABASE_URL":
        text = mask_url(text)
    unit = f" {_words(setting.unit)}" if setting.unit else ""
    return f"{text}{unit}{note}"


def settings_rows(settings: Settings) -> list[tuple[str, str]]:
    """Every global setting of the table in force, secrets masked (the database URL's too)."""
    return [
        (s.key, _shown(s, settings.raw, settings.values)) for s in SETTINGS if s.scope == "global"
    ]


def mailbox_rows(settings: Settings) -> list[dict[str, Any]]:
    """Every per-mailbox setting of the table, for each mailbox."""
    result = []
    for mailbox in settings.mailboxes:
        rows = [
            (s.key, _shown(s, mailbox.raw, mailbox.values))
            for s in SETTINGS
            if s.scope == "mailbox"
        ]
        result.append({"name": mailbox.name, "prefix": mailbox.env_prefix, "rows": rows})
    return result
