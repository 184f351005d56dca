"""Workers' requests to delete their data: supervisors confirm or decline them.

What staff see of a request is only what they need to decide: when it came,
on which channel, how much is held and whether a case is still open. Never
the worker's words or platform id.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.console.deps import SupervisorDep
from api.console.pages import render
from api.state import AppState, StateDep
from bot.privacy.queries import DeletionAlreadyDecided
from core.errors import Conflict, NotFound

pages = APIRouter(prefix="/console/deletions", include_in_schema=False)
api = APIRouter(prefix="/api/deletion-requests", tags=["privacy"])


class DeletionRequestOut(BaseModel):
    id: int
    channel: str
    status: str
    requested_at: datetime
    messages: int
    open_cases: int


class DeletionDecision(BaseModel):
    id: int
    status: str
    removed: dict[str, int]


async def _pending(state: AppState) -> list[DeletionRequestOut]:
    return [
        DeletionRequestOut(
            id=request.id,
            channel=request.channel,
            status=request.status,
            requested_at=request.requested_at,
            messages=held.messages,
            open_cases=held.open_cases,
        )
        for request, held in await state.keeping.pending_deletions()
    ]


async def _decide(
    state: AppState, caller: SupervisorDep, request_id: int, *, confirm: bool
) -> DeletionDecision:
    try:
        request, removed = await state.keeping.decide_deletion(
            request_id=request_id, staff_id=caller.id, confirm=confirm
        )
    except DeletionAlreadyDecided as error:
        raise Conflict("this request was already decided") from error
    except LookupError as error:
        raise NotFound("no such deletion request") from error
    return DeletionDecision(id=request.id, status=request.status, removed=removed.counts())


@api.get("")
async def list_deletion_requests(
    state: StateDep, caller: SupervisorDep
) -> list[DeletionRequestOut]:
    """Requests waiting for a decision, oldest first (supervisors)."""
    return await _pending(state)


@api.post("/{request_id}/confirm")
async def confirm_deletion(
    state: StateDep, caller: SupervisorDep, request_id: int
) -> DeletionDecision:
    """Delete the worker's messages, files and contact details (supervisors).

    Their reports stay as anonymous cases; the audit log keeps only that the
    deletion happened and how much it removed.
    """
    return await _decide(state, caller, request_id, confirm=True)


@api.post("/{request_id}/decline")
async def decline_deletion(
    state: StateDep, caller: SupervisorDep, request_id: int
) -> DeletionDecision:
    """Keep the data (for example while a case still needs it) (supervisors)."""
    return await _decide(state, caller, request_id, confirm=False)


@pages.get("", response_class=HTMLResponse)
async def deletions_page(request: Request, state: StateDep, caller: SupervisorDep) -> HTMLResponse:
    return render(request, "deletions.html", caller=caller, requests=await _pending(state))


@pages.post("/{request_id}/confirm")
async def confirm_form(state: StateDep, caller: SupervisorDep, request_id: int) -> Response:
    await _decide(state, caller, request_id, confirm=True)
    return RedirectResponse("/console/deletions", status_code=303)


@pages.post("/{request_id}/decline")
async def decline_form(state: StateDep, caller: SupervisorDep, request_id: int) -> Response:
    await _decide(state, caller, request_id, confirm=False)
    return RedirectResponse("/console/deletions", status_code=303)


routers = [pages, api]
