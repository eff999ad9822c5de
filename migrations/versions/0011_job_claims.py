"""job claims: every worker runs the scheduler, each due run is claimed once

``job_claims``: one row per run of a scheduler job, keyed by (job, scheduled slot). Every
worker inserts the row of a due slot with ``ON CONFLICT DO NOTHING`` and runs the job only if
its insert won, so each due run happens once across workers. This replaces the single
``scheduler`` lease (its row is deleted) and APScheduler's persistent job store
(``apscheduler_jobs``, created by APScheduler itself, is dropped when present).
``job_runs.runs``: every run of a job is counted (health, and the proof that claims work).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_claims",
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("slot", AWARE, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("claimed_at", AWARE, nullable=False),
        sa.Column("finished_at", AWARE, nullable=True),
        sa.PrimaryKeyConstraint("job", "slot", name="pk_job_claims"),
    )
    op.create_index("ix_job_claims_job_finished_at", "job_claims", ["job", "finished_at"])
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("runs", sa.Integer(), nullable=False, server_default="0"))
    op.execute("DELETE FROM leases WHERE name = 'scheduler'")
    op.execute("DROP TABLE IF EXISTS apscheduler_jobs")


def downgrade() -> None:
    # The scheduler lease row is created again by the first worker that asks for it, and
    # APScheduler creates its own table at start.
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("runs")
    op.drop_index("ix_job_claims_job_finished_at", table_name="job_claims")
    op.drop_table("job_claims")
