"""Sending stored replies to workers on channels that push: LINE and Telegram.

`Outbox` sends a conversation's queued replies in order: LINE's free reply
token first, then push, retrying with exponential backoff on network
errors, 5xx and 429 (waiting as long as the platform asks). A reply that
keeps failing is marked failed for staff to see, and the next one is tried.
Every reply it sends was stored before; what the platform accepted is
marked sent, so nothing is sent twice after a restart. Replies are stored in
Unicode and handed over in the encoding the worker's phone reads
(`bot/encoding.py`): this is where a Zawgyi worker's replies are converted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import stop_tasks
from bot.channels.base import ChannelAdapter, DeliveryError, OutboundMessage
from bot.conversations.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Worker,
)
from bot.encoding import effective_encoding, readable, readable_buttons
from bot.handoff.events import HandoffEvents
from bot.leases import Leases, Release
from bot.ordering import KeyedLocks
from core.clock import utcnow

logger = logging.getLogger(__name__)

# LINE reply tokens are valid for about a minute; keep a margin.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)
Sleep = Callable[[float], Awaitable[None]]

# The outbox's reads, built once: they run for every reply sent, and
# building a query costs about as much processor time as running it.
# What waits to be sent in a conversation, and to whom it goes.
_QUEUED = (
    select(
        Message,
        Conversation.channel,
        Worker.channel_user_id,
        Worker.unfollowed_at,
        Worker.encoding_choice,
        Worker.encoding_detected,
    )
    .join(Conversation, Conversation.id == Message.conversation_id)
    .join(Worker, Worker.id == Conversation.worker_id)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.direction == Direction.OUTBOUND.value,
        Message.status == MessageStatus.QUEUED.value,
    )
    .order_by(Message.id)
)
# The reply tokens of a conversation not used yet, oldest first.
_REPLY_TOKENS = (
    select(Message.id, Message.reply_token, Message.created_at)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.direction == Direction.INBOUND.value,
        Message.reply_token.is_not(None),
    )
    .order_by(Message.id)
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay * 5)
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class Pushed(Enum):
    SENT = "sent"
    FAILED = "failed"
    # Another process took the conversation's sending over: it sends the rest.
    LEASE_LOST = "lease_lost"


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reading: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, ChannelAdapter],
        policy: RetryPolicy,
        events: HandoffEvents,
        leases: Leases,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sessions = sessions
        # For reads only (see `create_reading_sessionmaker`).
        self._reading = reading
        self._adapters = adapters
        self._policy = policy
        self._sleep = sleep
        # Told when a reply is given up on, and when a staff member's reply
        # reached the platform, so the console shows it at once.
        self._events = events
        # One sending at a time per conversation: two at once would both
        # read the same queued replies and send them twice. In this process
        # a lock; across app processes a lease in the database.
        self._sending = KeyedLocks[int]()
        self._leases = leases
        self._side_tasks: set[asyncio.Task[None]] = set()

    async def send(self, conversation_id: int) -> None:
        """Send every queued reply of one conversation, in order: the one way
        out for bot answers, staff replies, closings, alerts and retries."""
        async with self._sending.hold(conversation_id):
            lease = f"send:{conversation_id}"
            if not await self._leases.claim(lease):
                # Another process sends this conversation now; it was asked
                # to look again before it lets go, and will send these too.
                return
            try:
                while True:
                    async with self._leases.renewed(lease):
                        await self._send(conversation_id, lease)
                    if await self._leases.release(lease) is not Release.AGAIN:
                        return
            except Exception:
                await self._leases.drop(lease)
                raise

    def send_soon(self, conversation_id: int) -> None:
        """`send` in the background, for callers that must not wait on a
        platform (a staff member's request); closing the outbox ends it."""
        task = asyncio.create_task(self._send_logged(conversation_id))
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _send_logged(self, conversation_id: int) -> None:
        try:
            await self.send(conversation_id)
        except Exception:
            # What was not sent stays queued; the delivery sweep sends it.
            logger.exception("sending conversation %s failed", conversation_id)

    @property
    def busy(self) -> bool:
        return bool(self._side_tasks)

    async def idle(self) -> None:
        """Wait until every background sending has ended."""
        while self._side_tasks:
            await asyncio.gather(*self._side_tasks, return_exceptions=True)

    async def close(self) -> None:
        await stop_tasks(list(self._side_tasks))

    def _failed(self, conversation_id: int, message_id: int) -> None:
        self._events.publish("failed", conversation_id=conversation_id, message_id=message_id)

    async def _send(self, conversation_id: int, lease: str) -> None:
        # Two reads: what waits, with whom it goes to, then the reply token.
        async with self._reading() as session:
            found = (await session.execute(_QUEUED, {"conversation_id": conversation_id})).all()
            if not found:
                return
            _, channel, recipient, unfollowed_at, encoding_choice, encoding_detected = found[0]
            adapter = self._adapters.get(channel)
            if adapter is None:
                return
            queued = [row[0] for row in found]
            token, spent = await self._usable_reply_token(session, conversation_id)
        if unfollowed_at is not None:
            for row in queued:
                await self._mark([row.id], MessageStatus.FAILED, "the worker unfollowed")
                self._failed(conversation_id, row.id)
            return
        from_staff = {m.id for m in queued if m.staff_id is not None}

        def sent(message_id: int) -> None:
            if message_id in from_staff:
                self._events.publish(
                    "delivered", conversation_id=conversation_id, message_id=message_id
                )

        encoding = effective_encoding(choice=encoding_choice, detected=encoding_detected)
        pending = [
            OutboundMessage(
                id=m.id,
                text=readable(m.text, encoding),
                buttons=readable_buttons(m.buttons or [], encoding),
                retry_key=m.retry_key or "",
            )
            for m in queued
        ]
        carried = 0
        if token is not None:
            try:
                carried = await adapter.reply(token, pending)
            except DeliveryError as error:
                logger.info("reply token not used (%s); pushing instead", error.reason)
        # One write marks what the reply carried and clears the tokens spent
        # (the one used, and any that expired before it).
        await self._mark([m.id for m in pending[:carried]], MessageStatus.SENT, spent_tokens=spent)
        for carried_message in pending[:carried]:
            sent(carried_message.id)
        pending = pending[carried:]
        for outbound in pending:
            if not await self._leases.keep(lease):
                # Held too long (a database that stalled): another process
                # sends the rest; sending on would send them twice.
                logger.warning("conversation %s: sending lease lost", conversation_id)
                return
            outcome = await self._push(adapter, recipient, outbound, lease)
            if outcome is Pushed.SENT:
                sent(outbound.id)
            elif outcome is Pushed.FAILED:
                self._failed(conversation_id, outbound.id)
            else:
                logger.warning("conversation %s: sending lease lost", conversation_id)
                return

    async def _usable_reply_token(
        self, session: AsyncSession, conversation_id: int
    ) -> tuple[str | None, list[int]]:
        """The oldest unused reply token that is still fresh, and the messages it spends.

        The oldest first, since it expires first. Spent: the message whose
        token is used and those before it, whose tokens expired; their tokens
        are cleared when the outcome of the reply is marked, in the same
        write (each token is used once). Only reading here keeps the way to
        the reply call free of a write and its commit.
        """
        rows = (await session.execute(_REPLY_TOKENS, {"conversation_id": conversation_id})).all()
        spent: list[int] = []
        now = utcnow()
        for message_id, token, created_at in rows:
            spent.append(message_id)
            if now - created_at <= REPLY_TOKEN_LIFETIME:
                return token, spent
        return None, spent

    async def _push(
        self, adapter: ChannelAdapter, recipient: str, message: OutboundMessage, lease: str
    ) -> Pushed:
        """Push until the platform accepts or the reply is given up on, or
        the lease is lost while waiting to try again."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await adapter.push(recipient, message)
            except DeliveryError as error:
                final = not error.retryable or attempt >= self._policy.max_attempts
                await self._mark(
                    [message.id],
                    MessageStatus.FAILED if final else MessageStatus.QUEUED,
                    error.reason,
                    attempts=attempt,
                )
                if final:
                    logger.error("message %s failed after %s attempts", message.id, attempt)
                    return Pushed.FAILED
                # The lease is renewed through the wait (`Leases.renewed`);
                # lost meanwhile, another process sends it.
                await self._sleep(self._policy.delay(attempt, error.retry_after))
                if not await self._leases.keep(lease):
                    return Pushed.LEASE_LOST
            else:
                await self._mark([message.id], MessageStatus.SENT, attempts=attempt)
                return Pushed.SENT

    async def _mark(
        self,
        message_ids: Sequence[int],
        status: MessageStatus,
        error: str | None = None,
        *,
        attempts: int | None = None,
        spent_tokens: Sequence[int] = (),
    ) -> None:
        if not message_ids and not spent_tokens:
            return
        values: dict[str, Any] = {"status": status.value}
        if error is not None:
            values["last_error"] = error[:200]
        if attempts is not None:
            values["attempts"] = attempts
        if status is MessageStatus.SENT:
            values["sent_at"] = utcnow()
        # Updates without reading the rows first: every statement is a round
        # trip to the database, and on SQLite a write holds the only write
        # lock, which the intake needs to store what workers send.
        # What the platform accepted must be recorded, or the sweep sends it
        # again: a database busy for a moment (SQLite's write lock held past
        # its timeout, a dropped server connection) is waited out.
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                async with self._sessions.begin() as session:
                    if message_ids:
                        await session.execute(
                            update(Message).where(Message.id.in_(message_ids)).values(**values)
                        )
                    if spent_tokens:
                        await session.execute(
                            update(Message)
                            .where(Message.id.in_(spent_tokens))
                            .values(reply_token=None)
                        )
                return
            except OperationalError as error:
                if attempt == self._policy.max_attempts:
                    raise
                logger.warning(
                    "recording a delivery failed (%s), attempt %s; trying again",
                    type(error.orig).__name__,
                    attempt,
                )
                await self._sleep(self._policy.delay(attempt, None))


@dataclass(frozen=True)
class WaitingReply:
    """A reply taken by a channel that cannot push, as the worker reads it."""

    text: str
    buttons: list[dict[str, str]]


async def take_waiting_replies(
    *, session: AsyncSession, channel: str, channel_user_id: str
) -> list[WaitingReply]:
    """Replies waiting for a channel that cannot push (the web chat), marked
    sent, in the encoding the worker reads.

    Staff write to a web chat worker at any moment, but the page only hears
    from the hotline when it asks: it asks now and then, and what it takes
    counts as delivered.
    """
    found = (
        await session.execute(
            select(Message, Worker.encoding_choice, Worker.encoding_detected)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Worker, Worker.id == Conversation.worker_id)
            .where(
                Worker.channel == channel,
                Worker.channel_user_id == channel_user_id,
                Message.direction == Direction.OUTBOUND.value,
                Message.status == MessageStatus.QUEUED.value,
            )
            .order_by(Message.id)
        )
    ).all()
    taken: list[WaitingReply] = []
    for message, encoding_choice, encoding_detected in found:
        message.status = MessageStatus.SENT.value
        message.sent_at = utcnow()
        encoding = effective_encoding(choice=encoding_choice, detected=encoding_detected)
        taken.append(
            WaitingReply(
                text=readable(message.text, encoding),
                buttons=readable_buttons(message.buttons or [], encoding),
            )
        )
    return taken
