"""The approval pages as one Starlette app: the routes list, the middleware and the error
handlers. The pages themselves live in :mod:`mailwatch.web.routes`, one module per family.

Server-rendered HTML; every action is a plain ``<form method="post">`` answered with a redirect
to a page that shows a flash message (POST/redirect/GET), so everything works without
JavaScript. htmx (vendored, ``hx-boost``) only makes the same links and forms swap the page
without a full reload.

Errors: a route raises a :class:`~mailwatch.errors.MailwatchError` and never catches it; the
one handler here answers. A form action that declared :func:`~mailwatch.web.pages.on_refusal`
sends the person back with one flash line (POST/redirect/GET); anything else is the error page
with the error's HTTP status and its ``user_line``. An unexpected exception (a bug) is the plain
500 page, without a stack trace; the log has the details.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.resources import files

from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from mailwatch.config import Settings
from mailwatch.errors import MailwatchError, NotFound
from mailwatch.i18n import UI_LANGUAGES, _, best_language, current, use_language
from mailwatch.web.pages import LANGUAGE_COOKIE, Pages, Refused, refusal_of
from mailwatch.web.routes import auth, drafts, promises, threads
from mailwatch.web.routes import settings as settings_routes
from mailwatch.web.security import (
    LoginLimiter,
    PasswordCheck,
    SessionMiddleware,
    SessionStore,
    password_binding,
)

log = logging.getLogger("mailwatch.web")


def routes(pages: Pages) -> list[BaseRoute]:
    """Every URL of the site and the guard in front of it (login; or origin, size, CSRF)."""
    page, form = pages.page, pages.form
    return [
        Route("/", pages.open_page(auth.home)),
        Route("/login", pages.open_page(auth.login_page), methods=["GET"]),
        Route("/login", form(auth.login, auth=False), methods=["POST"]),
        Route("/logout", form(auth.logout, auth=False), methods=["POST"]),
        Route("/drafts", page(drafts.queue)),
        Route("/backlog/draft", form(drafts.backlog_draft), methods=["POST"]),
        # digest links open one draft without a login: the route checks the link or the login
        Route("/drafts/{draft_id:int}", pages.open_page(drafts.draft_page), methods=["GET"]),
        Route("/drafts/{draft_id:int}", form(drafts.draft_action), methods=["POST"]),
        Route("/drafts/{draft_id:int}/regenerate", form(drafts.regenerate), methods=["POST"]),
        Route("/threads", page(threads.threads)),
        Route("/threads/{thread_id:int}", page(threads.thread_page)),
        Route("/threads/{thread_id:int}/draft", form(threads.thread_draft), methods=["POST"]),
        Route("/threads/{thread_id:int}/state", form(threads.thread_state), methods=["POST"]),
        Route("/promises/{promise_id:int}/kept", form(promises.promise_kept), methods=["POST"]),
        Route("/promises/{promise_id:int}/move", form(promises.promise_move), methods=["POST"]),
        Route("/settings", page(settings_routes.settings_page)),
        Route("/favicon.ico", favicon),
        Route("/language", form(settings_routes.set_language, auth=False), methods=["POST"]),
        Mount("/static", app=StaticFiles(packages=[("mailwatch.web", "static")]), name="static"),
    ]


async def favicon(request: Request) -> Response:
    """The tab's icon, without a login (browsers ask for /favicon.ico on every page)."""
    data = files("mailwatch.web").joinpath("static", "favicon.ico").read_bytes()
    return Response(
        data, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


# -- errors ------------------------------------------------------------------------------------


def error_title(error: MailwatchError) -> str:
    """The error page's heading, in the interface language."""
    if isinstance(error, Refused):
        return error.title
    if error.http_status == 404:
        return _("Not found")
    if error.http_status >= 500:
        return _("Something went wrong")
    return _("Refused")


def error_handler(pages: Pages) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The one place a :class:`MailwatchError` of the pages becomes an answer."""

    async def mailwatch_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, MailwatchError):  # registered for MailwatchError only
            raise exc
        refusal = refusal_of(request)
        if refusal is not None and not isinstance(exc, (Refused, NotFound)):
            wording, back = refusal
            log.info("web: %s refused: %s", request.url.path, exc.user_line)
            pages.flash(request, "error", _(wording, error=exc.user_line))
            return RedirectResponse(back, 303)
        if exc.http_status >= 500:
            log.error("web: %s failed: %s", request.url.path, exc.user_line)
        # user_line is written for the person (and the log): no secret, no stack trace
        return pages.render(
            request,
            "error.html",
            status=exc.http_status,
            title=error_title(exc),
            text=exc.user_line,
        )

    return mailwatch_error


async def server_error(request: Request, exc: Exception) -> Response:
    """Any other exception: a plain page (no template that could fail too), no stack trace."""
    return HTMLResponse(
        f"<!doctype html><html lang={current()}><meta charset=utf-8>"
        + "<title>"
        + escape(_("Error"))
        + " · mailwatch</title>"
        '<link rel="stylesheet" href="/static/style.css"><main><h1>'
        + escape(_("Something went wrong"))
        + "</h1><p>"
        + escape(_("Nothing more was done; the service's log has the details."))
        + ' <a href="/drafts">'
        + escape(_("Back to the approval queue"))
        + "</a></p></main>",
        status_code=500,
    )


# -- the language ------------------------------------------------------------------------------


def request_language(cookie: str | None, setting: str | None, accept: str | None) -> str:
    """The page's language: the switch (cookie), else UI_LANGUAGE, else the browser's
    Accept-Language, else English."""
    if cookie in UI_LANGUAGES:
        return cookie
    if setting:
        setting = setting.strip().lower()
        if setting in UI_LANGUAGES:
            return setting
    return best_language(accept) or "en"


class LanguageMiddleware:
    """Sets the interface language for the whole request (mailwatch.i18n's context variable)."""

    def __init__(self, app: ASGIApp, setting: str | None = None) -> None:
        self.app = app
        self.setting = setting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        language = request_language(
            conn.cookies.get(LANGUAGE_COOKIE),
            self.setting,
            conn.headers.get("accept-language"),
        )
        with use_language(language):
            await self.app(scope, receive, send)


# -- building the app --------------------------------------------------------------------------


def pages_app(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    limiter: LoginLimiter | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette | None:
    """The pages as an ASGI app, or None (logged) when ``WEB_PASSWORD`` is empty."""
    password = settings.web_password.reveal()
    if not password:
        log.warning(
            "WEB_PASSWORD is empty: the approval web page is OFF (only /healthz and /metrics "
            "answer); set MAILWATCH_WEB_PASSWORD to use it"
        )
        return None
    secret = settings.web_secret.reveal()
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.warning(
            "WEB_SECRET is empty: web logins are signed with a random key of this process and end "
            "when mailwatch restarts, and the digest's links cannot be checked (set "
            "MAILWATCH_WEB_SECRET to a long random value)"
        )
    check = PasswordCheck(password)
    binding = password_binding(secret, password)
    del password
    sessions = SessionStore(factory, binding)
    pages = Pages(
        factory,
        settings,
        check,
        clock=clock or (lambda: datetime.now(UTC)),
        limiter=limiter,
        sessions=sessions,
    )
    return Starlette(
        routes=routes(pages),
        middleware=[
            Middleware(LanguageMiddleware, setting=settings.mailboxes[0].raw.get("UI_LANGUAGE")),
            Middleware(SessionMiddleware, secret=secret, binding=binding, store=sessions),
        ],
        exception_handlers={MailwatchError: error_handler(pages), 500: server_error},
    )
