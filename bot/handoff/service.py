"""Handing a worker's conversation to staff and back.

`Handoff` owns the unit of work: each method commits, then tells the open
consoles. Ownership moves bot -> queued -> staff -> bot; while it is not the
bot's, the engine is not asked anything about the conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.database import utcnow
from bot.conversations import service as conversations
from bot.conversations.models import (
    ESCALATION_PRIORITY,
    Conversation,
    EscalationReason,
    Owner,
)
from bot.handoff.events import HandoffEvents

logger = logging.getLogger(__name__)


class UnknownConversation(LookupError):
    pass


@dataclass(frozen=True)
class Escalation:
    conversation_id: int
    reason: EscalationReason
    priority: int
    # False when the conversation already waited or was with staff: the
    # worker is not told twice.
    newly_queued: bool


def queue_up(conversation: Conversation, reason: EscalationReason) -> bool:
    """Move a conversation into the staff queue; True when it was the bot's until now.

    A conversation already waiting keeps its place and takes the higher
    priority (a worker who asked for a person and then says they are in
    danger moves to the front). One already with staff stays with them.
    """
    priority = ESCALATION_PRIORITY[reason]
    if conversation.owner == Owner.BOT:
        conversation.owner = Owner.QUEUED.value
        conversation.escalation_reason = reason.value
        conversation.priority = priority
        conversation.escalated_at = utcnow()
        conversation.overdue_alerted_at = None
        return True
    if priority > conversation.priority:
        conversation.priority = priority
        conversation.escalation_reason = reason.value
    return False


class Handoff:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], events: HandoffEvents
    ) -> None:
        self._sessions = sessions
        self.events = events

    async def escalate(self, *, public_id: str, reason: EscalationReason) -> Escalation:
        """Queue the engine's conversation `public_id` for staff."""
        async with self._sessions.begin() as session:
            conversation = await conversations.conversation_by_public_id(
                session=session, public_id=public_id
            )
            if conversation is None:
                raise UnknownConversation(public_id)
            newly = queue_up(conversation, reason)
            escalation = Escalation(
                conversation_id=conversation.id,
                reason=EscalationReason(conversation.escalation_reason or reason.value),
                priority=conversation.priority,
                newly_queued=newly,
            )
        logger.info(
            "conversation %s escalated (%s, priority %s)",
            escalation.conversation_id,
            escalation.reason.value,
            escalation.priority,
        )
        self.events.publish(
            "queued",
            conversation_id=escalation.conversation_id,
            reason=escalation.reason.value,
            priority=escalation.priority,
            emergency=escalation.reason is EscalationReason.EMERGENCY,
        )
        return escalation
