"""Staff two-factor sign-in: TOTP secrets, recovery codes, pending sign-ins

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 10:00:00

A staff member may set up a TOTP authenticator (supervisors and admins
must): its secret is kept encrypted with the hotline's vault, the last
30-second step taken so no code works twice, and ten one-time recovery
codes, hashed. A sign-in whose password was right waits for its code in
`staff_pending_sign_ins`, named by the hash of a cookie's token.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("totp_pending_secret", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("two_factor_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes", ["staff_id"])
    op.create_index(
        op.f("ix_staff_recovery_codes_code_hash"), "staff_recovery_codes", ["code_hash"]
    )
    op.create_table(
        "staff_pending_sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_staff_pending_sign_ins_staff_id"), "staff_pending_sign_ins", ["staff_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_pending_sign_ins_staff_id"), table_name="staff_pending_sign_ins")
    op.drop_table("staff_pending_sign_ins")
    op.drop_index(op.f("ix_staff_recovery_codes_code_hash"), table_name="staff_recovery_codes")
    op.drop_index(op.f("ix_staff_recovery_codes_staff_id"), table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("two_factor_since")
        batch_op.drop_column("totp_pending_secret")
        batch_op.drop_column("totp_secret")
