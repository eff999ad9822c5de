"""The daily digest as plain data, evaluated "as of" an instant.

Built from the same read models as ``threads`` and ``promises`` (mailwatch.views), so
the digest never disagrees with the CLI. Only conversations with a message a client wrote
appear: newsletters, lists, colleagues, no-reply senders and automatic mail never do.

Sections, in the order they are shown:

- ``sync``/``alerts``: one line per mailbox; a sync gap, a failing login or a mailbox never
  synced goes to the very top (fetching that silently stops is the worst failure).
- ``job_problems``: one line per scheduler job whose last run failed, with its last error
  (recorded by the service in ``job_runs``), right below the sync problems.
- ``overdue``: client threads past the reply SLA, longest business wait first.
- ``drafts``: drafts waiting for approval, with a (signed) link to the web page.
- ``promises_due``: open promises due by the end of the second business day after today;
  ``promises_missed``: missed ones due in the last ``missed_days`` days.
- ``warning_clients``: clients showing warning signs, with the words that show them.
- ``this_week``/``last_week``: median first response in business minutes (local calendar
  weeks, Monday to Sunday, in the team's timezone), bucketed by when we answered.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from mailwatch.config import Settings
from mailwatch.core.business_time import business_duration
from mailwatch.core.headers import header_safe
from mailwatch.digest.links import draft_link, public_base
from mailwatch.i18n import N_, _, ngettext, use_language
from mailwatch.i18n import datetime_text as _datetime_text
from mailwatch.i18n import duration as _duration
from mailwatch.i18n import wall_duration as _wall_duration
from mailwatch.store.raw import Cond, Reader, ids_in, ids_in_chunks, reader_of
from mailwatch.views.backlog import backlog_line, backlog_rows, read_started_at
from mailwatch.views.context import View
from mailwatch.views.jobs import job_states
from mailwatch.views.promises import PromiseStatus, PromiseView, list_promises
from mailwatch.views.threads import ThreadState, ThreadView, list_threads, overdue_summary

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "AgeBand",
    "Digest",
    "DraftItem",
    "OverdueThread",
    "PromiseItem",
    "SignItem",
    "SyncHealth",
    "WarningClient",
    "WeekFigures",
    "build_digest",
    "business_duration",
    "wall_duration",
]

SNIPPET_CHARS = 160
# The digest lists this many of the longest waits; the rest are counted by age band, with the
# command and page that show them all. A person reads 20 rows, not 14,000.
DIGEST_TOP = 20
FULL_LIST_COMMAND = "mailwatch threads --state overdue"
FULL_LIST_PATH = "/threads?show=all#overdue-h"
# Warning signs are news while the conversation is: threads with mail in the last this many
# days; the section lists the DIGEST_TOP clients with the most signs and counts the rest.
WARNING_DAYS = 30
# (label, upper bound in wall-clock days since the client started waiting; None = no bound)
AGE_BANDS: tuple[tuple[str, float | None], ...] = (
    (N_("under 1 day"), 1),
    (N_("1-7 days"), 7),
    (N_("1-4 weeks"), 28),
    (N_("1-3 months"), 91),
    (N_("over 3 months"), None),
)
EVIDENCE_CHARS = 200
# Shown in the interface language (``_(SIGN_LABELS[kind])``); the kinds stay English in JSON.
SIGN_LABELS = {
    "price_pressure": N_("pushes on price"),
    "urgency": N_("demands urgency"),
    "meeting_push": N_("insists on meetings"),
    "contract_nitpicking": N_("nitpicks the contract"),
    "no_clear_goal": N_("no clear goal"),
    "slow_but_demanding": N_("slow to answer but demanding"),
}
_AUTH_ERROR = re.compile(
    r"login refused|authenticat|\bauth\b|oauth|token|password|credential|invalid_grant"
    r"|invalid_client|expired|not authori[sz]ed|AUTHENTICATIONFAILED",
    re.IGNORECASE,
)


# -- the data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncHealth:
    mailbox: str
    status: str  # ok | never | gap | error | auth_error
    last_sync_at: str | None
    last_error: str | None
    last_error_at: str | None
    minutes_since_sync: int | None
    line: str  # one line for a human

    @property
    def problem(self) -> bool:
        return self.status != "ok"


@dataclass(frozen=True)
class OverdueThread:
    thread_id: int
    mailbox: str | None
    client_name: str | None
    client_email: str | None
    subject: str
    waiting_since: str | None
    reply_due_at: str | None
    waiting_business_minutes: int
    overdue_business_minutes: int
    wait: str  # the business wait, e.g. "6h 30m"
    snippet: str  # one line of the client's last new text
    warning_signs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AgeBand:
    """How many overdue threads have been waiting this long (wall-clock age of the wait)."""

    label: str
    count: int


@dataclass(frozen=True)
class DraftItem:
    id: int
    kind: str
    thread_id: int | None
    language: str
    client_name: str | None
    client_email: str | None
    subject: str
    created_at: str | None
    age_minutes: int
    age: str  # wall-clock age, e.g. "1d 3h"
    link: str
    # "uncertain": its sending may or may not have reached the client; a person decides
    status: str = "pending"


@dataclass(frozen=True)
class PromiseItem:
    id: int
    thread_id: int | None
    text: str
    due_at: str | None
    status: str
    source: str
    client_name: str | None
    client_email: str | None
    subject: str
    business_minutes_left: int  # until due; 0 once missed
    when: str  # "due in 3h 00m (business time)" or "missed, due 2026-11-20 18:00"


@dataclass(frozen=True)
class SignItem:
    kind: str
    label: str
    evidence: str
    thread_id: int


@dataclass(frozen=True)
class WarningClient:
    client_name: str | None
    client_email: str | None
    thread_ids: list[int]
    subjects: list[str]
    signs: list[SignItem]


@dataclass(frozen=True)
class WeekFigures:
    label: str  # "this week" | "last week"
    start: str
    end: str
    median_first_response_business_minutes: int | None
    threads: int  # threads that got their first answer in the week
    unanswered: int  # threads whose first client message came in the week, unanswered by its end


@dataclass(frozen=True)
class Digest:
    generated_at: str
    timezone: str
    reply_sla_minutes: int
    sync: list[SyncHealth]
    alerts: list[str]
    overdue: list[OverdueThread]
    drafts: list[DraftItem]
    promises_due: list[PromiseItem]
    promises_missed: list[PromiseItem]
    warning_clients: list[WarningClient]
    this_week: WeekFigures
    last_week: WeekFigures
    # Every overdue thread is counted here; ``overdue`` holds only the DIGEST_TOP longest waits.
    overdue_total: int | None = None
    overdue_bands: list[AgeBand] = field(default_factory=list)
    full_list_command: str = FULL_LIST_COMMAND
    warning_total: int | None = None
    # Every pending draft is counted here; ``drafts`` lists the uncertain ones and the oldest
    # pending ones, DIGEST_TOP in all (the rest wait in the approval queue).
    drafts_total: int | None = None
    language: str = "en"  # the interface language it was built and is shown in (UI_LANGUAGE)

    @property
    def warning_count(self) -> int:
        return len(self.warning_clients) if self.warning_total is None else self.warning_total

    @property
    def overdue_count(self) -> int:
        return len(self.overdue) if self.overdue_total is None else self.overdue_total

    @property
    def drafts_count(self) -> int:
        return len(self.drafts) if self.drafts_total is None else self.drafts_total

    @property
    def drafts_more(self) -> int:
        """Drafts to approve not listed one by one."""
        return max(0, self.drafts_count - len(self.drafts))

    @property
    def overdue_more(self) -> int:
        """Overdue threads not listed one by one."""
        return max(0, self.overdue_count - len(self.overdue))

    job_problems: list[str] = field(default_factory=list)
    backlog: str = ""  # "37 threads waiting longer than a business day when mailwatch started..."
    backlog_threads: int = 0

    @property
    def as_of(self) -> str:
        """``2026-11-30 08:30 Europe/Chisinau``: when, for people (the one clock)."""
        with use_language(self.language):
            return f"{_datetime_text(self.generated_at, ZoneInfo(self.timezone))} {self.timezone}"

    def subject_line(self) -> str:
        """A safe one-line Subject: counts only, nothing taken from the mail."""
        with use_language(self.language):
            parts = []
            if self.alerts:
                parts.append(_("SYNC PROBLEM"))
            if self.job_problems:
                parts.append(_("JOB FAILING"))
            parts.append(ngettext("%(num)d overdue", "%(num)d overdue", self.overdue_count))
            parts.append(
                ngettext("%(num)d draft to approve", "%(num)d drafts to approve", self.drafts_count)
            )
            if self.promises_missed:
                parts.append(
                    ngettext(
                        "%(num)d promise missed",
                        "%(num)d promises missed",
                        len(self.promises_missed),
                    )
                )
            if self.promises_due:
                parts.append(
                    ngettext(
                        "%(num)d promise due soon",
                        "%(num)d promises due soon",
                        len(self.promises_due),
                    )
                )
            return _("mailwatch digest: %(counts)s", counts=", ".join(parts))

    def counts(self) -> dict[str, int]:
        return {
            "alerts": len(self.alerts),
            "job_problems": len(self.job_problems),
            "backlog": self.backlog_threads,
            "overdue": self.overdue_count,
            "drafts": self.drafts_count,
            "promises_due": len(self.promises_due),
            "promises_missed": len(self.promises_missed),
            "warning_clients": self.warning_count,
        }

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts()
        data["subject"] = self.subject_line()
        return data


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- formatting helpers -------------------------------------------------------------------------


def wall_duration(minutes: int) -> str:
    """Clock minutes as "2d 3h", "5h 10m" or "12m" (in the interface language)."""
    return _wall_duration(minutes)


def one_line(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    """One clean line (controls, bidi overrides and runs of spaces gone), cut with "…"."""
    return header_safe(text or "", limit)


def _local_label(view: View, value: datetime) -> str:
    return _datetime_text(value, view.calendar.tz)


# -- building -----------------------------------------------------------------------------------


def digest_language(settings: Settings) -> str:
    """The digest speaks the first mailbox's UI_LANGUAGE (it is sent from that mailbox)."""
    mailbox = settings.mailboxes[0] if settings.mailboxes else None
    language = mailbox.values.get("UI_LANGUAGE") if mailbox is not None else None
    return language or "en"


def build_digest(
    session: Session | Reader,
    settings: Settings,
    now: datetime,
    *,
    missed_days: int = 14,
    top: int = DIGEST_TOP,
    language: str | None = None,
) -> Digest:
    """Everything the daily digest shows, as of ``now``: the ``top`` longest waits one by one,
    the other overdue threads as counts by age band; its words in ``language`` (default: the
    first mailbox's UI_LANGUAGE). ``session``: a SQLAlchemy session (the service, the web
    page) or a :class:`~mailwatch.store.raw.Reader` (the ``digest`` command)."""
    language = language or digest_language(settings)
    with use_language(language):
        return _build_digest(reader_of(session), settings, now, missed_days, top, language)


def _build_digest(
    db: Reader,
    settings: Settings,
    now: datetime,
    missed_days: int,
    top: int,
    language: str,
) -> Digest:
    view = View.of(settings)
    cal = view.calendar
    today = now.astimezone(cal.tz).date()
    horizon = cal.end_of_business_day(cal.add_business_days(today, 2))
    missed_since = now - timedelta(days=missed_days)
    # Read only what the digest can show, never every thread of the store: the overdue ones,
    # the threads of pending drafts, of promises due or missed in the window, and of
    # warning signs.
    summary = overdue_summary(db, now, view, top, client_only=True)
    overdue_all = summary.top
    draft_rows = _pending_drafts(db, now)
    promises = list_promises(db, now, view, due_from=missed_since, due_to=horizon)
    wanted = {r.id for r in overdue_all}
    wanted |= {d.thread_id for d in draft_rows if d.thread_id is not None}
    wanted |= {p.thread_id for p in promises if p.thread_id is not None}
    signed = _threads_with_signs(db, now - timedelta(days=WARNING_DAYS))
    wanted |= signed
    rows = list_threads(
        db, now, "all", view, thread_ids=wanted - {r.id for r in overdue_all},
        with_message_ids=False,
    )  # fmt: skip
    rows += overdue_all
    by_id = {row.id: row for row in rows}
    client_threads = _client_threads(db, now, by_id)
    inbound_threads = _inbound_threads(db, now, by_id)

    overdue_rows = summary.top  # client threads only, longest wait first
    overdue_total = summary.total
    bands = age_bands(summary.waiting_since, now)
    snippets = _snippets(db, [r.id for r in overdue_rows], now)
    overdue = [
        OverdueThread(
            thread_id=r.id,
            mailbox=r.mailbox,
            client_name=r.counterpart.name,
            client_email=r.counterpart.email,
            subject=one_line(r.subject, 200),
            waiting_since=view.iso(r.waiting_since),
            reply_due_at=view.iso(r.reply_due_at),
            waiting_business_minutes=r.waiting_business_minutes,
            overdue_business_minutes=r.overdue_business_minutes,
            wait=_duration(r.waiting_business_minutes),
            snippet=snippets.get(r.id, ""),
            warning_signs=sorted({s.kind.value for s in r.warning_signs}),
        )
        for r in overdue_rows
    ]

    pending = _drafts(draft_rows, settings, now, by_id)
    drafts = listed_drafts(pending, top)

    def is_client_thread(thread_id: int | None) -> bool:
        if thread_id is None or thread_id not in by_id:
            return False
        row = by_id[thread_id]
        if row.state is ThreadState.IGNORED:
            return False
        if thread_id in client_threads:
            return True
        # We wrote first and nobody answered yet: a client unless the address is ours.
        return thread_id not in inbound_threads and not _internal(row.counterpart.email, settings)

    promises_due: list[PromiseItem] = []
    promises_missed: list[PromiseItem] = []
    for p in promises:
        if not is_client_thread(p.thread_id):
            continue
        due = p.due_at
        if p.status is PromiseStatus.OPEN and due <= horizon:
            left = cal.business_minutes_between(now, due)
            when = _("due in %(left)s", left=_duration(left))
            promises_due.append(_promise(p, by_id, left, when, view))
        elif p.status is PromiseStatus.MISSED and due >= missed_since:
            when = _("missed, due %(due)s", due=_local_label(view, due))
            promises_missed.append(_promise(p, by_id, 0, when, view))
    promises_missed.sort(key=lambda p: p.due_at or "", reverse=True)

    warning_clients = _warning_clients(
        [
            r
            for r in rows
            if r.id in signed
            and r.warning_signs
            and r.id in client_threads
            and r.state not in (ThreadState.CLOSED, ThreadState.IGNORED)
        ]
    )

    this_week, last_week = _response_figures(db, now, view)
    sync = _sync_health(db, settings, now, view)
    alerts = [s.line for s in sync if s.problem]
    backlog_count = len(backlog_rows(db, settings, now))
    return Digest(
        generated_at=view.iso(now) or "",
        timezone=cal.tz_name,
        reply_sla_minutes=int(settings.reply_sla.total_seconds() // 60),
        sync=sync,
        alerts=alerts,
        overdue=overdue,
        drafts=drafts,
        promises_due=promises_due,
        promises_missed=promises_missed,
        warning_clients=warning_clients[: max(0, top)],
        warning_total=len(warning_clients),
        drafts_total=len(pending),
        this_week=this_week,
        last_week=last_week,
        overdue_total=overdue_total,
        overdue_bands=bands,
        job_problems=_job_problems(db, view),
        backlog=backlog_line(backlog_count, settings, read_started_at(db)),
        backlog_threads=backlog_count,
        language=language,
    )


def listed_drafts(drafts: list[DraftItem], top: int) -> list[DraftItem]:
    """The drafts the digest lists one by one, still oldest first: every uncertain one (a
    person must decide whether it went out), then the oldest pending ones, ``top`` in all.

    Why a cap: the digest reads the same with 3 or 400 drafts waiting; the approval queue
    holds them all, and the digest says how many more wait there."""
    if len(drafts) <= top:
        return drafts
    uncertain = [d for d in drafts if d.status == "uncertain"]
    room = max(0, top - len(uncertain))
    oldest = [d for d in drafts if d.status != "uncertain"][:room]
    keep = {id(d) for d in uncertain} | {id(d) for d in oldest}
    return [d for d in drafts if id(d) in keep]


def age_bands(waiting_since: Iterable[datetime | str | None], now: datetime) -> list[AgeBand]:
    """Counts of waits by wall-clock age (every band listed, zeros included, so it reads the
    same every day)."""
    counts = [0] * len(AGE_BANDS)
    for since in waiting_since:
        days = 0.0
        if since:
            start = datetime.fromisoformat(since) if isinstance(since, str) else since
            days = max(0.0, (now - start).total_seconds() / 86_400)
        for index, (_label, bound) in enumerate(AGE_BANDS):
            if bound is None or days < bound:
                counts[index] += 1
                break
    return [AgeBand(_(label), n) for (label, _b), n in zip(AGE_BANDS, counts, strict=True)]


def _job_problems(db: Reader, view: View) -> list[str]:
    """Scheduler jobs whose last run failed: "sla-check failing since ...: KeyError: ..."."""
    lines = []
    for state in job_states(db):
        if not state.failing:
            continue
        since = _local_label(view, state.last_failure_at) if state.last_failure_at else "?"
        runs = ngettext("%(num)d failed run", "%(num)d failed runs", state.consecutive_failures)
        ok = (
            _("last success %(when)s", when=_local_label(view, state.last_success_at))
            if state.last_success_at
            else _("never succeeded")
        )
        lines.append(
            _(
                "job %(job)s: %(runs)s in a row (last %(since)s, %(ok)s): %(error)s",
                job=state.job,
                runs=runs,
                since=since,
                ok=ok,
                error=one_line(state.last_error, 300),
            )
        )
    return lines


def _at_or_before(db: Reader, now: datetime) -> Cond:
    """The message's time (its Date, else its INTERNALDATE) is at or before ``now``."""
    return Cond(
        "(messages.date <= ? OR (messages.date IS NULL AND messages.internal_date <= ?))",
        (db.time(now), db.time(now)),
    )


def _threads_where(db: Reader, among: Iterable[int], condition: Cond) -> set[int]:
    """Which of ``among`` hold a message matching ``condition`` (chunked IN lists)."""
    ids = sorted(among)
    found: set[int] = set()
    for chunk in ids_in_chunks("messages.thread_id", ids):
        where = chunk & condition
        found.update(
            db.column(
                f"SELECT DISTINCT messages.thread_id FROM messages WHERE {where.sql}", where.params
            )
        )
    return found


def _client_threads(db: Reader, now: datetime, among: Iterable[int]) -> set[int]:
    """Threads holding a message a client wrote (by ``now``): the only ones the digest shows."""
    return _threads_where(
        db,
        among,
        Cond("messages.direction = 'inbound' AND messages.category = 'client'")
        & _at_or_before(db, now),
    )


def _inbound_threads(db: Reader, now: datetime, among: Iterable[int]) -> set[int]:
    return _threads_where(
        db, among, Cond("messages.direction = 'inbound'") & _at_or_before(db, now)
    )


def _threads_with_signs(db: Reader, since: datetime) -> set[int]:
    """Threads with mail since ``since`` whose tracking found a warning sign (JSON null and []
    are no sign). The column's text is compared (JSON, not JSONB, on PostgreSQL: the text as
    written)."""
    return set(
        db.column(
            "SELECT threads.id FROM threads WHERE threads.last_message_at >= ?"
            " AND threads.signs IS NOT NULL"
            " AND coalesce(CAST(threads.signs AS TEXT), 'null') NOT IN ('null', '[]')",
            (db.time(since),),
        )
    )


def _internal(email: str | None, settings: Settings) -> bool:
    if not email:
        return True
    email = email.lower()
    if email in settings.own_addresses:
        return True
    domain = email.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in settings.internal_domains)


def _snippets(db: Reader, thread_ids: list[int], now: datetime) -> dict[int, str]:
    """One line of the newest client message's new (unquoted) text, per thread."""
    if not thread_ids:
        return {}
    where = (
        ids_in("messages.thread_id", thread_ids)
        & Cond("messages.direction = 'inbound' AND messages.category = 'client'")
        & _at_or_before(db, now)
    )
    convert = db.times()
    newest: dict[int, tuple[datetime, int, str]] = {}
    for tid, when, internal, row_id, new_text, prefix in db.rows(
        "SELECT messages.thread_id, messages.date, messages.internal_date, messages.id,"
        f" messages.new_text, messages.text_prefix FROM messages WHERE {where.sql}"
        " ORDER BY messages.thread_id, messages.id",
        where.params,
    ):
        stamp = when if when is not None else internal
        if tid is None or stamp is None:
            continue
        at = convert(stamp)
        text = new_text if (new_text or "").strip() else prefix
        if tid not in newest or (at, row_id) > newest[tid][:2]:
            newest[tid] = (at, row_id, text or "")
    return {tid: one_line(text) for tid, (_at, _id, text) in newest.items()}


class _Draft(NamedTuple):
    """What the digest shows of a draft waiting for approval (a plain row, not the model)."""

    id: int
    kind: str
    thread_id: int | None
    language: str
    status: str
    to_addrs: list[Any]
    subject: str
    created_at: datetime


def _pending_drafts(db: Reader, now: datetime) -> list[_Draft]:
    convert = db.times()
    return [
        _Draft(did, kind, tid, language, status, db.json(to_addrs) or [], subject, convert(created))
        for did, kind, tid, language, status, to_addrs, subject, created in db.rows(
            "SELECT drafts.id, drafts.kind, drafts.thread_id, drafts.language, drafts.status,"
            " drafts.to_addrs, drafts.subject, drafts.created_at FROM drafts"
            " WHERE drafts.status IN ('pending', 'uncertain') AND drafts.created_at <= ?"
            " ORDER BY drafts.created_at, drafts.id",
            (db.time(now),),
        )
    ]


def _drafts(
    pending: list[_Draft], settings: Settings, now: datetime, threads: dict[int, ThreadView]
) -> list[DraftItem]:
    view = View.of(settings)
    secret = settings.web_secret.reveal() if settings.web_secret else ""
    result = []
    for draft in pending:
        to = draft.to_addrs[0] if draft.to_addrs and isinstance(draft.to_addrs[0], dict) else {}
        thread = threads.get(draft.thread_id or -1)
        if thread is not None and thread.state is ThreadState.IGNORED:
            continue
        age = max(0, int((now - draft.created_at).total_seconds() // 60))
        result.append(
            DraftItem(
                id=draft.id,
                kind=draft.kind,
                thread_id=draft.thread_id,
                language=draft.language,
                client_name=one_line(to.get("name"), 120) or None,
                client_email=to.get("email"),
                subject=one_line(draft.subject, 200),
                created_at=view.iso(draft.created_at),
                age_minutes=age,
                age=wall_duration(age),
                link=draft_link(
                    public_base(settings.public_url, settings.web_bind), draft.id, secret
                ),
                status=draft.status,
            )
        )
    return result


def _promise(
    p: PromiseView, threads: dict[int, ThreadView], left: int, when: str, view: View
) -> PromiseItem:
    thread = threads.get(p.thread_id or -1)
    return PromiseItem(
        id=p.id,
        thread_id=p.thread_id,
        text=one_line(p.text, 300),
        due_at=view.iso(p.due_at),
        status=p.status.value,
        source=p.source,
        client_name=thread.counterpart.name if thread is not None else None,
        client_email=thread.counterpart.email if thread is not None else None,
        subject=one_line(thread.subject if thread is not None else "", 200),
        business_minutes_left=left,
        when=when,
    )


def _warning_clients(rows: list[ThreadView]) -> list[WarningClient]:
    grouped: dict[str, list[ThreadView]] = defaultdict(list)
    for row in rows:
        key = (row.counterpart.email or f"thread-{row.id}").lower()
        grouped[key].append(row)
    result = []
    for group in grouped.values():
        group.sort(key=lambda r: r.id)
        signs: list[SignItem] = []
        seen: set[tuple[str, str]] = set()
        for row in group:
            for sign in row.warning_signs:
                kind = sign.kind.value
                evidence = one_line(sign.evidence or "", EVIDENCE_CHARS)
                if (kind, evidence) in seen:
                    continue
                seen.add((kind, evidence))
                signs.append(
                    SignItem(
                        kind,
                        _(SIGN_LABELS[kind]) if kind in SIGN_LABELS else kind.replace("_", " "),
                        evidence,
                        row.id,
                    )
                )
        first = group[0].counterpart
        result.append(
            WarningClient(
                client_name=first.name,
                client_email=first.email,
                thread_ids=[r.id for r in group],
                subjects=[one_line(r.subject, 200) for r in group],
                signs=signs,
            )
        )
    result.sort(key=lambda c: (-len(c.signs), (c.client_email or "")))
    return result


def _week_start(day: date, view: View) -> datetime:
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, time(0), tzinfo=view.calendar.tz)


def _response_figures(db: Reader, now: datetime, view: View) -> tuple[WeekFigures, WeekFigures]:
    """Median first response per week, bucketed by when our first answer went out.

    Threads the user ignored are left out (an ignored thread stays ignored, so that is its
    stored decision)."""
    cal = view.calendar
    this_start = _week_start(now.astimezone(cal.tz).date(), view)
    last_start = _week_start(this_start.date() - timedelta(days=7), view)
    candidates = set(
        db.column(
            "SELECT threads.id FROM threads WHERE threads.last_message_at >= ?"
            " AND (threads.manual_state IS NULL OR threads.manual_state != 'ignored')",
            (db.time(last_start),),
        )
    )
    answered: dict[str, list[int]] = {"this": [], "last": []}
    unanswered = {"this": 0, "last": 0}

    def week_of(at: datetime) -> str | None:
        if this_start <= at <= now:
            return "this"
        if last_start <= at < this_start:
            return "last"
        return None

    for first, reply in _first_responses(db, sorted(candidates), now):
        if reply is not None:
            week = week_of(reply)
            if week is not None:
                answered[week].append(cal.business_minutes_between(first, reply))
        arrived = week_of(first)
        if arrived is not None:
            week_end = now if arrived == "this" else this_start
            if reply is None or reply > week_end:
                unanswered[arrived] += 1

    def figures(key: str, label: str, start: datetime, end: datetime) -> WeekFigures:
        values = answered[key]
        median = round(statistics.median(values)) if values else None
        return WeekFigures(
            label=label,
            start=view.iso(start) or "",
            end=view.iso(end) or "",
            median_first_response_business_minutes=median,
            threads=len(values),
            unanswered=unanswered[key],
        )

    return (
        figures("this", _("this week"), this_start, now),
        figures("last", _("last week"), last_start, this_start),
    )


def _first_responses(
    db: Reader, thread_ids: list[int], now: datetime
) -> list[tuple[datetime, datetime | None]]:
    """Per thread holding a client's message by ``now``: when the first came, and our first
    answer after it by ``now`` (None if none yet). A message's time is its Date, else its
    INTERNALDATE; messages without either are left out.

    Two aggregates in SQL rather than every message of the two weeks' threads in Python (at 1M
    messages that read and converted ~13,000 rows, a third of the digest).
    """
    found: list[tuple[datetime, datetime | None]] = []
    convert = db.times()
    at = "coalesce(messages.date, messages.internal_date)"
    our_at = "coalesce(ours.date, ours.internal_date)"
    for among in ids_in_chunks("messages.thread_id", thread_ids):
        sql = (
            f"SELECT firsts.first_at, (SELECT min({our_at}) FROM messages AS ours"
            " WHERE ours.thread_id = firsts.tid AND ours.direction = 'outbound'"
            f" AND {our_at} > firsts.first_at AND {our_at} <= ?) AS reply_at"
            f" FROM (SELECT messages.thread_id AS tid, min({at}) AS first_at FROM messages"
            f" WHERE {among.sql} AND messages.direction = 'inbound'"
            f" AND messages.category = 'client' AND {at} <= ?"
            " GROUP BY messages.thread_id) AS firsts"
        )
        for first, reply in db.rows(sql, (db.time(now), *among.params, db.time(now))):
            found.append((convert(first), convert(reply) if reply is not None else None))
    return found


class _Mailbox(NamedTuple):
    name: str
    last_sync_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def _sync_health(db: Reader, settings: Settings, now: datetime, view: View) -> list[SyncHealth]:
    """One line per mailbox; a sync gap, a failing login or no sync at all is a problem."""
    convert = db.times()

    def at(value: Any) -> datetime | None:
        return convert(value) if value is not None else None

    rows = {
        name: _Mailbox(name, at(synced), error, at(error_at))
        for name, synced, error, error_at in db.rows(
            "SELECT mailboxes.name, mailboxes.last_sync_at, mailboxes.last_error,"
            " mailboxes.last_error_at FROM mailboxes ORDER BY mailboxes.id"
        )
    }
    names = [m.name for m in settings.mailboxes]
    names += [name for name in rows if name not in names]
    window = max(settings.idle_renew, settings.poll_interval)
    gap_after = max(timedelta(hours=1), 3 * window)
    result = []
    for name in names:
        row = rows.get(name)
        last_sync = row.last_sync_at if row is not None else None
        error = row.last_error if row is not None else None
        error_at = row.last_error_at if row is not None else None
        since = (
            max(0, int((now - last_sync).total_seconds() // 60)) if last_sync is not None else None
        )
        synced = (
            _("last sync %(when)s", when=_local_label(view, last_sync))
            if last_sync
            else _("never synced")
        )
        if error and (last_sync is None or error_at is None or error_at >= last_sync):
            status = "auth_error" if _AUTH_ERROR.search(error) else "error"
            what = _("login problem") if status == "auth_error" else _("sync failing")
            line = f"{name}: {what}: {one_line(error, 300)} ({synced})"
        elif last_sync is None:
            status = "never"
            line = _(
                "%(mailbox)s: never synced: run `mailwatch sync --once` or `run`", mailbox=name
            )
        elif since is not None and now - last_sync > gap_after:
            status = "gap"
            line = _(
                "%(mailbox)s: no sync for %(gap)s (%(synced)s): is `mailwatch run` running?",
                mailbox=name,
                gap=wall_duration(since),
                synced=synced,
            )
        else:
            status, line = "ok", _("%(mailbox)s: OK, %(synced)s", mailbox=name, synced=synced)
        result.append(
            SyncHealth(
                mailbox=name,
                status=status,
                last_sync_at=view.iso(last_sync),
                last_error=one_line(error, 500) if error else None,
                last_error_at=view.iso(error_at),
                minutes_since_sync=since,
                line=line,
            )
        )
    # Problems first: a login problem above a gap above a plain error.
    order = {"auth_error": 0, "gap": 1, "error": 2, "never": 3, "ok": 4}
    result.sort(key=lambda s: order.get(s.status, 9))
    return result
