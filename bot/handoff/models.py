"""One stretch of a conversation with staff: queued, claimed, closed, and how it ended.

The conversation row only says who answers now; these rows keep every
stretch, so a wait estimate can learn from recent claims and a supervisor
can see how conversations ended.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base


class Outcome(enum.StrEnum):
    """How staff ended a conversation; each has its own words to the worker."""

    RESOLVED = "resolved"
    REFERRED = "referred"
    NO_RESPONSE = "no_response"
    CASE_OPENED = "case_opened"
    NOT_NEEDED = "not_needed"


class HandoffRecord(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(32))
    escalated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The first claim of this stretch: what the wait estimate learns from.
    first_claimed_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(24))
