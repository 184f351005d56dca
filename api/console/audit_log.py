"""Admins read the audit log, newest first, filtered; nothing here changes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from api.console.deps import AdminDep
from api.console.pages import render
from api.state import StateDep
from bot.staff import audit

pages = APIRouter(prefix="/console/audit", include_in_schema=False)
api = APIRouter(prefix="/api/audit", tags=["audit"])

PAGE_SIZE = 100


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    staff_id: int | None
    username: str | None
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any] | None


def _filter(
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> audit.AuditFilter:
    return audit.AuditFilter(
        staff_id=None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        since=since,
        until=until,
    )


Text = Annotated[str | None, Query(max_length=64)]


@pages.get("", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    state: StateDep,
    caller: AdminDep,
    staff: Text = None,
    action: Text = None,
    object_type: Text = None,
    object_id: Text = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    before: int | None = None,
) -> HTMLResponse:
    # Dates from the page's date inputs; `until` takes in the whole day.
    since_at = _day(since)
    until_day = _day(until)
    until_at = until_day + timedelta(days=1) if until_day else None
    lines = await state.accounts.audit_entries(
        wanted=_filter(action, object_type, object_id, since_at, until_at),
        username=staff,
        limit=PAGE_SIZE,
        before_id=before,
    )
    query = {
        "staff": staff or "",
        "action": action or "",
        "object_type": object_type or "",
        "object_id": object_id or "",
        "since": since or "",
        "until": until or "",
    }
    return render(
        request,
        "audit.html",
        caller=caller,
        lines=lines,
        query=query,
        older=lines[-1].id if len(lines) == PAGE_SIZE else None,
    )


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


@api.get("")
async def audit_entries(
    state: StateDep,
    caller: AdminDep,
    staff: Text = None,
    action: Text = None,
    object_type: Text = None,
    object_id: Text = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
) -> list[AuditEntryOut]:
    """Audit entries newest first (admins). Page back with `before` = the last id seen."""
    lines = await state.accounts.audit_entries(
        wanted=_filter(action, object_type, object_id, since, until),
        username=staff,
        limit=limit,
        before_id=before,
    )
    return [AuditEntryOut(**line.__dict__) for line in lines]


routers = [pages, api]
