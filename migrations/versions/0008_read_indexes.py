"""read indexes: thread lists by state, wait and recency; promises by due date

The reads a user waits for (``threads --state overdue``, the digest, the web lists) select
threads by tracked state (and how long the client has waited), by the user's decision, and by
the newest message; promises by due date. Without these a large store is scanned in full.

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-30 05:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_threads_state_waiting", "threads", ["state", "waiting_since"])
    op.create_index("ix_threads_manual_state", "threads", ["manual_state"])
    op.create_index("ix_threads_last_message", "threads", ["last_message_at"])
    op.create_index("ix_promises_due", "promises", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_promises_due", table_name="promises")
    op.drop_index("ix_threads_last_message", table_name="threads")
    op.drop_index("ix_threads_manual_state", table_name="threads")
    op.drop_index("ix_threads_state_waiting", table_name="threads")
