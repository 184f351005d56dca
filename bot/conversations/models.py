"""Tables for workers, conversations and messages."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.database import Base
from core.encrypted_columns import EncryptedJSON, EncryptedText


class Owner(enum.StrEnum):
    """Who answers the worker: the bot, nobody yet (waiting for staff), or staff."""

    BOT = "bot"
    QUEUED = "queued"
    STAFF = "staff"


class EscalationReason(enum.StrEnum):
    """Why a conversation waits for staff; shown in the queue."""

    ASKED_FOR_PERSON = "asked_for_person"
    EMERGENCY = "emergency"
    NOT_UNDERSTOOD = "not_understood"
    REPORT_FOLLOW_UP = "report_follow_up"


# Higher goes first in the queue; someone in danger before everyone else.
ESCALATION_PRIORITY: dict[EscalationReason, int] = {
    EscalationReason.EMERGENCY: 100,
    EscalationReason.REPORT_FOLLOW_UP: 20,
    EscalationReason.ASKED_FOR_PERSON: 10,
    EscalationReason.NOT_UNDERSTOOD: 10,
}
# Channels where anyone can write without an account the platform knows:
# an emergency there is one that nobody can check (the web chat). It waits
# just below emergencies from LINE and Telegram; and beyond
# HOTLINE_WEBCHAT_EMERGENCY_CAP of them within the window, in one group
# below those, above everything else (see `bot/handoff/service.py`).
UNVERIFIED_CHANNELS = frozenset({"webchat"})
UNVERIFIED_EMERGENCY_PRIORITY = 90
GROUPED_EMERGENCY_PRIORITY = 50


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet answered
    ANSWERED = "answered"  # answered (by the engine or the hotline itself)
    # The engine did not answer; the worker got the hotline numbers and the
    # message waits to be processed again.
    ENGINE_UNAVAILABLE = "engine_unavailable"
    FOR_STAFF = "for_staff"  # staff own the conversation: the bot stays silent
    # The worker sent too many messages too fast: kept (staff can read it),
    # not answered one by one; the worker was asked to slow down.
    RATE_LIMITED = "rate_limited"
    QUEUED = "queued"  # outbound, waiting for the channel
    SENT = "sent"  # outbound, accepted by the channel
    FAILED = "failed"  # outbound, the channel kept refusing it: staff must see it


class MessageKind(enum.StrEnum):
    TEXT = "text"
    BUTTON = "button"
    START = "start"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    FILE = "file"
    LOCATION = "location"
    STICKER = "sticker"
    UNFOLLOW = "unfollow"
    UNSUPPORTED = "unsupported"


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
    # What the worker's platform says they use (Telegram's language_code,
    # the LINE profile's, the browser's): the first guess, below both.
    language_hint: Mapped[str | None] = mapped_column(String(8))
    # The Burmese encoding replies go out in ("unicode" or "zawgyi", see
    # `bot/encoding.py`): the worker's choice by button wins over what their
    # messages showed; stored replies stay Unicode. Offered Unicode once,
    # when their messages first moved them to Zawgyi.
    encoding_choice: Mapped[str | None] = mapped_column(String(8))
    encoding_detected: Mapped[str | None] = mapped_column(String(8))
    zawgyi_offered_at: Mapped[datetime | None]
    welcomed_at: Mapped[datetime | None]
    # The worker blocked or left the hotline's account: nothing can be sent.
    unfollowed_at: Mapped[datetime | None]
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
    # The last location the worker shared, kept for their report.
    location: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    # Handoff: why and since when the worker waits, how urgent it is, and
    # which staff member has taken the conversation.
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    claimed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    claimed_at: Mapped[datetime | None]
    # Set when the worker was told again that nobody has claimed them yet,
    # so supervisors are alerted once per wait.
    overdue_alerted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    worker: Mapped[Worker] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    """Every message in and out, stored before it is answered or sent."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "id"),
        # The statistics read a period's messages.
        Index("ix_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=MessageKind.TEXT.value)
    # text: what the hotline works with (normalised); original_text: exactly
    # what the worker sent, kept for staff and for evidence.
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    original_text: Mapped[str | None] = mapped_column(EncryptedText)
    # Inbound: the button's data, a deep link's parameter or the media's
    # description (file names): the worker's, so encrypted.
    payload: Mapped[str | None] = mapped_column(EncryptedText)
    # Outbound: what the hotline itself said (`Reply.tag`), looked up by value.
    tag: Mapped[str | None] = mapped_column(String(32))
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    # Inbound: the platform's id of the message (to fetch its media) and
    # LINE's reply token (free replies for about a minute, once).
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    # Inbound: the key the engine hears the message by (its metadata
    # `hotline_message_key`), chosen before the message is written, since a
    # returning worker's message reaches the engine while it is stored.
    engine_key: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    reply_token: Mapped[str | None] = mapped_column(String(255))
    # Outbound delivery: the key LINE uses to drop a retried push it already
    # accepted, kept across retries; how often it was tried and why it failed.
    retry_key: Mapped[str | None] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    # Outbound messages written by staff (None: the bot or the hotline).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message")


class Attachment(Base):
    """A photo, voice note, video or file a worker sent, stored on our side.

    LINE keeps content only for a while, so it is fetched as soon as the
    message arrives. The bytes live in the attachment store (`storage_key`);
    the hash lets staff show a referral that the evidence is unchanged.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    # The original's SHA-256, for whoever receives the evidence to check it;
    # encrypted, as a plain hash would tell a backup's holder which known
    # file was sent.
    sha256: Mapped[str] = mapped_column(EncryptedText)
    storage_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class ChannelEvent(Base):
    """Platform events already accepted: LINE and Telegram redeliver."""

    __tablename__ = "channel_events"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EngineTracker(Base):
    """What the engine remembers of a conversation: its Rasa tracker (every
    event, the worker's words and a half-filled report among them), stored
    encrypted by the engine itself (`flows/stores.py`) so that restarts and
    other engines carry the conversation on.

    Keyed by the conversation's public id with a cascading foreign key: a
    tracker cannot outlive its conversation, so erasure and retention take
    it in the same transaction, whether the engine runs or not, and an
    engine that finishes a turn after the erasure cannot write it back.
    """

    __tablename__ = "engine_trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.public_id", ondelete="CASCADE"), unique=True
    )
    tracker: Mapped[str] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
