"""the Burmese encoding replies go out in, per worker

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-20 00:00:00

A worker whose Burmese arrives in Zawgyi is answered in Zawgyi
(`encoding_detected`) unless they chose with the switch buttons
(`encoding_choice`); `zawgyi_offered_at` records that they were offered
Unicode, once. Stored texts stay Unicode; nothing to convert.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("encoding_choice", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("encoding_detected", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("zawgyi_offered_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("zawgyi_offered_at")
        batch_op.drop_column("encoding_detected")
        batch_op.drop_column("encoding_choice")
