"""leases: which app process does a piece of work now (a conversation's sending)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:00:00

Several app processes share one PostgreSQL database; a lease makes sure one
of them, and only one, sends a conversation's replies (bot/leases.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("again", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
