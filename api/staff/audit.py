"""The audit log: who looked at or changed what. Entries are only ever added."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.staff.models import AuditEntry


async def record(
    *,
    session: AsyncSession,
    staff_id: int | None,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction, so the entry and the act stand or fall together."""
    entry = AuditEntry(
        staff_id=staff_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
    session.add(entry)
    return entry
