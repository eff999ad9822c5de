"""running service: job outcomes (failing jobs are visible), threads' next due times

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("last_run_at", AWARE, nullable=True),
        sa.Column("last_success_at", AWARE, nullable=True),
        sa.Column("last_failure_at", AWARE, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_failures", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("ack_due_at", AWARE, nullable=True))
        batch.add_column(sa.Column("follow_up_due_at", AWARE, nullable=True))
    op.create_index("ix_threads_ack_due_at", "threads", ["ack_due_at"])
    op.create_index("ix_threads_follow_up_due_at", "threads", ["follow_up_due_at"])


def downgrade() -> None:
    op.drop_index("ix_threads_follow_up_due_at", table_name="threads")
    op.drop_index("ix_threads_ack_due_at", table_name="threads")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("follow_up_due_at")
        batch.drop_column("ack_due_at")
    op.drop_table("job_runs")
