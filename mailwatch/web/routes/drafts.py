"""The approval queue and one draft: read, edit, approve and send, reject, rewrite, and a
person's decision on a send whose outcome nobody could tell.

Digest links (``/drafts/{id}?t=<token>``): a valid, unexpired token lets the browser that opens
it *see* that one draft and its conversation without logging in; approving, editing or
rejecting always needs the login, and no GET ever changes anything. A tampered or expired
token is refused with 403, logged in or not.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailwatch.digest.links import verify_draft_token
from mailwatch.drafts.service import DraftError
from mailwatch.errors import Conflict, NotFound
from mailwatch.i18n import N_, _, label, ngettext
from mailwatch.i18n_text import finding_text, passed_word
from mailwatch.web import reads
from mailwatch.web.pages import (
    FIRST_PAGE,
    MAX_BODY_CHARS,
    Pages,
    Refused,
    a_kind,
    kind_word,
    on_refusal,
)
from mailwatch.web.render import age, local_time
from mailwatch.web.routes.threads import conversation

log = logging.getLogger("mailwatch.web")

REGENERATE_KINDS = ("decline", "acknowledgment", "closing", "clarify")
QUEUE_STATUSES = ("pending", "uncertain", "failed", "approved", "sending")


# -- the queue ----------------------------------------------------------------------------------


async def queue(pages: Pages, request: Request) -> Response:
    def load() -> dict[str, list[dict[str, Any]]]:
        return {
            status: [d.to_json() for d in pages.drafts.list(status)] for status in QUEUE_STATUSES
        }

    groups = await pages.call(load)
    show_all = request.query_params.get("show") == "all"
    totals = {status: len(items) for status, items in groups.items()}
    if not show_all:  # the first page: as many as a person reads, then "show all"
        groups = {status: items[:FIRST_PAGE] for status, items in groups.items()}
    now = pages.clock()
    for items in groups.values():
        for draft in items:
            decorate(pages, draft, now)
    backlog = await pages.call(reads.backlog_summary, pages.factory, pages.settings, now)
    return pages.render(
        request,
        "queue.html",
        nav="queue",
        title=_("Approval queue"),
        groups=groups,
        totals=totals,
        backlog=backlog,
    )


async def backlog_draft(pages: Pages, request: Request, form: FormData) -> Response:
    """Acknowledgment drafts for every backlog thread at once (they still need approval)."""

    def work() -> tuple[int, list[tuple[int, str]]]:
        now = pages.clock()
        written, problems = 0, []
        for thread_id in reads.backlog_thread_ids(pages.factory, pages.settings, now):
            try:  # one thread that cannot be answered must not stop the others
                if pages.drafts.create("acknowledgment", thread_id, now).created:
                    written += 1
            except DraftError as exc:
                problems.append((thread_id, str(exc)))
        return written, problems

    written, problems = await pages.call(work)
    log.info("web: %d backlog acknowledgment drafts written", written)
    pages.flash(
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


def decorate(pages: Pages, draft: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What the queue and the draft page show beside the stored draft."""
    to = (draft.get("to_addresses") or [{}])[0]
    draft["client_name"] = to.get("name") or ""
    draft["client_email"] = to.get("email") or ""
    draft["age"] = age(draft.get("created_at"), now)
    draft["created_local"] = local_time(draft.get("created_at"), pages.tz)
    draft["sent_local"] = local_time(draft.get("sent_at"), pages.tz)
    findings = draft.get("etiquette") or []
    draft["problems"] = [f for f in findings if f.get("level") != "ok"]
    draft["passed"] = [f for f in findings if f.get("level") == "ok"]
    draft["passed_words"] = [passed_word(f["code"]) for f in draft["passed"]]
    return draft


# -- one draft ------------------------------------------------------------------------------------


async def draft_page(pages: Pages, request: Request) -> Response:
    draft_id = int(request.path_params["draft_id"])
    token = request.query_params.get("t")
    if token is not None:
        secret = pages.settings.web_secret.reveal()
        if not verify_draft_token(secret, token, draft_id):
            log.warning("web: refused a bad or expired link to draft %d", draft_id)
            raise Refused(
                403,
                _("This link is invalid or has expired"),
                _("Links in the digest work for a week. Open the approval queue instead."),
            )
    elif not pages.logged_in(request):
        return pages.to_login(request)

    def load() -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
        draft = load_draft(pages, draft_id)
        thread, messages = conversation(pages, draft.get("thread_id"))
        return draft, thread, messages

    draft, thread, messages = await pages.call(load)
    decorate(pages, draft, pages.clock())
    return pages.render(
        request,
        "draft.html",
        nav="queue",
        title=_("Draft %(id)d", id=draft_id),
        draft=draft,
        thread=thread,
        messages=messages,
        via_link=not pages.logged_in(request),
        regenerate=list(REGENERATE_KINDS),
        text_limit=pages.settings.text_prefix_bytes,
    )


def load_draft(pages: Pages, draft_id: int) -> dict[str, Any]:
    """The draft, or NotFound (404) when there is none."""
    try:
        return pages.drafts.get(draft_id).to_json()
    except DraftError as exc:  # DraftService.get says "no draft" with the generic DraftError
        raise NotFound(str(exc)) from None


async def draft_action(pages: Pages, request: Request, form: FormData) -> Response:
    draft_id = int(request.path_params["draft_id"])
    action = str(form.get("action") or "")
    subject = form.get("subject")
    body = form.get("body")
    if isinstance(body, str) and len(body) > MAX_BODY_CHARS:
        raise Refused(413, _("Too large"), _("The text is too long for an email reply."))
    if action == "save":
        return await _save(pages, request, draft_id, subject, body)
    if action == "approve":
        return await _approve(pages, request, draft_id, subject, body)
    if action == "reject":
        return await _reject(pages, request, draft_id)
    if action in ("mark_sent", "resend"):
        return await _decide_uncertain(pages, request, draft_id, action)
    raise Refused(400, _("Unknown action"), _("Nothing to do for %(action)r.", action=action[:40]))


def _changes(current: dict[str, Any], subject: Any, body: Any) -> tuple[str | None, str | None]:
    new_body = new_subject = None
    if isinstance(body, str):
        normal = body.replace("\r\n", "\n").strip("\n") + "\n"
        if normal != current["body_text"]:
            new_body = body
    if isinstance(subject, str) and subject.strip() != current["subject"]:
        new_subject = subject.strip()
    return new_subject, new_body


async def _save(pages: Pages, request: Request, draft_id: int, subject: Any, body: Any) -> Response:
    on_refusal(request, N_("Not saved: %(error)s"), f"/drafts/{draft_id}")

    def work() -> tuple[bool, list[str]]:
        current = load_draft(pages, draft_id)
        new_subject, new_body = _changes(current, subject, body)
        if new_subject is None and new_body is None:
            return False, []
        saved = pages.drafts.edit(draft_id, pages.clock(), new_body, new_subject)
        return True, [
            finding_text(f["message"]) for f in saved["etiquette"] if f.get("level") != "ok"
        ]

    saved, problems = await pages.call(work)
    text = (
        _("Draft %(id)d: saved.", id=draft_id)
        if saved
        else _("Draft %(id)d: nothing changed.", id=draft_id)
    )
    if problems:
        text += " " + _("Check: %(problems)s", problems="; ".join(problems))
    pages.flash(request, "ok" if saved and not problems else "info", text)
    log.info("web: draft %d %s", draft_id, "saved" if saved else "nothing changed")
    return RedirectResponse(f"/drafts/{draft_id}", 303)


async def _approve(
    pages: Pages, request: Request, draft_id: int, subject: Any, body: Any
) -> Response:
    on_refusal(request, N_("Not approved: %(error)s"), f"/drafts/{draft_id}")

    def work() -> dict[str, Any]:
        current = load_draft(pages, draft_id)
        if current["status"] == "pending":
            new_subject, new_body = _changes(current, subject, body)
            if new_subject is not None or new_body is not None:
                pages.drafts.edit(draft_id, pages.clock(), new_body, new_subject)
        pages.drafts.approve(draft_id, pages.clock())
        return pages.drafts.send_now(draft_id, pages.clock())

    result = await pages.call(work)
    to = result.get("to") or _("the client")
    status = result["status"]
    log.info("web: draft %d approved; status %s", draft_id, status)
    if status == "sent":
        pages.flash(request, "ok", _("Draft %(id)d sent to %(to)s.", id=draft_id, to=to))
        return RedirectResponse("/drafts", 303)
    if status == "failed":
        pages.flash(
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
    pages.flash(
        request,
        "info",
        _(
            "Draft %(id)d approved; it goes out with the next outbox pass%(reason)s.",
            id=draft_id,
            reason=reason,
        ),
    )
    return RedirectResponse("/drafts", 303)


async def _decide_uncertain(pages: Pages, request: Request, draft_id: int, action: str) -> Response:
    """A person's decision on a send whose outcome nobody could tell."""
    on_refusal(request, N_("Nothing changed: %(error)s"), f"/drafts/{draft_id}")

    def work() -> dict[str, Any]:
        if action == "mark_sent":
            return pages.drafts.mark_sent(draft_id, pages.clock())
        pages.drafts.resend(draft_id, pages.clock())
        return pages.drafts.send_now(draft_id, pages.clock())

    result = await pages.call(work)
    log.info("web: uncertain draft %d: %s; status %s", draft_id, action, result["status"])
    level = "ok" if result["status"] == "sent" else "error"
    pages.flash(
        request,
        level,
        _("Draft %(id)d: %(status)s.", id=draft_id, status=label(result["status"])),
    )
    return RedirectResponse(f"/drafts/{draft_id}", 303)


async def _reject(pages: Pages, request: Request, draft_id: int) -> Response:
    on_refusal(request, N_("Not rejected: %(error)s"), f"/drafts/{draft_id}")
    await pages.call(pages.drafts.reject, draft_id, pages.clock())
    log.info("web: draft %d rejected", draft_id)
    pages.flash(request, "ok", _("Draft %(id)d rejected; it will never be sent.", id=draft_id))
    return RedirectResponse("/drafts", 303)


async def regenerate(pages: Pages, request: Request, form: FormData) -> Response:
    draft_id = int(request.path_params["draft_id"])
    kind = str(form.get("kind") or "")
    if kind not in REGENERATE_KINDS:
        raise Refused(
            400,
            _("Unknown kind"),
            _("Cannot write a draft of kind %(kind)r here.", kind=kind[:40]),
        )
    on_refusal(request, N_("Not rewritten: %(error)s"), f"/drafts/{draft_id}")

    def work() -> tuple[int, bool]:
        now = pages.clock()
        current = load_draft(pages, draft_id)
        if current["status"] != "pending":
            raise Conflict(
                _(
                    "draft %(id)d is %(status)s; only pending drafts change",
                    id=draft_id,
                    status=label(current["status"]),
                )
            )
        thread_id = current["thread_id"]
        if thread_id is None:
            raise Conflict(_("draft %(id)d has no conversation any more", id=draft_id))
        if current["kind"] == kind:  # the same kind again: written afresh from the template
            pages.drafts.reject(draft_id, now)
            return int(pages.drafts.create(kind, thread_id, now).draft["id"]), True
        created = pages.drafts.create(kind, thread_id, now)
        pages.drafts.reject(draft_id, now)
        return int(created.draft["id"]), created.created

    new_id, created = await pages.call(work)
    what = (
        _(
            "A new %(kind)s draft (%(new)d) was written; draft %(id)d is rejected.",
            kind=kind_word(kind),
            new=new_id,
            id=draft_id,
        )
        if created
        else _(
            "%(a_kind)s draft (%(new)d) was already waiting; opened it. Draft %(id)d is rejected.",
            a_kind=a_kind(kind),
            new=new_id,
            id=draft_id,
        )
    )
    pages.flash(request, "ok", what)
    log.info("web: draft %d replaced by %s draft %d", draft_id, kind, new_id)
    return RedirectResponse(f"/drafts/{new_id}", 303)
