"""what the engine understood of each worker message, and the key it hears it by

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 00:00:00

Each inbound message gets a key chosen before it is written (`engine_key`),
sent to the engine with it; the engine's calls back for the turn carry the
intent, confidence and entities it found, which the app keeps in
`message_understandings` (entities encrypted). Messages are indexed by time
for the supervisors' statistics.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("engine_key", sa.String(length=32), nullable=True))
    op.create_index("ix_messages_engine_key", "messages", ["engine_key"], unique=True)
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_table(
        "message_understandings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=32), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("ranking", sa.JSON(), nullable=True),
        sa.Column("entities", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index(
        "ix_message_understandings_conversation_id",
        "message_understandings",
        ["conversation_id"],
    )
    op.create_index("ix_message_understandings_intent", "message_understandings", ["intent"])


def downgrade() -> None:
    op.drop_table("message_understandings")
    op.drop_index("ix_messages_created_at", table_name="messages")
    op.drop_index("ix_messages_engine_key", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("engine_key")
