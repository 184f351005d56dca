"""Encrypt what was still in clear: message payloads and file hashes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 03:30:00

`messages.payload` held a worker's button data, Telegram deep-link
parameters and the descriptions of files they sent (their names) in clear;
`attachments.sha256` let whoever holds a backup test whether a file they
know was sent. Both are encrypted now. What the hotline itself said, which
is looked up by value, moves from `payload` to its own column, `tag`.
Files already kept keep their names (their rows say where they are); new
files are named by a keyed hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tag", sa.String(length=32), nullable=True))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), type_=sa.Text())
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE messages SET tag = payload, payload = NULL "
            "WHERE direction = 'outbound' AND payload IS NOT NULL"
        )
    )
    payloads = connection.execute(
        sa.text("SELECT id, payload FROM messages WHERE payload IS NOT NULL")
    ).all()
    hashes = connection.execute(sa.text("SELECT id, sha256 FROM attachments")).all()
    if not payloads and not hashes:
        return
    from core.settings import get_settings

    vault = get_settings().vault()
    if connection.dialect.name == "sqlite":
        # Zero the pages that held them in clear instead of leaving them.
        connection.execute(sa.text("PRAGMA secure_delete=ON"))
    for row in payloads:
        connection.execute(
            sa.text("UPDATE messages SET payload = :payload WHERE id = :id"),
            {"id": row.id, "payload": vault.encrypt_text(row.payload)},
        )
    for row in hashes:
        connection.execute(
            sa.text("UPDATE attachments SET sha256 = :sha256 WHERE id = :id"),
            {"id": row.id, "sha256": vault.encrypt_text(row.sha256)},
        )


def downgrade() -> None:
    raise NotImplementedError("decrypting the database in place is not offered")
