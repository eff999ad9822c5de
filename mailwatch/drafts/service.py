"""Creating, editing, approving and rejecting drafts: the approval queue behind CLI and web.

A draft answers one message of a thread: the newest client message for an acknowledgment,
a decline or a renegotiation, our own newest message for a follow-up. It carries that
message's threading headers (In-Reply-To, References, Outlook's Thread-Index/Thread-Topic),
and a Message-ID fixed at creation, so every send attempt is recognisably the same message.
"""

from __future__ import annotations

import builtins
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid, parsedate_tz
from typing import Any, cast

import gender_guesser.detector as detector
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailwatch.config import MailboxSettings, Settings
from mailwatch.core.classify import is_automatic_recipient
from mailwatch.core.draft_facts import check_draft_facts
from mailwatch.core.drafting import (
    DRAFT_KINDS,
    DraftInputError,
    Gender,
    RenderedDraft,
    answer_by,
    build_draft_inputs,
    normalize_language,
    offset_of_domain,
)
from mailwatch.core.etiquette import Finding, check_draft, check_etiquette
from mailwatch.core.headers import header_safe
from mailwatch.core.intent import IntentVerdict, classify_intent
from mailwatch.core.message import Address
from mailwatch.core.names import addressee
from mailwatch.core.text import fold
from mailwatch.core.threads import child_thread_index
from mailwatch.drafts.render import DraftRenderer, DraftTemplateError
from mailwatch.errors import UsageError
from mailwatch.i18n import _, label
from mailwatch.send.outbox import Outbox
from mailwatch.store.db import transaction
from mailwatch.store.models import Draft, Mailbox, Message, Promise, Thread
from mailwatch.views.drafts import DraftView, list_drafts

MAX_REFERENCES = 20
EDITABLE = ("pending",)


class DraftError(UsageError, ValueError):
    """A draft request that cannot be done; the text says why, for the CLI and the web page."""


@dataclass(frozen=True)
class CreateResult:
    draft: dict[str, Any]
    created: bool  # False: a pending draft of that kind already existed and is returned


def _findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [{"code": f.code, "ok": f.ok, "level": f.level, "message": f.message} for f in findings]


class DraftService:
    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self.renderer = DraftRenderer(settings.templates_dir)

    # -- creating ------------------------------------------------------------------------------

    def create(
        self,
        kind: str,
        thread_id: int,
        now: datetime,
        *,
        new_date: datetime | None = None,
        reply_by: datetime | None = None,
        promise_id: int | None = None,
        automatic: bool = False,
    ) -> CreateResult:
        if kind not in DRAFT_KINDS:
            raise DraftError(
                _(
                    "unknown kind %(kind)r (one of %(kinds)s)",
                    kind=kind,
                    kinds=", ".join(DRAFT_KINDS),
                )
            )
        with transaction(self.factory) as session:
            thread = session.get(Thread, thread_id)
            if thread is None:
                raise DraftError(_("no thread with id %(id)d", id=thread_id))
            existing = session.scalars(
                select(Draft).where(
                    Draft.thread_id == thread_id, Draft.kind == kind, Draft.status == "pending"
                )
            ).first()
            if existing is not None:
                return CreateResult(DraftView.of(existing).to_json(), created=False)
            mailbox = self._mailbox(session, thread.mailbox_id)
            parent = self._parent(session, thread, kind)
            if parent is None:
                raise DraftError(_("thread %(id)d has no message to answer", id=thread_id))
            recipient = self._recipient(thread, parent, mailbox, automatic)
            promise = self._promise(session, thread_id, kind, promise_id)
            rendered = self._render(
                kind, thread, parent, recipient, mailbox, now, new_date, reply_by, promise, session
            )
            draft = Draft(
                mailbox_id=thread.mailbox_id,
                thread_id=thread_id,
                kind=kind,
                language=rendered.language,
                status="pending",
                message_id=make_msgid(domain=self._domain(mailbox)),
                from_addr=self._from(mailbox),
                to_addrs=[{"name": header_safe(recipient.name), "email": recipient.email}],
                cc_addrs=[],
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
                in_reply_to=parent.message_id if not parent.message_id_synthetic else None,
                references=self._references(parent),
                thread_index=child_thread_index(parent.thread_index, now, secrets.randbelow(16)),
                thread_topic=parent.thread_topic or thread.subject or None,
                replied_message_row_id=parent.id,
                promise_id=promise.id if promise is not None else None,
                new_date=new_date,
                etiquette=_findings_json(check_draft(rendered)),
                automatic=automatic,
                created_at=now,
                updated_at=now,
            )
            session.add(draft)
            try:
                session.flush()
            except IntegrityError:
                raise DraftError(
                    f"a pending {kind} draft for thread {thread_id} was just created elsewhere"
                ) from None
            return CreateResult(DraftView.of(draft).to_json(), created=True)

    def reply_kind(self, thread_id: int) -> tuple[str | None, IntentVerdict]:
        """The kind of draft the client's last message calls for, from its intent.

        A refusal -> ``closing``, an unclear request -> ``clarify``, thanks only -> None (no
        reply), anything else -> ``acknowledgment``. For the scheduler and ``draft --auto``.
        """
        with self.factory() as session:
            thread = session.get(Thread, thread_id)
            if thread is None:
                raise DraftError(_("no thread with id %(id)d", id=thread_id))
            last = session.scalars(
                select(Message)
                .where(
                    Message.thread_id == thread.id,
                    Message.direction == "inbound",
                    # a person at the client: not an auto-reply, a bounce or a colleague
                    or_(Message.category == "client", Message.category.is_(None)),
                )
                .order_by(Message.date.desc(), Message.id.desc())
                .limit(1)
            ).first()
            if last is None:
                raise DraftError(_("thread %(id)d has no client message to answer", id=thread_id))
            verdict = classify_intent(last.new_text)  # the client's last word decides
        return verdict.kind, verdict

    def _mailbox(self, session: Session, mailbox_id: int) -> MailboxSettings:
        row = session.get_one(Mailbox, mailbox_id)
        try:
            return self.settings.mailbox(row.name)
        except ValueError:
            return self.settings.mailboxes[0]

    @staticmethod
    def _own_address(mailbox: MailboxSettings) -> str:
        username = mailbox.imap.username
        if "@" in username:
            return username.lower()
        if mailbox.own_addresses:
            return sorted(mailbox.own_addresses)[0]
        raise DraftError(
            f"mailbox {mailbox.name}: no sender address (set {mailbox.env_prefix}OWN_ADDRESSES)"
        )

    def _from(self, mailbox: MailboxSettings) -> dict[str, str]:
        return {"name": header_safe(mailbox.sender_name), "email": self._own_address(mailbox)}

    def _domain(self, mailbox: MailboxSettings) -> str:
        return self._own_address(mailbox).rpartition("@")[2] or "mailwatch.invalid"

    @staticmethod
    def _parent(session: Session, thread: Thread, kind: str) -> Message | None:
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.thread_id == thread.id)
                .order_by(Message.date, Message.id)
            )
        )
        if kind == "follow_up":
            ours = [m for m in messages if m.direction == "outbound"]
            return ours[-1] if ours else None
        client = [m for m in messages if m.direction == "inbound" and m.needs_reply]
        inbound = [m for m in messages if m.direction == "inbound"]
        chosen = client or inbound or messages
        return chosen[-1] if chosen else None

    def _recipient(
        self, thread: Thread, parent: Message, mailbox: MailboxSettings, automatic: bool
    ) -> Address:
        own = self.settings.own_addresses
        candidates: list[dict[str, Any]] = []
        if parent.direction == "inbound":
            candidates = [*parent.reply_to, {"name": parent.from_name, "email": parent.from_email}]
        else:
            candidates = [*parent.to_addrs]
        if thread.counterpart_email:
            candidates.append({"name": thread.counterpart_name, "email": thread.counterpart_email})
        for item in candidates:
            email = str(item.get("email") or "").strip().lower()
            if not email or email in own:
                continue
            address = Address(str(item.get("name") or ""), email)
            markers = dict(parent.markers or {}) if parent.direction == "inbound" else {}
            problem = is_automatic_recipient(address, markers)
            if problem is not None:
                if automatic:
                    raise DraftError(f"not answering automatically: {problem}")
                continue
            return address
        raise DraftError(f"thread {thread.id}: no client address to write to")

    @staticmethod
    def _promise(
        session: Session, thread_id: int, kind: str, promise_id: int | None
    ) -> Promise | None:
        if promise_id is not None:
            promise = session.get(Promise, promise_id)
            if promise is None or promise.thread_id != thread_id:
                raise DraftError(
                    _(
                        "no promise %(promise)d in thread %(thread)d",
                        promise=promise_id,
                        thread=thread_id,
                    )
                )
            return promise
        if kind != "renegotiation":
            return None
        return session.scalars(
            select(Promise)
            .where(
                Promise.thread_id == thread_id,
                Promise.done_at.is_(None),
                Promise.renegotiated_at.is_(None),
            )
            .order_by(Promise.due_at)
        ).first()

    @staticmethod
    def _references(parent: Message) -> list[str]:
        chain = [r for r in (parent.references or []) if isinstance(r, str)]
        if parent.in_reply_to and parent.in_reply_to not in chain:
            chain.append(parent.in_reply_to)
        if not parent.message_id_synthetic and parent.message_id not in chain:
            chain.append(parent.message_id)
        if len(chain) > MAX_REFERENCES:  # RFC 5322: keep the first and the newest
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        return chain

    def _render(
        self,
        kind: str,
        thread: Thread,
        parent: Message,
        recipient: Address,
        mailbox: MailboxSettings,
        now: datetime,
        new_date: datetime | None,
        reply_by: datetime | None,
        promise: Promise | None,
        session: Session | None = None,
    ) -> RenderedDraft:
        cal = self.settings.calendar
        old_date = promise.due_at if promise is not None else None
        client_deadline = thread.requested_by
        if kind == "acknowledgment" and reply_by is None:
            reply_by = default_reply_by(self.settings, now, client_deadline)
        if kind == "renegotiation":
            if old_date is None:
                raise DraftError(
                    _(
                        "thread %(id)d has no open promise to renegotiate (add one with "
                        "`mailwatch promise add`)",
                        id=thread.id,
                    )
                )
            if new_date is None:
                raise DraftError(_("a renegotiation needs --new-date"))
        signature_text = parent.new_text if parent.direction == "inbound" else None
        language = thread.language or (self.settings.languages or ("en",))[0]
        earlier = _our_earlier_texts(session, recipient.email) if session is not None else []
        try:
            inputs = build_draft_inputs(
                kind,
                language=language,
                thread_subject=thread.subject or parent.subject or "",
                counterpart_email=recipient.email,
                counterpart_name=recipient.name or None,
                counterpart_signature_text=signature_text,
                sender_name=mailbox.sender_name,
                signature=mailbox.signature_for(normalize_language(language)),
                timezone=cal.tz_name,
                original_date=parent.date or parent.internal_date,
                reply_by=reply_by,
                old_date=old_date,
                new_date=new_date,
                now=now,
                client_deadline=client_deadline if kind == "acknowledgment" else None,
                promised_on=promise.made_at if promise is not None else None,
                client_offset_minutes=client_offset(parent, recipient.email, now),
                our_earlier_texts=earlier,
                gender_lookup=gender_of_first_name,
            )
            rendered = self.renderer.render(inputs)
        except DraftInputError as exc:
            raise DraftError(str(exc)) from None
        except DraftTemplateError as exc:
            raise DraftError(f"template: {exc}") from None
        problems = check_draft_facts(inputs, rendered.body_text, rendered.language)
        if problems:
            raise DraftError(f"the {kind} draft would say something untrue: {'; '.join(problems)}")
        return rendered

    # -- the queue -----------------------------------------------------------------------------

    def get(self, draft_id: int) -> DraftView:
        with self.factory() as session:
            return DraftView.of(self._draft(session, draft_id))

    def list(self, status: str | None = None) -> list[DraftView]:
        """Drafts in the queue's order (the longest-waiting client first): ``list_drafts``."""
        with self.factory() as session:
            return list_drafts(session, status)

    @staticmethod
    def _draft(session: Session, draft_id: int) -> Draft:
        draft = session.get(Draft, draft_id)
        if draft is None:
            raise DraftError(_("no draft with id %(id)d", id=draft_id))
        return draft

    def edit(
        self, draft_id: int, now: datetime, body_text: str | None, subject: str | None = None
    ) -> dict[str, Any]:
        with transaction(self.factory) as session:
            draft = self._draft(session, draft_id)
            if draft.status not in EDITABLE:
                raise DraftError(
                    _(
                        "draft %(id)d is %(status)s; only pending drafts change",
                        id=draft_id,
                        status=label(draft.status),
                    )
                )
            values: dict[str, Any] = {"edited": True, "updated_at": now}
            if body_text is not None:
                body_text = body_text.replace("\r\n", "\n").strip("\n") + "\n"
                if not body_text.strip():
                    raise DraftError(_("the edited text is empty"))
                values["body_text"] = draft.body_text = body_text
                # rebuilt from the text when sent, so it always matches
                values["body_html"] = draft.body_html = None
            if subject is not None:
                values["subject"] = draft.subject = header_safe(subject)
            values["etiquette"] = self._recheck(draft)
            session.expunge(draft)
            self._transition(session, draft_id, ("pending",), values, "edited")
            return DraftView.of(self._draft(session, draft_id)).to_json()

    @staticmethod
    def _transition(
        session: Session,
        draft_id: int,
        expect: tuple[str, ...],
        values: dict[str, Any],
        what: str,
    ) -> None:
        """One conditional UPDATE: the draft changes only while it is still in ``expect``
        (the outbox, the Drafts folder or another window may have moved it meanwhile)."""
        done = cast(
            CursorResult[Any],
            session.execute(
                update(Draft)
                .where(Draft.id == draft_id, Draft.status.in_(expect))
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if done != 1:
            session.expire_all()
            now_status = session.scalar(select(Draft.status).where(Draft.id == draft_id))
            raise DraftError(
                f"draft {draft_id} is {now_status} now (changed meanwhile); it can no longer "
                f"be {what}"
            )
        session.expire_all()

    def _recheck(self, draft: Draft) -> builtins.list[dict[str, Any]]:
        mailbox = self.settings.mailboxes[0]
        for candidate in self.settings.mailboxes:
            if draft.from_addr.get("email") in candidate.own_addresses:
                mailbox = candidate
        to = draft.to_addrs[0] if draft.to_addrs else {}
        who = addressee(to.get("name") or None, to.get("email") or "", None, draft.language)
        findings = check_etiquette(
            draft.subject,
            draft.body_text,
            name=who.greeting_name,
            signature=mailbox.signature or mailbox.sender_name,
            is_reply=draft.in_reply_to is not None,
        )
        return _findings_json(findings)

    def approve(self, draft_id: int, now: datetime) -> dict[str, Any]:
        with transaction(self.factory) as session:
            draft = self._draft(session, draft_id)
            if draft.status == "approved":
                return DraftView.of(draft).to_json()
            if draft.status not in ("pending", "failed"):
                raise DraftError(
                    _(
                        "draft %(id)d is %(status)s; only a pending or failed one is approved",
                        id=draft_id,
                        status=label(draft.status),
                    )
                )
            self._transition(
                session,
                draft_id,
                (draft.status,),
                {
                    "status": "approved",
                    "approved_at": now,
                    "updated_at": now,
                    "next_attempt_at": None,
                    "attempts": 0,
                },
                "approved",
            )
            return DraftView.of(self._draft(session, draft_id)).to_json()

    def send_now(self, draft_id: int, now: datetime) -> dict[str, Any]:
        """Send an approved draft right away (exactly once, through the outbox) and do the
        bookkeeping that follows; returns the draft as it then stands."""
        Outbox(self.factory, self.settings).send_due_sync(only_ids=[draft_id])
        self.after_sent(now)
        return self.get(draft_id).to_json()

    def after_sent(self, now: datetime) -> int:
        """Bookkeeping once mail left: a sent renegotiation moves its promise to the new date.

        The old promise becomes ``renegotiated``; a new one (due at the new date) takes its
        place in the same conversation.
        """
        changed = 0
        with transaction(self.factory) as session:
            rows = session.execute(
                select(Draft, Promise)
                .join(Promise, Promise.id == Draft.promise_id)
                .where(
                    Draft.kind == "renegotiation",
                    Draft.status == "sent",
                    Draft.new_date.is_not(None),
                    Promise.renegotiated_at.is_(None),
                    Promise.done_at.is_(None),
                )
            ).all()
            for draft, promise in rows:
                when = draft.sent_at or now
                promise.renegotiated_at = when
                assert draft.new_date is not None
                session.add(
                    Promise(
                        mailbox_id=promise.mailbox_id,
                        thread_id=promise.thread_id,
                        message_row_id=promise.message_row_id,
                        text=f"new date proposed: {promise.text}"[:1000],
                        made_at=when,
                        due_at=draft.new_date,
                        time_given=promise.time_given,
                        source="manual",
                    )
                )
                changed += 1
        return changed

    def reject(self, draft_id: int, now: datetime) -> dict[str, Any]:
        with transaction(self.factory) as session:
            draft = self._draft(session, draft_id)
            if draft.status == "rejected":
                return DraftView.of(draft).to_json()
            if draft.status not in ("pending", "approved", "failed"):
                raise DraftError(
                    _(
                        "draft %(id)d is %(status)s; it can no longer be rejected",
                        id=draft_id,
                        status=label(draft.status),
                    )
                )
            self._transition(
                session,
                draft_id,
                (draft.status,),
                {"status": "rejected", "updated_at": now},
                "rejected",
            )
            return DraftView.of(self._draft(session, draft_id)).to_json()

    # -- a person decides an uncertain send ------------------------------------------------------

    def mark_sent(self, draft_id: int, now: datetime) -> dict[str, Any]:
        """An ``uncertain`` draft the person knows arrived (the client answered, the server's
        log shows it): ``sent``, with the evidence kept."""
        with transaction(self.factory) as session:
            draft = self._draft(session, draft_id)
            if draft.status != "uncertain":
                raise DraftError(
                    _(
                        "draft %(id)d is %(status)s; only an uncertain one is marked sent",
                        id=draft_id,
                        status=label(draft.status),
                    )
                )
            note = f"marked sent by a person at {now.isoformat()}; {draft.last_error or ''}"
            self._transition(
                session,
                draft_id,
                ("uncertain",),
                {
                    "status": "sent",
                    "sent_at": draft.smtp_data_at or draft.smtp_started_at or now,
                    "last_error": note.strip("; ")[:4000],
                    "updated_at": now,
                },
                "marked sent",
            )
            return DraftView.of(self._draft(session, draft_id)).to_json()

    def resend(self, draft_id: int, now: datetime) -> dict[str, Any]:
        """An ``uncertain`` draft the person knows did NOT arrive: approved again, explicitly.
        The outbox still looks in Sent once more before it talks to SMTP."""
        with transaction(self.factory) as session:
            draft = self._draft(session, draft_id)
            if draft.status != "uncertain":
                raise DraftError(
                    _(
                        "draft %(id)d is %(status)s; only an uncertain one is sent again",
                        id=draft_id,
                        status=label(draft.status),
                    )
                )
            note = f"sent again on a person's decision at {now.isoformat()}; {draft.last_error}"
            self._transition(
                session,
                draft_id,
                ("uncertain",),
                {
                    "status": "approved",
                    "approved_at": now,
                    "next_attempt_at": None,
                    "smtp_data_at": None,
                    "last_error": note[:4000],
                    "updated_at": now,
                },
                "sent again",
            )
            return DraftView.of(self._draft(session, draft_id)).to_json()


def default_reply_by(settings: Settings, now: datetime, requested_by: datetime | None) -> datetime:
    """When the full answer promised by an acknowledgment comes (see :func:`answer_by`)."""
    return answer_by(now, settings.calendar, settings.ack_answer_within, requested_by)


def _our_earlier_texts(session: Session, email: str, limit: int = 5) -> list[str]:
    """The text of our latest mail to ``email`` (any thread): how we greeted them before."""
    rows = session.scalars(
        select(Message.new_text)
        .where(Message.direction == "outbound", Message.counterpart_email == email)
        .order_by(Message.date.desc())
        .limit(limit)
    )
    return [text for text in rows if text]


def client_offset(parent: Message, email: str, now: datetime) -> int | None:
    """The client's UTC offset in minutes: from their Date header, else from a country domain."""
    if parent.direction == "inbound":
        raw = (parent.markers or {}).get("date")
        if isinstance(raw, str):
            parsed = parsedate_tz(raw)
            if parsed is not None and parsed[9] is not None and "-0000" not in raw:
                return parsed[9] // 60
    return offset_of_domain(email, now)


_gender_detector: Any = None


def gender_of_first_name(first_name: str) -> Gender | None:
    """gender-guesser's answer for a first name ("female"/"mostly_female" -> "f"), else None
    ("andy": used for both, "unknown": not in its list)."""
    global _gender_detector
    if _gender_detector is None:
        _gender_detector = detector.Detector(case_sensitive=False)
    answer = _gender_detector.get_gender(first_name)
    if answer in ("andy", "unknown"):  # "María" is listed without its accent too
        plain = fold(first_name, casefold=False)
        answer = _gender_detector.get_gender(plain)
    # "mostly_female" (María in Spain) is the library's confident answer for a mixed list
    if answer in ("female", "mostly_female"):
        return "f"
    if answer in ("male", "mostly_male"):
        return "m"
    return None


def editor_command() -> str:
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
