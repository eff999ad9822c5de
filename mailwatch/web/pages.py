"""What every page of the approval site shares: the request's context, rendering, the login
and form guards, and the web's own refusal (:class:`Refused`).

The route modules in :mod:`mailwatch.web.routes` are plain ``async`` functions taking a
:class:`Pages` and the request (and the checked form); they raise a
:class:`~mailwatch.errors.MailwatchError` when something cannot be done and never catch it:
the one handler in :mod:`mailwatch.web.app` turns it into the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, urlsplit

from jinja2 import Environment
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mailwatch.config import Settings
from mailwatch.core.timefmt import zone_name
from mailwatch.drafts.service import DraftService
from mailwatch.errors import MailwatchError
from mailwatch.i18n import LANGUAGE_NAMES, N_, _, current
from mailwatch.views.context import View
from mailwatch.web.render import template_env
from mailwatch.web.security import (
    LoginLimiter,
    PasswordCheck,
    SessionStore,
    csrf_ok,
    csrf_token,
    same_origin,
)

log = logging.getLogger("mailwatch.web")

MAX_FORM_BYTES = 256 * 1024  # a draft is a few KB; nothing legitimate comes near this
MAX_BODY_CHARS = 100_000
FIRST_PAGE = 20  # rows per section before "show all" (the digest lists as many)
KIND_LABELS = {
    "acknowledgment": N_("acknowledgment"),
    "decline": N_("decline"),
    "renegotiation": N_("renegotiation"),
    "follow_up": N_("follow-up"),
    "closing": N_("closing"),
    "clarify": N_("questions"),
}
LANGUAGE_COOKIE = "mailwatch_lang"  # the page's language switch; not a secret, no session

PageHandler = Callable[["Pages", Request], Awaitable[Response]]
FormHandler = Callable[["Pages", Request, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
P = ParamSpec("P")
T = TypeVar("T")


class Refused(MailwatchError):
    """The web's own refusal (a foreign form, a stale token, an unknown kind, a bad link):
    an error page with this status, title and text. Both are translated where raised."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text, http_status=status)
        self.title, self.text = title, text


def safe_next(value: str | None, default: str = "/drafts") -> str:
    """A local path to go to after login; anything else (other sites, ``//host``) -> default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def form_back(form: FormData, default: str) -> str:
    """The page a form came from (its ``back`` field; the Referer is never sent)."""
    back = form.get("back")
    return safe_next(back if isinstance(back, str) else None, default)


def on_refusal(request: Request, wording: str, back: str) -> None:
    """Declares how this form action answers when the domain refuses it (a draft that is no
    longer pending, a thread that is gone): the person goes back to ``back`` and reads one
    flash line, ``wording`` (an ``N_``-marked text with ``%(error)s``) with the error's line.
    The exception handler in :mod:`mailwatch.web.app` reads it; without it, an error page."""
    request.state.refusal = (wording, back)


def refusal_of(request: Request) -> tuple[str, str] | None:
    """What :func:`on_refusal` declared for this request, if anything."""
    value = getattr(request.state, "refusal", None)
    return value if isinstance(value, tuple) else None


def with_article(noun: str) -> str:
    """``an acknowledgment``, ``a decline``: the article English wants before ``noun``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def kind_word(kind: str) -> str:
    """A draft kind as the page names it, in the interface language."""
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def a_kind(kind: str) -> str:
    """The start of "An acknowledgment draft ...": English needs its article; the other
    catalogs build the sentence around the bare word."""
    if current() == "en":
        return with_article(kind_word(kind)).capitalize()
    return kind_word(kind)


class Pages:
    """The site's shared state and the plumbing every route uses."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        password: PasswordCheck,
        *,
        clock: Callable[[], datetime],
        limiter: LoginLimiter | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.password = password
        self.limiter = limiter or LoginLimiter()
        self.sessions = sessions
        self.clock = clock
        self.drafts = DraftService(factory, settings)
        self.view = View.of(settings)
        self.tz = settings.calendar.tz
        self.env: Environment = template_env()

    @staticmethod
    def logged_in(request: Request) -> bool:
        return request.session.get("auth") is True

    @staticmethod
    def flash(request: Request, level: str, text: str) -> None:
        items = list(request.session.get("flash") or [])[-4:]
        items.append([level, text[:1000]])
        request.session["flash"] = items

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        flashes = request.session.pop("flash", None) or []
        context.setdefault("nav", "")
        html = self.env.get_template(template).render(
            request=request,
            csrf=csrf_token(request.session),
            logged_in=self.logged_in(request),
            flashes=flashes,
            kinds={kind: _(text) for kind, text in KIND_LABELS.items()},
            zone=zone_name(self.tz),
            lang=current(),
            languages=LANGUAGE_NAMES,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def to_login(self, request: Request, back: str | None = None) -> RedirectResponse:
        target = back if back is not None else str(request.url.path)
        return RedirectResponse(f"/login?next={quote(safe_next(target), safe='/')}", 303)

    async def call(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Runs blocking work (the database, scrypt, SMTP) off the event loop."""
        return await asyncio.to_thread(func, *args, **kwargs)

    # -- the guards: every route goes through one of them ----------------------------------------

    def page(self, handler: PageHandler) -> Endpoint:
        """A page for logged-in users; others are sent to the login page."""

        async def endpoint(request: Request) -> Response:
            if not self.logged_in(request):
                return self.to_login(request)
            return await handler(self, request)

        return endpoint

    def open_page(self, handler: PageHandler) -> Endpoint:
        """A page that decides about the login itself (the login page, digest links)."""

        async def endpoint(request: Request) -> Response:
            return await handler(self, request)

        return endpoint

    def form(self, handler: FormHandler, *, auth: bool = True) -> Endpoint:
        """A form target: same origin, a sane size, the session's CSRF token, then the login."""

        async def endpoint(request: Request) -> Response:
            if not same_origin(
                request.headers.get("origin"),
                request.headers.get("host"),
                request.headers.get("sec-fetch-site"),
            ):
                raise Refused(403, _("Refused"), _("This form was sent from another site."))
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                raise Refused(411, _("Refused"), _("The form came without a Content-Length."))
            if int(length) > MAX_FORM_BYTES:
                raise Refused(413, _("Too large"), _("The form is too large."))
            form = await request.form(max_files=0, max_fields=50, max_part_size=MAX_FORM_BYTES)
            if auth and not self.logged_in(request):  # nothing happens: to the login
                self.flash(request, "error", _("Your login has ended; log in again."))
                return self.to_login(request, back=form_back(form, "/drafts"))
            if not csrf_ok(request.session, form.get("csrf_token")):
                log.warning(
                    "web: refused a POST to %s without a valid CSRF token", request.url.path
                )
                raise Refused(
                    403,
                    _("Refused: the form's security token is missing or stale"),
                    _("Nothing was changed. Reload the page and try again."),
                )
            return await handler(self, request, form)

        return endpoint
