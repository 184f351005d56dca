"""A turn the app stopped waiting for: the engine (real, with its trained
model) finishes it, and the app takes its answer from the engine's memory
rather than making the engine hear the worker a second time.

The engine's calls to the app (its responses, NLG) go through a stand-in
that holds each one, so every turn takes longer than the app waits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from bot.engine_memory import MESSAGE_ID
from tests.conftest import channel_environment
from tests.fakes.line_api import FakeLine, text_event
from tests.fakes.server import FakeServer
from tests.fakes.telegram_api import FakeTelegram
from tests.integration.workers import TEXTS, line_post
from tests.support import decrypted, eventually, rows, stored_conversation, stored_messages
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.engine

# Each of the engine's calls to the app is held this long; the app waits a
# second for a turn, and sweeps for unanswered messages twice a second.
HOLD_SECONDS = 1.5


class HeldCalls:
    """Passes the engine's calls on to the app, each after a pause."""

    def __init__(self) -> None:
        self.app_url = ""
        app = FastAPI()

        @app.post("/{path:path}")
        async def forward(path: str, request: Request) -> Response:
            body = await request.body()
            await asyncio.sleep(HOLD_SECONDS)
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{self.app_url}/{path}",
                    content=body,
                    headers={k: v for k, v in request.headers.items() if k != "host"},
                )
            return Response(answer.content, answer.status_code, media_type="application/json")

        self.server = FakeServer(app).start()


@pytest.fixture
def slow_stack(tmp_path: Path, fake_line: FakeLine, fake_telegram: FakeTelegram) -> Iterator[Stack]:
    held = HeldCalls()
    environment = {
        **channel_environment(fake_line, fake_telegram),
        "HOTLINE_ENGINE_TIMEOUT_SECONDS": "1",
        "HOTLINE_DELIVERY_SWEEP_SECONDS": "0.5",
    }
    try:
        with running_stack(
            tmp_path,
            environment=environment,
            engine_environment={"HOTLINE_APP_URL": held.server.url},
        ) as stack:
            held.app_url = stack.app_url
            yield stack
    finally:
        held.server.stop()


def test_a_turn_the_app_stopped_waiting_for_is_answered_from_the_engine_s_memory(
    slow_stack: Stack, line_api: FakeLine
) -> None:
    user = "U-slow-turn"
    line_post(slow_stack, text_event(user, "hello"))

    def replies() -> list[str]:
        return [
            str(m["text"])
            for m in stored_messages(slow_stack.database_url, user)
            if m["direction"] == "outbound"
        ]

    def message() -> tuple[int, str] | None:
        found = rows(
            slow_stack.database_url,
            "SELECT m.id, m.status FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "JOIN workers w ON w.id = c.worker_id "
            "WHERE w.channel_user_id = :user AND m.direction = 'inbound'",
            user=user,
        )
        return (found[0][0], found[0][1]) if found else None

    eventually(lambda: (message() or (0, ""))[1] == "answered", timeout=60)
    message_id, _ = message() or (0, "")
    # First the app gave up and gave the numbers; then the engine's answer.
    unavailable = TEXTS.get("en", "engine_unavailable")
    assert replies()[0] == unavailable
    assert len(replies()) > 1 and unavailable not in replies()[1:]
    # The engine heard the worker once, with the message's id kept.
    public_id = stored_conversation(slow_stack.database_url, user)["public_id"]
    [(token,)] = rows(
        slow_stack.database_url,
        "SELECT tracker FROM engine_trackers WHERE sender_id = :id",
        id=public_id,
    )
    events: list[dict[str, Any]] = json.loads(decrypted(token) or "{}")["events"]
    heard = [e for e in events if e["event"] == "user"]
    assert [(e["text"], (e.get("metadata") or {}).get(MESSAGE_ID)) for e in heard] == [
        ("hello", message_id)
    ]
