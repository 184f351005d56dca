"""Reading what the engine understood out of its tracker, and staging it.

The functions take the caller's session (`session=`), never commit and
write no audit entry: `Understanding` (`service.py`) owns the unit of work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversations.models import Conversation
from bot.engine_memory import MESSAGE_KEY
from bot.understanding.models import MessageUnderstanding
from core.clock import utcnow

# The engine's next guesses kept beside its choice.
RANKING_KEPT = 5
# What of an entity is kept (Rasa also sends `processors` and its own ids).
ENTITY_FIELDS = ("entity", "value", "start", "end", "extractor", "role", "group")
_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Reading:
    """What the engine made of one worker message."""

    message_key: str
    intent: str | None
    confidence: float | None
    ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _entity(found: Mapping[str, Any]) -> dict[str, Any]:
    kept = {name: found[name] for name in ENTITY_FIELDS if found.get(name) is not None}
    confidence = _number(found.get("confidence_entity"))
    if confidence is not None:
        kept["confidence"] = confidence
    return kept


def reading_of(tracker: Mapping[str, Any] | None) -> Reading | None:
    """The understanding of the tracker's latest worker message, if the app
    sent that message (its metadata carries the message's key); else None."""
    if not isinstance(tracker, Mapping):
        return None
    latest = tracker.get("latest_message")
    if not isinstance(latest, Mapping):
        return None
    metadata = latest.get("metadata")
    key = metadata.get(MESSAGE_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(key, str) or not _KEY.match(key):
        return None
    intent = latest.get("intent")
    intent = intent if isinstance(intent, Mapping) else {}
    name = intent.get("name")
    ranking = [
        {"name": str(guess["name"]), "confidence": _number(guess.get("confidence"))}
        for guess in latest.get("intent_ranking") or []
        if isinstance(guess, Mapping) and isinstance(guess.get("name"), str)
    ][:RANKING_KEPT]
    entities = [
        _entity(found)
        for found in latest.get("entities") or []
        if isinstance(found, Mapping) and isinstance(found.get("entity"), str)
    ]
    return Reading(
        message_key=key,
        intent=str(name)[:64] if isinstance(name, str) and name else None,
        confidence=_number(intent.get("confidence")),
        ranking=ranking,
        entities=entities,
    )


_CONVERSATION = select(Conversation.id).where(Conversation.public_id == bindparam("public_id"))


async def stage(*, session: AsyncSession, public_id: str, reading: Reading) -> bool:
    """Keep the reading for the conversation `public_id`, unless one is kept
    for the message already (the first call of a turn wins). False when
    nothing was written: kept already, or no such conversation (erased)."""
    conversation_id = await session.scalar(_CONVERSATION, {"public_id": public_id})
    if conversation_id is None:
        return False
    assert session.bind is not None
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(MessageUnderstanding)
        .values(
            conversation_id=conversation_id,
            message_key=reading.message_key,
            intent=reading.intent,
            confidence=reading.confidence,
            ranking=reading.ranking or None,
            entities=reading.entities or None,
            recorded_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["message_key"])
        .returning(MessageUnderstanding.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def understanding_of(
    *, session: AsyncSession, message_key: str
) -> MessageUnderstanding | None:
    query = select(MessageUnderstanding).where(MessageUnderstanding.message_key == message_key)
    return (await session.execute(query)).scalar_one_or_none()
