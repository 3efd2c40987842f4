"""re-coding after new documentation is a diff (issue 14): each code line keeps the engine's
own suggestion, how it differs from the previous coding and what the coder had decided
there, and a flag for a code the validator did not know; worker heartbeats, so the queue
can say when no worker is running

Revision ID: 0005_recode_diff_heartbeat
Revises: 0004_claim_revision
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_recode_diff_heartbeat"
down_revision = "0004_claim_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("code_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("change", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("previous", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("flag", sa.String(300), nullable=True))
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("code_lines", schema=None) as batch_op:
        for name in ("flag", "previous", "change", "suggested"):
            batch_op.drop_column(name)
