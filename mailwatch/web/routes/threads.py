"""Threads and promises (the overview), one conversation, and its actions: write a draft for
it, close it (it needs no reply) or reopen it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailwatch.errors import NotFound
from mailwatch.i18n import N_, _
from mailwatch.track.actions import set_thread_state
from mailwatch.web import reads
from mailwatch.web.pages import (
    FIRST_PAGE,
    Pages,
    Refused,
    a_kind,
    form_back,
    on_refusal,
)
from mailwatch.web.render import local_time, looks_like_html

THREAD_DRAFT_KINDS = ("acknowledgment", "decline", "follow_up", "closing", "clarify")


def conversation(
    pages: Pages, thread_id: int | None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A thread's row and its messages as the templates show them (blocking)."""
    if thread_id is None:
        return None, []
    thread, messages = reads.conversation(pages.factory, pages.view, thread_id, pages.clock())
    limit = pages.settings.text_prefix_bytes * 0.9
    return thread, [
        {
            "id": m.id,
            "direction": m.direction,
            "from_name": m.from_name,
            "from_email": m.from_email,
            "to": ", ".join(
                (a.get("name") or a.get("email") or "") for a in m.to_addrs if isinstance(a, dict)
            ),
            "subject": m.subject,
            "date": local_time(m.when, pages.tz),
            "content_type": m.content_type,
            "html": looks_like_html(m.text_prefix, m.content_type),
            "new_text": m.new_text if m.new_text.strip() else m.text_prefix,
            "full_text": m.text_prefix,
            "has_quote": bool(m.new_text.strip()) and m.text_prefix.strip() != m.new_text.strip(),
            "truncated": len(m.text_prefix.encode("utf-8")) >= limit,
            "needs_reply": m.needs_reply,
            "reason": m.reason,
            "category": m.category,
        }
        for m in messages
    ]


def pending_by_thread(pages: Pages) -> dict[int, list[dict[str, Any]]]:
    """Pending drafts by their thread (blocking)."""
    pending: dict[int, list[dict[str, Any]]] = {}
    for draft in (d.to_json() for d in pages.drafts.list("pending")):
        if draft["thread_id"] is not None:
            pending.setdefault(int(draft["thread_id"]), []).append(draft)
    return pending


async def threads(pages: Pages, request: Request) -> Response:
    show_all = request.query_params.get("show") == "all"

    def load() -> dict[str, Any]:
        now = pages.clock()
        lists = reads.thread_lists(
            pages.factory, pages.view, now, show_all=show_all, first_page=FIRST_PAGE
        )
        promises = [
            p
            for p in reads.promises(pages.factory, pages.view, now)
            if p["status"] in ("open", "missed")
        ]
        ids = {p["thread_id"] for p in promises if p["thread_id"] is not None}
        return {
            "overdue": lists.overdue,
            "waiting": lists.waiting,
            "totals": lists.totals,
            "promises": promises,
            "subjects": reads.thread_subjects(pages.factory, ids),
            "pending": pending_by_thread(pages),
        }

    data = await pages.call(load)
    for rows in (data["overdue"], data["waiting"]):
        for row in rows:
            row["due_local"] = local_time(row.get("reply_due_at"), pages.tz)
            row["since_local"] = local_time(row.get("waiting_since"), pages.tz)
    for promise in data["promises"]:
        promise["due_local"] = local_time(promise.get("due_at"), pages.tz)
    return pages.render(
        request,
        "threads.html",
        nav="threads",
        title=_("Threads and promises"),
        today=pages.clock().astimezone(pages.tz).date().isoformat(),
        thread_kinds=THREAD_DRAFT_KINDS,
        **data,
    )


async def thread_page(pages: Pages, request: Request) -> Response:
    thread_id = int(request.path_params["thread_id"])

    def load() -> dict[str, Any]:
        thread, messages = conversation(pages, thread_id)
        if thread is None:
            raise NotFound(_("No conversation with id %(id)d.", id=thread_id))
        return {
            "thread": thread,
            "messages": messages,
            "promises": reads.promises(
                pages.factory, pages.view, pages.clock(), thread_id=thread_id
            ),
            "pending": {thread_id: pending_by_thread(pages).get(thread_id, [])},
        }

    data = await pages.call(load)
    for promise in data["promises"]:
        promise["due_local"] = local_time(promise.get("due_at"), pages.tz)
    return pages.render(
        request,
        "thread.html",
        nav="threads",
        title=data["thread"]["subject"] or _("Conversation %(id)d", id=thread_id),
        thread_kinds=THREAD_DRAFT_KINDS,
        today=pages.clock().astimezone(pages.tz).date().isoformat(),
        text_limit=pages.settings.text_prefix_bytes,
        **data,
    )


async def thread_draft(pages: Pages, request: Request, form: FormData) -> Response:
    thread_id = int(request.path_params["thread_id"])
    kind = str(form.get("kind") or "")
    if kind not in THREAD_DRAFT_KINDS:
        raise Refused(
            400,
            _("Unknown kind"),
            _("Cannot write a draft of kind %(kind)r here.", kind=kind[:40]),
        )
    on_refusal(request, N_("No draft written: %(error)s"), form_back(form, "/threads"))
    result = await pages.call(pages.drafts.create, kind, thread_id, pages.clock())
    new_id = int(result.draft["id"])
    if result.created:
        pages.flash(
            request,
            "ok",
            _(
                "%(a_kind)s draft (%(id)d) was written; check it and approve.",
                a_kind=a_kind(kind),
                id=new_id,
            ),
        )
    else:
        pages.flash(
            request,
            "info",
            _("%(a_kind)s draft (%(id)d) was already waiting.", a_kind=a_kind(kind), id=new_id),
        )
    return RedirectResponse(f"/drafts/{new_id}", 303)


async def thread_state(pages: Pages, request: Request, form: FormData) -> Response:
    thread_id = int(request.path_params["thread_id"])
    state = str(form.get("state") or "")
    if state not in ("closed", "reopen"):
        raise Refused(400, _("Unknown state"), _("Cannot set %(state)r here.", state=state[:40]))
    back = form_back(form, "/threads")
    on_refusal(request, N_("Not changed: %(error)s"), back)
    await pages.call(
        set_thread_state,
        pages.factory,
        thread_id,
        None if state == "reopen" else state,
        pages.clock(),
    )
    text = (
        _("Conversation %(id)d closed: it needs no reply.", id=thread_id)
        if state == "closed"
        else _("Conversation %(id)d reopened.", id=thread_id)
    )
    pages.flash(request, "ok", text)
    return RedirectResponse(back, 303)
