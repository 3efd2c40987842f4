"""a count per note of the readings of its current version that were started: a note whose
reading kills its worker every time is failed with a reason after a few (issue 13)

Revision ID: 0006_reading_attempts
Revises: 0005_recode_diff_heartbeat
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_reading_attempts"
down_revision = "0005_recode_diff_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reading_attempts", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_column("reading_attempts")
