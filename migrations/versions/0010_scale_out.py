"""scale-out: fenced leases, a heartbeat table of workers, and a shared send log

``leases.generation``: a fencing number, raised each time the lease changes hands; a write
made under a lease checks it in the same transaction, so a worker that lost its lease (paused,
partitioned) cannot write. Mailboxes are leased as ``mailbox:<name>`` rows of the same table.
``workers``: one row per live ``mailwatch run`` (heartbeat by the database's clock, what it
holds, a fingerprint of the settings that change analysis).
``send_log``: one row per send slot booked on an SMTP account: SEND_RATE is counted here, so
every process shares one budget per account (the per-recipient automatic-send limits were
already counted from ``drafts``).

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(
            sa.Column("generation", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", AWARE, nullable=False),
        sa.Column("heartbeat_at", AWARE, nullable=False),
        sa.Column("expires_at", AWARE, nullable=False),
        sa.Column("fingerprint", sa.JSON(), nullable=True),
        sa.Column("mailboxes", sa.JSON(), nullable=True),
        sa.Column("scheduler", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("web", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )
    op.create_table(
        "send_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(320), nullable=False),
        sa.Column("sent_at", AWARE, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_send_log"),
    )
    op.create_index("ix_send_log_account_sent_at", "send_log", ["account", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_send_log_account_sent_at", table_name="send_log")
    op.drop_table("send_log")
    op.drop_table("workers")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("generation")
