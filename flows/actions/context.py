"""What actions need from the app: its database, settings, texts and services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversations import service
from bot.conversations.models import Conversation, Worker
from bot.handoff.service import Handoff
from bot.responses import Reply, Responses
from bot.texts import Texts
from core.errors import UnknownConversation
from core.settings import Settings


@dataclass(frozen=True)
class ActionContext:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    handoff: Handoff
    # Responses the actions send themselves (flows/responses.yml), rendered
    # from the catalogs in the worker's language.
    replies: Responses
    texts: Texts

    @asynccontextmanager
    async def worker_for(self, sender_id: str) -> AsyncIterator[Worker]:
        """The worker behind an engine conversation, in a committed unit of work."""
        async with self.conversation_for(sender_id) as (_, __, worker):
            yield worker

    @asynccontextmanager
    async def conversation_for(
        self, sender_id: str
    ) -> AsyncIterator[tuple[AsyncSession, Conversation, Worker]]:
        """The unit of work, the conversation and its worker; committed on leaving."""
        async with self.sessions.begin() as session:
            conversation = await service.conversation_by_public_id(
                session=session, public_id=sender_id
            )
            if conversation is None:
                # The engine named a conversation the app does not know.
                raise UnknownConversation()
            worker = await service.worker_of(session=session, conversation=conversation)
            yield session, conversation, worker

    async def language_for(self, sender_id: str) -> str:
        async with self.sessions() as session:
            return await service.language_by_public_id(
                session=session,
                public_id=sender_id,
                default=self.settings.hotline_default_language,
            )

    def label(self, language: str, slot: str, value: str) -> str:
        """A stored choice (report_contact = chat) as the worker reads it;
        what the worker wrote themselves stays as written."""
        message_id = f"{slot}.{value}"
        if message_id in self.texts.message_ids():
            return self.texts.get(language, message_id)
        return value

    async def reply(self, sender_id: str, name: str, **values: str) -> Reply:
        """One of the actions' own responses, in the worker's current language."""
        return self.replies.render(name, await self.language_for(sender_id), **values)
