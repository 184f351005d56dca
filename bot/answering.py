"""Getting answers to workers on channels that push: LINE and Telegram.

`Answering` answers each worker's stored messages in order, one at a time,
different workers in parallel, in the background after the webhook said 200,
and hands the replies to the outbox (`bot/outbox.py`) to send. The web chat,
which answers while its request waits, goes through `answer_at_once`: the
same limit of engine turns at once holds for every channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.background import stop_tasks
from bot.channels.base import ChannelAdapter, DeliveryError, InboundMessage
from bot.conversations.models import (
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Owner,
    Worker,
)
from bot.danger import Level
from bot.dialogue import UNANSWERED, Dialogue, EngineAnswer, StartAnswer, Turn
from bot.engine import EngineClient
from bot.leases import Leases, Release
from bot.outbox import Outbox
from bot.responses import Reply
from core.clock import utcnow

logger = logging.getLogger(__name__)

# A message waiting for its worker's turn: its id, whether to show the
# working sign, and the turn as stored (when answered at once).
Queued = tuple[int, bool, Turn | None]

# An answer still not sent by then shows the platform's "working on it" sign.
TYPING_AFTER_SECONDS = 0.5
T = TypeVar("T")


class Answering:
    """Background answering for push channels, ordered per worker."""

    def __init__(
        self,
        *,
        dialogue: Dialogue,
        outbox: Outbox,
        adapters: Mapping[str, ChannelAdapter],
        sessions: async_sessionmaker[AsyncSession],
        engine: EngineClient,
        leases: Leases,
        sweep_seconds: float = 30.0,
        turns_at_once: int = 8,
    ) -> None:
        self._dialogue = dialogue
        self._leases = leases
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
        self._in_turn: set[tuple[str, str]] = set()
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
        if self._leases.enabled:
            # Another app process may be in the middle of this worker's
            # turn: only the holder of the worker's lease asks the engine.
            return None
        key = (channel, channel_user_id)
        queue = self._queues.get(key)
        if (queue is not None and not queue.empty()) or key in self._in_turn:
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

    async def answer_at_once(self, inbound: InboundMessage) -> list[Reply]:
        """Store and answer a message while its sender waits (the web chat).

        Within the same limit of turns with the engine as LINE and Telegram
        (HOTLINE_ENGINE_TURNS_AT_ONCE), so that a crowd on the web chat
        cannot take the engine from them. A turn that does not go to the
        engine does not wait for it: one the danger detector reads as danger
        (its emergency numbers must not wait behind anyone's turn; staff
        take the conversation) and one for staff.
        """
        dialogue = self._dialogue
        key = (inbound.channel, inbound.channel_user_id)
        async with dialogue.turns.hold(*key):
            turn = await dialogue.accept(inbound, start_answer=self.starter(*key))
            if turn is None:
                return []
            danger = turn.assessment is not None and turn.assessment.level is Level.DANGER
            if turn.answering is not None or danger or turn.owner != Owner.BOT:
                return await dialogue.answer(turn, delivered=True)
            async with self._turns:
                return await dialogue.answer(turn, delivered=True)

    async def idle(self) -> None:
        """Wait until every submitted message has been answered and sent."""
        while any(not task.done() for task in self._tasks.values()) or self._outbox.busy:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            await self._outbox.idle()

    async def _drain(self, key: tuple[str, str]) -> None:
        if self._leases.enabled:
            await self._drain_shared(key)
            return
        queue = self._queues[key]
        while not queue.empty():
            message_id, typing, stored = queue.get_nowait()
            try:
                await self._answer(key, message_id, typing=typing, stored=stored)
            except Exception:
                # The message stays unanswered in the database; the sweep
                # tries it again. One bad message must not stop the others.
                logger.exception("answering message %s failed", message_id)

    async def _drain_shared(self, key: tuple[str, str]) -> None:
        """A worker's turns when several app processes share the database.

        Their webhooks may reach any process. The one holding the worker's
        lease answers, lowest stored message first, whichever process stored
        it; a process finding the lease taken leaves a note, and the holder
        looks for new messages again before it lets go. The lease is renewed
        while a turn runs, however long it waits for the engine.
        """
        lease = f"turn:{key[0]}:{key[1]}"
        queue = self._queues[key]
        while True:
            if not await self._leases.claim(lease):
                _take_all(queue)
                return
            try:
                while True:
                    async with self._leases.renewed(lease):
                        await self._answer_in_order(key, queue)
                    if queue.empty() and await self._leases.release(lease) is not Release.AGAIN:
                        break
            except Exception:
                await self._leases.drop(lease)
                raise
            if queue.empty():
                return
            # Queued here while the lease was let go: take it up again.

    async def _answer_in_order(self, key: tuple[str, str], queue: asyncio.Queue[Queued]) -> None:
        """What the worker sent and nobody answered yet, lowest stored first."""
        asked = _take_all(queue)
        waiting = await self._waiting_messages(*key)
        typing = {message_id for message_id, shown, _ in asked if shown}
        for message_id in sorted(waiting | {message_id for message_id, _, _ in asked}):
            try:
                await self._answer(key, message_id, typing=message_id in typing, stored=None)
            except Exception:
                logger.exception("answering message %s failed", message_id)

    async def _waiting_messages(self, channel: str, channel_user_id: str) -> set[int]:
        """The worker's stored messages no turn has taken up yet."""
        async with self._sessions() as session:
            found = await session.execute(
                select(Message.id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Worker, Worker.id == Conversation.worker_id)
                .where(
                    Worker.channel == channel,
                    Worker.channel_user_id == channel_user_id,
                    Message.direction == Direction.INBOUND.value,
                    Message.status == MessageStatus.RECEIVED.value,
                )
            )
            return set(found.scalars())

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
        self._in_turn.add(key)
        try:
            if stored is not None and stored.answering is not None:
                # The engine was asked while the message was stored, in a
                # slot of its own.
                await self._dialogue.answer(stored, delivered=False)
                conversation_id = stored.conversation_id
            else:
                # A turn that waits for the engine's other turns is loaded
                # again afterwards: staff may have taken the conversation
                # meanwhile.
                waited = self._turns.locked()
                async with self._turns:
                    turn = stored if stored is not None and not waited else None
                    if turn is None:
                        turn = await self._dialogue.load(message_id)
                    if turn is None:
                        return
                    await self._dialogue.answer(turn, delivered=False)
                conversation_id = turn.conversation_id
            # Stored: the worker's next message may go to the engine while
            # these replies are sent.
            self._in_turn.discard(key)
            await self._outbox.send(conversation_id)
        finally:
            self._in_turn.discard(key)
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
                    select(
                        Message.id,
                        Message.direction,
                        Message.status,
                        Message.conversation_id,
                        Conversation.channel,
                        Worker.channel_user_id,
                    )
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
        sending: set[int] = set()
        for message_id, direction, status, conversation_id, channel, channel_user_id in rows:
            if direction == Direction.OUTBOUND:
                # Replies waiting to be sent need no engine turn.
                if conversation_id not in sending:
                    sending.add(conversation_id)
                    self._outbox.send_soon(conversation_id)
                continue
            if status == MessageStatus.ENGINE_UNAVAILABLE:
                if engine_up is None:
                    engine_up = await self._engine.is_up()
                if not engine_up:
                    continue
            self.submit(channel, channel_user_id, message_id)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="answering-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                # One process sweeps; if it dies, another leads within rounds.
                if not await self._leases.lead(
                    "sweep:unanswered", lease_time=timedelta(seconds=self._sweep_seconds * 3)
                ):
                    continue
                # A message just stored may not be in its worker's queue yet
                # (its engine answer on the way): taking it up as well would
                # ask the engine twice. A new message younger than a sweep is
                # left to the next one.
                await self.recover(stored_before=utcnow() - timedelta(seconds=self._sweep_seconds))
            except Exception:
                logger.exception("delivery sweep failed")

    async def close(self) -> None:
        await stop_tasks([*self._tasks.values(), *self._side_tasks, self._sweeper])


def _take_all(queue: asyncio.Queue[Queued]) -> list[Queued]:
    """Everything queued for a worker so far (message id, typing, stored turn)."""
    taken = []
    while not queue.empty():
        taken.append(queue.get_nowait())
    return taken
