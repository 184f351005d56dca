"""The audit log: who looked at or changed what. Entries are only ever added.

`record` adds an entry to the caller's transaction, so the entry is kept
exactly when the view or change it describes is. There is deliberately no
function to change or delete an entry. `detail` holds ids, statuses and
roles, never a worker's words or contact details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.models import AuditEntry, Staff
from core.clock import utcnow


async def record(
    *,
    session: AsyncSession,
    staff_id: int | None,
    action: str,
    object_type: str,
    object_id: str | int | None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction, so the entry and the act stand or fall together."""
    entry = AuditEntry(
        at=utcnow(),
        staff_id=staff_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: datetime
    staff_id: int | None
    username: str | None
    action: str
    object_type: str
    object_id: str | None
    detail: dict[str, Any] | None


def _filtered(
    query: Select[AuditEntry, str | None], wanted: AuditFilter
) -> Select[AuditEntry, str | None]:
    if wanted.staff_id is not None:
        query = query.where(AuditEntry.staff_id == wanted.staff_id)
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.object_type:
        query = query.where(AuditEntry.object_type == wanted.object_type)
    if wanted.object_id:
        query = query.where(AuditEntry.object_id == wanted.object_id)
    if wanted.since is not None:
        query = query.where(AuditEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEntry.at < wanted.until)
    return query


async def entries(
    *,
    session: AsyncSession,
    wanted: AuditFilter,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditLine]:
    """Entries newest first; `before_id` pages back through older ones."""
    query = _filtered(
        select(AuditEntry, Staff.username).outerjoin(Staff, Staff.id == AuditEntry.staff_id),
        wanted,
    )
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    result = await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit))
    return [
        AuditLine(
            id=entry.id,
            at=entry.at,
            staff_id=entry.staff_id,
            username=username,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            detail=entry.detail,
        )
        for entry, username in result.all()
    ]
