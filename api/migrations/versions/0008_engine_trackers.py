"""the engine's memory of each conversation, encrypted, in the hotline's database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:50:00

Until now the engine kept its trackers in memory: a restart forgot every
half-finished report. The engine now stores them here (flows/stores.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_trackers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=False),
        sa.Column("tracker", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sender_id"], ["conversations.public_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id"),
    )


def downgrade() -> None:
    op.drop_table("engine_trackers")
