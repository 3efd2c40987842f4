"""the coder a note is assigned to ("Assign to me" on the queue, issue 14 item 7)

Revision ID: 0007_note_assignee
Revises: 0006_reading_attempts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_note_assignee"
down_revision = "0006_reading_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_notes_assigned_to_users", "users", ["assigned_to"],
                                    ["id"])


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_notes_assigned_to_users", type_="foreignkey")
        batch_op.drop_column("assigned_to")
