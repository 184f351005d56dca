"""move the contact a report gave from its answers to the case's contact

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:30:00

Reports filed until now kept the worker's contact answer (this chat, none,
or the phone number they typed) among the answers, which every referral
carries and which erasing the worker's data left in place. It moves to the
case's contact (encrypted, like the answers), the one place exports check
for consent and erasure empties.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The form's choices; anything else it took is a phone number.
WAYS = ("chat", "none")


def upgrade() -> None:
    connection = op.get_bind()
    cases = connection.execute(sa.text("SELECT id, answers, contact FROM cases")).all()
    if not cases:
        return
    from core.settings import get_settings

    vault = get_settings().vault()
    if connection.dialect.name == "sqlite":
        # Zero the pages that held the old answers instead of leaving them.
        connection.execute(sa.text("PRAGMA secure_delete=ON"))
    for row in cases:
        answers = json.loads(vault.decrypt_text(row.answers))
        if "contact" not in answers:
            continue
        answer = answers.pop("contact")
        contact = None if row.contact is None else json.loads(vault.decrypt_text(row.contact))
        if contact is None and isinstance(answer, str) and answer.strip():
            contact = {"by": answer} if answer in WAYS else {"by": "phone", "phone": answer}
        connection.execute(
            sa.text("UPDATE cases SET answers = :answers, contact = :contact WHERE id = :id"),
            {
                "id": row.id,
                "answers": vault.encrypt_text(json.dumps(answers, ensure_ascii=False)),
                "contact": None
                if contact is None
                else vault.encrypt_text(json.dumps(contact, ensure_ascii=False)),
            },
        )


def downgrade() -> None:
    # The answers no longer need the contact; putting it back would copy it
    # to where referrals and erasure do not look for it.
    pass
