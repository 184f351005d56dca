"""Workers, conversations and messages: the operations the hotline performs.

Functions take the session as a keyword and do not commit: the caller, a
service at the edge of a unit of work, owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.conversations.models import (
    ChannelEvent,
    Conversation,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    Worker,
)
from bot.encoding import effective_encoding
from bot.language import LANGUAGES, effective_language
from bot.normalise import UNICODE
from core.clock import utcnow


class UnknownLanguage(ValueError):
    pass


async def get_or_create_worker(
    *, session: AsyncSession, channel: str, channel_user_id: str
) -> Worker:
    query = select(Worker).where(
        Worker.channel == channel, Worker.channel_user_id == channel_user_id
    )
    worker = (await session.execute(query)).scalar_one_or_none()
    if worker is not None:
        return worker
    worker = Worker(channel=channel, channel_user_id=channel_user_id)
    try:
        async with session.begin_nested():
            session.add(worker)
    except IntegrityError:
        # Two first messages from the same worker at once: the other won.
        worker = (await session.execute(query)).scalar_one()
    return worker


async def current_conversation(*, session: AsyncSession, worker: Worker) -> Conversation:
    query = (
        select(Conversation)
        .where(Conversation.worker_id == worker.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    conversation = (await session.execute(query)).scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(worker_id=worker.id, channel=worker.channel)
        session.add(conversation)
        await session.flush()
    return conversation


class Standing(NamedTuple):
    """A worker as a message of theirs finds them."""

    worker: Worker
    conversation: Conversation
    # Messages they sent in the conversation within the window asked for.
    sent_lately: int
    # Whether worker and conversation were stored before this transaction
    # (False for a worker's first message).
    known: bool
    # Whether the platform's event is stored already (a redelivery), as
    # read with the rest; recording it is what tells for sure.
    event_seen: bool = False


async def worker_and_conversation(
    *,
    session: AsyncSession,
    channel: str,
    channel_user_id: str,
    count_sent_since: datetime,
    event_id: str | None = None,
) -> Standing:
    """The worker, their current conversation (made when missing), how many
    messages they sent in it after `count_sent_since`, and whether the
    platform's event `event_id` is stored already.

    One query for a worker who wrote before, which is nearly every message.
    (A worker not stored yet has no stored event: an event is recorded in
    the transaction that stores its message, and the worker with it.)
    """
    found = (
        await session.execute(
            _STANDING,
            {
                "channel": channel,
                "channel_user_id": channel_user_id,
                "since": count_sent_since,
                "event_id": event_id,
            },
        )
    ).one_or_none()
    if found is not None:
        return Standing(found[0], found[1], found[2], known=True, event_seen=found[3])
    worker = await get_or_create_worker(
        session=session, channel=channel, channel_user_id=channel_user_id
    )
    conversation = await current_conversation(session=session, worker=worker)
    return Standing(worker, conversation, 0, known=False)


async def conversation_by_public_id(
    *, session: AsyncSession, public_id: str
) -> Conversation | None:
    query = select(Conversation).where(Conversation.public_id == public_id)
    return (await session.execute(query)).scalar_one_or_none()


async def language_by_public_id(*, session: AsyncSession, public_id: str, default: str) -> str:
    """The language to answer the engine's conversation `public_id` in, in one query."""
    found = (await session.execute(_LANGUAGE_BY_PUBLIC_ID, {"public_id": public_id})).one_or_none()
    if found is None:
        return default
    return effective_language(choice=found[0], detected=found[1], hint=found[2], default=default)


# Asked for every response the engine gives: built once.
_LANGUAGE_BY_PUBLIC_ID = (
    select(Worker.language_choice, Worker.language_detected, Worker.language_hint)
    .join(Conversation, Conversation.worker_id == Worker.id)
    .where(Conversation.public_id == bindparam("public_id"))
)


async def worker_of(*, session: AsyncSession, conversation: Conversation) -> Worker:
    worker = await session.get(Worker, conversation.worker_id)
    assert worker is not None  # foreign key
    return worker


def language_of(worker: Worker, *, default: str) -> str:
    return effective_language(
        choice=worker.language_choice,
        detected=worker.language_detected,
        hint=worker.language_hint,
        default=default,
    )


def has_no_language(worker: Worker) -> bool:
    """Nothing yet says which language the worker reads: neither a choice,
    nor their script, nor their platform."""
    return (
        worker.language_choice is None
        and worker.language_detected is None
        and (worker.language_hint is None)
    )


def note_platform_language(worker: Worker, hint: str | None) -> None:
    """Keep what the worker's platform says of their language (one of the
    hotline's: see `bot.language.platform_language`) as the first guess."""
    if hint is not None:
        worker.language_hint = hint


async def keep_platform_language(*, session: AsyncSession, worker_id: int, hint: str) -> None:
    """`note_platform_language` for a worker not at hand (a LINE profile
    read after the message was stored)."""
    await session.execute(update(Worker).where(Worker.id == worker_id).values(language_hint=hint))


def note_detected_language(worker: Worker, detected: str | None) -> None:
    """Follow the script the worker writes in, unless they chose a language."""
    if detected is not None:
        worker.language_detected = detected


def note_detected_encoding(worker: Worker, encoding: str | None) -> None:
    """Follow the Burmese encoding the worker's phone writes in, when a
    message shows it beyond doubt (see `bot/encoding.py`)."""
    if encoding is not None:
        worker.encoding_detected = encoding


async def encoding_of(*, session: AsyncSession, channel: str, channel_user_id: str) -> str:
    """The encoding a worker's replies go out in (Unicode for one not stored)."""
    found = (
        await session.execute(
            select(Worker.encoding_choice, Worker.encoding_detected).where(
                Worker.channel == channel, Worker.channel_user_id == channel_user_id
            )
        )
    ).one_or_none()
    if found is None:
        return UNICODE
    return effective_encoding(choice=found[0], detected=found[1])


async def choose_encoding(*, session: AsyncSession, worker_id: int, encoding: str) -> None:
    """The worker pressed a switch button: kept whatever their messages show."""
    await session.execute(
        update(Worker).where(Worker.id == worker_id).values(encoding_choice=encoding)
    )


async def mark_offered_unicode(*, session: AsyncSession, worker_id: int) -> bool:
    """True the first time only, so a worker is offered Unicode once."""
    marked = await session.execute(
        update(Worker)
        .where(Worker.id == worker_id, Worker.zawgyi_offered_at.is_(None))
        .values(zawgyi_offered_at=utcnow())
    )
    return bool(marked.rowcount)  # type: ignore[attr-defined]


def choose_language(worker: Worker, language: str) -> None:
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    worker.language_choice = language


def mark_welcomed(worker: Worker) -> bool:
    """True the first time only, so a worker is welcomed once."""
    if worker.welcomed_at is not None:
        return False
    worker.welcomed_at = utcnow()
    return True


def add_message(
    *,
    session: AsyncSession,
    conversation_id: int,
    direction: Direction,
    status: MessageStatus,
    text: str,
    language: str | None,
    kind: MessageKind = MessageKind.TEXT,
    original_text: str | None = None,
    payload: str | None = None,
    tag: str | None = None,
    buttons: Sequence[dict[str, str]] | None = None,
    platform_message_id: str | None = None,
    reply_token: str | None = None,
    retry_key: str | None = None,
    sent_at: datetime | None = None,
    engine_key: str | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation_id,
        direction=direction.value,
        status=status.value,
        kind=kind.value,
        text=text,
        original_text=original_text,
        payload=payload,
        tag=tag,
        buttons=list(buttons) if buttons else None,
        language=language,
        platform_message_id=platform_message_id,
        reply_token=reply_token,
        retry_key=retry_key,
        sent_at=sent_at,
        engine_key=engine_key,
    )
    session.add(message)
    return message


class OutboundText(NamedTuple):
    """A reply to a worker, as it is stored."""

    text: str
    # What the hotline itself said (see `Reply.tag`).
    tag: str | None
    buttons: list[dict[str, str]]


async def add_replies(
    *,
    session: AsyncSession,
    conversation_id: int,
    replies: Sequence[OutboundText],
    language: str,
    delivered: bool,
) -> None:
    """Replies to a worker, in one statement.

    `delivered`: handed over by the channel itself (the web chat's response),
    so stored as sent; otherwise queued for the outbox, each with the retry
    key its pushes keep. A turn's replies are stored on the way from the
    engine's answer to the worker: one statement, without the unit of work.
    """
    if not replies:
        return
    now = utcnow()
    await session.execute(
        insert(Message),
        [
            {
                "conversation_id": conversation_id,
                "direction": Direction.OUTBOUND.value,
                "kind": MessageKind.TEXT.value,
                "status": (MessageStatus.SENT if delivered else MessageStatus.QUEUED).value,
                "text": reply.text,
                "original_text": None,
                "payload": None,
                "tag": reply.tag,
                "buttons": reply.buttons or None,
                "language": language,
                "retry_key": None if delivered else str(uuid.uuid4()),
                "sent_at": now if delivered else None,
            }
            for reply in replies
        ],
    )


async def mark_unfollowed(*, session: AsyncSession, worker_id: int) -> None:
    await session.execute(
        update(Worker).where(Worker.id == worker_id).values(unfollowed_at=utcnow())
    )


async def record_event(*, session: AsyncSession, channel: str, event_id: str) -> bool:
    """False when the platform already delivered this event.

    One statement that inserts or does nothing: a savepoint around a plain
    insert costs three round trips on every webhook.
    """
    assert session.bind is not None
    statement = _RECORD_EVENT[session.bind.dialect.name == "postgresql"]
    values = {"channel": channel, "event_id": event_id, "received_at": utcnow()}
    return (await session.execute(statement, values)).scalar_one_or_none() is not None


# Insert or do nothing, in the database's own words (PostgreSQL: True).
_RECORD_EVENT = {
    on_postgresql: (
        (pg_insert if on_postgresql else sqlite_insert)(ChannelEvent)
        .values(
            channel=bindparam("channel"),
            event_id=bindparam("event_id"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["channel", "event_id"])
        .returning(ChannelEvent.id)
    )
    for on_postgresql in (False, True)
}


# The other messages of a conversation, as a subquery beside the message read.
_EARLIER = aliased(Message, name="earlier")


def sent_since(
    conversation_id: ColumnElement[int] | InstrumentedAttribute[int],
    since: datetime | BindParameter[datetime],
) -> ScalarSelect[int]:
    """How many messages the worker sent in a conversation after `since`.

    A subquery, so that it is read together with the turn it belongs to.
    """
    return (
        select(func.count())
        .select_from(_EARLIER)
        .where(
            _EARLIER.conversation_id == conversation_id,
            _EARLIER.direction == Direction.INBOUND.value,
            _EARLIER.created_at > since,
        )
        .scalar_subquery()
    )


# Built once: read for every message a worker sends, and building a query
# costs about as much processor time as running it.
_STANDING = (
    select(
        Worker,
        Conversation,
        sent_since(Conversation.id, since=bindparam("since")),
        exists().where(
            ChannelEvent.channel == bindparam("channel"),
            ChannelEvent.event_id == bindparam("event_id"),
        ),
    )
    .join(Conversation, Conversation.worker_id == Worker.id)
    .where(
        Worker.channel == bindparam("channel"),
        Worker.channel_user_id == bindparam("channel_user_id"),
    )
    .order_by(Conversation.id.desc())
    .limit(1)
)


async def asked_to_slow_down_since(
    *, session: AsyncSession, conversation_id: int, since: datetime, tag: str
) -> bool:
    query = (
        select(Message.created_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.OUTBOUND.value,
            Message.tag == tag,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    last = (await session.execute(query)).scalar_one_or_none()
    return last is not None and last >= since
