"""``mailwatch draft`` (write one now) and ``mailwatch drafts ...`` (the approval queue)."""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mailwatch.cli.context import drafts, parse_when, settings
from mailwatch.cli.output import console, err, print_json
from mailwatch.errors import Conflict, UsageError
from mailwatch.i18n import _, label

__all__ = ["NEEDS_YOU", "draft", "drafts_app", "print_draft", "report_send"]

#: what `drafts list` shows without --status: the drafts that wait for a person
NEEDS_YOU = ("pending", "approved", "failed", "uncertain")


def print_draft(draft: dict[str, Any], as_json: bool) -> None:
    """One draft: its headers, its text and its etiquette check (or one JSON array)."""
    if as_json:
        print_json([draft])
        return
    head = Text(_("draft %(id)d", id=draft["id"]), style="bold")
    head.append(
        " "
        + _(
            "(%(kind)s, %(language)s, %(status)s) for thread %(thread)s",
            kind=draft["kind"],
            language=draft["language"],
            status=draft["status"],
            thread=draft["thread_id"],
        )
    )
    console.print(head, highlight=False)
    console.print(
        f"From: {draft['from']}\nTo: {draft['to']}\nSubject: {draft['subject']}",
        highlight=False,
        markup=False,
    )
    if draft["in_reply_to"]:
        console.print(f"In-Reply-To: {draft['in_reply_to']}", highlight=False, markup=False)
    console.print("")
    console.print(draft["body_text"], highlight=False, markup=False)
    # lazy: the etiquette checker's texts (~40 ms) only for the commands that show a draft
    from mailwatch.i18n_text import finding_text

    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]fail[/]"}
    for finding in draft["etiquette"]:
        console.print(
            f"  {marks.get(finding['level'], finding['level'])} {finding_text(finding['message'])}",
            highlight=False,
        )
    if draft["status"] == "uncertain":
        note = Text(_("outcome uncertain:"), style="yellow")
        note.append(
            " "
            + _(
                "decide with `mailwatch drafts mark-sent %(id)d` or "
                "`mailwatch drafts resend %(id)d`",
                id=draft["id"],
            )
        )
        console.print(note, highlight=False)
    if draft.get("last_error"):
        what = _("evidence:") if draft["status"] == "uncertain" else _("last error:")
        line = Text(what, style="red")
        line.append(f" {draft['last_error']}")  # a server's words: never console markup
        console.print(line, highlight=False)


def report_send(
    draft_id: int, draft: dict[str, Any], as_json: bool, exit_on: tuple[str, ...]
) -> None:
    """What became of a send (approve, resend): its status, the server's reason when it did
    not go, and exit 1 for the statuses the caller counts as failure."""
    if as_json:
        print_json([draft])
    else:
        colour = {"sent": "green", "failed": "red"}.get(draft["status"], "yellow")
        line = Text(_("draft %(id)d", id=draft_id) + " ")
        line.append(draft["status"], style=colour)
        if draft["status"] != "sent" and draft.get("last_error"):
            line.append(f": {draft['last_error']}")  # a server's words: never console markup
        console.print(line, highlight=False)
    if draft["status"] in exit_on:
        raise typer.Exit(1)


def draft(
    kind: Annotated[
        str,
        typer.Argument(
            help="acknowledgment|decline|renegotiation|follow_up|closing|clarify, "
            "or the thread id with --auto"
        ),
    ],
    thread_id: Annotated[int | None, typer.Argument(help="thread id")] = None,
    auto: Annotated[
        bool,
        typer.Option("--auto", help="pick the kind from the client's last message (its intent)"),
    ] = False,
    new_date: Annotated[
        str | None, typer.Option("--new-date", help="renegotiation: the new date (ISO)")
    ] = None,
    reply_by: Annotated[
        str | None,
        typer.Option("--reply-by", help="acknowledgment: when the full answer comes (ISO)"),
    ] = None,
    promise_id: Annotated[
        int | None, typer.Option("--promise", help="renegotiation: which promise")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Write a draft now; it waits in the approval queue (`mailwatch drafts`)."""
    from mailwatch.drafts.mailbox import reconcile_all  # lazy: keeps --help fast

    cfg = settings()
    if auto:
        # `mailwatch draft --auto 12`: the one argument is the thread
        if thread_id is None and kind.isdigit():
            thread_id = int(kind)
        if thread_id is None:
            raise UsageError(_("--auto needs a thread id: mailwatch draft --auto THREAD"))
        picked, intent = drafts(cfg).reply_kind(thread_id)
        if picked is None:
            err.print(
                _(
                    "thread %(id)d: no reply needed (%(intent)s: %(evidence)s)",
                    id=thread_id,
                    intent=intent.intent,
                    evidence=intent.evidence,
                ),
                highlight=False,
                markup=False,  # the evidence is the client's words
            )
            if as_json:
                print("[]")
            return
        err.print(
            f"intent {intent.intent} ({intent.evidence}): {picked}", highlight=False, markup=False
        )
        kind = picked
    if thread_id is None:
        raise UsageError(_("a thread id is needed: mailwatch draft KIND THREAD"))
    new_at = parse_when(new_date, "--new-date", cfg, end_of_day=True) if new_date else None
    reply_at = parse_when(reply_by, "--reply-by", cfg, end_of_day=True) if reply_by else None
    service = drafts(cfg)
    result = service.create(
        kind,
        thread_id,
        datetime.now(UTC),
        new_date=new_at,
        reply_by=reply_at,
        promise_id=promise_id,
    )
    if result.created and cfg.drafts_to_mailbox:
        reconcile_all(service.factory, cfg, datetime.now(UTC))
        result = type(result)(service.get(result.draft["id"]).to_json(), result.created)
    if not result.created and not as_json:
        err.print(
            _(
                "a pending %(kind)s draft for thread %(thread)d already exists: draft %(id)d",
                kind=kind,
                thread=thread_id,
                id=result.draft["id"],
            ),
            highlight=False,
            markup=False,
        )
    print_draft(result.draft, as_json)


drafts_app = typer.Typer(no_args_is_help=True, help="The approval queue.")


@drafts_app.command("list")
def drafts_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending|approved|sending|sent|rejected|failed|uncertain|all (default: the "
            "drafts that need you: pending, approved, failed, uncertain)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """The approval queue, longest-waiting client first (default: the drafts that need you)."""
    from mailwatch.store.models import DRAFT_STATUSES  # lazy: keeps --help fast (SQLAlchemy)

    if status is not None and status not in (*DRAFT_STATUSES, "all"):
        raise UsageError(
            _(
                "%(value)r is not one of %(choices)s",
                value=status,
                choices=", ".join((*DRAFT_STATUSES, "all")),
            ),
            prefix="--status",
        )
    cfg = settings()
    rows = [d.to_json() for d in drafts(cfg).list(None if status == "all" else status)]
    if status is None:  # the same rows for people and for --json
        rows = [r for r in rows if r["status"] in NEEDS_YOU]
    if as_json:
        print_json(rows)
        return
    if status is None:
        title = _("the drafts that need you (%(num)d), longest-waiting client first", num=len(rows))
    else:
        title = _(
            "%(status)s drafts (%(num)d), longest-waiting client first",
            status=status,
            num=len(rows),
        )
    table = Table(title=title, title_justify="left")
    headers = (_("id"), _("thread"), _("kind"), _("lang"), _("status"), _("to"))
    for index, column in enumerate((*headers, _("subject"), _("check"))):
        table.add_column(column, no_wrap=index in (0, 4))  # id, status
    from mailwatch.i18n_text import problem_word  # lazy: as above, only for the drafts table

    for row in rows:
        problems = [problem_word(f["code"]) for f in row["etiquette"] if f["level"] != "ok"]
        table.add_row(
            str(row["id"]),
            str(row["thread_id"] or ""),
            row["kind"].replace("_", "-"),
            row["language"],
            row["status"],
            Text(row["to"]),  # addresses and subjects come from mail: never console markup
            Text(row["subject"][:50]),
            "; ".join(problems) or _("reads well"),
        )
    console.print(table)


@drafts_app.command("show")
def drafts_show(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """One draft with its etiquette check."""
    print_draft(drafts(settings()).get(draft_id).to_json(), as_json)


@drafts_app.command("edit")
def drafts_edit(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="take the new text from this file")
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="a new subject")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Change a pending draft's text (in $EDITOR unless --body-file) or subject."""
    from mailwatch.drafts.service import editor_command  # lazy: keeps --help fast

    service = drafts(settings())
    current = service.get(draft_id).to_json()
    if current["status"] != "pending":
        raise Conflict(
            _(
                "draft %(id)d is %(status)s; only pending drafts change",
                id=draft_id,
                status=label(current["status"]),
            )
        )
    body: str | None = None
    if body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # the file, not mailwatch: say which
            raise UsageError(str(exc), prefix="--body-file") from None
    elif subject is None:
        body = _edit_in_editor(editor_command(), draft_id, current["body_text"])
        if body == current["body_text"]:
            console.print(_("no change"))
            return
    edited = service.edit(draft_id, datetime.now(UTC), body, subject)
    print_draft(edited, as_json)


def _edit_in_editor(command: str, draft_id: int, text: str) -> str:
    """The text after the user's $EDITOR had it in a private temporary file."""
    with tempfile.NamedTemporaryFile(
        "w",
        suffix=".txt",
        prefix=f"mailwatch-draft-{draft_id}-",
        delete=False,
        encoding="utf-8",
    ) as handle:
        handle.write(text)
        path = Path(handle.name)
    try:
        done = subprocess.run([*shlex.split(command), str(path)], check=False)
        if done.returncode != 0:
            raise UsageError(
                _("the editor exited with %(code)d; draft unchanged", code=done.returncode)
            )
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


@drafts_app.command("approve")
def drafts_approve(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    send: Annotated[
        bool,
        typer.Option(
            "--send/--no-send", help="send right away (default) or leave it to the service"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Approve a pending (or failed) draft; it is sent exactly once."""
    service = drafts(settings())
    approved = service.approve(draft_id, datetime.now(UTC))
    if send:
        approved = service.send_now(draft_id, datetime.now(UTC))
    report_send(draft_id, approved, as_json, exit_on=("failed",))


@drafts_app.command("reject")
def drafts_reject(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """Reject a draft: it is never sent."""
    rejected = drafts(settings()).reject(draft_id, datetime.now(UTC))
    if as_json:
        print_json([rejected])
    else:
        console.print(_("draft %(id)d rejected", id=draft_id), highlight=False)


@drafts_app.command("mark-sent")
def drafts_mark_sent(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """An uncertain draft that did arrive (the client answered, the server log shows it)."""
    done = drafts(settings()).mark_sent(draft_id, datetime.now(UTC))
    if as_json:
        print_json([done])
    else:
        console.print(_("draft %(id)d marked sent", id=draft_id), highlight=False)


@drafts_app.command("resend")
def drafts_resend(
    draft_id: Annotated[int, typer.Argument(help="draft id")],
    send: Annotated[
        bool,
        typer.Option(
            "--send/--no-send", help="send right away (default) or leave it to the service"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array")] = False,
) -> None:
    """An uncertain draft that did NOT arrive: send it again (Sent is checked once more)."""
    service = drafts(settings())
    done = service.resend(draft_id, datetime.now(UTC))
    if send:
        done = service.send_now(draft_id, datetime.now(UTC))
    report_send(draft_id, done, as_json, exit_on=("failed", "uncertain"))
