"""What the engine understood of a worker's message, kept beside the message.

The engine tells it in every call it makes to the app for a turn (NLG and
custom actions carry the tracker, whose `latest_message` holds the intent,
its confidence, the ranking and the entities, and the metadata the app sent
with the message). The first call of a turn writes it; later ones find it
written.

A message reaches the engine, for a returning worker, while it is still
being stored, so the row is tied to the message by the key the app chose
for it beforehand (`Message.engine_key`), and to its conversation by a
cascading foreign key: erasure and retention take it with the conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.database import Base
from core.encrypted_columns import EncryptedJSON


class MessageUnderstanding(Base):
    __tablename__ = "message_understandings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    # The message's `engine_key`.
    message_key: Mapped[str] = mapped_column(String(32), unique=True)
    # Intent names and confidences are the engine's, not the worker's words.
    intent: Mapped[str | None] = mapped_column(String(64), index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    # The engine's next guesses, best first: [{"name", "confidence"}].
    ranking: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What the engine picked out of the worker's words (a province, a phone
    # number, a case number): worker's data, so encrypted.
    # [{"entity", "value", "start", "end", "extractor", "confidence"}]; None: none.
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(EncryptedJSON)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
