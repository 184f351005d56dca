"""Reports of abuse, each with a case reference the worker can quote."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base
from core.encrypted_columns import EncryptedJSON, EncryptedText


class CaseStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    REFERRED = "referred"
    CLOSED = "closed"


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # For example LPN-2026-00042; set once the row has its id.
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("workers.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    # What happened (report_* intent without the prefix, e.g. unpaid_wages).
    kind: Mapped[str] = mapped_column(String(32), index=True)
    # The worker's answers: what, when, where, employer, how many...
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    # How staff may reach the worker (bot.cases.contact: this chat, a phone
    # number, or not at all), the only place it is kept: apart from the
    # answers, so that a referral carries it only with the worker's consent
    # and a deletion request can remove it and leave an anonymous report.
    contact: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    # ILO forced-labour indicator keys that the answers point to.
    indicators: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Kept in the clear so cases can be filtered; the province alone does
    # not identify a worker.
    province: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    in_danger: Mapped[bool] = mapped_column(default=False)
    consent_to_share: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.NEW.value, index=True)
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]


class CaseEvent(Base):
    """The case's timeline: status changes, assignments, referrals."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Note(Base):
    """A staff member's internal note on a conversation or case; never sent to the worker."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
