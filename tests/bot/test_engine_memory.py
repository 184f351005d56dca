"""The engine's answer to a message is found in its memory by the message's
key: a returning worker's messages reach the engine before their id is known,
so their id there is 0, the same for each of them."""

from __future__ import annotations

import json

from bot import engine_memory
from bot.conversations.models import Conversation, EngineTracker, Worker
from core.database import create_engine, create_sessionmaker
from tests.support import TEST_VAULT


async def test_the_answer_is_found_by_the_messages_key_not_an_id_of_zero(
    database_url: str,
) -> None:
    database = create_engine(database_url, TEST_VAULT)
    sessions = create_sessionmaker(database)
    events = [
        {"event": "user", "metadata": {"hotline_message_id": 0, "hotline_message_key": "a" * 32}},
        {"event": "bot", "text": "the first answer", "data": {}},
        {"event": "user", "metadata": {"hotline_message_id": 0, "hotline_message_key": "b" * 32}},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "metadata": {"hotline_message_id": 0, "hotline_message_key": "d" * 32}},
        {"event": "user", "metadata": {"hotline_message_id": 0, "hotline_message_key": "d" * 32}},
    ]
    try:
        async with sessions.begin() as session:
            worker = Worker(channel="webchat", channel_user_id="w")
            session.add(worker)
            await session.flush()
            conversation = Conversation(worker_id=worker.id, channel="webchat")
            session.add(conversation)
            await session.flush()
            public_id = conversation.public_id
            session.add(EngineTracker(sender_id=public_id, tracker=json.dumps({"events": events})))
        async with sessions() as session:

            async def remembered(message_key: str | None) -> list[str] | None:
                found = await engine_memory.remembered_answer(
                    session=session, public_id=public_id, message_id=0, message_key=message_key
                )
                return None if found is None else [reply.text for reply in found]

            assert await remembered("a" * 32) == ["the first answer"]
            # Heard once with no reply (its turn lost its words when the app
            # process it called back died): not answered, so asked again.
            assert await remembered("b" * 32) is None
            # Heard twice with none: the engine has nothing to say to it.
            assert await remembered("d" * 32) == []
            # Not heard at all: asked again, never given another message's answer.
            assert await remembered("c" * 32) is None
            assert await remembered(None) is None
    finally:
        await database.dispose()
