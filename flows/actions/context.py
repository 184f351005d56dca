"""What actions need from the app: its database, settings and services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.settings import Settings
from bot.conversations import service
from bot.conversations.models import Worker
from bot.handoff.service import Handoff


class UnknownConversation(LookupError):
    """The engine named a conversation the app does not know."""


@dataclass(frozen=True)
class ActionContext:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    handoff: Handoff

    @asynccontextmanager
    async def worker_for(self, sender_id: str) -> AsyncIterator[Worker]:
        """The worker behind an engine conversation, in a committed unit of work."""
        async with self.sessions.begin() as session:
            conversation = await service.conversation_by_public_id(
                session=session, public_id=sender_id
            )
            if conversation is None:
                raise UnknownConversation(sender_id)
            yield await service.worker_of(session=session, conversation=conversation)
