"""The inbox: LINE and Telegram messages on disk between the 200 and the database."""

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.state import open_state
from bot.channels.base import InboundMessage
from bot.conversations.models import MessageKind
from bot.inbox import Inbox
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.support import TEST_VAULT, eventually, stored_messages


def text(user: str, words: str, event: str) -> InboundMessage:
    return InboundMessage(
        channel="line",
        channel_user_id=user,
        kind=MessageKind.TEXT,
        text=words,
        event_id=event,
        reply_token=f"token-{event}",
    )


def test_kept_messages_come_back_whole_in_arrival_order_and_encrypted(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox", TEST_VAULT)
    first = [text("U-a", "ငါ့လစာ မရဘူး", "e1"), text("U-b", "hello", "e2")]
    second = [text("U-a", "passport", "e3")]
    inbox.keep(first)
    inbox.keep(second)
    inbox.keep([])  # nothing to keep: no file
    waiting = inbox.waiting()
    assert len(waiting) == 2
    assert [inbox.read(path) for path in waiting] == [first, second]
    assert "ငါ့လစာ".encode() not in waiting[0].read_bytes()
    assert (tmp_path / "inbox").stat().st_mode & 0o077 == 0
    assert waiting[0].stat().st_mode & 0o077 == 0
    asyncio.run(inbox.done([waiting[0]]))
    assert inbox.waiting() == [waiting[1]]
    # A write cut short by a crash leaves nothing behind after a restart.
    (tmp_path / "inbox" / ".00000000000000000009.partial").write_bytes(b"half")
    Inbox(tmp_path / "inbox", TEST_VAULT)
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == [waiting[1].name]


def test_an_unreadable_file_is_set_aside_and_the_others_are_stored(
    settings: Settings, line_api: FakeLine
) -> None:
    inbox = Inbox(settings.hotline_inbox_dir, TEST_VAULT)
    (settings.hotline_inbox_dir / "00000000000000000001.inbound").write_bytes(b"not a token")
    inbox.keep([text("U-inbox", "hello", "01HOTLINEINBOX00000000001")])
    inbox.keep([text("U-inbox", "thanks", "01HOTLINEINBOX00000000002")])
    with TestClient(create_app(settings)):
        eventually(
            lambda: (
                [
                    m["text"]
                    for m in stored_messages(settings.hotline_database_url, "U-inbox")
                    if m["direction"] == "inbound"
                ]
                == ["hello", "thanks"]
            )
        )
    assert [path.name for path in settings.hotline_inbox_dir.iterdir()] == [
        "00000000000000000001.unreadable"
    ]


def test_a_message_kept_twice_is_stored_once(settings: Settings, line_api: FakeLine) -> None:
    # The app stopped after storing but before removing the file, and LINE
    # had delivered the same event again meanwhile.
    inbox = Inbox(settings.hotline_inbox_dir, TEST_VAULT)
    once = text("U-twice", "hello", "01HOTLINEINBOX00000000003")
    inbox.keep([once])
    inbox.keep([once])
    with TestClient(create_app(settings)):
        eventually(lambda: settings.hotline_inbox_dir.exists() and not inbox.waiting())
    inbound = [
        m
        for m in stored_messages(settings.hotline_database_url, "U-twice")
        if m["direction"] == "inbound"
    ]
    assert len(inbound) == 1


async def test_closing_the_app_stops_the_intake_even_as_a_delivery_arrives(
    settings: Settings,
) -> None:
    # A cancel that lands while the intake is waking for a new file must
    # still stop it: otherwise closing the app waits on the intake forever.
    # The window is a few turns of the event loop wide; each is tried.
    for turns in range(6):
        async with open_state(settings) as state:
            state.intake.start()
            await asyncio.sleep(0.01)
            state.inbox.arrived.set()
            for _ in range(turns):
                await asyncio.sleep(0)
            async with asyncio.timeout(5):
                await state.intake.close()
