"""Reading the staff queue: who waits, in what order, and what staff see of each.

Functions take the caller's session (`session=`), never commit and write no
audit entry; `Handoff` (`service.py`) owns the unit of work. What they
return is plain data for the console, with the worker's words decrypted for
staff who may see them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import access
from bot.access import Viewer
from bot.cases.models import Case, Note
from bot.conversations import timeline
from bot.conversations.models import (
    GROUPED_EMERGENCY_PRIORITY,
    Conversation,
    Direction,
    EscalationReason,
    Message,
    MessageStatus,
    Owner,
    Worker,
)
from bot.conversations.timeline import TimelineMessage
from bot.handoff.models import HandoffRecord
from bot.language import effective_language
from core.clock import utcnow

# How many recent claims the wait estimate learns from, and how far back.
RECENT_CLAIMS = 20
RECENT_CLAIMS_WINDOW = timedelta(days=14)
LAST_MESSAGES = 3


# Whoever acts in the console (`bot.access` decides what they see).
StaffMember = Viewer


@dataclass(frozen=True)
class CaseView:
    reference: str | None
    kind: str
    status: str
    province: str | None
    in_danger: bool
    indicators: list[str]
    answers: dict[str, Any]
    # How staff may reach the worker (bot.cases.contact): staff who see the
    # conversation see the worker's messages, the number among them.
    contact: dict[str, Any] | None = None


@dataclass(frozen=True)
class NoteView:
    id: int
    text: str
    staff_name: str | None
    created_at: datetime


@dataclass
class QueueItem:
    conversation_id: int
    public_id: str
    owner: str
    language: str
    channel: str
    reason: str | None
    priority: int
    emergency: bool
    # An unverified emergency that came in a burst: listed with the others
    # of its burst, below every other emergency.
    grouped: bool
    escalated_at: datetime | None
    claimed_by: int | None
    claimed_by_name: str | None
    overdue: bool
    failed_messages: int
    case: CaseView | None
    last_messages: list[TimelineMessage]
    # Filled from the engine when it answers; None when it could not be asked.
    intents: list[str] | None = None


@dataclass
class ConversationView:
    item: QueueItem
    messages: list[TimelineMessage]
    notes: list[NoteView]
    location: dict[str, Any] | None


def _order() -> Sequence[Any]:
    # Most urgent first, then whoever has waited longest.
    return (Conversation.priority.desc(), Conversation.escalated_at, Conversation.id)


async def visible_conversations(*, session: AsyncSession, staff: StaffMember) -> list[Conversation]:
    """The waiting conversations in queue order, then those with staff (theirs, or all)."""
    waiting = (
        await session.execute(
            select(Conversation).where(Conversation.owner == Owner.QUEUED.value).order_by(*_order())
        )
    ).scalars()
    with_staff = access.conversations_visible_to(
        staff, select(Conversation).where(Conversation.owner == Owner.STAFF.value)
    )
    claimed = (await session.execute(with_staff.order_by(Conversation.claimed_at))).scalars()
    return [*waiting, *claimed]


async def position(*, session: AsyncSession, conversation: Conversation) -> int:
    """1 for the next worker staff will take."""
    ahead = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.owner == Owner.QUEUED.value,
            Conversation.id != conversation.id,
            or_(
                Conversation.priority > conversation.priority,
                and_(
                    Conversation.priority == conversation.priority,
                    Conversation.escalated_at < conversation.escalated_at,
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


async def typical_wait(*, session: AsyncSession) -> timedelta | None:
    """How long recent workers waited before staff first took them (the median)."""
    rows = (
        await session.execute(
            select(HandoffRecord.escalated_at, HandoffRecord.first_claimed_at)
            .where(HandoffRecord.first_claimed_at >= utcnow() - RECENT_CLAIMS_WINDOW)
            .order_by(HandoffRecord.first_claimed_at.desc())
            .limit(RECENT_CLAIMS)
        )
    ).all()
    waits = [
        (claimed - escalated).total_seconds()
        for escalated, claimed in rows
        if claimed is not None and escalated is not None
    ]
    if not waits:
        return None
    return timedelta(seconds=max(0.0, statistics.median(waits)))


async def open_record(*, session: AsyncSession, conversation_id: int) -> HandoffRecord | None:
    return (
        await session.execute(
            select(HandoffRecord)
            .where(
                HandoffRecord.conversation_id == conversation_id,
                HandoffRecord.closed_at.is_(None),
            )
            .order_by(HandoffRecord.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def failed_count(*, session: AsyncSession, conversation_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.OUTBOUND.value,
            Message.status == MessageStatus.FAILED.value,
        )
    )
    return int(count or 0)


async def case_of(*, session: AsyncSession, conversation_id: int) -> CaseView | None:
    case = (
        await session.execute(
            select(Case)
            .where(Case.conversation_id == conversation_id)
            .order_by(Case.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if case is None:
        return None
    return CaseView(
        reference=case.reference,
        kind=case.kind,
        status=case.status,
        province=case.province,
        in_danger=case.in_danger,
        indicators=list(case.indicators or []),
        answers=dict(case.answers or {}),
        contact=dict(case.contact) if case.contact else None,
    )


async def notes_of(*, session: AsyncSession, conversation_id: int) -> list[NoteView]:
    rows = list(
        (
            await session.execute(
                select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)
            )
        ).scalars()
    )
    names = await timeline.staff_names(session, (n.staff_id for n in rows))
    return [
        NoteView(
            id=n.id,
            text=n.text,
            staff_name=names.get(n.staff_id) if n.staff_id else None,
            created_at=n.created_at,
        )
        for n in rows
    ]


async def item_of(
    *, session: AsyncSession, conversation: Conversation, default_language: str
) -> QueueItem:
    worker = await session.get(Worker, conversation.worker_id)
    assert worker is not None  # foreign key
    names = await timeline.staff_names(session, [conversation.claimed_by])
    return QueueItem(
        conversation_id=conversation.id,
        public_id=conversation.public_id,
        owner=conversation.owner,
        language=effective_language(
            choice=worker.language_choice,
            detected=worker.language_detected,
            hint=worker.language_hint,
            default=default_language,
        ),
        channel=conversation.channel,
        reason=conversation.escalation_reason,
        priority=conversation.priority,
        emergency=conversation.escalation_reason == EscalationReason.EMERGENCY,
        grouped=conversation.priority == GROUPED_EMERGENCY_PRIORITY,
        escalated_at=conversation.escalated_at,
        claimed_by=conversation.claimed_by,
        claimed_by_name=names.get(conversation.claimed_by) if conversation.claimed_by else None,
        overdue=conversation.overdue_alerted_at is not None,
        failed_messages=await failed_count(session=session, conversation_id=conversation.id),
        case=await case_of(session=session, conversation_id=conversation.id),
        last_messages=await timeline.messages(session, conversation.id, latest=LAST_MESSAGES),
    )


async def last_told_waiting(
    *, session: AsyncSession, conversation_id: int, tag: str
) -> datetime | None:
    return (
        await session.execute(
            select(Message.created_at)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.OUTBOUND.value,
                Message.tag == tag,
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
