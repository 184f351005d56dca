"""Getting answers to workers on channels that push: LINE and Telegram.

`Deliveries` answers each worker's stored messages in order, one at a time,
different workers in parallel, in the background after the webhook said 200.
`Outbox` sends the stored replies: LINE's free reply token first, then push,
retrying with exponential backoff on network errors, 5xx and 429 (waiting as
long as the platform asks). A reply that keeps failing is marked failed for
staff to see, and the next one is tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.database import utcnow
from bot.channels.base import ChannelAdapter, DeliveryError, OutboundMessage
from bot.conversations.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Worker,
)
from bot.dialogue import UNANSWERED, EngineAnswer, Hotline, StartAnswer, Turn
from bot.engine import EngineClient

logger = logging.getLogger(__name__)

# LINE reply tokens are valid for about a minute; keep a margin.
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)
# An answer still not sent by then shows the platform's "working on it" sign.
TYPING_AFTER_SECONDS = 0.5
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

# The outbox's reads, built once: they run for every reply sent, and
# building a query costs about as much processor time as running it.
# What waits to be sent in a conversation, and to whom it goes.
_QUEUED = (
    select(Message, Conversation.channel, Worker.channel_user_id, Worker.unfollowed_at)
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


class Outbox:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        reading: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, ChannelAdapter],
        policy: RetryPolicy,
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
        self.on_failed: Callable[..., None] | None = None
        self.on_staff_reply_sent: Callable[..., None] | None = None

    async def deliver(self, conversation_id: int) -> None:
        """Send every queued reply of one conversation, in order."""
        # Two reads: what waits, with whom it goes to, then the reply token.
        async with self._reading() as session:
            found = (await session.execute(_QUEUED, {"conversation_id": conversation_id})).all()
            if not found:
                return
            _, channel, recipient, unfollowed_at = found[0]
            adapter = self._adapters.get(channel)
            if adapter is None:
                return
            queued = [row[0] for row in found]
            token, spent = await self._usable_reply_token(session, conversation_id)
        if unfollowed_at is not None:
            for row in queued:
                await self._mark([row.id], MessageStatus.FAILED, "the worker unfollowed")
                if self.on_failed is not None:
                    self.on_failed(conversation_id=conversation_id, message_id=row.id)
            return
        from_staff = {m.id for m in queued if m.staff_id is not None}

        def sent(message_id: int) -> None:
            if message_id in from_staff and self.on_staff_reply_sent is not None:
                self.on_staff_reply_sent(conversation_id=conversation_id, message_id=message_id)

        pending = [
            OutboundMessage(
                id=m.id, text=m.text, buttons=list(m.buttons or []), retry_key=m.retry_key or ""
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
            if await self._push(adapter, recipient, outbound):
                sent(outbound.id)
            elif self.on_failed is not None:
                self.on_failed(conversation_id=conversation_id, message_id=outbound.id)

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
        self, adapter: ChannelAdapter, recipient: str, message: OutboundMessage
    ) -> bool:
        """Push until the platform accepts (True) or the reply is given up on (False)."""
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
                    return False
                await self._sleep(self._policy.delay(attempt, error.retry_after))
            else:
                await self._mark([message.id], MessageStatus.SENT, attempts=attempt)
                return True

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


async def take_waiting_replies(
    *, session: AsyncSession, channel: str, channel_user_id: str
) -> list[Message]:
    """Replies waiting for a channel that cannot push (the web chat), marked sent.

    Staff write to a web chat worker at any moment, but the page only hears
    from the hotline when it asks: it asks now and then, and what it takes
    counts as delivered.
    """
    rows = list(
        (
            await session.execute(
                select(Message)
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
        ).scalars()
    )
    for message in rows:
        message.status = MessageStatus.SENT.value
        message.sent_at = utcnow()
    return rows


class Deliveries:
    """Background answering for push channels, ordered per worker."""

    def __init__(
        self,
        *,
        hotline: Hotline,
        outbox: Outbox,
        adapters: Mapping[str, ChannelAdapter],
        sessions: async_sessionmaker[AsyncSession],
        engine: EngineClient,
        sweep_seconds: float = 30.0,
        turns_at_once: int = 8,
    ) -> None:
        self._hotline = hotline
        self._outbox = outbox
        self._adapters = adapters
        self._sessions = sessions
        self._engine = engine
        self._sweep_seconds = sweep_seconds
        # See HOTLINE_ENGINE_TURNS_AT_ONCE: the engine answers one message
        # at a time, and a crowd of turns in flight only slows the app.
        self._turns = asyncio.Semaphore(max(1, turns_at_once))
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[int, bool, Turn | None]]] = {}
        # Workers with a message being answered now (its replies not yet
        # stored): their next message must not reach the engine before it.
        self._answering: set[tuple[str, str]] = set()
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run a side task (answering a button press, an engine answer asked
        for early) without losing track of it: closing the app cancels it."""
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task

    def submit(
        self,
        channel: str,
        channel_user_id: str,
        message_id: int,
        *,
        typing: bool = False,
        turn: Turn | None = None,
    ) -> None:
        """Answer a stored message in the background, after the worker's earlier ones.

        `typing`: a message the worker just sent, for the engine: the chat
        shows that the hotline is working on it. `turn`: the message as it
        was stored, which spares loading it again when it is answered at once.
        """
        key = (channel, channel_user_id)
        queue = self._queues.setdefault(key, asyncio.Queue())
        task = self._tasks.get(key)
        idle = task is None or task.done()
        # Behind the worker's earlier messages, the stored turn may be out of
        # date by the time it is answered: an earlier one may have handed the
        # worker to staff. It is loaded again then.
        # A turn whose engine answer is on its way is answered with it,
        # whatever waits before it: asking the engine again would make the
        # worker say it twice.
        keep = turn is not None and (idle or turn.answering is not None)
        queue.put_nowait((message_id, typing, turn if keep else None))
        if idle:
            self._tasks[key] = asyncio.create_task(self._drain(key), name=f"worker-{key}")

    def starter(self, channel: str, channel_user_id: str) -> StartAnswer | None:
        """How to ask the engine for a worker's new message while it is stored.

        None when it must wait its turn: earlier messages of the worker are
        still being answered (the engine must see them first), or the engine
        has as many turns as it is given at once.
        """
        key = (channel, channel_user_id)
        queue = self._queues.get(key)
        if (queue is not None and not queue.empty()) or key in self._answering:
            return None
        if self._turns.locked():
            return None
        return self._in_engine_slot

    def _in_engine_slot(
        self, answer: Coroutine[Any, Any, EngineAnswer]
    ) -> asyncio.Future[EngineAnswer]:
        async def in_slot() -> EngineAnswer:
            async with self._turns:
                return await answer

        return self.spawn(in_slot())

    async def idle(self) -> None:
        """Wait until every submitted message has been answered and sent."""
        while any(not task.done() for task in self._tasks.values()):
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _drain(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        while not queue.empty():
            message_id, typing, stored = queue.get_nowait()
            try:
                await self._answer(key, message_id, typing=typing, stored=stored)
            except Exception:
                # The message stays unanswered in the database; the sweep
                # tries it again. One bad message must not stop the others.
                logger.exception("answering message %s failed", message_id)

    async def _answer(
        self, key: tuple[str, str], message_id: int, *, typing: bool, stored: Turn | None
    ) -> None:
        channel, recipient = key
        adapter = self._adapters.get(channel)
        typing_sign = (
            asyncio.create_task(self._show_typing_later(adapter, recipient))
            if adapter is not None and typing
            else None
        )
        self._answering.add(key)
        try:
            if stored is not None and stored.answering is not None:
                # The engine was asked while the message was stored, in a
                # slot of its own.
                await self._hotline.answer(stored, delivered=False)
                conversation_id = stored.conversation_id
            else:
                # A turn that waits for the engine's other turns is loaded
                # again afterwards: staff may have taken the conversation
                # meanwhile.
                waited = self._turns.locked()
                async with self._turns:
                    turn = stored if stored is not None and not waited else None
                    if turn is None:
                        turn = await self._hotline.load(message_id)
                    if turn is None:
                        return
                    await self._hotline.answer(turn, delivered=False)
                conversation_id = turn.conversation_id
            # Stored: the worker's next message may go to the engine while
            # these replies are sent.
            self._answering.discard(key)
            await self._outbox.deliver(conversation_id)
        finally:
            self._answering.discard(key)
            if typing_sign is not None:
                typing_sign.cancel()

    @staticmethod
    async def _show_typing_later(adapter: ChannelAdapter, recipient: str) -> None:
        """The "working on it" sign, for an answer that takes a while.

        Most answers come sooner than a worker would notice the sign, and
        each sign is a call to the platform, made while the engine works.
        """
        await asyncio.sleep(TYPING_AFTER_SECONDS)
        with contextlib.suppress(DeliveryError):
            await adapter.show_typing(recipient)

    async def recover(self, *, stored_before: datetime | None = None) -> None:
        """After a restart: answer what was stored but not answered, send what waits.

        `stored_before`: only new messages stored before then (the sweep
        leaves the newest to the turns that stored them). Messages the engine
        could not answer, and replies waiting to be sent, are taken whatever
        their age: no turn of their own is on its way.
        """
        settled = (
            (Message.status != MessageStatus.RECEIVED.value) | (Message.created_at < stored_before)
            if stored_before is not None
            else true()
        )
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Message.id, Message.status, Conversation.channel, Worker.channel_user_id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(Worker, Worker.id == Conversation.worker_id)
                    .where(
                        Conversation.channel.in_(list(self._adapters)),
                        settled,
                        (
                            (Message.direction == Direction.INBOUND.value)
                            & Message.status.in_(UNANSWERED)
                        )
                        | (
                            (Message.direction == Direction.OUTBOUND.value)
                            & (Message.status == MessageStatus.QUEUED.value)
                        ),
                    )
                    .order_by(Message.id)
                )
            ).all()
        engine_up: bool | None = None
        for message_id, status, channel, channel_user_id in rows:
            if status == MessageStatus.ENGINE_UNAVAILABLE:
                if engine_up is None:
                    engine_up = await self._engine.is_up()
                if not engine_up:
                    continue
            # An outbound row is sent by answering its conversation's next
            # turn; submitting its id is harmless (process skips non-inbound).
            self.submit(channel, channel_user_id, message_id)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="deliveries-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                # A message just stored may not be in its worker's queue yet
                # (its engine answer on the way): taking it up as well would
                # ask the engine twice. A new message younger than a sweep is
                # left to the next one.
                await self.recover(stored_before=utcnow() - timedelta(seconds=self._sweep_seconds))
            except Exception:
                logger.exception("delivery sweep failed")

    async def close(self) -> None:
        tasks = [
            *self._tasks.values(),
            *self._side_tasks,
            *([self._sweeper] if self._sweeper else []),
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
