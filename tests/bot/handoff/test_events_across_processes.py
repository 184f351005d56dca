"""A staff member's console is connected to one app process; what happens
in another reaches it live, through PostgreSQL's LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import itertools
import os
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bot.conversations.models import MessageKind
from bot.handoff.events import HandoffEvents
from bot.staff.models import Role
from core.database import libpq_url
from core.settings import Settings
from tests.support.console import add_staff, state_of

pytestmark = pytest.mark.skipif(
    not os.environ.get("HOTLINE_TEST_POSTGRES_URL"),
    reason="several app processes share PostgreSQL; the embedded default runs one",
)


def test_events_published_in_one_process_reach_the_other_s_consoles_once(
    database_url: str,
) -> None:
    async def run() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        url = libpq_url(database_url)
        here = HandoffEvents(shared_through=url, origin="process-1")
        there = HandoffEvents(shared_through=url, origin="process-2")
        await here.open()
        await there.open()
        try:
            async with here.subscribe() as mine, there.subscribe() as theirs:
                here.publish("claimed", conversation_id=5, staff_id=2)
                heard = await asyncio.wait_for(theirs.get(), timeout=10)
                own = await asyncio.wait_for(mine.get(), timeout=10)
                await asyncio.sleep(0.5)  # anything more would be a duplicate
                return [heard, own], [*_drain(theirs), *_drain(mine)]
        finally:
            await here.close()
            await there.close()

    (heard, own), more = asyncio.run(run())
    assert heard == own == {"kind": "claimed", "conversation_id": 5, "staff_id": 2}
    assert more == []


def test_a_console_on_one_app_sees_live_what_happens_through_the_other(
    settings: Settings,
) -> None:
    with ExitStack() as stack:
        first, second = (stack.enter_context(TestClient(create_app(settings))) for _ in range(2))
        add_staff(first, "aye", Role.AGENT)

        async def issue() -> str:
            return await state_of(first).accounts.create_api_token(username="aye", name="tests")

        token = first.portal.call(issue)
        headers = {"Authorization": f"Bearer {token}"}
        with second.stream("GET", "/api/handoff/events", headers=headers) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "retry: 3000"
            state = state_of(first)
            first.portal.call(
                lambda: state.handoff.worker_wrote(
                    conversation_id=9, message_id=77, kind=MessageKind.TEXT
                )
            )
            received = list(itertools.islice(lines, 3))
    assert received[1:3] == [
        "event: message",
        'data: {"kind": "message", "conversation_id": 9, "message_id": 77, '
        '"direction": "inbound", "message_kind": "text"}',
    ]


def _drain(queue: asyncio.Queue[dict[str, object]]) -> list[dict[str, object]]:
    found = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found
