"""Danger alarms for supervisors to review: misses and false alarms.

Each alarm says what raised it (the danger words, the model, the message
before, the engine, the report form, the worker), the situation, and for a
doubt what the worker answered. A doubt answered "no" is a false alarm to
learn from; an alarm the engine or the report form raised alone is one the
detector missed. Reading the list is audited, as it shows workers' words.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.console.deps import SupervisorDep
from api.console.pages import render
from api.state import AppState, StateDep
from bot.danger import alarms

pages = APIRouter(prefix="/console/alarms", include_in_schema=False)
api = APIRouter(prefix="/api/danger-alarms", tags=["danger"])


async def _latest(state: AppState, caller: SupervisorDep) -> list[alarms.AlarmLine]:
    return await state.alarm_review.latest(reviewer_id=caller.id)


@api.get("")
async def list_danger_alarms(state: StateDep, caller: SupervisorDep) -> list[alarms.AlarmLine]:
    """The latest alarms, newest first, with what raised them (supervisors)."""
    return await _latest(state, caller)


@pages.get("", response_class=HTMLResponse)
async def alarms_page(request: Request, state: StateDep, caller: SupervisorDep) -> HTMLResponse:
    return render(request, "alarms.html", caller=caller, alarms=await _latest(state, caller))


routers = [pages, api]
