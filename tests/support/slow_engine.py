"""A stand-in for the engine's REST channel that answers slowly, and the
LINE webhooks tests post to an app under test."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.fakes.line_api import event, sign, text_event, webhook_body
from tests.fakes.server import FakeServer
from tests.support import rows, stored_from_inbox


class SlowEngine:
    """Answers each message after a pause, echoing it; counts turns in flight."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.in_flight = 0
        self.most_in_flight = 0
        self.seen: list[tuple[str, str]] = []
        # Turns in flight per conversation, and the most any one had.
        self.by_sender: dict[str, int] = {}
        self.most_for_one_sender = 0
        self._lock = threading.Lock()
        app = FastAPI()

        @app.post("/webhooks/rest/webhook")
        async def turn(request: Request) -> list[dict[str, Any]]:
            body = await request.json()
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                self.seen.append((body["sender"], body["message"]))
                self.by_sender[body["sender"]] = self.by_sender.get(body["sender"], 0) + 1
                self.most_for_one_sender = max(
                    self.most_for_one_sender, self.by_sender[body["sender"]]
                )
            await asyncio.sleep(self.pause)
            with self._lock:
                self.in_flight -= 1
                self.by_sender[body["sender"]] -= 1
            return [{"recipient_id": body["sender"], "text": f"echo {body['message']}"}]

        @app.post("/conversations/{sender}/tracker/events")
        async def settle(sender: str) -> dict[str, Any]:
            # As the engine: once the conversation's turns in flight are done.
            while self.by_sender.get(sender, 0) > 0:
                await asyncio.sleep(0.01)
            with self._lock:
                self.settled.append(sender)
            return {}

        self.settled: list[str] = []
        self.server = FakeServer(app)


def post_line_text(client: TestClient, worker: str, said: str) -> None:
    """A worker's text through LINE's webhook, signed; acknowledged."""
    deliver_line(client, webhook_body(text_event(worker, said)))


def deliver_line(client: TestClient, body: bytes) -> None:
    """A webhook body as LINE sends it (again, for a redelivery); acknowledged."""
    headers = {"content-type": "application/json", "x-line-signature": sign(body)}
    assert client.post("/webhooks/line", content=body, headers=headers).status_code == 200


def assert_engine_saw(
    engine: SlowEngine, settings: Settings, workers: list[str], texts: list[str]
) -> None:
    """Each worker's messages reached the engine once each, in this order."""
    owners = workers_by_public_id(settings)
    for worker in workers:
        assert [text for sender, text in engine.seen if owners[sender] == worker] == texts


def workers_by_public_id(settings: Settings) -> dict[str, str]:
    found = rows(
        settings.hotline_database_url,
        "SELECT c.public_id, w.channel_user_id FROM conversations c"
        " JOIN workers w ON w.id = c.worker_id",
    )
    return {str(public_id): str(worker) for public_id, worker in found}


def says(client: TestClient, user: str, text: str) -> None:
    """A worker's text through LINE's signed webhook, kept before the test goes on."""
    post(client, text_event(user, text))


def presses(client: TestClient, user: str, payload: str) -> None:
    """A worker's button press (a LINE postback), kept before the test goes on."""
    post(client, event("postback", user, replyToken=f"rt-{payload}", postback={"data": payload}))


def post(client: TestClient, line_event: dict[str, Any]) -> None:
    deliver_line(client, webhook_body(line_event))
    stored_from_inbox(client)
