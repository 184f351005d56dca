"""the language a worker's platform says they use, as a first guess

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-22 00:00:00

`language_hint`: one of the hotline's languages, from a Telegram app's
language, a LINE profile's or a browser's Accept-Language. It greets a new
worker; the worker's choice and the script of their messages come first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_hint", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("language_hint")
