"""The approval pages: queue, draft, threads and promises, settings, behind a login.

Server-rendered HTML; every action is a plain ``<form method="post">`` answered with a redirect
to a page that shows a flash message (POST/redirect/GET), so everything works without
JavaScript. htmx (vendored, ``hx-boost``) only makes the same links and forms swap the page
without a full reload.

Digest links (``/drafts/{id}?t=<token>``): a valid, unexpired token lets the browser that opens
it *see* that one draft and its conversation without logging in; approving, editing or
rejecting always needs the login, and no GET ever changes anything. A tampered or expired
token is refused with 403, logged in or not.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mailwatch.config import SETTINGS, Setting, Settings, mask_url
from mailwatch.core.timefmt import zone_name
from mailwatch.digest.links import verify_draft_token
from mailwatch.drafts.service import DraftError, DraftService
from mailwatch.i18n import (
    LANGUAGE_NAMES,
    N_,
    UI_LANGUAGES,
    _,
    best_language,
    current,
    label,
    ngettext,
    use_language,
)
from mailwatch.i18n_text import finding_text, passed_word
from mailwatch.store.models import Message, Thread
from mailwatch.track.actions import ActionError, mark_promise_done, set_thread_state
from mailwatch.views.context import View
from mailwatch.views.promises import list_promises
from mailwatch.views.threads import list_threads, overdue_summary, waiting_page
from mailwatch.web.render import age, local_time, looks_like_html, template_env
from mailwatch.web.security import (
    LoginLimiter,
    PasswordCheck,
    SessionMiddleware,
    SessionStore,
    csrf_ok,
    csrf_token,
    password_binding,
    same_origin,
)

log = logging.getLogger("mailwatch.web")

MAX_FORM_BYTES = 256 * 1024  # a draft is a few KB; nothing legitimate comes near this
MAX_BODY_CHARS = 100_000
FIRST_PAGE = 20  # rows per section before "show all" (the digest lists as many)
REGENERATE_KINDS = ("decline", "acknowledgment", "closing", "clarify")
THREAD_DRAFT_KINDS = ("acknowledgment", "decline", "follow_up", "closing", "clarify")
KIND_LABELS = {
    "acknowledgment": N_("acknowledgment"),
    "decline": N_("decline"),
    "renegotiation": N_("renegotiation"),
    "follow_up": N_("follow-up"),
    "closing": N_("closing"),
    "clarify": N_("questions"),
}
LANGUAGE_COOKIE = "mailwatch_lang"  # the page's language switch; not a secret, no session

Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """Ends a request with an error page (status, title, text)."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(text)
        self.status, self.title, self.text = status, title, text


def safe_next(value: str | None, default: str = "/drafts") -> str:
    """A local path to go to after login; anything else (other sites, ``//host``) -> default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


class WebPages:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        password: PasswordCheck,
        limiter: LoginLimiter | None = None,
        clock: Callable[[], datetime] | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.password = password
        self.limiter = limiter or LoginLimiter()
        self.sessions = sessions
        self.clock = clock or (lambda: datetime.now(UTC))
        self.drafts = DraftService(factory, settings)
        self.view = View.of(settings)
        self.tz = settings.calendar.tz
        self.env = template_env()

    # -- plumbing --------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.home),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.post(self.login, auth=False), methods=["POST"]),
            Route("/logout", self.post(self.logout, auth=False), methods=["POST"]),
            Route("/drafts", self.get(self.queue)),
            Route("/backlog/draft", self.post(self.backlog_draft), methods=["POST"]),
            Route("/drafts/{draft_id:int}", self.draft_page, methods=["GET"]),
            Route("/drafts/{draft_id:int}", self.post(self.draft_action), methods=["POST"]),
            Route(
                "/drafts/{draft_id:int}/regenerate", self.post(self.regenerate), methods=["POST"]
            ),
            Route("/threads", self.get(self.threads)),
            Route("/threads/{thread_id:int}", self.get(self.thread_page)),
            Route("/threads/{thread_id:int}/draft", self.post(self.thread_draft), methods=["POST"]),
            Route("/threads/{thread_id:int}/state", self.post(self.thread_state), methods=["POST"]),
            Route(
                "/promises/{promise_id:int}/kept", self.post(self.promise_kept), methods=["POST"]
            ),
            Route(
                "/promises/{promise_id:int}/move", self.post(self.promise_move), methods=["POST"]
            ),
            Route("/settings", self.get(self.settings_page)),
            Route("/favicon.ico", self.favicon),
            Route("/language", self.post(self.set_language, auth=False), methods=["POST"]),
            Mount(
                "/static", app=StaticFiles(packages=[("mailwatch.web", "static")]), name="static"
            ),
        ]

    @staticmethod
    async def favicon(request: Request) -> Response:
        """The tab's icon, without a login (browsers ask for /favicon.ico on every page)."""
        from importlib.resources import files

        data = files("mailwatch.web").joinpath("static", "favicon.ico").read_bytes()
        return Response(
            data,
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

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

    def error(self, request: Request, refused: Refused) -> HTMLResponse:
        response = self.render(
            request, "error.html", status=refused.status, title=refused.title, text=refused.text
        )
        return response

    def to_login(self, request: Request, back: str | None = None) -> RedirectResponse:
        target = back if back is not None else str(request.url.path)
        return RedirectResponse(f"/login?next={quote(safe_next(target), safe='/')}", 303)

    def get(self, handler: Handler) -> Handler:
        """A page for logged-in users; others are sent to the login page."""

        async def endpoint(request: Request) -> Response:
            if not self.logged_in(request):
                return self.to_login(request)
            try:
                return await handler(request)
            except Refused as refused:
                return self.error(request, refused)

        return endpoint

    def post(
        self, handler: Callable[[Request, FormData], Awaitable[Response]], *, auth: bool = True
    ) -> Handler:
        """A form target: same origin, a sane size, the session's CSRF token, then the login."""

        async def endpoint(request: Request) -> Response:
            try:
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
                    return self.to_login(request, back=self._back(form, "/drafts"))
                if not csrf_ok(request.session, form.get("csrf_token")):
                    log.warning(
                        "web: refused a POST to %s without a valid CSRF token", request.url.path
                    )
                    raise Refused(
                        403,
                        _("Refused: the form's security token is missing or stale"),
                        _("Nothing was changed. Reload the page and try again."),
                    )
                return await handler(request, form)
            except Refused as refused:
                return self.error(request, refused)

        return endpoint

    async def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(func, *args, **kwargs)

    # -- login -----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/drafts" if self.logged_in(request) else "/login", 303)

    async def login_page(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if self.logged_in(request):
            return RedirectResponse(target, 303)
        return self.render(request, "login.html", next=target, title=_("Log in"))

    async def login(self, request: Request, form: FormData) -> Response:
        client = request.client.host if request.client else "unknown"
        target = safe_next(str(form.get("next") or ""))
        wait = self.limiter.retry_after(client)
        if wait:
            log.warning("web: login attempts from %s are paused for %d s", client, wait)
            response = self.render(
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
        if not await self.call(self.password.verify, attempt):
            self.limiter.failed(client)
            log.warning("web: wrong password from %s", client)
            return self.render(
                request,
                "login.html",
                status=401,
                next=target,
                title=_("Log in"),
                problem=_("Wrong password."),
            )
        self.limiter.succeeded(client)
        old_sid = request.session.get("sid")
        request.session.clear()  # a new session: nothing from before the login carries over
        if self.sessions is not None:
            await self.call(self.sessions.revoke, old_sid)
            request.session["sid"] = await self.call(self.sessions.create)
        request.session["auth"] = True
        request.session["csrf"] = secrets.token_urlsafe(32)
        log.info("web: logged in from %s", client)
        self.flash(request, "ok", _("Logged in."))
        return RedirectResponse(target, 303)

    async def logout(self, request: Request, form: FormData) -> Response:
        if self.sessions is not None:  # server side too: a copied cookie dies with it
            await self.call(self.sessions.revoke, request.session.get("sid"))
        request.session.clear()
        request.session["flash"] = [["ok", _("Logged out.")]]
        return RedirectResponse("/login", 303)

    # -- the queue ---------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        def load() -> dict[str, list[dict[str, Any]]]:
            return {
                status: self.drafts.list(status)
                for status in ("pending", "uncertain", "failed", "approved", "sending")
            }

        groups = await self.call(load)
        show_all = request.query_params.get("show") == "all"
        totals = {status: len(items) for status, items in groups.items()}
        if not show_all:  # the first page: as many as a person reads, then "show all"
            groups = {status: items[:FIRST_PAGE] for status, items in groups.items()}
        now = self.clock()
        for items in groups.values():
            for draft in items:
                self._decorate(draft, now)
        backlog = await self.call(self._backlog_line, now)
        return self.render(
            request,
            "queue.html",
            nav="queue",
            title=_("Approval queue"),
            groups=groups,
            totals=totals,
            backlog=backlog,
        )

    def _backlog_line(self, now: datetime) -> str:
        from mailwatch.service.backlog import backlog_line, backlog_rows, read_started_at

        with self.factory() as session:
            rows = backlog_rows(session, self.settings, now)
            return backlog_line(len(rows), self.settings, read_started_at(session))

    async def backlog_draft(self, request: Request, form: FormData) -> Response:
        """Acknowledgment drafts for every backlog thread at once (they still need approval)."""
        from mailwatch.service.backlog import backlog_rows

        def work() -> tuple[int, list[tuple[int, str]]]:
            now = self.clock()
            with self.factory() as session:
                ids = [row.id for row in backlog_rows(session, self.settings, now)]
            written, problems = 0, []
            for thread_id in ids:
                try:
                    if self.drafts.create("acknowledgment", thread_id, now).created:
                        written += 1
                except DraftError as exc:
                    problems.append((thread_id, str(exc)))
            return written, problems

        written, problems = await self.call(work)
        log.info("web: %d backlog acknowledgment drafts written", written)
        self.flash(
            request,
            "ok" if not problems else "error",
            ngettext(
                "%(num)d acknowledgment draft written; check and approve them below.",
                "%(num)d acknowledgment drafts written; check and approve them below.",
                written,
            )
            + (
                " "
                + _(
                    "Not written: %(problems)s",
                    problems="; ".join(
                        _("thread %(id)d: %(error)s", id=tid, error=error)
                        for tid, error in problems[:5]
                    ),
                )
                if problems
                else ""
            ),
        )
        return RedirectResponse("/drafts", 303)

    def _decorate(self, draft: dict[str, Any], now: datetime) -> dict[str, Any]:
        to = (draft.get("to_addresses") or [{}])[0]
        draft["client_name"] = to.get("name") or ""
        draft["client_email"] = to.get("email") or ""
        draft["age"] = age(draft.get("created_at"), now)
        draft["created_local"] = local_time(draft.get("created_at"), self.tz)
        draft["sent_local"] = local_time(draft.get("sent_at"), self.tz)
        findings = draft.get("etiquette") or []
        draft["problems"] = [f for f in findings if f.get("level") != "ok"]
        draft["passed"] = [f for f in findings if f.get("level") == "ok"]
        draft["passed_words"] = [passed_word(f["code"]) for f in draft["passed"]]
        return draft

    # -- one draft --------------------------------------------------------------------------

    async def draft_page(self, request: Request) -> Response:
        draft_id = int(request.path_params["draft_id"])
        token = request.query_params.get("t")
        try:
            if token is not None:
                secret = self.settings.web_secret.reveal()
                if not verify_draft_token(secret, token, draft_id):
                    log.warning("web: refused a bad or expired link to draft %d", draft_id)
                    raise Refused(
                        403,
                        _("This link is invalid or has expired"),
                        _("Links in the digest work for a week. Open the approval queue instead."),
                    )
            elif not self.logged_in(request):
                return self.to_login(request)
            return await self._draft_view(request, draft_id, via_link=not self.logged_in(request))
        except Refused as refused:
            return self.error(request, refused)

    def _load_draft(self, draft_id: int) -> dict[str, Any]:
        try:
            draft = self.drafts.get(draft_id)
        except DraftError as exc:
            raise Refused(404, _("Not found"), str(exc)) from None
        return draft

    async def _draft_view(self, request: Request, draft_id: int, via_link: bool) -> Response:
        def load() -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
            draft = self._load_draft(draft_id)
            thread, messages = self._conversation(draft.get("thread_id"))
            return draft, thread, messages

        draft, thread, messages = await self.call(load)
        self._decorate(draft, self.clock())
        return self.render(
            request,
            "draft.html",
            nav="queue",
            title=_("Draft %(id)d", id=draft_id),
            draft=draft,
            thread=thread,
            messages=messages,
            via_link=via_link,
            regenerate=[k for k in REGENERATE_KINDS],
            text_limit=self.settings.text_prefix_bytes,
        )

    def _conversation(
        self, thread_id: int | None
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        if thread_id is None:
            return None, []
        now = self.clock()
        with self.factory() as session:
            rows = [
                t.to_json()
                for t in list_threads(session, now, "all", self.view, thread_id=thread_id)
            ]
            messages = list(
                session.scalars(
                    select(Message)
                    .where(Message.thread_id == thread_id)
                    .order_by(Message.date, Message.id)
                )
            )
            result = []
            for m in messages:
                when = m.date or m.internal_date
                full = m.text_prefix or ""
                new = m.new_text or ""
                result.append(
                    {
                        "id": m.id,
                        "direction": m.direction,
                        "from_name": m.from_name or "",
                        "from_email": m.from_email or "",
                        "to": ", ".join(
                            (a.get("name") or a.get("email") or "")
                            for a in (m.to_addrs or [])
                            if isinstance(a, dict)
                        ),
                        "subject": m.subject,
                        "date": local_time(when, self.tz),
                        "content_type": m.content_type or "text/plain",
                        "html": looks_like_html(full, m.content_type or ""),
                        "new_text": new if new.strip() else full,
                        "full_text": full,
                        "has_quote": bool(new.strip()) and full.strip() != new.strip(),
                        "truncated": len(full.encode("utf-8"))
                        >= self.settings.text_prefix_bytes * 0.9,
                        "needs_reply": m.needs_reply,
                        "reason": m.reason or "",
                        "category": m.category or "",
                    }
                )
        return (rows[0] if rows else None), result

    async def draft_action(self, request: Request, form: FormData) -> Response:
        draft_id = int(request.path_params["draft_id"])
        action = str(form.get("action") or "")
        subject = form.get("subject")
        body = form.get("body")
        if isinstance(body, str) and len(body) > MAX_BODY_CHARS:
            raise Refused(413, _("Too large"), _("The text is too long for an email reply."))
        if action == "save":
            return await self._save(request, draft_id, subject, body)
        if action == "approve":
            return await self._approve(request, draft_id, subject, body)
        if action == "reject":
            return await self._reject(request, draft_id)
        if action in ("mark_sent", "resend"):
            return await self._decide_uncertain(request, draft_id, action)
        raise Refused(
            400, _("Unknown action"), _("Nothing to do for %(action)r.", action=action[:40])
        )

    def _changes(
        self, current: dict[str, Any], subject: Any, body: Any
    ) -> tuple[str | None, str | None]:
        new_body = new_subject = None
        if isinstance(body, str):
            normal = body.replace("\r\n", "\n").strip("\n") + "\n"
            if normal != current["body_text"]:
                new_body = body
        if isinstance(subject, str) and subject.strip() != current["subject"]:
            new_subject = subject.strip()
        return new_subject, new_body

    async def _save(self, request: Request, draft_id: int, subject: Any, body: Any) -> Response:
        def work() -> str:
            current = self._load_draft(draft_id)
            new_subject, new_body = self._changes(current, subject, body)
            if new_subject is None and new_body is None:
                return "nothing changed"
            saved = self.drafts.edit(draft_id, self.clock(), new_body, new_subject)
            problems = [
                finding_text(f["message"]) for f in saved["etiquette"] if f.get("level") != "ok"
            ]
            return "saved" + (f"; check: {'; '.join(problems)}" if problems else "")

        try:
            outcome = await self.call(work)
        except DraftError as exc:
            self.flash(request, "error", _("Not saved: %(error)s", error=exc))
        else:
            level = "ok" if outcome == "saved" else "info"
            said, _sep, checks = outcome.partition("; check: ")
            text = (
                _("Draft %(id)d: saved.", id=draft_id)
                if said == "saved"
                else _("Draft %(id)d: nothing changed.", id=draft_id)
            )
            if checks:
                text += " " + _("Check: %(problems)s", problems=checks)
            self.flash(request, level, text)
            log.info("web: draft %d %s", draft_id, said)
        return RedirectResponse(f"/drafts/{draft_id}", 303)

    async def _approve(self, request: Request, draft_id: int, subject: Any, body: Any) -> Response:
        def work() -> dict[str, Any]:
            current = self._load_draft(draft_id)
            if current["status"] == "pending":
                new_subject, new_body = self._changes(current, subject, body)
                if new_subject is not None or new_body is not None:
                    self.drafts.edit(draft_id, self.clock(), new_body, new_subject)
            self.drafts.approve(draft_id, self.clock())
            return self.drafts.send_now(draft_id, self.clock())

        try:
            result = await self.call(work)
        except DraftError as exc:
            self.flash(request, "error", _("Not approved: %(error)s", error=exc))
            return RedirectResponse(f"/drafts/{draft_id}", 303)
        to = result.get("to") or _("the client")
        status = result["status"]
        log.info("web: draft %d approved; status %s", draft_id, status)
        if status == "sent":
            self.flash(request, "ok", _("Draft %(id)d sent to %(to)s.", id=draft_id, to=to))
            return RedirectResponse("/drafts", 303)
        if status == "failed":
            self.flash(
                request,
                "error",
                _(
                    "Draft %(id)d was approved but sending failed: %(error)s",
                    id=draft_id,
                    error=result.get("last_error") or _("unknown error"),
                ),
            )
            return RedirectResponse(f"/drafts/{draft_id}", 303)
        reason = f" ({result['last_error']})" if result.get("last_error") else ""
        self.flash(
            request,
            "info",
            _(
                "Draft %(id)d approved; it goes out with the next outbox pass%(reason)s.",
                id=draft_id,
                reason=reason,
            ),
        )
        return RedirectResponse("/drafts", 303)

    async def _decide_uncertain(self, request: Request, draft_id: int, action: str) -> Response:
        """A person's decision on a send whose outcome nobody could tell."""

        def work() -> dict[str, Any]:
            if action == "mark_sent":
                return self.drafts.mark_sent(draft_id, self.clock())
            self.drafts.resend(draft_id, self.clock())
            return self.drafts.send_now(draft_id, self.clock())

        try:
            result = await self.call(work)
        except DraftError as exc:
            self.flash(request, "error", _("Nothing changed: %(error)s", error=exc))
            return RedirectResponse(f"/drafts/{draft_id}", 303)
        log.info("web: uncertain draft %d: %s; status %s", draft_id, action, result["status"])
        level = "ok" if result["status"] == "sent" else "error"
        self.flash(
            request,
            level,
            _("Draft %(id)d: %(status)s.", id=draft_id, status=label(result["status"])),
        )
        return RedirectResponse(f"/drafts/{draft_id}", 303)

    async def _reject(self, request: Request, draft_id: int) -> Response:
        try:
            await self.call(self.drafts.reject, draft_id, self.clock())
        except DraftError as exc:
            self.flash(request, "error", _("Not rejected: %(error)s", error=exc))
            return RedirectResponse(f"/drafts/{draft_id}", 303)
        log.info("web: draft %d rejected", draft_id)
        self.flash(request, "ok", _("Draft %(id)d rejected; it will never be sent.", id=draft_id))
        return RedirectResponse("/drafts", 303)

    async def regenerate(self, request: Request, form: FormData) -> Response:
        draft_id = int(request.path_params["draft_id"])
        kind = str(form.get("kind") or "")
        if kind not in REGENERATE_KINDS:
            raise Refused(
                400,
                _("Unknown kind"),
                _("Cannot write a draft of kind %(kind)r here.", kind=kind[:40]),
            )

        def work() -> tuple[int, bool]:
            now = self.clock()
            current = self._load_draft(draft_id)
            if current["status"] != "pending":
                raise DraftError(
                    f"draft {draft_id} is {current['status']}; only pending drafts change"
                )
            thread_id = current["thread_id"]
            if thread_id is None:
                raise DraftError(f"draft {draft_id} has no conversation any more")
            if current["kind"] == kind:  # the same kind again: written afresh from the template
                self.drafts.reject(draft_id, now)
                return int(self.drafts.create(kind, thread_id, now).draft["id"]), True
            created = self.drafts.create(kind, thread_id, now)
            self.drafts.reject(draft_id, now)
            return int(created.draft["id"]), created.created

        try:
            new_id, created = await self.call(work)
        except DraftError as exc:
            self.flash(request, "error", _("Not rewritten: %(error)s", error=exc))
            return RedirectResponse(f"/drafts/{draft_id}", 303)
        what = (
            _(
                "A new %(kind)s draft (%(new)d) was written; draft %(id)d is rejected.",
                kind=kind_word(kind),
                new=new_id,
                id=draft_id,
            )
            if created
            else _(
                "%(a_kind)s draft (%(new)d) was already waiting; opened it. Draft %(id)d is "
                "rejected.",
                a_kind=a_kind(kind),
                new=new_id,
                id=draft_id,
            )
        )
        self.flash(request, "ok", what)
        log.info("web: draft %d replaced by %s draft %d", draft_id, kind, new_id)
        return RedirectResponse(f"/drafts/{new_id}", 303)

    # -- threads and promises ----------------------------------------------------------------

    async def threads(self, request: Request) -> Response:
        show_all = request.query_params.get("show") == "all"

        def load() -> dict[str, Any]:
            now = self.clock()
            with self.factory() as session:
                if show_all:
                    overdue = [
                        t.to_json()
                        for t in list_threads(
                            session, now, "overdue", self.view, with_message_ids=False
                        )
                    ]
                    waiting = [
                        t.to_json()
                        for t in list_threads(
                            session, now, "awaiting_us", self.view, with_message_ids=False
                        )
                        if not t.overdue
                    ]
                    totals = {"overdue": len(overdue), "waiting": len(waiting)}
                else:  # the first page: counted in SQL, only the rows shown are read
                    summary = overdue_summary(session, now, self.view, FIRST_PAGE)
                    overdue = [t.to_json() for t in summary.top]
                    page, waiting_total = waiting_page(session, now, self.view, FIRST_PAGE)
                    waiting = [t.to_json() for t in page]
                    totals = {"overdue": summary.total, "waiting": waiting_total}
                promises = [
                    p.to_json()
                    for p in list_promises(session, now, self.view)
                    if p.status in ("open", "missed")
                ]
                ids = {p["thread_id"] for p in promises if p["thread_id"] is not None}
                subjects = {
                    tid: (subject, name or email or "")
                    for tid, subject, name, email in session.execute(
                        select(
                            Thread.id,
                            Thread.subject,
                            Thread.counterpart_name,
                            Thread.counterpart_email,
                        ).where(Thread.id.in_(ids))
                    )
                }
            pending = self._pending_by_thread()
            return {
                "overdue": overdue,
                "waiting": waiting,
                "totals": totals,
                "promises": promises,
                "subjects": subjects,
                "pending": pending,
            }

        data = await self.call(load)
        for rows in (data["overdue"], data["waiting"]):
            for row in rows:
                row["due_local"] = local_time(row.get("reply_due_at"), self.tz)
                row["since_local"] = local_time(row.get("waiting_since"), self.tz)
        for promise in data["promises"]:
            promise["due_local"] = local_time(promise.get("due_at"), self.tz)
        return self.render(
            request,
            "threads.html",
            nav="threads",
            title=_("Threads and promises"),
            today=self.clock().astimezone(self.tz).date().isoformat(),
            thread_kinds=THREAD_DRAFT_KINDS,
            **data,
        )

    def _pending_by_thread(self) -> dict[int, list[dict[str, Any]]]:
        pending: dict[int, list[dict[str, Any]]] = {}
        for draft in self.drafts.list("pending"):
            if draft["thread_id"] is not None:
                pending.setdefault(int(draft["thread_id"]), []).append(draft)
        return pending

    async def thread_page(self, request: Request) -> Response:
        thread_id = int(request.path_params["thread_id"])

        def load() -> dict[str, Any]:
            thread, messages = self._conversation(thread_id)
            if thread is None:
                raise Refused(
                    404, _("Not found"), _("No conversation with id %(id)d.", id=thread_id)
                )
            with self.factory() as session:
                promises = [
                    p.to_json()
                    for p in list_promises(session, self.clock(), self.view, thread_id=thread_id)
                ]
            return {
                "thread": thread,
                "messages": messages,
                "promises": promises,
                "pending": {thread_id: self._pending_by_thread().get(thread_id, [])},
            }

        data = await self.call(load)
        for promise in data["promises"]:
            promise["due_local"] = local_time(promise.get("due_at"), self.tz)
        return self.render(
            request,
            "thread.html",
            nav="threads",
            title=data["thread"]["subject"] or _("Conversation %(id)d", id=thread_id),
            thread_kinds=THREAD_DRAFT_KINDS,
            today=self.clock().astimezone(self.tz).date().isoformat(),
            text_limit=self.settings.text_prefix_bytes,
            **data,
        )

    async def thread_draft(self, request: Request, form: FormData) -> Response:
        thread_id = int(request.path_params["thread_id"])
        kind = str(form.get("kind") or "")
        if kind not in THREAD_DRAFT_KINDS:
            raise Refused(
                400,
                _("Unknown kind"),
                _("Cannot write a draft of kind %(kind)r here.", kind=kind[:40]),
            )
        try:
            result = await self.call(self.drafts.create, kind, thread_id, self.clock())
        except DraftError as exc:
            self.flash(request, "error", _("No draft written: %(error)s", error=exc))
            return RedirectResponse(self._back(form, "/threads"), 303)
        new_id = int(result.draft["id"])
        if result.created:
            self.flash(
                request,
                "ok",
                _(
                    "%(a_kind)s draft (%(id)d) was written; check it and approve.",
                    a_kind=a_kind(kind),
                    id=new_id,
                ),
            )
        else:
            self.flash(
                request,
                "info",
                _("%(a_kind)s draft (%(id)d) was already waiting.", a_kind=a_kind(kind), id=new_id),
            )
        return RedirectResponse(f"/drafts/{new_id}", 303)

    async def thread_state(self, request: Request, form: FormData) -> Response:
        thread_id = int(request.path_params["thread_id"])
        state = str(form.get("state") or "")
        if state not in ("closed", "reopen"):
            raise Refused(
                400, _("Unknown state"), _("Cannot set %(state)r here.", state=state[:40])
            )
        try:
            await self.call(
                set_thread_state,
                self.factory,
                thread_id,
                None if state == "reopen" else state,
                self.clock(),
            )
        except ActionError as exc:
            self.flash(request, "error", _("Not changed: %(error)s", error=exc))
        else:
            text = (
                _("Conversation %(id)d closed: it needs no reply.", id=thread_id)
                if state == "closed"
                else _("Conversation %(id)d reopened.", id=thread_id)
            )
            self.flash(request, "ok", text)
        return RedirectResponse(self._back(form, "/threads"), 303)

    @staticmethod
    def _back(form: FormData, default: str) -> str:
        """The page a form came from (its ``back`` field; the Referer is never sent)."""
        back = form.get("back")
        return safe_next(back if isinstance(back, str) else None, default)

    async def promise_kept(self, request: Request, form: FormData) -> Response:
        promise_id = int(request.path_params["promise_id"])
        try:
            await self.call(mark_promise_done, self.factory, promise_id, self.clock())
        except ActionError as exc:
            self.flash(request, "error", _("Not changed: %(error)s", error=exc))
        else:
            self.flash(request, "ok", _("Promise %(id)d marked as kept.", id=promise_id))
        return RedirectResponse(self._back(form, "/threads"), 303)

    async def promise_move(self, request: Request, form: FormData) -> Response:
        promise_id = int(request.path_params["promise_id"])
        raw = str(form.get("new_date") or "").strip()
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            self.flash(
                request,
                "error",
                _("Not moved: %(value)r is not a date (YYYY-MM-DD).", value=raw[:40]),
            )
            return RedirectResponse(self._back(form, "/threads"), 303)
        new_date = self.settings.calendar.end_of_business_day(day)

        def work() -> tuple[int, bool]:
            now = self.clock()
            if new_date <= now:
                raise DraftError(f"{day.isoformat()} is not in the future")
            with self.factory() as session:
                rows = [p.to_json() for p in list_promises(session, now, self.view)]
            promise = next((p for p in rows if p["id"] == promise_id), None)
            if promise is None or promise["thread_id"] is None:
                raise DraftError(f"no promise {promise_id} in a conversation")
            if promise["status"] not in ("open", "missed"):
                raise DraftError(f"promise {promise_id} is {promise['status']}")
            result = self.drafts.create(
                "renegotiation",
                int(promise["thread_id"]),
                now,
                promise_id=promise_id,
                new_date=new_date,
            )
            return int(result.draft["id"]), result.created

        try:
            new_id, created = await self.call(work)
        except DraftError as exc:
            self.flash(request, "error", _("Not moved: %(error)s", error=exc))
            return RedirectResponse(self._back(form, "/threads"), 303)
        if created:
            self.flash(
                request,
                "ok",
                _(
                    "A renegotiation draft (%(id)d) proposes %(date)s; the promise moves once it "
                    "is approved and sent.",
                    id=new_id,
                    date=day.isoformat(),
                ),
            )
        else:
            self.flash(
                request,
                "info",
                _(
                    "A renegotiation draft (%(id)d) was already waiting for this conversation; "
                    "edit its date there or reject it first.",
                    id=new_id,
                ),
            )
        return RedirectResponse(f"/drafts/{new_id}", 303)

    # -- the language switch ---------------------------------------------------------------------

    async def set_language(self, request: Request, form: FormData) -> Response:
        """The page's language switch: a cookie for a year (a plain form, CSRF-checked)."""
        language = str(form.get("language") or "")
        if language not in UI_LANGUAGES:
            raise Refused(
                400,
                _("Unknown language"),
                _("%(language)r is not offered.", language=language[:20]),
            )
        response = RedirectResponse(self._back(form, "/drafts"), 303)
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax"
        )
        return response

    # -- settings -----------------------------------------------------------------------------

    async def settings_page(self, request: Request) -> Response:
        import asyncio

        from mailwatch.service.workers import list_workers

        return self.render(
            request,
            "settings.html",
            nav="settings",
            title=_("Settings"),
            general=settings_rows(self.settings),
            mailboxes=mailbox_rows(self.settings),
            help=SETTING_HELP,
            workers=await asyncio.to_thread(list_workers, self.factory),
        )


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


# -- the settings page's rows ------------------------------------------------------------------


def _secret(value: Any) -> str:
    return _("set (hidden)") if value else _("not set")


def _minutes(value: Any) -> str:
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


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
        note = f" ({setting.default_note})" if setting.default_note else " (" + _("default") + ")"
    if setting.key == "DATABASE_URL":
        text = mask_url(text)
    unit = f" {setting.unit}" if setting.unit else ""
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


SETTING_HELP = {s.key: f"{s.help} ({s.type})" for s in SETTINGS}


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
    pages = WebPages(factory, settings, check, limiter=limiter, clock=clock, sessions=sessions)

    async def server_error(request: Request, exc: Exception) -> Response:
        from markupsafe import escape

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

    return Starlette(
        routes=pages.routes(),
        middleware=[
            Middleware(LanguageMiddleware, setting=settings.mailboxes[0].raw.get("UI_LANGUAGE")),
            Middleware(SessionMiddleware, secret=secret, binding=binding, store=sessions),
        ],
        exception_handlers={500: server_error},
    )


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

    def __init__(self, app: Any, setting: str | None = None) -> None:
        self.app = app
        self.setting = setting

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection

        conn = HTTPConnection(scope)
        language = request_language(
            conn.cookies.get(LANGUAGE_COOKIE), self.setting, conn.headers.get("accept-language")
        )
        with use_language(language):
            await self.app(scope, receive, send)
