"""The web chat: a page anyone can open, and its JSON endpoint.

It carries the same pipeline as LINE and Telegram and needs no platform
credentials, so the hotline can be tried (and tested) anywhere. It lives with
the app rather than in `bot/channels/`: it has no platform SDK, it is the
app's own page, and its answers are handed back at once or fetched by the
page, never pushed.

Who is writing is known by a cookie alone. A first message without it makes
a new worker, and the response sets the cookie: a random value the server
chose, HttpOnly and SameSite=Strict (and Secure outside development), never
put in a URL. The database keeps only its SHA-256, so a backup holds no
worker's key to their conversation (the value is 256 random bits: its hash
cannot be turned back, and needs no key that rotating the encryption keys
would change). A `sender_id` that a page or a client still sends, in the
body or the query string, is ignored.

Anyone can open the page, as often as they like, so messages are limited
per client address and overall (`api/rate_limit.py`); a message over a
limit is refused with 429 and Retry-After, and is not kept, but one the
danger detector reads as danger still gets the emergency numbers.

Replies go out in the encoding the worker's phone reads (`bot/encoding.py`):
a worker writing Zawgyi reads Zawgyi, in the response and in what the page
fetches, as on LINE and Telegram.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
from functools import cache
from pathlib import Path
from string import Template
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from api.rate_limit import retry_after
from api.state import AppState, StateDep
from bot.channels.base import InboundMessage
from bot.conversations import service as conversations
from bot.conversations.models import MessageKind, Worker
from bot.encoding import readable, readable_buttons
from bot.language import detect_by_script, platform_language
from bot.normalise import UNICODE, ZAWGYI, normalise
from bot.outbox import take_waiting_replies
from bot.responses import Reply

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).with_name("webchat_static")
PAGE_TEMPLATE = Path(__file__).with_name("webchat_page.html")
START_COMMAND = "/start"
# Page labels, from the catalogs like every other word a worker reads.
PAGE_TEXTS = ("webchat.title", "webchat.placeholder", "webchat.send", "webchat.offline")
# The worker's identity: a cookie for the whole site (the page needs to know
# whether its visitor has one), whose value is secrets.token_urlsafe(32).
COOKIE = "hotline_chat"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_PRIVATE = {"Cache-Control": "no-store"}

router = APIRouter(tags=["webchat"])


class WebchatMessage(BaseModel):
    """What the page sends. Whoever holds the cookie is the worker; other
    fields (the `sender_id` of older pages) are ignored."""

    model_config = ConfigDict(extra="ignore")

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


class WebchatRefused(WebchatReplies):
    """Too many messages: try again after Retry-After seconds. `replies`
    holds the emergency numbers when the refused message read as danger."""

    detail: str


def new_identity() -> str:
    return secrets.token_urlsafe(32)


def channel_user_id_of(token: str) -> str:
    """What the database keeps of a worker's cookie."""
    return "sha256:" + hashlib.sha256(token.encode("ascii")).hexdigest()


def presented_identity(request: Request) -> str | None:
    """The identity cookie, if the request carries one the server could have made."""
    token = request.cookies.get(COOKIE)
    return token if token is not None and _TOKEN.fullmatch(token) else None


def _inbound(
    message: WebchatMessage, channel_user_id: str, accept_language: str | None = None
) -> InboundMessage:
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
        channel_user_id=channel_user_id,
        kind=kind,
        text=message.text,
        payload=payload,
        # The browser's languages: the page is in the first the hotline
        # speaks, and so is the welcome of a worker nothing else tells of.
        language_hint=accept_language,
    )


def _shown(replies: list[Reply], encoding: str) -> list[WebchatReply]:
    return [
        WebchatReply(
            text=readable(reply.text, encoding),
            buttons=[
                WebchatButton(**button)
                for button in readable_buttons(
                    [button.as_dict() for button in reply.buttons], encoding
                )
            ],
        )
        for reply in replies
    ]


async def _known(state: AppState, token: str) -> bool:
    async with state.reading() as session:
        found = await session.scalar(
            select(Worker.id).where(
                Worker.channel == CHANNEL, Worker.channel_user_id == channel_user_id_of(token)
            )
        )
    return found is not None


def _keep_identity(response: Response, state: AppState, token: str) -> None:
    # Kept as long as the conversation is: after that much silence it is
    # deleted (HOTLINE_RETENTION_CONVERSATION_DAYS). Renewed by every message.
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(state.settings.hotline_retention_conversation_days * 24 * 3600),
        path="/",
        secure=state.settings.hotline_environment != "development",
        httponly=True,
        samesite="strict",
    )


def _refused(
    state: AppState, wait: float, text: str | None, accept_language: str | None
) -> JSONResponse:
    """429: not kept, not answered; but danger still gets the emergency numbers."""
    replies: list[Reply] = []
    # Nothing is read from the database here: the message's own encoding.
    encoding = UNICODE
    if text is not None:
        normalised = normalise(text)
        assessment = state.danger.assess(normalised.text)
        if assessment.alarm:
            default = state.settings.hotline_default_language
            language = detect_by_script(normalised.text) or _page_language(accept_language, default)
            # The numbers alone: a question the hotline could not follow up.
            replies = state.danger_replies.for_alarm(assessment, language)[:1]
            encoding = ZAWGYI if normalised.encoding == ZAWGYI else UNICODE
    seconds = retry_after(wait)
    body = WebchatRefused(
        detail=f"Too many messages. Try again in {seconds} seconds.",
        replies=_shown(replies, encoding),
    )
    return JSONResponse(
        body.model_dump(),
        status_code=429,
        headers={"Retry-After": str(seconds), **_PRIVATE},
    )


@router.post(
    "/webchat/messages",
    response_model=WebchatReplies,
    responses={429: {"model": WebchatRefused, "description": "too many messages"}},
)
async def post_message(
    message: WebchatMessage,
    request: Request,
    response: Response,
    state: StateDep,
    accept_language: Annotated[str | None, Header()] = None,
) -> WebchatReplies | JSONResponse:
    """A worker's message and the hotline's answer; the first message without
    the identity cookie makes a new worker and sets it."""
    wait = await state.webchat_limits.message(request.client.host if request.client else None)
    if wait > 0:
        return _refused(state, wait, message.text, accept_language)
    token = presented_identity(request)
    if token is None or not await _known(state, token):
        token = new_identity()
    channel_user_id = channel_user_id_of(token)
    replies = await state.answering.answer_at_once(
        _inbound(message, channel_user_id, accept_language)
    )
    encoding = UNICODE
    if replies:
        async with state.reading() as session:
            encoding = await conversations.encoding_of(
                session=session, channel=CHANNEL, channel_user_id=channel_user_id
            )
    _keep_identity(response, state, token)
    response.headers.update(_PRIVATE)
    return WebchatReplies(replies=_shown(replies, encoding))


@router.get(
    "/webchat/messages",
    response_model=WebchatReplies,
    responses={429: {"model": WebchatRefused, "description": "asked too often"}},
)
async def waiting_messages(
    request: Request, response: Response, state: StateDep
) -> WebchatReplies | JSONResponse:
    """What staff (or the hotline) wrote to the cookie's worker since the page
    last asked (every few seconds). Without the cookie: nothing."""
    wait = await state.webchat_limits.poll(request.client.host if request.client else None)
    if wait > 0:
        return _refused(state, wait, None, None)
    response.headers.update(_PRIVATE)
    token = presented_identity(request)
    if token is None:
        return WebchatReplies(replies=[])
    async with state.sessions.begin() as session:
        waiting = await take_waiting_replies(
            session=session, channel=CHANNEL, channel_user_id=channel_user_id_of(token)
        )
        replies = [
            WebchatReply(text=m.text, buttons=[WebchatButton(**button) for button in m.buttons])
            for m in waiting
        ]
    return WebchatReplies(replies=replies)


@cache
def _page_template() -> Template:
    """Read once: the page is served on every visit."""
    return Template(PAGE_TEMPLATE.read_text(encoding="utf-8"))


def _page_language(accept_language: str | None, default: str) -> str:
    return platform_language(accept_language) or default


@router.get("/chat", response_class=HTMLResponse)
async def chat_page(
    request: Request,
    state: StateDep,
    accept_language: Annotated[str | None, Header()] = None,
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
        # A visitor without the cookie is greeted; one with it goes on.
        returning="1" if presented_identity(request) is not None else "0",
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
            # Whether the visitor is returning is part of the page.
            **_PRIVATE,
        },
    )
