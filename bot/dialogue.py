"""The path every worker message takes, whatever the channel.

Store first, then answer: a message is committed to the database before the
engine sees it, and every reply is committed before it is handed back to the
channel, so nothing a worker sends is lost if a process dies mid-turn.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.settings import Settings
from bot.channels.base import InboundKind, InboundMessage
from bot.conversations import service
from bot.conversations.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Owner,
    Worker,
)
from bot.engine import EngineClient, EngineUnavailable
from bot.language import detect_by_script
from bot.latin_language import LatinLanguageModel
from bot.normalise import normalise
from bot.responses import Button, Reply
from bot.texts import Texts

logger = logging.getLogger(__name__)

# Sent to the engine when a worker opens the chat: the engine greets them.
START_PAYLOAD = "/greet"


@dataclass(frozen=True)
class StoredTurn:
    message_id: int
    conversation_id: int
    public_id: str
    owner: str
    language: str
    engine_text: str
    kind: InboundKind


class WorkerTurns:
    """One turn at a time per worker, different workers in parallel.

    A worker who sends three messages quickly must get answers in order, and
    the engine must see them in order.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @asynccontextmanager
    async def hold(self, channel: str, channel_user_id: str) -> AsyncIterator[None]:
        key = (channel, channel_user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield


class Hotline:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        engine: EngineClient,
        texts: Texts,
        latin: LatinLanguageModel,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._texts = texts
        self._latin = latin
        self._settings = settings
        self._turns = WorkerTurns()

    async def receive(self, inbound: InboundMessage) -> list[Reply]:
        async with self._turns.hold(inbound.channel, inbound.channel_user_id):
            turn = await self._store_inbound(inbound)
            if turn.owner != Owner.BOT:
                # Staff own the conversation (or it waits for them): the
                # message is stored for them and the bot stays silent.
                return []
            if turn.kind is InboundKind.UNSUPPORTED:
                replies = [Reply(text=self._texts.get(turn.language, "unsupported_message"))]
                status = MessageStatus.ANSWERED
            else:
                replies, status = await self._ask_engine(turn)
            await self._store_replies(turn, replies, status)
            return replies

    async def _store_inbound(self, inbound: InboundMessage) -> StoredTurn:
        normalised = normalise(inbound.text)
        async with self._sessions.begin() as session:
            worker = await service.get_or_create_worker(
                session=session, channel=inbound.channel, channel_user_id=inbound.channel_user_id
            )
            if inbound.kind is InboundKind.TEXT:
                service.note_detected_language(worker, self._detect(normalised.text, worker))
            conversation = await service.current_conversation(session=session, worker=worker)
            language = service.language_of(worker, default=self._settings.hotline_default_language)
            message = service.add_message(
                session=session,
                conversation=conversation,
                direction=Direction.INBOUND,
                status=MessageStatus.RECEIVED,
                text=normalised.text,
                original_text=normalised.original,
                payload=inbound.payload,
                language=language,
            )
            await session.flush()
            return StoredTurn(
                message_id=message.id,
                conversation_id=conversation.id,
                public_id=conversation.public_id,
                owner=conversation.owner,
                language=language,
                engine_text=self._engine_text(inbound, normalised.text),
                kind=inbound.kind,
            )

    def _detect(self, text: str, worker: Worker) -> str | None:
        by_script = detect_by_script(text)
        if by_script is not None or worker.language_detected is not None:
            return by_script
        # Latin letters decide only the first language: a worker who wrote
        # Burmese script and then types "ok" is still Burmese.
        guess = self._latin.guess(text)
        return guess.language if guess else None

    def _engine_text(self, inbound: InboundMessage, text: str) -> str:
        if inbound.kind is InboundKind.START:
            return START_PAYLOAD
        if inbound.kind is InboundKind.BUTTON and inbound.payload:
            return inbound.payload
        return text[: self._settings.hotline_engine_text_chars]

    async def _ask_engine(self, turn: StoredTurn) -> tuple[list[Reply], MessageStatus]:
        try:
            answers = await self._engine.send(
                sender_id=turn.public_id,
                text=turn.engine_text,
                metadata={"channel": "hotline", "language": turn.language},
            )
        except EngineUnavailable as error:
            logger.warning(
                "engine unavailable for conversation %s: %s", turn.conversation_id, error
            )
            return (
                [Reply(text=self._texts.get(turn.language, "engine_unavailable"))],
                MessageStatus.ENGINE_UNAVAILABLE,
            )
        replies = [
            Reply(
                text=answer.text,
                buttons=[Button(title=b["title"], payload=b["payload"]) for b in answer.buttons],
            )
            for answer in answers
            if answer.text or answer.buttons
        ]
        if not replies:
            # Every intent has an answer, so silence means a failed action or
            # response inside the engine: the worker must not be left alone.
            logger.error("engine gave no reply for conversation %s", turn.conversation_id)
            return (
                [Reply(text=self._texts.get(turn.language, "engine_unavailable"))],
                MessageStatus.ENGINE_UNAVAILABLE,
            )
        return replies, MessageStatus.ANSWERED

    async def _store_replies(
        self, turn: StoredTurn, replies: list[Reply], status: MessageStatus
    ) -> None:
        async with self._sessions.begin() as session:
            inbound = await session.get(Message, turn.message_id)
            assert inbound is not None
            inbound.status = status.value
            conversation = await session.get(Conversation, turn.conversation_id)
            assert conversation is not None
            worker = await service.worker_of(session=session, conversation=conversation)
            # The turn may have changed the language (the worker chose one).
            language = service.language_of(worker, default=self._settings.hotline_default_language)
            for reply in replies:
                service.add_message(
                    session=session,
                    conversation=conversation,
                    direction=Direction.OUTBOUND,
                    status=MessageStatus.SENT,
                    text=reply.text,
                    buttons=[button.as_dict() for button in reply.buttons],
                    language=language,
                )
