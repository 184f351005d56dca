"""Encrypt what workers wrote: message texts and shared locations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Encrypted JSON is not JSON: the column becomes text.
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.alter_column(
            "location",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            postgresql_using="location::text",
        )
    connection = op.get_bind()
    messages = connection.execute(sa.text("SELECT id, text, original_text FROM messages")).all()
    conversations = connection.execute(
        sa.text("SELECT id, location FROM conversations WHERE location IS NOT NULL")
    ).all()
    if not messages and not conversations:
        return
    # Rows written before encryption: encrypt them with the hotline's key.
    from core.settings import get_settings

    vault = get_settings().vault()
    if connection.dialect.name == "sqlite":
        # Zero the pages that held the plain text instead of leaving them.
        connection.execute(sa.text("PRAGMA secure_delete=ON"))
    for row in messages:
        connection.execute(
            sa.text("UPDATE messages SET text = :text, original_text = :original WHERE id = :id"),
            {
                "id": row.id,
                "text": vault.encrypt_text(row.text or ""),
                "original": None
                if row.original_text is None
                else vault.encrypt_text(row.original_text),
            },
        )
    for row in conversations:
        connection.execute(
            sa.text("UPDATE conversations SET location = :location WHERE id = :id"),
            {"id": row.id, "location": vault.encrypt_text(row.location)},
        )


def downgrade() -> None:
    raise NotImplementedError("decrypting the database in place is not offered")
