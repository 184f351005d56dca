"""Workers on LINE and Telegram as integration tests drive them: signed
webhooks to the running app, and each message's stored answer once the
platform stand-in accepted it."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from bot.texts import Texts
from core.settings import PROJECT_ROOT
from tests.fakes.line_api import FakeLine, event, sign, text_event, webhook_body
from tests.fakes.telegram_api import WEBHOOK_SECRET, callback_update, text_update
from tests.support import eventually, stored_messages
from tests.support.stack import Stack

TEXTS = Texts(PROJECT_ROOT / "locales")
update_ids = itertools.count(950_000)


def line_post(stack: Stack, *events: dict[str, Any]) -> None:
    body = webhook_body(*events)
    response = httpx.post(
        f"{stack.app_url}/webhooks/line",
        content=body,
        headers={"x-line-signature": sign(body), "content-type": "application/json"},
    )
    assert response.status_code == 200


def telegram_post(stack: Stack, update: dict[str, Any]) -> None:
    response = httpx.post(
        f"{stack.app_url}/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert response.status_code == 200


def answered(stack: Stack, user: str, inbound: int) -> list[str]:
    """Waits until the worker's `inbound`-th message is answered and its
    replies were accepted by the platform; returns those replies."""

    def settled() -> bool:
        messages = stored_messages(stack.database_url, user)
        ins = [i for i, m in enumerate(messages) if m["direction"] == "inbound"]
        if len(ins) < inbound or messages[ins[inbound - 1]]["status"] == "received":
            return False
        return all(
            m["status"] in ("sent", "failed")
            for m in messages[ins[inbound - 1] + 1 :]
            if m["direction"] == "outbound"
        )

    eventually(settled, timeout=60)
    messages = stored_messages(stack.database_url, user)
    ins = [i for i, m in enumerate(messages) if m["direction"] == "inbound"]
    after = messages[ins[inbound - 1] + 1 : ins[inbound] if len(ins) > inbound else None]
    return [str(m["text"]) for m in after if m["direction"] == "outbound"]


class LineWorker:
    def __init__(self, stack: Stack, user: str) -> None:
        self.stack, self.user, self.sent = stack, user, 0

    def says(self, words: str) -> list[str]:
        line_post(self.stack, text_event(self.user, words))
        return self.answer_to_last()

    def presses(self, payload: str) -> list[str]:
        postback = event(
            "postback", self.user, replyToken=f"rt-{self.sent}", postback={"data": payload}
        )
        line_post(self.stack, postback)
        return self.answer_to_last()

    def sends_photo(self, line_api: FakeLine, message_id: str, content: bytes) -> list[str]:
        line_api.contents[message_id] = (content, "image/jpeg")
        photo = event(
            "message",
            self.user,
            replyToken=f"rt-photo-{self.sent}",
            message={
                "type": "image",
                "id": message_id,
                "quoteToken": "q",
                "contentProvider": {"type": "line"},
            },
        )
        line_post(self.stack, photo)
        return self.answer_to_last()

    def answer_to_last(self) -> list[str]:
        self.sent += 1
        return answered(self.stack, self.user, self.sent)


class TelegramWorker:
    def __init__(self, stack: Stack, chat_id: int) -> None:
        self.stack, self.chat_id, self.sent = stack, chat_id, 0

    def says(self, words: str) -> list[str]:
        telegram_post(self.stack, text_update(next(update_ids), self.chat_id, words))
        return self.answer_to_last()

    def presses(self, payload: str) -> list[str]:
        telegram_post(self.stack, callback_update(next(update_ids), self.chat_id, payload))
        return self.answer_to_last()

    def answer_to_last(self) -> list[str]:
        self.sent += 1
        return answered(self.stack, str(self.chat_id), self.sent)


def after_any_safety_check(replies: list[str], language: str) -> list[str]:
    """The replies after the danger detector's question, if it asked one.

    Doubt may ask "is someone in danger right now?" (after the emergency
    numbers) on an ordinary message, about 4% of them (docs/danger.md), and
    never holds the answer back: tests of other paths read what follows.
    """
    check = [TEXTS.get(language, "emergency"), TEXTS.get(language, "danger_check")]
    return replies[2:] if replies[:2] == check else replies
