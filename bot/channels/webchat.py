"""The web chat: a page anyone can open, and its JSON endpoint.

It carries the same pipeline as LINE and Telegram and needs no platform
credentials, so the hotline can be tried (and tested) anywhere.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from string import Template
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, field_validator

from api.state import StateDep
from bot.channels.base import InboundMessage
from bot.conversations.models import MessageKind
from bot.language import LANGUAGES
from bot.outbox import take_waiting_replies

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).with_name("webchat_static")
PAGE_TEMPLATE = Path(__file__).with_name("webchat_page.html")
START_COMMAND = "/start"
# Page labels, from the catalogs like every other word a worker reads.
PAGE_TEXTS = ("webchat.title", "webchat.placeholder", "webchat.send", "webchat.offline")

router = APIRouter(tags=["webchat"])


class WebchatMessage(BaseModel):
    sender_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    text: str = Field(max_length=50_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is empty")
        return text


class WebchatButton(BaseModel):
    title: str
    payload: str


class WebchatReply(BaseModel):
    text: str
    buttons: list[WebchatButton]


class WebchatReplies(BaseModel):
    replies: list[WebchatReply]


def _inbound(message: WebchatMessage) -> InboundMessage:
    text = message.text.strip()
    if text == START_COMMAND:
        kind, payload = MessageKind.START, None
    elif text.startswith("/"):
        # The page sends a button's payload as the text, as Rasa's own
        # channels do.
        kind, payload = MessageKind.BUTTON, text
    else:
        kind, payload = MessageKind.TEXT, None
    return InboundMessage(
        channel=CHANNEL,
        channel_user_id=message.sender_id,
        kind=kind,
        text=message.text,
        payload=payload,
    )


@router.post("/webchat/messages")
async def post_message(message: WebchatMessage, state: StateDep) -> WebchatReplies:
    replies = await state.hotline.receive(_inbound(message))
    return WebchatReplies(
        replies=[
            WebchatReply(
                text=reply.text,
                buttons=[WebchatButton(**button.as_dict()) for button in reply.buttons],
            )
            for reply in replies
        ]
    )


@router.get("/webchat/messages")
async def waiting_messages(
    state: StateDep,
    sender_id: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
) -> WebchatReplies:
    """What staff (or the hotline) wrote since the page last asked (every few seconds)."""
    async with state.sessions.begin() as session:
        waiting = await take_waiting_replies(
            session=session, channel=CHANNEL, channel_user_id=sender_id
        )
        replies = [
            WebchatReply(
                text=m.text, buttons=[WebchatButton(**button) for button in m.buttons or []]
            )
            for m in waiting
        ]
    return WebchatReplies(replies=replies)


@cache
def _page_template() -> Template:
    """Read once: the page is served on every visit."""
    return Template(PAGE_TEMPLATE.read_text(encoding="utf-8"))


def _page_language(accept_language: str | None, default: str) -> str:
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(
    state: StateDep, accept_language: Annotated[str | None, Header()] = None
) -> HTMLResponse:
    language = _page_language(accept_language, state.settings.hotline_default_language)
    labels = {key: state.texts.get(language, key) for key in PAGE_TEXTS}
    page = _page_template()
    body = page.substitute(
        lang=html.escape(language),
        title=html.escape(labels["webchat.title"]),
        placeholder=html.escape(labels["webchat.placeholder"]),
        send=html.escape(labels["webchat.send"]),
        labels=html.escape(json.dumps(labels, ensure_ascii=False)),
    )
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'self'; style-src 'self'; "
                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
