"""Engines that die during a turn: another engine takes the turn once, and a
turn the dying app process left behind is answered from the engine's memory
instead of asking the engine to hear the worker twice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from api.app import create_app
from bot.engine import SETTLE_EVENT
from core.clock import utcnow
from core.settings import Settings
from tests.fakes.line_api import FakeLine
from tests.fakes.server import FakeServer
from tests.support import (
    TEST_VAULT,
    eventually,
    execute,
    rows,
    stored_conversation,
    stored_messages,
)
from tests.support.console import state_of
from tests.support.slow_engine import post_line_text


class EnginesBehindAProxy:
    """Answers with the given statuses first (a dying engine's 502), then echoes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.heard: list[str] = []
        app = FastAPI()

        @app.post("/webhooks/rest/webhook")
        async def turn(request: Request) -> Any:
            body = await request.json()
            self.heard.append(body["message"])
            if self.statuses:
                return JSONResponse({"detail": "bad gateway"}, status_code=self.statuses.pop(0))
            return [{"recipient_id": body["sender"], "text": f"echo {body['message']}"}]

        @app.post("/conversations/{sender}/tracker/events")
        async def settle(sender: str, request: Request) -> dict[str, Any]:
            # The engine's answer once its turns of the conversation are done.
            self.settled.append(await request.json())
            return {}

        self.settled: list[Any] = []
        self.server = FakeServer(app).start()


def _app(settings: Settings, engines: EnginesBehindAProxy) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"rasa_url": engines.server.url})))


def _replies(settings: Settings, user: str) -> list[str]:
    return [
        m["text"]
        for m in stored_messages(settings.hotline_database_url, user)
        if m["direction"] == "outbound"
    ]


def test_a_turn_lost_with_a_dying_engine_is_taken_by_another_once(
    settings: Settings, line_api: FakeLine
) -> None:
    engines = EnginesBehindAProxy([502])
    try:
        with TestClient(
            create_app(settings.model_copy(update={"rasa_url": engines.server.url}))
        ) as client:
            post_line_text(client, "U-failover", "hello")
            eventually(lambda: _replies(settings, "U-failover") == ["echo hello"])
    finally:
        engines.server.stop()
    assert engines.heard == ["hello", "hello"]
    # Asked again only once the engines had finished the conversation's turns.
    assert engines.settled == [[SETTLE_EVENT]]


def test_engines_that_keep_failing_are_not_asked_a_third_time(
    settings: Settings, line_api: FakeLine
) -> None:
    engines = EnginesBehindAProxy([502, 503, 502])
    try:
        with TestClient(
            create_app(settings.model_copy(update={"rasa_url": engines.server.url}))
        ) as client:
            post_line_text(client, "U-no-engine", "hello")
            # The worker still gets the numbers.
            eventually(lambda: len(_replies(settings, "U-no-engine")) == 1)
    finally:
        engines.server.stop()
    assert engines.heard == ["hello", "hello"]


def test_a_turn_the_engine_answered_for_a_dead_process_is_answered_from_its_memory(
    settings: Settings, line_api: FakeLine
) -> None:
    engines = EnginesBehindAProxy([])
    url = settings.hotline_database_url
    try:
        with TestClient(
            create_app(settings.model_copy(update={"rasa_url": engines.server.url}))
        ) as client:
            post_line_text(client, "U-remembered", "hello")
            eventually(lambda: _replies(settings, "U-remembered") == ["echo hello"])
            # The worker's next message: the engine answered it for a process
            # that died before storing the answer. It waits, unanswered.
            post_line_text(client, "U-remembered", "minimum wage Rayong")
            eventually(lambda: len(_replies(settings, "U-remembered")) == 2)
            message_id = max(
                row[0] for row in rows(url, "SELECT id FROM messages WHERE direction = 'inbound'")
            )
            execute(url, "DELETE FROM messages WHERE id > :id", id=message_id)
            execute(
                url,
                "UPDATE messages SET status = 'received', created_at = :then WHERE id = :id",
                id=message_id,
                then=utcnow() - timedelta(minutes=1),
            )
            public_id = stored_conversation(url, "U-remembered")["public_id"]
            remembered = {
                "events": [
                    {"event": "user", "text": "hello", "metadata": {}},
                    {"event": "bot", "text": "echo hello", "data": {}},
                    {
                        "event": "user",
                        "text": "minimum wage Rayong",
                        "metadata": {"hotline_message_id": message_id},
                    },
                    {"event": "bot", "text": "its earlier answer", "data": {"buttons": []}},
                ]
            }
            execute(
                url,
                "INSERT INTO engine_trackers (sender_id, tracker, updated_at) "
                "VALUES (:id, :tracker, :now)",
                id=public_id,
                tracker=TEST_VAULT.encrypt_text(json.dumps(remembered)),
                now=utcnow(),
            )
            heard_before = list(engines.heard)
            state = state_of(client)
            client.portal.call(state.answering.recover)
            eventually(lambda: _replies(settings, "U-remembered")[-1] == "its earlier answer")
    finally:
        engines.server.stop()
    # Taken from the engine's memory, read once the engine had finished the
    # conversation's turns: the engine did not hear the worker twice.
    assert engines.heard == heard_before
    assert engines.settled == [[SETTLE_EVENT]]
