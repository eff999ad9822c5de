"""hold under faults: uncertain sends, published drafts, message time vs. the Date header

``smtp_data_at``: committed just before the DATA command; set means a crash or a lost link
from then on may hide an acceptance, so the draft is never resent without a person.
``published_at``: the draft was put into the mailbox's Drafts folder (DRAFTS_TO_MAILBOX), so
the user may have sent it from their mail client: the outbox checks Sent before its first attempt.
The new draft status ``uncertain`` needs no schema change (``status`` is a plain string).
``messages.header_date``: the Date header as written; ``messages.date`` becomes the message's
time, min(Date, INTERNALDATE), so a clock ahead (or a Date in 2099) cannot keep a conversation
"awaiting us".

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("smtp_data_at", AWARE, nullable=True))
        batch.add_column(sa.Column("published_at", AWARE, nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("header_date", AWARE, nullable=True))
    op.execute("UPDATE messages SET header_date = date")
    op.execute(
        "UPDATE messages SET date = internal_date "
        "WHERE internal_date IS NOT NULL AND date IS NOT NULL AND date > internal_date"
    )
    # A draft caught in "sending" by the upgrade may have reached DATA under the old code:
    # count it as such, so it is checked in Sent and never resent blindly.
    op.execute("UPDATE drafts SET smtp_data_at = smtp_started_at WHERE status = 'sending'")
    # Drafts already in the Drafts folder count as published.
    op.execute("UPDATE drafts SET published_at = updated_at WHERE mailbox_draft_uid IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE messages SET date = header_date WHERE header_date IS NOT NULL")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("header_date")
    op.execute("UPDATE drafts SET status = 'failed' WHERE status = 'uncertain'")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("published_at")
        batch.drop_column("smtp_data_at")
