"""Every time the hotline read danger: what raised it and what the worker said.

Supervisors review these to find misses and false alarms (a doubt answered
"no", a danger the engine saw but the detector did not). Functions take the
session and do not commit: the caller owns the transaction (the turn that
raised the alarm, or `AlarmReview` for supervisors' reading).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.conversations.models import Conversation, Message
from bot.danger.detector import Assessment, Level
from bot.staff import audit
from core.clock import utcnow
from core.database import Base


class WorkerAnswer(enum.StrEnum):
    """The worker's answer to "is someone in danger right now?"."""

    YES = "yes"
    NO = "no"


class DangerAlarm(Base):
    __tablename__ = "danger_alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The worker's message that raised it (none when the engine or the
    # report form raised it from its own reading of the conversation).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(8))
    signal: Mapped[str] = mapped_column(String(16))
    situation: Mapped[str | None] = mapped_column(String(24))
    score: Mapped[float | None] = mapped_column(Float)
    worker_answer: Mapped[str | None] = mapped_column(String(8))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def record(
    *,
    session: AsyncSession,
    conversation_id: int,
    message_id: int | None,
    assessment: Assessment,
) -> None:
    assert assessment.signal is not None, "only alarms are recorded"
    session.add(
        DangerAlarm(
            conversation_id=conversation_id,
            message_id=message_id,
            level=assessment.level.value,
            signal=assessment.signal.value,
            situation=assessment.situation,
            score=assessment.score if assessment.score else None,
        )
    )


async def answer_doubt(
    *, session: AsyncSession, conversation_id: int, answer: WorkerAnswer
) -> bool:
    """Note the worker's answer on the conversation's latest unanswered doubt.

    False when there is none (a button pressed twice, or long after).
    """
    latest = (
        select(DangerAlarm.id)
        .where(
            DangerAlarm.conversation_id == conversation_id,
            DangerAlarm.level == Level.DOUBT.value,
            DangerAlarm.worker_answer.is_(None),
        )
        .order_by(DangerAlarm.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    done = await session.execute(
        update(DangerAlarm)
        .where(DangerAlarm.id == latest)
        .values(worker_answer=answer.value)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AlarmLine:
    """An alarm as supervisors review it."""

    id: int
    raised_at: datetime
    conversation_id: int
    channel: str
    language: str | None
    level: str
    signal: str
    situation: str | None
    score: float | None
    worker_answer: str | None
    # The worker's words that raised it (None when the engine or the report
    # form raised it from the conversation as a whole).
    text: str | None


async def latest(*, session: AsyncSession, limit: int = 200) -> list[AlarmLine]:
    """The latest alarms, newest first, with the words that raised them."""
    query = (
        select(
            DangerAlarm,
            Conversation.channel,
            Message.language,
            Message.text,
        )
        .join(Conversation, Conversation.id == DangerAlarm.conversation_id)
        .outerjoin(Message, Message.id == DangerAlarm.message_id)
        .order_by(DangerAlarm.id.desc())
        .limit(limit)
    )
    return [
        AlarmLine(
            id=alarm.id,
            raised_at=alarm.raised_at,
            conversation_id=alarm.conversation_id,
            channel=channel,
            language=language,
            level=alarm.level,
            signal=alarm.signal,
            situation=alarm.situation,
            score=alarm.score,
            worker_answer=alarm.worker_answer,
            text=text,
        )
        for alarm, channel, language, text in (await session.execute(query)).all()
    ]


class AlarmReview:
    """Supervisors reading the alarms: each reading is a unit of work with
    its audit entry, as the list shows workers' words."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def latest(self, *, reviewer_id: int, limit: int = 200) -> list[AlarmLine]:
        async with self._sessions.begin() as session:
            lines = await latest(session=session, limit=limit)
            await audit.record(
                session=session,
                staff_id=reviewer_id,
                action="danger_alarms.list",
                object_type="danger_alarm",
                object_id=None,
                detail={"count": len(lines)},
            )
        return lines
