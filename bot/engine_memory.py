"""What the engine remembers of a conversation, read from the hotline's
database (the engine's tracker store, `flows/stores.py`).

A message whose turn was cut short (the app process answering it died after
the engine had answered) is taken up again later. Asking the engine again
would make it hear the worker twice and move a report form on by one
question; its answer is in its memory instead, behind the worker's message
(found by the message id the app sends with each turn).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversations.models import EngineTracker
from bot.engine import EngineReply

# Sent with every message to the engine, kept on the worker's event.
MESSAGE_ID = "hotline_message_id"
# The message's key (`Message.engine_key`), chosen before it is written: a
# returning worker's message reaches the engine while it is being stored,
# before its id is known (then MESSAGE_ID is 0).
MESSAGE_KEY = "hotline_message_key"


def _heard(event: dict[str, Any], message_id: int, message_key: str | None) -> bool:
    """Whether the engine's event is the worker's message: by its key, or by
    its id for a message sent before keys (a key-less id 0 is any message
    that went ahead of its commit, so none in particular)."""
    if event.get("event") != "user":
        return False
    metadata = event.get("metadata") or {}
    if message_key is not None and metadata.get(MESSAGE_KEY) is not None:
        return bool(metadata.get(MESSAGE_KEY) == message_key)
    return message_id != 0 and metadata.get(MESSAGE_ID) == message_id


async def remembered_answer(
    *, session: AsyncSession, public_id: str, message_id: int, message_key: str | None = None
) -> list[EngineReply] | None:
    """The engine's replies to the message, if it answered it; else None.

    A message heard once with no reply after it is not answered: its turn
    lost its words (the app process it called back for a response died
    meanwhile), so it is asked again. Heard twice with none, the engine has
    nothing to say to it, and it is not asked a third time.
    """
    stored = await session.scalar(
        select(EngineTracker.tracker).where(EngineTracker.sender_id == public_id)
    )
    if stored is None:
        return None
    events: list[dict[str, Any]] = json.loads(stored).get("events") or []
    heard = [index for index, event in enumerate(events) if _heard(event, message_id, message_key)]
    if not heard:
        return None
    replies = []
    for event in events[heard[-1] + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            data = event.get("data") or {}
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in data.get("buttons") or []
                if isinstance(b, dict)
            ]
            replies.append(EngineReply(text=str(event.get("text") or ""), buttons=buttons))
    if not replies and len(heard) < 2:
        return None
    return replies
