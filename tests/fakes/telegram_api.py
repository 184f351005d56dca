"""A stand-in for the Telegram Bot API (the methods the hotline calls)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.fakes.server import FakeServer

BOT_TOKEN = "123456:telegram-test-token"
WEBHOOK_SECRET = "telegram-test-secret"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Hotline",
    "username": "hotline_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


# What the Bot API always says of an administrator's rights.
ADMINISTRATOR_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Worker"}


def text_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": private_chat(chat_id),
            "from": {"id": chat_id, "is_bot": False, "first_name": "Worker"},
            "text": text,
        },
    }


def group_chat(chat_id: int, kind: str = "group") -> dict[str, Any]:
    return {"id": chat_id, "type": kind, "title": "boat crew"}


def group_text_update(
    update_id: int, chat_id: int, user_id: int, text: str, kind: str = "group"
) -> dict[str, Any]:
    """A member's message in a group (or supergroup) the bot is in."""
    update = text_update(update_id, user_id, text)
    update["message"]["chat"] = group_chat(chat_id, kind)
    return update


def my_chat_member_update(
    update_id: int,
    chat_id: int,
    *,
    new_status: str = "member",
    old_status: str = "left",
    kind: str = "group",
    by: int = 777,
) -> dict[str, Any]:
    """The bot's own membership of a chat changed (added by `by`, say)."""
    bot = {key: BOT_USER[key] for key in ("id", "is_bot", "first_name", "username")}
    new_member: dict[str, Any] = {"status": new_status, "user": bot}
    if new_status == "administrator":
        new_member |= dict.fromkeys(ADMINISTRATOR_RIGHTS, False)
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": group_chat(chat_id, kind),
            "from": {"id": by, "is_bot": False, "first_name": "Member"},
            "date": int(time.time()),
            "old_chat_member": {"status": old_status, "user": bot},
            "new_chat_member": new_member,
        },
    }


def callback_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "chat_instance": "ci",
            "data": data,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Worker"},
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": private_chat(chat_id),
                "text": "menu",
            },
        },
    }


class FakeTelegram(FakeServer):
    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self.updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1000)
        super().__init__(self._build())

    def reset(self) -> None:
        super().reset()
        self.files.clear()
        self.updates.clear()

    def sent_texts(self) -> list[str]:
        return [call.body["text"] for call in self.calls("/sendMessage")]

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def bot_method(token: str, method: str, request: Request) -> Response:
            body = await self._parameters(request)
            path = f"/{method}"
            self.record(request.method, path, dict(request.headers), body)
            if token != BOT_TOKEN:
                return JSONResponse(
                    {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
                )
            failure = self.next_failure(path)
            if failure is not None:
                if failure.delay:
                    await asyncio.sleep(failure.delay)
                if failure.status:
                    return JSONResponse(
                        failure.body
                        or {"ok": False, "error_code": failure.status, "description": "failure"},
                        status_code=failure.status,
                    )
            if method == "getUpdates" and not self._result(method, body):
                await asyncio.sleep(0.3)  # a long poll with nothing new
            return JSONResponse({"ok": True, "result": self._result(method, body)})

        @app.get("/file/bot{token}/{file_path:path}")
        async def file(token: str, file_path: str) -> Response:
            for path, content in self.files.values():
                if path == file_path and token == BOT_TOKEN:
                    return Response(content, media_type="application/octet-stream")
            return JSONResponse({"ok": False, "error_code": 404}, 404)

        return app

    @staticmethod
    async def _parameters(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            parsed: dict[str, Any] = json.loads(raw)
            return parsed
        # PTB posts form-encoded fields, structured ones as JSON strings.
        values: dict[str, Any] = {}
        for key, text in parse_qsl(raw.decode(), keep_blank_values=True):
            try:
                values[key] = json.loads(text)
            except ValueError:
                values[key] = text
        return values

    def _result(self, method: str, body: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            chat_id = int(body["chat_id"])
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": private_chat(chat_id) if chat_id > 0 else group_chat(chat_id),
                "from": BOT_USER,
                "text": str(body.get("text", "")),
            }
        if method == "getFile":
            file_id = str(body["file_id"])
            path, content = self.files.get(file_id, ("missing", b""))
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": len(content),
                "file_path": path,
            }
        if method == "getUpdates":
            offset = int(body.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        return True  # setWebhook, deleteWebhook, answerCallbackQuery, sendChatAction, leaveChat
