"""The staff queue and live conversations: pages, their JSON API and the live event stream.

Views only translate HTTP; `bot.handoff.service.Handoff` does the work and
writes the audit log. The live stream carries ids only; each console asks
the API for what its staff member may see.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from api.console.deps import CurrentStaff, optional_staff
from api.console.pages import render
from api.state import StateDep
from bot.conversations.timeline import TimelineMessage
from bot.handoff.models import Outcome
from bot.handoff.queries import ConversationView, QueueItem
from bot.labels import WORKER_LANGUAGES
from bot.language import LANGUAGES

pages = APIRouter(prefix="/console", include_in_schema=False)
api = APIRouter(prefix="/api/handoff", tags=["handoff"])

# A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0


class AttachmentRead(BaseModel):
    id: int
    content_type: str
    size: int
    url: str


class MessageRead(BaseModel):
    id: int
    direction: str
    kind: str
    text: str
    status: str
    created_at: datetime
    staff_name: str | None
    last_error: str | None
    attachments: list[AttachmentRead]


class CaseRead(BaseModel):
    reference: str | None
    kind: str
    status: str
    province: str | None
    in_danger: bool
    indicators: list[str]
    answers: dict[str, Any]
    contact: dict[str, Any] | None


class QueueItemRead(BaseModel):
    conversation_id: int
    owner: str
    language: str
    channel: str
    reason: str | None
    priority: int
    emergency: bool
    # An anonymous web chat emergency that came in a burst, listed with the
    # rest of its burst below every other emergency.
    grouped: bool
    escalated_at: datetime | None
    claimed_by: int | None
    claimed_by_name: str | None
    overdue: bool
    failed_messages: int
    intents: list[str] | None
    case: CaseRead | None
    last_messages: list[MessageRead]


class NoteRead(BaseModel):
    id: int
    text: str
    staff_name: str | None
    created_at: datetime


class ConversationRead(BaseModel):
    conversation: QueueItemRead
    messages: list[MessageRead]
    notes: list[NoteRead]
    location: dict[str, Any] | None


class ReplyCreate(BaseModel):
    """Either the staff member's own words, or the id of a ready-made reply."""

    text: str | None = Field(default=None, max_length=5000)
    canned_id: str | None = Field(default=None, max_length=100)


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class TransferCreate(BaseModel):
    """`to_staff_id` null puts the conversation back in the queue."""

    to_staff_id: int | None


class CloseCreate(BaseModel):
    outcome: Outcome


class Created(BaseModel):
    id: int


class CannedReplyRead(BaseModel):
    id: str
    text: str


class CannedTopicRead(BaseModel):
    topic: str
    replies: list[CannedReplyRead]


class ColleagueRead(BaseModel):
    id: int
    name: str


def _message(view: TimelineMessage) -> MessageRead:
    return MessageRead(
        id=view.id,
        direction=view.direction,
        kind=view.kind,
        text=view.text,
        status=view.status,
        created_at=view.created_at,
        staff_name=view.staff_name,
        last_error=view.last_error,
        attachments=[
            AttachmentRead(
                id=a.id, content_type=a.content_type, size=a.size, url=f"/api/attachments/{a.id}"
            )
            for a in view.attachments
        ],
    )


def _item(item: QueueItem) -> QueueItemRead:
    return QueueItemRead(
        conversation_id=item.conversation_id,
        owner=item.owner,
        language=item.language,
        channel=item.channel,
        reason=item.reason,
        priority=item.priority,
        emergency=item.emergency,
        grouped=item.grouped,
        escalated_at=item.escalated_at,
        claimed_by=item.claimed_by,
        claimed_by_name=item.claimed_by_name,
        overdue=item.overdue,
        failed_messages=item.failed_messages,
        intents=item.intents,
        case=CaseRead(**vars(item.case)) if item.case else None,
        last_messages=[_message(m) for m in item.last_messages],
    )


def _conversation(view: ConversationView) -> ConversationRead:
    return ConversationRead(
        conversation=_item(view.item),
        messages=[_message(m) for m in view.messages],
        notes=[NoteRead(**vars(n)) for n in view.notes],
        location=view.location,
    )


@api.get("/queue")
async def queue(state: StateDep, caller: CurrentStaff) -> list[QueueItemRead]:
    """Waiting workers (most urgent, then longest waiting, first) and conversations with staff."""
    return [_item(i) for i in await state.handoff.queue_for(staff=caller)]


@api.get("/conversations/{conversation_id}")
async def conversation(
    state: StateDep, caller: CurrentStaff, conversation_id: int
) -> ConversationRead:
    view = await state.handoff.conversation_for(staff=caller, conversation_id=conversation_id)
    return _conversation(view)


@api.get("/conversations/{conversation_id}/messages/{message_id}")
async def message(
    state: StateDep, caller: CurrentStaff, conversation_id: int, message_id: int
) -> MessageRead:
    view = await state.handoff.message_for(
        staff=caller, conversation_id=conversation_id, message_id=message_id
    )
    return _message(view)


@api.post("/conversations/{conversation_id}/claim", status_code=204)
async def claim(state: StateDep, caller: CurrentStaff, conversation_id: int) -> Response:
    """Take a waiting worker. 409 with who has it when someone else was first."""
    await state.handoff.claim(staff=caller, conversation_id=conversation_id)
    return Response(status_code=204)


@api.post("/conversations/{conversation_id}/replies", status_code=201)
async def reply(
    state: StateDep, caller: CurrentStaff, conversation_id: int, body: ReplyCreate
) -> Created:
    """Send to the worker: a ready-made reply goes in the worker's language."""
    if body.canned_id:
        sent = await state.handoff.reply_canned(
            staff=caller, conversation_id=conversation_id, canned_id=body.canned_id
        )
    else:
        sent = await state.handoff.reply(
            staff=caller, conversation_id=conversation_id, text=body.text or ""
        )
    return Created(id=sent)


@api.post("/conversations/{conversation_id}/notes", status_code=201)
async def note(
    state: StateDep, caller: CurrentStaff, conversation_id: int, body: NoteCreate
) -> Created:
    """An internal note; the worker never sees it."""
    return Created(
        id=await state.handoff.note(staff=caller, conversation_id=conversation_id, text=body.text)
    )


@api.post("/conversations/{conversation_id}/transfer", status_code=204)
async def transfer(
    state: StateDep, caller: CurrentStaff, conversation_id: int, body: TransferCreate
) -> Response:
    await state.handoff.transfer(
        staff=caller, conversation_id=conversation_id, to_staff_id=body.to_staff_id
    )
    return Response(status_code=204)


@api.post("/conversations/{conversation_id}/close", status_code=204)
async def close(
    state: StateDep, caller: CurrentStaff, conversation_id: int, body: CloseCreate
) -> Response:
    """Back to the bot; the worker is told in their language."""
    await state.handoff.close(staff=caller, conversation_id=conversation_id, outcome=body.outcome)
    return Response(status_code=204)


@api.post("/conversations/{conversation_id}/messages/{message_id}/retry", status_code=204)
async def retry(
    state: StateDep, caller: CurrentStaff, conversation_id: int, message_id: int
) -> Response:
    """Send a reply the channel refused once more."""
    await state.handoff.retry(staff=caller, conversation_id=conversation_id, message_id=message_id)
    return Response(status_code=204)


@api.get("/canned")
async def canned(
    state: StateDep, caller: CurrentStaff, language: str = "en"
) -> list[CannedTopicRead]:
    """Ready-made replies by topic, in the language the staff member reads."""
    shown = language if language in LANGUAGES else "en"
    return [
        CannedTopicRead(
            topic=t.topic, replies=[CannedReplyRead(id=r.id, text=r.text) for r in t.replies]
        )
        for t in state.handoff.canned(language=shown)
    ]


@api.get("/staff")
async def colleagues(state: StateDep, caller: CurrentStaff) -> list[ColleagueRead]:
    """Who a conversation can be transferred to."""
    return [ColleagueRead(id=i, name=n) for i, n in await state.handoff.colleagues()]


@api.get("/events", response_class=StreamingResponse)
async def events(request: Request, state: StateDep, caller: CurrentStaff) -> StreamingResponse:
    """Server-sent events: queued, waiting, claimed, message, note, delivered, failed,
    retried, closed, overdue; and burst, once, when anonymous web chat
    emergencies came beyond the cap (the rest of them arrive `grouped`).

    Each carries ids only; the console fetches the details its staff member may see.
    """

    async def stream() -> AsyncIterator[str]:
        async with state.handoff.events.subscribe() as subscription:
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can
                # swallow the cancel of a closed console that meets an event,
                # and the stream would outlive its reader.
                try:
                    async with asyncio.timeout(KEEPALIVE_SECONDS):
                        event = await subscription.get()
                except TimeoutError:
                    event = None
                # Signed out, deactivated, or the token revoked since the
                # stream opened: it ends, and nothing more reaches it.
                if await optional_staff(request, state) is None:
                    return
                if event is None:
                    yield ": still here\n\n"
                    continue
                yield f"event: {event['kind']}\ndata: {json.dumps(event)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@pages.get("/queue", response_class=HTMLResponse)
async def queue_page(request: Request, caller: CurrentStaff) -> HTMLResponse:
    return render(request, "queue.html", caller=caller)


@pages.get("/conversations/{conversation_id}", response_class=HTMLResponse)
async def conversation_page(
    request: Request, caller: CurrentStaff, conversation_id: int
) -> HTMLResponse:
    # The page is a shell: its script reads the conversation through the
    # API, which checks who may see it and writes the audit entry.
    return render(
        request,
        "conversation.html",
        caller=caller,
        conversation_id=conversation_id,
        outcomes=[o.value for o in Outcome],
        languages=WORKER_LANGUAGES,
    )


routers = [pages, api]
