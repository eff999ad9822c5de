"""A promise's actions: mark it kept, or move its date (through a renegotiation draft that
the person approves; the promise moves once that draft is sent)."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mailwatch.errors import Conflict, UsageError
from mailwatch.i18n import N_, _, label
from mailwatch.track.actions import mark_promise_done
from mailwatch.web import reads
from mailwatch.web.pages import Pages, form_back, on_refusal


async def promise_kept(pages: Pages, request: Request, form: FormData) -> Response:
    promise_id = int(request.path_params["promise_id"])
    back = form_back(form, "/threads")
    on_refusal(request, N_("Not changed: %(error)s"), back)
    await pages.call(mark_promise_done, pages.factory, promise_id, pages.clock())
    pages.flash(request, "ok", _("Promise %(id)d marked as kept.", id=promise_id))
    return RedirectResponse(back, 303)


async def promise_move(pages: Pages, request: Request, form: FormData) -> Response:
    promise_id = int(request.path_params["promise_id"])
    back = form_back(form, "/threads")
    raw = str(form.get("new_date") or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:  # the form's own input, said in the form's words
        pages.flash(
            request,
            "error",
            _("Not moved: %(value)r is not a date (YYYY-MM-DD).", value=raw[:40]),
        )
        return RedirectResponse(back, 303)
    new_date = pages.settings.calendar.end_of_business_day(day)
    on_refusal(request, N_("Not moved: %(error)s"), back)

    def work() -> tuple[int, bool]:
        now = pages.clock()
        if new_date <= now:
            raise Conflict(_("%(day)s is not in the future", day=day.isoformat()))
        promise = reads.promise(pages.factory, pages.view, now, promise_id)
        if promise is None or promise["thread_id"] is None:
            raise UsageError(_("no promise %(id)d in a conversation", id=promise_id))
        if promise["status"] not in ("open", "missed"):
            raise Conflict(
                _("promise %(id)d is %(status)s", id=promise_id, status=label(promise["status"]))
            )
        result = pages.drafts.create(
            "renegotiation",
            int(promise["thread_id"]),
            now,
            promise_id=promise_id,
            new_date=new_date,
        )
        return int(result.draft["id"]), result.created

    new_id, created = await pages.call(work)
    if created:
        pages.flash(
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
        pages.flash(
            request,
            "info",
            _(
                "A renegotiation draft (%(id)d) was already waiting for this conversation; "
                "edit its date there or reject it first.",
                id=new_id,
            ),
        )
    return RedirectResponse(f"/drafts/{new_id}", 303)
