"""tracking: per-message analysis, thread state and SLA figures, promises

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("mailboxes") as batch_op:
        batch_op.add_column(sa.Column("analysis_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("analysis_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("needs_reply", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("requested_by", AWARE, nullable=True))
        batch_op.add_column(sa.Column("signs", sa.JSON(), nullable=True))
        batch_op.create_index(
            "ix_messages_analysis", ["mailbox_id", "analysis_version"], unique=False
        )
    with op.batch_alter_table("threads") as batch_op:
        batch_op.add_column(
            sa.Column("needs_reply", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("needs_reply_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("waiting_since", AWARE, nullable=True))
        batch_op.add_column(sa.Column("last_client_at", AWARE, nullable=True))
        batch_op.add_column(
            sa.Column("first_response_business_minutes", sa.Integer(), nullable=True)
        )
        batch_op.add_column(sa.Column("requested_by", AWARE, nullable=True))
        batch_op.add_column(sa.Column("signs", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("tracked_at", AWARE, nullable=True))
        batch_op.add_column(sa.Column("manual_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("manual_state_at", AWARE, nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", AWARE, nullable=True))
    op.create_table(
        "promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("message_row_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("made_at", AWARE, nullable=False),
        sa.Column("due_at", AWARE, nullable=False),
        sa.Column("time_given", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("done_at", AWARE, nullable=True),
        sa.Column("renegotiated_at", AWARE, nullable=True),
        sa.Column("created_at", AWARE, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_promises_mailbox_id_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_promises_thread_id_threads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_row_id"],
            ["messages.id"],
            name=op.f("fk_promises_message_row_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_promises_thread", "promises", ["thread_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_promises_thread", table_name="promises")
    op.drop_table("promises")
    with op.batch_alter_table("threads") as batch_op:
        for name in (
            "snoozed_until",
            "manual_state_at",
            "manual_state",
            "tracked_at",
            "signs",
            "requested_by",
            "first_response_business_minutes",
            "last_client_at",
            "waiting_since",
            "needs_reply_reason",
            "needs_reply",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_index("ix_messages_analysis")
        for name in (
            "signs",
            "requested_by",
            "language",
            "reason",
            "category",
            "needs_reply",
            "analysis_version",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("mailboxes") as batch_op:
        batch_op.drop_column("analysis_key")
