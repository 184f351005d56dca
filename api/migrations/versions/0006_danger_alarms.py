"""every alarm the danger detector, the engine or the report form raised

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "danger_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("signal", sa.String(length=16), nullable=False),
        sa.Column("situation", sa.String(length=24), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("worker_answer", sa.String(length=8), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_danger_alarms_conversation_id", "danger_alarms", ["conversation_id"])
    op.create_index("ix_danger_alarms_raised_at", "danger_alarms", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_danger_alarms_raised_at", table_name="danger_alarms")
    op.drop_index("ix_danger_alarms_conversation_id", table_name="danger_alarms")
    op.drop_table("danger_alarms")
