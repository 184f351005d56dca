"""A worker's request to delete what the hotline holds about them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base


class DeletionStatus(enum.StrEnum):
    REQUESTED = "requested"  # the worker asked; staff must confirm
    DONE = "done"  # deleted; only this row remains
    DECLINED = "declined"  # staff kept the data (e.g. an open case), with a reason


class DeletionRequest(Base):
    __tablename__ = "deletion_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Emptied when the worker's data is deleted: the request then says only
    # that a deletion happened.
    worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("workers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DeletionStatus.REQUESTED.value)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
