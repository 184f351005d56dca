"""Work that one app process among several must do alone: the leases, and the
outbox sending through them, with two senders on one database as two app
processes would be (on PostgreSQL in the suite's second pass)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from api.channels import close_channels, open_channels
from bot.conversations.models import Conversation, Direction, Message, MessageStatus, Worker
from bot.handoff.events import HandoffEvents
from bot.leases import Leases, Release
from bot.outbox import Outbox, RetryPolicy
from core.database import create_engine, create_reading_sessionmaker, create_sessionmaker
from core.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.support import stored_messages


@asynccontextmanager
async def two_processes(settings: Settings) -> AsyncIterator[tuple[Outbox, Outbox, Leases, Leases]]:
    """Two outboxes sharing one database and nothing else, each with its leases."""
    database = create_engine(settings.hotline_database_url, settings.vault())
    sessions = create_sessionmaker(database)
    channels = await open_channels(settings)
    leases = [Leases(sessions=sessions, holder=f"process-{n}", enabled=True) for n in (1, 2)]
    outboxes = [
        Outbox(
            sessions=sessions,
            reading=create_reading_sessionmaker(database),
            adapters=channels,
            policy=RetryPolicy(max_attempts=3, base_delay=0.05),
            events=HandoffEvents(),
            leases=lease,
        )
        for lease in leases
    ]
    try:
        yield outboxes[0], outboxes[1], leases[0], leases[1]
    finally:
        await close_channels(channels)
        await database.dispose()


async def queue_replies(settings: Settings, chat_id: str, texts: list[str]) -> int:
    database = create_engine(settings.hotline_database_url, settings.vault())
    try:
        async with create_sessionmaker(database).begin() as session:
            worker = Worker(channel="telegram", channel_user_id=chat_id)
            conversation = Conversation(worker=worker, channel="telegram")
            session.add(conversation)
            await session.flush()
            for text in texts:
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction=Direction.OUTBOUND.value,
                        status=MessageStatus.QUEUED.value,
                        text=text,
                    )
                )
            return conversation.id
    finally:
        await database.dispose()


def test_a_lease_is_held_by_one_process_and_a_note_makes_it_look_again(
    settings: Settings,
) -> None:
    async def run() -> None:
        async with two_processes(settings) as (_, _, first, second):
            assert await first.claim("send:1")
            assert await first.claim("send:1")  # already its own
            assert not await second.claim("send:1")  # taken: a note is left
            assert await first.release("send:1") is Release.AGAIN
            assert await first.release("send:1") is Release.DONE
            assert await second.claim("send:1")
            assert await second.release("send:1") is Release.DONE

    asyncio.run(run())


def test_a_dead_holder_s_lease_expires_and_another_process_takes_the_work(
    settings: Settings,
) -> None:
    async def run() -> None:
        async with two_processes(settings) as (_, _, first, second):
            dying = Leases(
                sessions=first._sessions,
                holder="process-that-dies",
                enabled=True,
                lease_time=timedelta(milliseconds=200),
            )
            assert await dying.claim("send:2")
            assert not await second.claim("send:2")
            await asyncio.sleep(0.3)
            assert await second.claim("send:2")
            # Back from a long stall, the old holder has lost it, and knows
            # it when it next checks before sending.
            assert await dying.keep("send:2") is False
            assert not await dying.renew("send:2")
            assert await dying.keep("send:2") is False
            assert await dying.release("send:2") is Release.LOST

    asyncio.run(run())


def test_two_processes_sending_one_conversation_send_each_reply_once_in_order(
    settings: Settings, telegram_api: FakeTelegram
) -> None:
    # Telegram takes most of a second to accept each message: both
    # processes' sweeps find the same replies queued meanwhile.
    telegram_api.fail("/sendMessage", 0, times=10, delay=0.4)
    texts = [f"reply {n}" for n in range(1, 5)]

    async def run() -> None:
        conversation_id = await queue_replies(settings, "7350001", texts)
        async with two_processes(settings) as (first, second, _, _):
            await asyncio.gather(
                first.send(conversation_id),
                second.send(conversation_id),
                second.send(conversation_id),
                first.send(conversation_id),
            )

    asyncio.run(run())
    assert telegram_api.sent_texts() == texts
    stored = stored_messages(settings.hotline_database_url, "7350001")
    assert [m["status"] for m in stored] == ["sent"] * 4


def test_a_reply_queued_while_another_process_sends_is_sent_without_waiting_for_a_sweep(
    settings: Settings, telegram_api: FakeTelegram
) -> None:
    telegram_api.fail("/sendMessage", 0, times=1, delay=0.5)

    async def run() -> None:
        conversation_id = await queue_replies(settings, "7350002", ["first"])
        async with two_processes(settings) as (first, second, _, _):
            sending = asyncio.create_task(first.send(conversation_id))
            await asyncio.sleep(0.2)  # the first process is waiting on Telegram
            database = create_engine(settings.hotline_database_url, settings.vault())
            async with create_sessionmaker(database).begin() as session:
                session.add(
                    Message(
                        conversation_id=conversation_id,
                        direction=Direction.OUTBOUND.value,
                        status=MessageStatus.QUEUED.value,
                        text="second",
                    )
                )
            await database.dispose()
            # The second process finds the conversation taken and leaves it.
            await second.send(conversation_id)
            await sending

    asyncio.run(run())
    assert telegram_api.sent_texts() == ["first", "second"]


def test_periodic_work_is_led_by_one_process_until_it_stops_coming_back(
    settings: Settings,
) -> None:
    async def run() -> None:
        async with two_processes(settings) as (_, _, first, second):
            round_time = timedelta(milliseconds=300)
            assert await first.lead("sweep:unanswered", lease_time=round_time)
            assert not await second.lead("sweep:unanswered", lease_time=round_time)
            await asyncio.sleep(0.15)
            # The leader's next round keeps it.
            assert await first.lead("sweep:unanswered", lease_time=round_time)
            await asyncio.sleep(0.2)
            assert not await second.lead("sweep:unanswered", lease_time=round_time)
            # The leader stops (dies): the other process takes over.
            await asyncio.sleep(0.35)
            assert await second.lead("sweep:unanswered", lease_time=round_time)
            assert not await first.lead("sweep:unanswered", lease_time=round_time)

    asyncio.run(run())
