"""Tables for workers, conversations and messages."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.database import Base, utcnow


class Owner(enum.StrEnum):
    """Who answers the worker: the bot, nobody yet (waiting for staff), or staff."""

    BOT = "bot"
    QUEUED = "queued"
    STAFF = "staff"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet answered
    ANSWERED = "answered"  # the engine answered it
    # The engine did not answer; the worker got the hotline numbers and the
    # message waits to be processed again.
    ENGINE_UNAVAILABLE = "engine_unavailable"
    QUEUED = "queued"  # outbound, waiting for the channel
    SENT = "sent"  # outbound, accepted by the channel


def _public_id() -> str:
    return uuid.uuid4().hex


class Worker(Base):
    """A person writing to the hotline, identified per channel."""

    __tablename__ = "workers"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    # The worker's explicit choice always wins over what the script suggests.
    language_choice: Mapped[str | None] = mapped_column(String(8))
    language_detected: Mapped[str | None] = mapped_column(String(8))
    welcomed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="worker")


class Conversation(Base):
    """One worker's thread with the hotline on one channel."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The engine knows the conversation only by this id, never by the
    # worker's platform id.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=_public_id)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(16), default=Owner.BOT.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    worker: Mapped[Worker] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    """Every message in and out, stored before it is answered or sent."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))
    # text: what the hotline works with (normalised); original_text: exactly
    # what the worker sent, kept for staff and for evidence.
    text: Mapped[str] = mapped_column(Text, default="")
    original_text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
