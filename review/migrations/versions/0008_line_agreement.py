"""which reader(s) found each code line (`--extractor both|llm`, issue 15 item 7): "both",
"rules" (the offline reader alone) or "llm" (the LLM alone); null on the offline path and
for lines coded before this migration

Revision ID: 0008_line_agreement
Revises: 0007_note_assignee
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_line_agreement"
down_revision = "0007_note_assignee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("code_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agreement", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("code_lines", schema=None) as batch_op:
        batch_op.drop_column("agreement")
