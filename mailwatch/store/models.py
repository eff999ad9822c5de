"""SQLAlchemy 2.x typed models: the durable memory of every watched conversation.

One message is one row per mailbox whatever folders it sits in (``message_key`` is its
Message-ID); where it sits is ``message_locations`` (folder + UID + flags). A UIDVALIDITY
change therefore only drops locations, never messages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """``column - timedelta(...)`` binds an interval, not a datetime (PostgreSQL)."""
        if isinstance(value, timedelta):
            return Interval()
        return self


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def table_of(model: type[Base]) -> Table:
    """The model's Core table, for bulk statements (``__table__`` is typed as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


class Mailbox(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    # Fingerprint of the settings the stored analysis was made with (see mailwatch.track).
    analysis_key: Mapped[str | None] = mapped_column(String(64))


class Folder(Base):
    __tablename__ = "folders"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    role: Mapped[str | None] = mapped_column(String(16))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    uidnext: Mapped[int | None] = mapped_column(BigInteger)
    highestmodseq: Mapped[int | None] = mapped_column(BigInteger)
    backfill_since: Mapped[date | None] = mapped_column(Date)
    backfill_done: Mapped[bool] = mapped_column(Boolean, default=False)
    last_flag_scan_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]


class Thread(Base):
    __tablename__ = "threads"
    # AUTOINCREMENT: SQLite must never hand out the id of a merged-away thread again.
    __table_args__ = (
        Index("ix_threads_mailbox_last", "mailbox_id", "last_message_at"),
        Index("ix_threads_state_waiting", "state", "waiting_since"),
        Index("ix_threads_manual_state", "manual_state"),
        Index("ix_threads_last_message", "last_message_at"),
        Index("ix_threads_ack_due_at", "ack_due_at"),
        Index("ix_threads_follow_up_due_at", "follow_up_due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(Text, default="")
    counterpart_name: Mapped[str | None] = mapped_column(Text)
    counterpart_email: Mapped[str | None] = mapped_column(String(320))
    first_message_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Tracking, recomputed from the messages by mailwatch.track (``state`` above is its result).
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    needs_reply_reason: Mapped[str | None] = mapped_column(Text)
    waiting_since: Mapped[datetime | None]
    last_client_at: Mapped[datetime | None]
    first_response_business_minutes: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[datetime | None]
    signs: Mapped[list[Any] | None] = mapped_column(JSON)
    # who wrote the answer the client has now: our address or a colleague's (INTERNAL_DOMAINS)
    answered_by: Mapped[str | None] = mapped_column(String(320))
    tracked_at: Mapped[datetime | None]
    # What the user decided: closed | snoozed | ignored, and since when.
    manual_state: Mapped[str | None] = mapped_column(String(16))
    manual_state_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    # When the scheduler's checks next have something to do here (mailwatch.store.due).
    ack_due_at: Mapped[datetime | None]
    follow_up_due_at: Mapped[datetime | None]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "message_key"),
        Index("ix_messages_thread", "thread_id", "date"),
        Index("ix_messages_subject", "mailbox_id", "normalized_subject"),
        Index("ix_messages_analysis", "mailbox_id", "analysis_version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    message_key: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(Text)
    message_id_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[Any]] = mapped_column(default=list)
    thread_index: Mapped[str | None] = mapped_column(Text)
    thread_topic: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(Text, default="")
    from_name: Mapped[str | None] = mapped_column(Text)
    from_email: Mapped[str | None] = mapped_column(String(320))
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    reply_to: Mapped[list[Any]] = mapped_column(default=list)
    # The message's time: its Date header, or INTERNALDATE when the Date is later (a clock ahead
    # of the server's, a Date in 2099): mailwatch.core.message.message_time.
    date: Mapped[datetime | None]
    # The Date header as written (tells apart two messages that share a Message-ID).
    header_date: Mapped[datetime | None]
    internal_date: Mapped[datetime | None]
    direction: Mapped[str] = mapped_column(String(8))
    counterpart_email: Mapped[str | None] = mapped_column(String(320))
    content_type: Mapped[str] = mapped_column(String(128), default="text/plain")
    markers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text_prefix: Mapped[str] = mapped_column(Text, default="")
    new_text: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    parse_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Analysis by mailwatch.track; ``analysis_version`` 0 means "not analysed yet".
    analysis_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    needs_reply: Mapped[bool | None] = mapped_column(Boolean)
    category: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    requested_by: Mapped[datetime | None]
    signs: Mapped[list[Any] | None] = mapped_column(JSON)


class MessageLocation(Base):
    __tablename__ = "message_locations"
    __table_args__ = (
        UniqueConstraint("folder_id", "uid"),
        Index("ix_message_locations_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    flags: Mapped[list[Any]] = mapped_column(default=list)


class Promise(Base):
    """A deadline we committed to: found in our mail (``detected``) or added by hand (``manual``).

    ``message_row_id`` anchors it to a message so that it follows the conversation when threads
    merge; ``thread_id`` is kept in step by the tracker. The status as of an instant is computed
    (mailwatch.core.promises.promise_status); only the user's decisions are stored.
    """

    __tablename__ = "promises"
    __table_args__ = (
        Index("ix_promises_thread", "thread_id"),
        Index("ix_promises_due", "due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    message_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime]
    due_at: Mapped[datetime]
    time_given: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime | None]
    renegotiated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


DRAFT_STATUSES = (
    "pending",
    "approved",
    "sending",
    "sent",
    "rejected",
    "failed",
    "uncertain",
)


class Draft(Base):
    """A reply mailwatch wrote, and its way through approval and the outbox.

    ``message_id`` is fixed at creation: the same Message-ID goes out on every attempt, which is
    how a retry after a crash finds out (in Sent) whether the message already left.
    At most one ``pending`` draft per thread and kind (a partial unique index).
    """

    __tablename__ = "drafts"
    __table_args__ = (
        Index(
            "uq_drafts_pending_thread_kind",
            "thread_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_drafts_status", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    from_addr: Mapped[dict[str, Any]] = mapped_column(default=dict)
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[list[Any]] = mapped_column(default=list)
    thread_index: Mapped[str | None] = mapped_column(Text)
    thread_topic: Mapped[str | None] = mapped_column(Text)
    replied_message_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="SET NULL"))
    new_date: Mapped[datetime | None]
    etiquette: Mapped[list[Any]] = mapped_column(default=list)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    smtp_started_at: Mapped[datetime | None]
    # Committed just before DATA: from then on the outcome may be uncertain (never resent blindly).
    smtp_data_at: Mapped[datetime | None]
    # Put into the mailbox's Drafts folder: the user may have sent it from their mail client.
    published_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    mailbox_draft_uid: Mapped[int | None] = mapped_column(BigInteger)
    mailbox_draft_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)


class Lease(Base):
    """Who holds a role (the scheduler, ``mailbox:<name>``), until when by the database's clock.

    ``generation`` is the fencing number: raised each time the lease changes hands and checked
    in the same transaction as every write made under it.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]
    generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Worker(Base):
    """One ``mailwatch run`` process: its heartbeat (database clock) and what it holds."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # the values (hashed) of the settings that change analysis: all workers must agree
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    mailboxes: Mapped[list[Any] | None] = mapped_column(JSON)
    scheduler: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    web: Mapped[str | None] = mapped_column(String(255))


class SendLog(Base):
    """One send slot booked on an SMTP account (its start time): SEND_RATE counts these rows
    per account, so every process shares one budget."""

    __tablename__ = "send_log"
    __table_args__ = (Index("ix_send_log_account_sent_at", "account", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(320))
    sent_at: Mapped[datetime]


class ServiceState(Base):
    """Small durable facts of the service, e.g. the last local date a digest went out."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """The last outcome of each scheduler job, so a failing job is visible to ``/healthz``,
    ``/metrics`` and the digest (a separate command), not only in the log."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # every run, successful or not: with several workers, runs == the job's claims (each run once)
    runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class JobClaim(Base):
    """One run of a scheduler job, claimed by the worker that runs it.

    The key (job, slot) is unique: every worker runs the scheduler, each one inserts the row
    for a due slot with ``ON CONFLICT DO NOTHING``, and only the one whose insert won runs it.
    ``reason``: ``due`` (a slot of the job's schedule), ``wake`` (run early by the worker whose
    sync pass brought news; its slot is that instant), ``takeover`` (a due slot whose claimer
    died before finishing it). Kept two days (mailwatch.store.claims).
    """

    __tablename__ = "job_claims"
    __table_args__ = (Index("ix_job_claims_job_finished_at", "job", "finished_at"),)

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(16), default="due")
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
