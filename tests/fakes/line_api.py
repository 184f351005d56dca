"""A stand-in for LINE's Messaging API (reply, push, loading, content,
profiles, leaving groups)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.server import FakeServer

ACCESS_TOKEN = "line-test-access-token"
CHANNEL_SECRET = "line-test-channel-secret"


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    """X-Line-Signature: base64 of HMAC-SHA256 of the raw body, as LINE signs."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def event(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": 1_764_000_000_000,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": fields.pop("event_id", uuid.uuid4().hex[:26].upper()),
        "deliveryContext": {"isRedelivery": fields.pop("redelivery", False)},
        **fields,
    }


def text_event(user_id: str, text: str, **fields: Any) -> dict[str, Any]:
    message = {"type": "text", "id": uuid.uuid4().hex[:18], "quoteToken": "q", "text": text}
    return event("message", user_id, replyToken=uuid.uuid4().hex, message=message, **fields)


def in_group(event: dict[str, Any], chat_id: str, kind: str = "group") -> dict[str, Any]:
    """The event as LINE sends it from a group or a room (`kind`)."""
    source: dict[str, Any] = {"type": kind, f"{kind}Id": chat_id}
    if "userId" in event["source"]:
        source["userId"] = event["source"]["userId"]
    return {**event, "source": source}


def join_event(chat_id: str, kind: str = "group", **fields: Any) -> dict[str, Any]:
    """The bot added to a group or a room."""
    joined = event("join", "", replyToken=fields.pop("replyToken", uuid.uuid4().hex), **fields)
    return in_group({**joined, "source": {}}, chat_id, kind)


def webhook_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "Uhotline", "events": list(events)}).encode()


class FakeLine(FakeServer):
    def __init__(self) -> None:
        self.contents: dict[str, tuple[bytes, str]] = {}
        # The language of a user's profile (BCP 47, as LINE gives it); a
        # user not listed has a profile without one (as before consenting
        # to LINE's privacy policy).
        self.profile_languages: dict[str, str] = {}
        self._accepted_retry_keys: set[str] = set()
        super().__init__(self._build())

    def reset(self) -> None:
        super().reset()
        self.contents.clear()
        self.profile_languages.clear()
        self._accepted_retry_keys.clear()

    def texts(self, endpoint: str) -> list[str]:
        return [m["text"] for call in self.calls(endpoint) for m in call.body["messages"]]

    def _sent(self, request: Request) -> dict[str, Any]:
        body = self.requests[-1].body if self.requests else {}
        count = len(body.get("messages", [])) if isinstance(body, dict) else 1
        return {
            "sentMessages": [
                {"id": uuid.uuid4().hex[:18], "quoteToken": uuid.uuid4().hex} for _ in range(count)
            ]
        }

    def _build(self) -> FastAPI:
        app = FastAPI()

        async def handle(request: Request, path: str) -> Response | None:
            body: Any = None
            raw = await request.body()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
            self.record(request.method, path, dict(request.headers), body)
            if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                return JSONResponse({"message": "Authentication failed"}, status_code=401)
            failure = self.next_failure(path)
            if failure is not None:
                if failure.delay:
                    await asyncio.sleep(failure.delay)
                if failure.status:
                    return JSONResponse(
                        failure.body or {"message": "failure"},
                        status_code=failure.status,
                        headers=failure.headers,
                    )
            return None

        @app.post("/v2/bot/message/reply")
        async def reply(request: Request) -> Response:
            refused = await handle(request, "/v2/bot/message/reply")
            return refused or JSONResponse(self._sent(request))

        @app.post("/v2/bot/message/push")
        async def push(request: Request) -> Response:
            refused = await handle(request, "/v2/bot/message/push")
            if refused:
                return refused
            key = request.headers.get("x-line-retry-key")
            if key and key in self._accepted_retry_keys:
                # LINE answers 409 to a retry of a push it already accepted.
                return JSONResponse({"message": "The retry key is already accepted"}, 409)
            if key:
                self._accepted_retry_keys.add(key)
            return JSONResponse(self._sent(request))

        @app.post("/v2/bot/chat/loading/start")
        async def loading(request: Request) -> Response:
            refused = await handle(request, "/v2/bot/chat/loading/start")
            return refused or JSONResponse({}, status_code=202)

        @app.post("/v2/bot/group/{group_id}/leave")
        async def leave_group(group_id: str, request: Request) -> Response:
            refused = await handle(request, f"/v2/bot/group/{group_id}/leave")
            return refused or JSONResponse({})

        @app.post("/v2/bot/room/{room_id}/leave")
        async def leave_room(room_id: str, request: Request) -> Response:
            refused = await handle(request, f"/v2/bot/room/{room_id}/leave")
            return refused or JSONResponse({})

        @app.get("/v2/bot/profile/{user_id}")
        async def profile(user_id: str, request: Request) -> Response:
            refused = await handle(request, f"/v2/bot/profile/{user_id}")
            if refused:
                return refused
            found: dict[str, Any] = {"displayName": "Worker", "userId": user_id}
            if user_id in self.profile_languages:
                found["language"] = self.profile_languages[user_id]
            return JSONResponse(found)

        @app.get("/v2/bot/message/{message_id}/content")
        async def content(message_id: str, request: Request) -> Response:
            refused = await handle(request, f"/v2/bot/message/{message_id}/content")
            if refused:
                return refused
            if message_id not in self.contents:
                return JSONResponse({"message": "Not found"}, status_code=404)
            data, content_type = self.contents[message_id]
            return Response(data, media_type=content_type)

        return app
