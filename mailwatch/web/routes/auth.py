"""The login and the logout (a new session at each login, revoked server-side at logout)."""

from __future__ import annotations

import logging
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailwatch.i18n import _
from mailwatch.web.pages import Pages, safe_next

log = logging.getLogger("mailwatch.web")


async def home(pages: Pages, request: Request) -> Response:
    return RedirectResponse("/drafts" if pages.logged_in(request) else "/login", 303)


async def login_page(pages: Pages, request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if pages.logged_in(request):
        return RedirectResponse(target, 303)
    return pages.render(request, "login.html", next=target, title=_("Log in"))


async def login(pages: Pages, request: Request, form: FormData) -> Response:
    client = request.client.host if request.client else "unknown"
    target = safe_next(str(form.get("next") or ""))
    wait = pages.limiter.retry_after(client)
    if wait:
        log.warning("web: login attempts from %s are paused for %d s", client, wait)
        response = pages.render(
            request,
            "login.html",
            status=429,
            next=target,
            title=_("Log in"),
            problem=_(
                "Too many wrong passwords. Wait %(seconds)d seconds, then try again.",
                seconds=wait,
            ),
        )
        response.headers["retry-after"] = str(wait)
        return response
    attempt = str(form.get("password") or "")
    if not await pages.call(pages.password.verify, attempt):
        pages.limiter.failed(client)
        log.warning("web: wrong password from %s", client)
        return pages.render(
            request,
            "login.html",
            status=401,
            next=target,
            title=_("Log in"),
            problem=_("Wrong password."),
        )
    pages.limiter.succeeded(client)
    old_sid = request.session.get("sid")
    request.session.clear()  # a new session: nothing from before the login carries over
    if pages.sessions is not None:
        await pages.call(pages.sessions.revoke, old_sid)
        request.session["sid"] = await pages.call(pages.sessions.create)
    request.session["auth"] = True
    request.session["csrf"] = secrets.token_urlsafe(32)
    log.info("web: logged in from %s", client)
    pages.flash(request, "ok", _("Logged in."))
    return RedirectResponse(target, 303)


async def logout(pages: Pages, request: Request, form: FormData) -> Response:
    if pages.sessions is not None:  # server side too: a copied cookie dies with it
        await pages.call(pages.sessions.revoke, request.session.get("sid"))
    request.session.clear()
    request.session["flash"] = [["ok", _("Logged out.")]]
    return RedirectResponse("/login", 303)
