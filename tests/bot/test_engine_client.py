"""The app's calls to the engine when a proxy balances several engines."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.engine import EngineClient, EngineUnavailable
from tests.fakes.server import FakeServer


def engines_behind_a_proxy(statuses: list[int]) -> tuple[FakeServer, list[str]]:
    """Answers with the given statuses in turn (a dying engine's 502), then 200."""
    app = FastAPI()
    seen: list[str] = []

    @app.post("/webhooks/rest/webhook")
    async def turn(request: Request) -> Any:
        body = await request.json()
        seen.append(body["message"])
        if statuses:
            return JSONResponse({"detail": "bad gateway"}, status_code=statuses.pop(0))
        return [{"recipient_id": body["sender"], "text": f"echo {body['message']}"}]

    return FakeServer(app).start(), seen


def test_a_turn_lost_with_a_dying_engine_is_taken_by_another_once() -> None:
    server, seen = engines_behind_a_proxy([502])

    async def run() -> list[str]:
        client = EngineClient(base_url=server.url, timeout=5)
        try:
            return [r.text for r in await client.send(sender_id="c1", text="hi", metadata={})]
        finally:
            await client.close()

    try:
        assert asyncio.run(run()) == ["echo hi"]
    finally:
        server.stop()
    assert seen == ["hi", "hi"]


def test_engines_that_keep_failing_are_not_asked_a_third_time() -> None:
    server, seen = engines_behind_a_proxy([502, 503, 502])

    async def run() -> None:
        client = EngineClient(base_url=server.url, timeout=5)
        try:
            await client.send(sender_id="c1", text="hi", metadata={})
        finally:
            await client.close()

    try:
        with pytest.raises(EngineUnavailable, match="503"):
            asyncio.run(run())
    finally:
        server.stop()
    assert seen == ["hi", "hi"]
